#ifndef PROVISIONER_COPENSSL_SHIM_H
#define PROVISIONER_COPENSSL_SHIM_H

// Only the OpenSSL 3 surface the JWT module uses. Deprecated APIs are hidden
// so that nothing can start depending on them by accident.
#ifndef OPENSSL_API_COMPAT
#define OPENSSL_API_COMPAT 30000
#endif
#ifndef OPENSSL_NO_DEPRECATED
#define OPENSSL_NO_DEPRECATED
#endif

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

/// `BIO_get_mem_data` is a macro; Swift cannot import it.
static inline long copenssl_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

/// Integer macros whose type Swift may import differently across versions.
static inline int copenssl_RSA_PKCS1_PADDING(void) { return RSA_PKCS1_PADDING; }
static inline int copenssl_RSA_PKCS1_PSS_PADDING(void) { return RSA_PKCS1_PSS_PADDING; }
static inline int copenssl_RSA_PSS_SALTLEN_DIGEST(void) { return RSA_PSS_SALTLEN_DIGEST; }
static inline int copenssl_EVP_PKEY_PUBLIC_KEY(void) { return EVP_PKEY_PUBLIC_KEY; }

#endif
