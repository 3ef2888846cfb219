/*
 * What the owner scan's files share (owners_scan.c, the control;
 * owners_proc.c, the /proc walk): the scan itself.  Private to the library.
 */
#ifndef PORTVIEW_OWNERS_INTERNAL_H
#define PORTVIEW_OWNERS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "portview/owners.h"
#include "portview/owners_bpf.h"

/*
 * Workers take processes one at a time from a shared index and keep what
 * they find in parts of their own, so no lock is needed.  With the BPF
 * iterator, the one worker reads it into parts[0].
 */
#define SCAN_WORKERS 2
struct pv_scan {
	const char *proc_root;
	int procfd;
	int32_t *pids;
	size_t npids;
	atomic_size_t next;
	atomic_int parts_used;
	struct pv_scan_part parts[SCAN_WORKERS];
	pthread_t worker;
	bool threaded;
	enum pv_owner_source src;
	struct pv_bpf_iter *iter;  /* set while the iterator is to be read */
	struct pv_scan_keep *keep; /* the caller's, holding iter between scans; or NULL */
	int iter_err;		   /* what reading it said */
	struct pv_bpf_stats stats;
	struct timespec t0;
	_Atomic int64_t done_ns[SCAN_WORKERS]; /* when each worker finished */
	struct pv_scan_report rep;
	bool kcmp; /* the PIDs under proc_root are ours to give kcmp(2) */
	/*
	 * The parts as one table by inode (pv_owners_index): made by the
	 * iterator's thread once it has read, beside the dumps; else by
	 * pv_scan_finish.
	 */
	struct pv_owner_table table;
	bool indexed;
	atomic_bool worker_done; /* the thread's share is done (pv_scan_idle) */
};

/* Nanoseconds since t0 (CLOCK_MONOTONIC). */
int64_t pv_scan_ns_since(const struct timespec *t0);

/*
 * The /proc walk (owners_proc.c).  pv_proc_list opens s->proc_root and
 * lists its processes into s->pids: 0 or a negative errno.  pv_proc_probe
 * notes what this /proc hides from us (hidepid) and whether kcmp(2) may
 * compare its tasks' file tables; pv_proc_shows_host_pids whether procfd
 * shows the host's PID namespace.  pv_proc_work walks processes from the
 * shared index into a part of its own until none is left.
 */
int pv_proc_list(struct pv_scan *s);
void pv_proc_probe(struct pv_scan *s);
bool pv_proc_shows_host_pids(int procfd);
void pv_proc_work(struct pv_scan *s);

#endif
