#ifndef PROVISIONER_CLIBPQ_SHIM_H
#define PROVISIONER_CLIBPQ_SHIM_H

#include <libpq-fe.h>

#endif
