#include "portview/owners_bpf.h"
#include "portview/buf.h"
#include "portview/owner_records.h"
#include "portview/util.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NO_PROC UINT32_MAX

/* ---- the decoder ------------------------------------------------------- */

void pv_bpf_decoder_init(struct pv_bpf_decoder *d, struct pv_scan_part *out)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->cur = NO_PROC;
	pv_hashmap_init(&d->procs, 64);
}

void pv_bpf_decoder_free(struct pv_bpf_decoder *d)
{
	pv_hashmap_free(&d->procs);
	free(d->shared);
	memset(d, 0, sizeof(*d));
}

/* A task record: its process, new or seen before (then its fds may repeat). */
static void on_task(struct pv_bpf_decoder *d, const struct pv_rec_task *t)
{
	bool added;
	uint32_t *proc = pv_hashmap_put(&d->procs, (uint32_t)t->tgid, &added);
	if (!added) {
		d->cur = *proc;
		d->shared[d->cur] = true;
		d->any_shared = true;
	} else {
		struct pv_scan_part *p = d->out;
		if (p->nprocs == p->capprocs) {
			p->capprocs = p->capprocs ? p->capprocs * 2 : 64;
			p->procs = xreallocarray(p->procs, p->capprocs, sizeof(*p->procs));
		}
		if (p->nprocs == d->capshared) {
			d->capshared = d->capshared ? d->capshared * 2 : 64;
			d->shared = xreallocarray(d->shared, d->capshared, sizeof(*d->shared));
		}
		struct pv_process *pr = &p->procs[p->nprocs];
		memset(pr, 0, sizeof(*pr));
		pr->pid = t->tgid;
		pr->uid = t->uid;
		pr->comm_len = (uint32_t)strnlen(t->comm, sizeof(t->comm));
		memcpy(pr->comm, t->comm, pr->comm_len);
		d->shared[p->nprocs] = false;
		d->cur = (uint32_t)p->nprocs++;
		*proc = d->cur;
	}
	d->cur_tgid = t->tgid;
	d->tasks++;
}

int pv_bpf_decode(struct pv_bpf_decoder *d, const void *buf, size_t len, size_t *used)
{
	const unsigned char *b = buf;
	size_t off = 0;
	*used = 0;
	while (len - off >= sizeof(uint32_t)) {
		uint32_t kind;
		memcpy(&kind, b + off, sizeof(kind));
		if (kind == PV_REC_TASK) {
			struct pv_rec_task t;
			if (len - off < sizeof(t))
				break;
			memcpy(&t, b + off, sizeof(t));
			if (t.tgid <= 0 || t.tid <= 0)
				return -EBADMSG;
			on_task(d, &t);
			off += sizeof(t);
		} else if (kind == PV_REC_FD) {
			struct pv_rec_fd f;
			if (len - off < sizeof(f))
				break;
			memcpy(&f, b + off, sizeof(f));
			if (d->cur == NO_PROC || f.tgid != d->cur_tgid || f.fd < 0 || f.inode == 0)
				return -EBADMSG;
			struct pv_scan_part *p = d->out;
			if (p->nfds == p->capfds) {
				p->capfds = p->capfds ? p->capfds + p->capfds / 2 : 1024;
				p->fds = xreallocarray(p->fds, p->capfds, sizeof(*p->fds));
			}
			p->fds[p->nfds++] = (struct pv_owner){f.tgid, f.fd, d->cur, f.inode};
			d->fds++;
			off += sizeof(f);
		} else {
			return -EBADMSG;
		}
		*used = off;
	}
	return 0;
}

static int owner_cmp(const void *a, const void *b)
{
	const struct pv_owner *x = a, *y = b;
	if (x->proc != y->proc)
		return x->proc < y->proc ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/*
 * The kernel skips a thread that shares its leader's fd table, but not
 * threads sharing another one (the leader has exited, or a thread that
 * unshared its table started threads of its own), and a table unshared
 * from the leader's starts as its copy: in the processes announced more
 * than once, keep each (fd, inode) once.
 */
static void drop_repeats(struct pv_bpf_decoder *d)
{
	struct pv_scan_part *p = d->out;
	size_t keep = 0, nside = 0;
	struct pv_owner *side = xreallocarray(NULL, p->nfds ? p->nfds : 1, sizeof(*side));
	for (size_t i = 0; i < p->nfds; i++) {
		if (d->shared[p->fds[i].proc])
			side[nside++] = p->fds[i];
		else
			p->fds[keep++] = p->fds[i];
	}
	qsort(side, nside, sizeof(*side), owner_cmp);
	for (size_t i = 0; i < nside; i++) {
		if (i > 0 && owner_cmp(&side[i], &side[i - 1]) == 0) {
			d->repeats++;
			continue;
		}
		p->fds[keep++] = side[i];
	}
	p->nfds = keep;
	free(side);
}

int pv_bpf_decoder_finish(struct pv_bpf_decoder *d, size_t left)
{
	if (left)
		return -EBADMSG;
	if (d->any_shared)
		drop_repeats(d);
	return 0;
}

/* ---- capabilities ------------------------------------------------------ */

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

bool pv_bpf_capable(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) != 0)
		return false;
	return has_cap(data, CAP_SYS_ADMIN) ||
	       (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON));
}

/* ---- the iterator ------------------------------------------------------ */

/* Larger than the kernel's 32 KiB per read, so a read always fits. */
#define READ_BUF (64 * 1024)

#ifdef PV_HAVE_BPF

#include <linux/bpf.h>

/* generated by bpftool from src/bpf/owners.bpf.c (meson.build) */
#include "owners.lskel.h"

struct pv_bpf_iter {
	struct pv_owners_bpf *skel;
	int iter_fd;
};

void pv_bpf_iter_close(struct pv_bpf_iter *it)
{
	if (!it)
		return;
	if (it->iter_fd >= 0)
		close(it->iter_fd);
	if (it->skel)
		pv_owners_bpf__destroy(it->skel);
	free(it);
}

int pv_bpf_iter_open(struct pv_bpf_iter **out)
{
	struct pv_bpf_iter *it = xcalloc(1, sizeof(*it));
	it->iter_fd = -1;
	/* The skeleton reports failure as NULL, with errno set or not. */
	errno = 0;
	it->skel = pv_owners_bpf__open_and_load();
	int err = errno ? -errno : -EPERM;
	if (!it->skel) {
		pv_bpf_iter_close(it);
		return err;
	}
	err = pv_owners_bpf__attach(it->skel);
	if (err) {
		err = err < 0 ? err : -err;
		pv_bpf_iter_close(it);
		return err;
	}
	err = pv_bpf_iter_rewind(it);
	if (err) {
		pv_bpf_iter_close(it);
		return err;
	}
	*out = it;
	return 0;
}

int pv_bpf_iter_rewind(struct pv_bpf_iter *it)
{
	/* each iterator descriptor is read once; the loaded link makes more */
	if (it->iter_fd >= 0)
		close(it->iter_fd);
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = (uint32_t)it->skel->links.pv_owners_fd;
	it->iter_fd = (int)syscall(SYS_bpf, BPF_ITER_CREATE, &attr, sizeof(attr));
	return it->iter_fd < 0 ? -errno : 0;
}

int pv_bpf_iter_read(struct pv_bpf_iter *it, struct pv_scan_part *out, struct pv_bpf_stats *st)
{
	struct pv_bpf_decoder d;
	unsigned char *buf = xmalloc(READ_BUF);
	size_t have = 0;
	int err = 0;
	memset(st, 0, sizeof(*st));
	pv_bpf_decoder_init(&d, out);
	for (;;) {
		ssize_t n = read(it->iter_fd, buf + have, READ_BUF - have);
		if (n < 0) {
			/*
			 * EAGAIN: a read went through a million files without
			 * a socket among them; the next goes on from there.
			 */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		st->reads++;
		st->bytes += (size_t)n;
		have += (size_t)n;
		size_t used;
		err = pv_bpf_decode(&d, buf, have, &used);
		if (err)
			break;
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	if (!err)
		err = pv_bpf_decoder_finish(&d, have);
	st->tasks = d.tasks;
	st->fds = d.fds;
	st->repeats = d.repeats;
	pv_bpf_decoder_free(&d);
	free(buf);
	return err;
}

#else /* !PV_HAVE_BPF */

struct pv_bpf_iter {
	int unused;
};

int pv_bpf_iter_open(struct pv_bpf_iter **out)
{
	*out = NULL;
	return -EOPNOTSUPP;
}

int pv_bpf_iter_read(struct pv_bpf_iter *it, struct pv_scan_part *out, struct pv_bpf_stats *st)
{
	(void)it;
	(void)out;
	memset(st, 0, sizeof(*st));
	return -EOPNOTSUPP;
}

void pv_bpf_iter_close(struct pv_bpf_iter *it)
{
	free(it);
}

int pv_bpf_iter_rewind(struct pv_bpf_iter *it)
{
	(void)it;
	return -EOPNOTSUPP;
}

#endif
