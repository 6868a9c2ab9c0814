#ifndef PROVISIONER_CZLIB_SHIM_H
#define PROVISIONER_CZLIB_SHIM_H

#include <zlib.h>

/// deflateInit2 is a macro; Swift sees this function instead.
static inline int provisioner_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
