/* Which processes hold which sockets: a walk of /proc/PID/fd. */
#ifndef PORTVIEW_OWNERS_H
#define PORTVIEW_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* /proc/PID/comm holds at most 15 bytes; leave room for odd kernels. */
#define PV_COMM_MAX 64

struct pv_process {
	int32_t pid;
	uint32_t uid;
	uint32_t comm_len;
	char comm[PV_COMM_MAX]; /* raw bytes, untrusted, not NUL-terminated */
};

struct pv_owner {
	int32_t pid;
	int32_t fd;
	uint32_t proc; /* index into pv_owner_table.procs */
	uint32_t slot; /* internal: which wanted inode */
};

struct pv_owner_table {
	/* open-addressed inode -> slot map of the inodes we look for */
	uint32_t *keys;
	uint32_t *slots;
	size_t cap;
	size_t nslots;
	/* per slot, after pv_owners_finish: a range of owners[] */
	uint32_t *first;
	uint32_t *count;
	struct pv_owner *owners;
	size_t nowners, capowners;
	struct pv_process *procs;
	size_t nprocs, capprocs;
	/* some /proc/PID/fd could not be read (another user's process) */
	bool denied;
};

/* expected: about how many inodes will be wanted (sizes the hash). */
void pv_owners_init(struct pv_owner_table *t, size_t expected);
void pv_owners_free(struct pv_owner_table *t);
/* Look for holders of this socket inode (0 is ignored: no file exists). */
void pv_owners_want(struct pv_owner_table *t, uint32_t inode);
/*
 * Walk proc_root/PID/fd for every process and record each (pid, fd) holding
 * a wanted inode.  Processes that vanish or cannot be read are skipped (the
 * latter sets denied).  Returns 0, or a negative errno if proc_root itself
 * cannot be read.
 */
int pv_owners_walk(struct pv_owner_table *t, const char *proc_root);
/* Group owners by inode, each group sorted by pid then fd. */
void pv_owners_finish(struct pv_owner_table *t);
/* The owners of inode as a range of t->owners; count 0 if none. */
void pv_owners_lookup(const struct pv_owner_table *t, uint32_t inode, uint32_t *first,
		      uint32_t *count);

#endif
