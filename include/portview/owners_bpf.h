/*
 * Owners of sockets from a BPF task_file iterator: the same parts as the
 * /proc walk produces (owners.h), found from inside the kernel.  The
 * iterator is loaded from a light skeleton built into the binary; a build
 * without it (meson -Dbpf=disabled) keeps the decoder and says
 * -EOPNOTSUPP when asked to load.
 */
#ifndef PORTVIEW_OWNERS_BPF_H
#define PORTVIEW_OWNERS_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/owners.h"

/* ---- the decoder: the iterator's records into a scan part ------------- */

struct pv_bpf_decoder {
	struct pv_scan_part *out;
	struct pv_hashmap procs; /* tgid -> index into out->procs */
	/* per process: announced by more than one task (repeats possible) */
	bool *shared;
	size_t capshared;
	bool any_shared;
	uint32_t cur; /* the process of the last task record, or UINT32_MAX */
	int32_t cur_tgid;
	size_t tasks;	/* task records */
	size_t fds;	/* fd records */
	size_t repeats; /* fd records dropped as repeats */
};

/* Decode into out (which the decoder appends to and does not own). */
void pv_bpf_decoder_init(struct pv_bpf_decoder *d, struct pv_scan_part *out);
/*
 * Decode the whole records at the start of buf; *used says how many bytes
 * they took (a record cut by the end of buf is left for the next call,
 * with the bytes that follow it).  Returns 0, or -EBADMSG for bytes that
 * are no record or a record that breaks the rules (an fd before its
 * task, a pid or an inode of 0).
 */
int pv_bpf_decode(struct pv_bpf_decoder *d, const void *buf, size_t len, size_t *used);
/*
 * The end of the stream, with `left` bytes never decoded (-EBADMSG unless
 * 0): drop the repeats that threads sharing one fd table wrote.
 */
int pv_bpf_decoder_finish(struct pv_bpf_decoder *d, size_t left);
void pv_bpf_decoder_free(struct pv_bpf_decoder *d);

/* ---- the iterator ------------------------------------------------------ */

/*
 * Whether this process has what the iterator needs: CAP_BPF and
 * CAP_PERFMON, or CAP_SYS_ADMIN, in its effective set.  (Inside a user
 * namespace they are not enough; loading then fails with EPERM.)
 */
bool pv_bpf_capable(void);

struct pv_bpf_iter;

/*
 * Load the program, attach it and make the iterator (whose PID namespace,
 * the calling thread's, is that of the pids it reports).  Returns 0, or a
 * negative errno: -EOPNOTSUPP when built without BPF.
 */
int pv_bpf_iter_open(struct pv_bpf_iter **out);

struct pv_bpf_stats {
	size_t reads, bytes;	    /* read() calls that returned data, and bytes */
	size_t tasks, fds, repeats; /* the decoder's counts */
};

/*
 * Read the whole iteration into out (the iterator can be read once).
 * Returns 0, or a negative errno (-EBADMSG: the records did not decode);
 * what out holds after an error is to be thrown away.
 */
int pv_bpf_iter_read(struct pv_bpf_iter *it, struct pv_scan_part *out, struct pv_bpf_stats *st);
/*
 * Make the loaded iterator ready to be read again (a new iterator
 * descriptor from its link): 0 or a negative errno.
 */
int pv_bpf_iter_rewind(struct pv_bpf_iter *it);
void pv_bpf_iter_close(struct pv_bpf_iter *it);

#endif
