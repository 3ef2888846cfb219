/*
 * Closing one socket from outside its process, as `ss -K` does: the
 * kernel's SOCK_DESTROY request (sock_diag) for the socket a dump
 * reported, named by its addresses, ports, interface and cookie, so that
 * a socket which has gone and whose 4-tuple was taken again since is not
 * touched.  The kernel aborts a TCP connection as if a reset had come:
 * its process reads ECONNABORTED, its peer gets a RST (ECONNRESET).  A
 * listener is closed too (its process's accept() then fails).  Nothing
 * here prints.
 */
#ifndef PORTVIEW_DESTROY_H
#define PORTVIEW_DESTROY_H

#include "portview/sock.h"

/*
 * Close socket s (as a record or a view's row gave it) with SOCK_DESTROY.
 * netns_fd: -1 for the calling thread's network namespace, else an open
 * namespace file (struct pv_netns's fd) that is entered for the request
 * and left again.  Returns 0 when the kernel closed it, or a negative
 * errno:
 *   -EPERM       no CAP_NET_ADMIN (in the socket's namespace);
 *   -EOPNOTSUPP  the kernel was built without CONFIG_INET_DIAG_DESTROY,
 *                or cannot close this kind of socket;
 *   -ENOENT      it has gone (or its address now belongs to another
 *                socket: another cookie);
 *   -EPROTONOSUPPORT  not TCP or UDP;
 *   another      entering the namespace, or the netlink socket, failed.
 */
int pv_destroy(const struct pv_sock *s, int netns_fd);

/*
 * Words for what pv_destroy returned, for a person: "closed", "no
 * permission: needs CAP_NET_ADMIN", "not supported by this kernel",
 * "already gone", else strerror's.  Never NULL; static text.
 */
const char *pv_destroy_strerror(int err);

#endif
