/*
 * The owner scan's control: which producer runs (the BPF iterator,
 * owners_bpf.c, or the /proc walk, owners_proc.c), the thread beside the
 * dumps, the fallback when the iterator fails, the report.
 */
#include "owners_internal.h"
#include "portview/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int64_t pv_scan_ns_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000000 + (t.tv_nsec - t0->tv_nsec);
}

/* The iterator's records, into parts[0]. */
static void read_iter(struct pv_scan *s)
{
	atomic_fetch_add(&s->parts_used, 1);
	s->iter_err = pv_bpf_iter_read(s->iter, &s->parts[0], &s->stats);
	atomic_store(&s->done_ns[0], pv_scan_ns_since(&s->t0));
	if (!s->iter_err) {
		pv_owners_index(&s->table, s->parts, SCAN_WORKERS);
		s->indexed = true;
	}
}

static void *worker_main(void *arg)
{
	struct pv_scan *s = arg;
	if (s->iter)
		read_iter(s);
	else
		pv_proc_work(s);
	atomic_store(&s->worker_done, true);
	return NULL;
}

bool pv_scan_idle(void *scan)
{
	const struct pv_scan *s = scan;
	return s->threaded && atomic_load(&s->worker_done);
}

/*
 * The iterator, when src asks for it or allows it: loaded here, on the
 * caller's thread, so that its PID namespace is the caller's and a
 * failure is known before the dump starts (it takes a tenth of a
 * millisecond to refuse, 2 to 3 ms to load).
 */
static int try_iter(struct pv_scan *s)
{
	if (s->src == PV_OWNERS_PROC || (s->src == PV_OWNERS_AUTO && !pv_bpf_capable()))
		return -EPERM;
	s->rep.bpf_tried = true;
	if (s->keep && s->keep->iter) {
		/* loaded by an earlier scan of the run: only a new descriptor to read */
		if (pv_bpf_iter_rewind(s->keep->iter) == 0) {
			s->iter = s->keep->iter;
			s->rep.load_ms = (double)pv_scan_ns_since(&s->t0) / 1e6;
			return 0;
		}
		pv_scan_keep_free(s->keep);
	}
	int err = pv_bpf_iter_open(&s->iter);
	s->rep.load_ms = (double)pv_scan_ns_since(&s->t0) / 1e6;
	if (err == 0 && s->keep)
		s->keep->iter = s->iter;
	return err;
}

void pv_scan_keep_free(struct pv_scan_keep *k)
{
	pv_bpf_iter_close(k->iter);
	k->iter = NULL;
}

/* Done with the iterator: closed unless the caller keeps it for the next scan. */
static void drop_iter(struct pv_scan *s, bool failed)
{
	if (s->keep && s->keep->iter == s->iter) {
		if (failed)
			pv_scan_keep_free(s->keep);
	} else {
		pv_bpf_iter_close(s->iter);
	}
	s->iter = NULL;
}

int pv_scan_start(struct pv_scan **out, const char *proc_root, enum pv_owner_source src,
		  bool background)
{
	return pv_scan_start_kept(out, proc_root, src, background, NULL);
}

int pv_scan_start_kept(struct pv_scan **out, const char *proc_root, enum pv_owner_source src,
		       bool background, struct pv_scan_keep *keep)
{
	struct pv_scan *s = xcalloc(1, sizeof(*s));
	s->keep = keep;
	atomic_init(&s->next, 0);
	atomic_init(&s->parts_used, 0);
	atomic_init(&s->worker_done, false);
	s->proc_root = proc_root;
	s->procfd = -1;
	s->src = src;
	clock_gettime(CLOCK_MONOTONIC, &s->t0);

	int err = try_iter(s);
	if (err == 0) {
		s->rep.used = PV_OWNERS_BPF;
	} else {
		if (src == PV_OWNERS_BPF) {
			pv_scan_free(s);
			return err;
		}
		s->rep.bpf_err = s->rep.bpf_tried ? err : 0;
		s->rep.used = PV_OWNERS_PROC;
		err = pv_proc_list(s);
		if (err) {
			pv_scan_free(s);
			return err;
		}
		pv_proc_probe(s);
	}
	/*
	 * What this /proc cannot show, known before the walk; the iterator, too,
	 * sees the tasks of this PID namespace only.
	 */
	int procfd =
	    s->procfd >= 0 ? s->procfd : open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd >= 0 && !pv_proc_shows_host_pids(procfd))
		s->parts[0].unseen |= PV_UNSEEN_PIDNS;
	if (procfd >= 0 && procfd != s->procfd)
		close(procfd);
	/* Without a worker (or if it cannot start) the caller does it all. */
	if (background)
		s->threaded = pthread_create(&s->worker, NULL, worker_main, s) == 0;
	*out = s;
	return 0;
}

/* Back to the /proc walk after the iterator failed while read. */
static int fall_back(struct pv_scan *s)
{
	s->rep.bpf_err = s->iter_err;
	s->rep.used = PV_OWNERS_PROC;
	for (int i = 0; i < SCAN_WORKERS; i++) {
		free(s->parts[i].fds);
		free(s->parts[i].procs);
		memset(&s->parts[i], 0, sizeof(s->parts[i]));
	}
	atomic_store(&s->parts_used, 0);
	int err = pv_proc_list(s);
	if (err)
		return err;
	pv_proc_work(s);
	return 0;
}

int pv_scan_finish(struct pv_scan *s)
{
	int err = 0;
	if (s->iter) {
		if (s->threaded)
			pthread_join(s->worker, NULL);
		else
			read_iter(s);
		drop_iter(s, s->iter_err != 0);
		if (s->iter_err && s->src == PV_OWNERS_BPF)
			err = s->iter_err;
		else if (s->iter_err)
			err = fall_back(s);
		s->threaded = false;
	} else {
		pv_proc_work(s);
		if (s->threaded)
			pthread_join(s->worker, NULL);
		s->threaded = false;
	}
	if (!err && !s->indexed) {
		pv_owners_index(&s->table, s->parts, SCAN_WORKERS);
		s->indexed = true;
	}
	int64_t done = 0;
	for (int i = 0; i < SCAN_WORKERS; i++)
		if (atomic_load(&s->done_ns[i]) > done)
			done = atomic_load(&s->done_ns[i]);
	s->rep.ready_ms = (double)done / 1e6;
	if (s->rep.used == PV_OWNERS_BPF) {
		s->rep.processes = s->parts[0].nprocs;
		s->rep.reads = s->stats.reads;
		s->rep.bytes = s->stats.bytes;
		s->rep.tasks = s->stats.tasks;
		s->rep.fds = s->stats.fds;
		s->rep.repeats = s->stats.repeats;
	}
	return err;
}

void pv_scan_report(const struct pv_scan *s, struct pv_scan_report *r)
{
	*r = s->rep;
}

const struct pv_scan_part *pv_scan_parts(const struct pv_scan *s, size_t *n)
{
	*n = SCAN_WORKERS;
	return s->parts;
}

struct pv_owner_table *pv_scan_table(struct pv_scan *s)
{
	return s->indexed ? &s->table : NULL;
}

void pv_scan_free(struct pv_scan *s)
{
	if (!s)
		return;
	if (s->indexed)
		pv_owners_free(&s->table);
	drop_iter(s, false);
	for (int i = 0; i < SCAN_WORKERS; i++) {
		free(s->parts[i].fds);
		free(s->parts[i].procs);
	}
	free(s->pids);
	if (s->procfd >= 0)
		close(s->procfd);
	free(s);
}
