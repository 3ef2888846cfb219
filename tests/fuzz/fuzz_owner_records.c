/*
 * The BPF iterator's record decoder (pv_bpf_decode, pv_bpf_decoder_finish)
 * on arbitrary bytes, fed as the reads feed it.
 *
 * The first input byte sets the chunk size (1-256 bytes; the reads of the
 * real iterator come in up to 32 KiB); the rest is the record stream.  It
 * is decoded once whole and once in chunks, the cut record's tail carried
 * to the next call as pv_bpf_iter_read does.  Checks:
 *   - *used never passes the bytes given, and ends on a record boundary of
 *     the model (task records 32 bytes, fd records 16, each starting with
 *     its kind);
 *   - both feedings give the same answer (0 or -EBADMSG) and, on 0, the
 *     same processes and fds;
 *   - on 0: every fd's process index is in range and names a process with
 *     the fd's pid; no pid is listed twice among the processes; no
 *     (pid, fd, inode) is listed twice for a pid announced more than once;
 *     the fd records counted equal fds kept plus repeats dropped; every
 *     pid, fd and inode is as the rules say (pid > 0, fd >= 0, inode > 0);
 *   - a comm is at most 16 bytes and holds no NUL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "portview/owner_records.h"
#include "portview/owners_bpf.h"

static int feed(const uint8_t *data, size_t size, size_t chunk, struct pv_scan_part *out,
		struct pv_bpf_decoder *d)
{
	uint8_t *buf = malloc(size + 1);
	size_t have = 0, fed = 0;
	int err = 0;
	memset(out, 0, sizeof(*out));
	pv_bpf_decoder_init(d, out);
	while (fed < size) {
		size_t n = size - fed < chunk ? size - fed : chunk;
		memcpy(buf + have, data + fed, n);
		fed += n;
		have += n;
		size_t used;
		err = pv_bpf_decode(d, buf, have, &used);
		if (err)
			break;
		FUZZ_CHECK(used <= have, "decoder");
		/* used ends where a record ends */
		size_t off = 0;
		while (off < used) {
			uint32_t kind;
			memcpy(&kind, buf + off, 4);
			FUZZ_CHECK(kind == PV_REC_TASK || kind == PV_REC_FD, "decoder");
			off += kind == PV_REC_TASK ? sizeof(struct pv_rec_task)
						   : sizeof(struct pv_rec_fd);
		}
		FUZZ_CHECK(off == used, "decoder");
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (!err)
		err = pv_bpf_decoder_finish(d, have);
	free(buf);
	FUZZ_CHECK(err == 0 || err == -EBADMSG, "decoder");
	return err;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct pv_owner *x = a, *y = b;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static void check_part(const struct pv_scan_part *p, const struct pv_bpf_decoder *d)
{
	FUZZ_CHECK(d->fds == p->nfds + d->repeats, "decoder");
	for (size_t i = 0; i < p->nprocs; i++) {
		FUZZ_CHECK(p->procs[i].pid > 0, "decoder");
		FUZZ_CHECK(p->procs[i].comm_len <= PV_REC_COMM, "decoder");
		FUZZ_CHECK(memchr(p->procs[i].comm, 0, p->procs[i].comm_len) == NULL, "decoder");
		for (size_t j = 0; j < i; j++)
			FUZZ_CHECK(p->procs[j].pid != p->procs[i].pid, "decoder");
	}
	for (size_t i = 0; i < p->nfds; i++) {
		const struct pv_owner *o = &p->fds[i];
		FUZZ_CHECK(o->proc < p->nprocs, "decoder");
		FUZZ_CHECK(p->procs[o->proc].pid == o->pid, "decoder");
		FUZZ_CHECK(o->pid > 0 && o->fd >= 0 && o->inode > 0, "decoder");
	}
	/* no repeat within a process announced more than once */
	struct pv_owner *v = malloc((p->nfds ? p->nfds : 1) * sizeof(*v));
	size_t n = 0;
	for (size_t i = 0; i < p->nfds; i++)
		if (d->shared[p->fds[i].proc])
			v[n++] = p->fds[i];
	qsort(v, n, sizeof(*v), owner_cmp);
	for (size_t i = 1; i < n; i++)
		FUZZ_CHECK(owner_cmp(&v[i - 1], &v[i]) != 0, "decoder");
	free(v);
}

static void same(const struct pv_scan_part *a, const struct pv_scan_part *b)
{
	FUZZ_CHECK(a->nprocs == b->nprocs && a->nfds == b->nfds, "decoder");
	for (size_t i = 0; i < a->nprocs; i++) {
		FUZZ_CHECK(a->procs[i].pid == b->procs[i].pid, "decoder");
		FUZZ_CHECK(a->procs[i].uid == b->procs[i].uid, "decoder");
		FUZZ_CHECK(a->procs[i].comm_len == b->procs[i].comm_len, "decoder");
		FUZZ_CHECK(memcmp(a->procs[i].comm, b->procs[i].comm, a->procs[i].comm_len) == 0,
			   "decoder");
	}
	for (size_t i = 0; i < a->nfds; i++)
		FUZZ_CHECK(memcmp(&a->fds[i], &b->fds[i], sizeof(a->fds[i])) == 0, "decoder");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t chunk = (size_t)data[0] + 1;
	data++;
	size--;

	struct pv_scan_part whole, cut;
	struct pv_bpf_decoder dw, dc;
	int ew = feed(data, size, size ? size : 1, &whole, &dw);
	int ec = feed(data, size, chunk, &cut, &dc);
	FUZZ_CHECK(ew == ec, "decoder");
	if (ew == 0) {
		check_part(&whole, &dw);
		check_part(&cut, &dc);
		same(&whole, &cut);
		FUZZ_CHECK(dw.repeats == dc.repeats && dw.tasks == dc.tasks, "decoder");
	}
	pv_bpf_decoder_free(&dw);
	pv_bpf_decoder_free(&dc);
	free(whole.fds);
	free(whole.procs);
	free(cut.fds);
	free(cut.procs);
	return 0;
}
