#ifndef PROVISIONER_CLIBPQ_SHIM_H
#define PROVISIONER_CLIBPQ_SHIM_H

#include <libpq-fe.h>

// The pool's poller waits for libpq sockets with epoll and is woken through an
// eventfd; Glibc's Swift module exports neither header.
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/eventfd.h>
#endif

#endif
