/*
 * Network namespaces: the one -N names, or every one on the host
 * (--all-netns), and entering one for as long as a snapshot takes.
 * Netlink sockets stay in the namespace they were made in, and the sysctls
 * and /proc/net files read while inside are that namespace's.
 */
#ifndef PORTVIEW_NETNS_H
#define PORTVIEW_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/util.h"

#define PV_NETNS_NAME_MAX 64

struct pv_netns {
	int fd;			      /* the namespace file, open; -1 once closed */
	uint64_t dev, ino;	      /* what tells namespaces apart */
	char name[PV_NETNS_NAME_MAX]; /* its name under /run/netns, "" when none */
	int32_t pid;		      /* the lowest process ID in it, 0 when none seen */
	bool own;		      /* portview's own namespace */
	bool host;		      /* the namespace of PID 1, or of the kernel's threads */
};

/*
 * Open the namespace spec names: a name under run_dir (normally
 * /run/netns, as `ip netns add` makes them), a path to a namespace file
 * (it has a '/'), or pid:PID (/proc/PID/ns/net under proc_root).  Returns
 * false with why filled when there is no such namespace, or the file is
 * not a network namespace.
 */
bool pv_netns_open(const char *spec, const char *proc_root, const char *run_dir,
		   struct pv_netns *out, struct pv_why *why);

/*
 * Every network namespace: those of all processes under proc_root (the
 * lowest PID of each kept) and those named under run_dir, each once; the
 * caller's own first, then the named ones by name, then the rest by PID.
 * Namespaces that cannot be opened (a process gone) are left out.
 * Returns how many were found (*out is an array to pv_netns_list_free).
 */
size_t pv_netns_list(const char *proc_root, const char *run_dir, struct pv_netns **out);

/*
 * The name under dir (ip netns's directory) nearest to name, within an
 * edit or two, into out; "" when none is near.  For a mistyped -N name.
 */
void pv_netns_nearest(const char *dir, const char *name, char *out, size_t size);
void pv_netns_list_free(struct pv_netns *list, size_t n);
void pv_netns_close(struct pv_netns *ns);

/*
 * Make ns the calling thread's network namespace; *saved gets a handle on
 * the one it leaves, for pv_netns_leave.  Returns 0 or a negative errno
 * (-EPERM without CAP_SYS_ADMIN).
 */
int pv_netns_enter(const struct pv_netns *ns, int *saved);
/* Back to the namespace pv_netns_enter left; closes saved.  0 or -errno. */
int pv_netns_leave(int saved);

/*
 * A short label: the name, "host" for the host's (ns->host), else
 * "pid:PID" (what -N takes), or "ns:INODE" when no process is known.
 */
void pv_netns_label(const struct pv_netns *ns, char *buf, size_t size);

#endif
