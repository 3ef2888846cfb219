/*
 * Which processes hold which sockets: a walk of /proc/PID/fd (and of
 * /proc/PID/task/TID/fd where a thread's file table differs).
 */
#ifndef PORTVIEW_OWNERS_H
#define PORTVIEW_OWNERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/hashmap.h"

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
	uint32_t inode;
};

/*
 * Why the walk may not have seen every process's sockets, so that a socket
 * no process was found to hold may yet have an owner (pv_scan_part.unseen,
 * pv_owner_table.unseen).
 */
#define PV_UNSEEN_DENIED  1u /* some fd directory could not be read (another user's) */
#define PV_UNSEEN_HIDEPID 2u /* /proc is mounted with hidepid and hides other users' */
#define PV_UNSEEN_PIDNS	  4u /* /proc shows one PID namespace, not the host's */

/*
 * What one walker found: every socket fd of the processes it took, each
 * fd's .proc indexing its procs.
 */
struct pv_scan_part {
	struct pv_owner *fds;
	size_t nfds, capfds;
	struct pv_process *procs;
	size_t nprocs, capprocs;
	uint8_t unseen; /* PV_UNSEEN_* */
};

/*
 * The walk: every socket fd of every process, found independently of the
 * kernel dump so that it can run on another thread while the dump runs.
 * Two producers fill the same parts: a BPF task_file iterator
 * (owners_bpf.h), when the process may load one, else the /proc/PID/fd
 * walk.
 */
struct pv_scan;

enum pv_owner_source {
	PV_OWNERS_AUTO, /* the iterator when capable, else (or if it fails) /proc */
	PV_OWNERS_BPF,	/* the iterator, or an error */
	PV_OWNERS_PROC, /* the /proc walk */
};

/*
 * Start finding the owners: load the iterator (src BPF, or AUTO with the
 * capabilities it needs), or list the processes under proc_root; when
 * background is true, a thread reads the iterator or walks the processes'
 * fds.  Returns 0, or a negative errno when proc_root cannot be read or
 * (src BPF) the iterator cannot be loaded.
 */
int pv_scan_start(struct pv_scan **out, const char *proc_root, enum pv_owner_source src,
		  bool background);
/*
 * What a run that scans again and again keeps from one scan to the next
 * (zeroed to start, the caller's, freed with pv_scan_keep_free): the BPF
 * iterator, loaded and attached once.
 */
struct pv_bpf_iter;
struct pv_scan_keep {
	struct pv_bpf_iter *iter;
};
void pv_scan_keep_free(struct pv_scan_keep *k);
/* pv_scan_start, reusing and filling keep (may be NULL). */
int pv_scan_start_kept(struct pv_scan **out, const char *proc_root, enum pv_owner_source src,
		       bool background, struct pv_scan_keep *keep);
/*
 * Walk what is left on the calling thread, then wait for the thread.  An
 * iterator that fails while read is replaced by the /proc walk (AUTO) or
 * returns its error (BPF, a negative errno); otherwise 0.
 */
int pv_scan_finish(struct pv_scan *s);

/* What a finished scan did, for PORTVIEW_DEBUG. */
struct pv_scan_report {
	enum pv_owner_source used; /* PV_OWNERS_BPF or PV_OWNERS_PROC */
	bool bpf_tried;		   /* the iterator was tried */
	int bpf_err;		   /* why it was not used: a negative errno, or 0 */
	double load_ms;		   /* loading and attaching the iterator */
	double ready_ms;	   /* from the start until the owners were all found */
	size_t processes;	   /* /proc: processes listed; BPF: processes found */
	size_t reads, bytes;	   /* BPF: read() calls with data, and bytes */
	size_t tasks, fds;	   /* BPF: task and fd records */
	size_t repeats;		   /* BPF: fd records dropped as repeats */
};
void pv_scan_report(const struct pv_scan *s, struct pv_scan_report *r);
/*
 * Whether the scan's thread has done its share, its CPU free for other
 * work (pv_snapshotter_lend); a struct pv_scan *.
 */
bool pv_scan_idle(void *scan);
/* What the finished walk found: its parts. */
const struct pv_scan_part *pv_scan_parts(const struct pv_scan *s, size_t *n);
/*
 * And as one table by inode (pv_owners_index) once pv_scan_finish has
 * succeeded, for the caller to take over (pv_view_adopt_owners); else NULL.
 */
struct pv_owner_table *pv_scan_table(struct pv_scan *s);
void pv_scan_free(struct pv_scan *s);

struct pv_owner_table {
	/* inode -> slot: the inodes we look for, numbered as wanted */
	struct pv_hashmap slots;
	size_t nslots;
	/* per slot, after pv_owners_join: a range of owners[] */
	uint32_t *first;
	uint32_t *count;
	struct pv_owner *owners;
	size_t nowners;
	struct pv_process *procs;
	size_t nprocs;
	/* PV_UNSEEN_*: why some processes' sockets may not have been seen */
	uint8_t unseen;
	/*
	 * Per row of the list the table was placed for (pv_owners_place_at):
	 * its slot, and per slot its inode, so that rows read in order find
	 * their owners without a hash lookup (a cache miss each at 100k).
	 */
	uint32_t *row_slot;
	size_t nrows, caprows;
	uint32_t *slot_inode;
	size_t capslots;
};

/* expected: about how many inodes will be wanted (sizes the hash). */
void pv_owners_init(struct pv_owner_table *t, size_t expected);
void pv_owners_free(struct pv_owner_table *t);
/* Look for holders of this socket inode (0 is ignored: no file exists). */
void pv_owners_want(struct pv_owner_table *t, uint32_t inode);
/*
 * Keep the scanned fds that hold a wanted inode, grouped by inode, each
 * group sorted by pid then fd: the parts of a finished walk.
 */
void pv_owners_join(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts);
/*
 * The same for every inode the parts hold: the table a finished walk
 * makes of itself, before (and beside) the dumps whose rows look into it.
 */
void pv_owners_index(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts);
/*
 * In a joined table, remember the slot of the record at row of a list
 * (for pv_owners_lookup_at).  Returns whether the table has inode.
 */
bool pv_owners_place_at(struct pv_owner_table *t, size_t row, uint32_t inode);
/*
 * Room for rows 0..n-1 (none of them placed yet): then threads may place
 * rows below n side by side, each its own.
 */
void pv_owners_rows(struct pv_owner_table *t, size_t n);
/* The owners of inode as a range of t->owners; count 0 if none. */
void pv_owners_lookup(const struct pv_owner_table *t, uint32_t inode, uint32_t *first,
		      uint32_t *count);
/*
 * The same for the record at row: its remembered slot when that slot is
 * still inode's (the list not reordered or filtered since), else the hash.
 */
void pv_owners_lookup_at(const struct pv_owner_table *t, size_t row, uint32_t inode,
			 uint32_t *first, uint32_t *count);

#endif
