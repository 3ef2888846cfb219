#include "portview/owners.h"
#include "portview/buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NO_SLOT UINT32_MAX

static size_t inode_hash(uint32_t ino, size_t mask)
{
	return (size_t)(ino * 2654435761u) & mask;
}

void pv_owners_init(struct pv_owner_table *t, size_t expected)
{
	memset(t, 0, sizeof(*t));
	size_t cap = 64;
	while (cap < expected * 2)
		cap *= 2;
	t->cap = cap;
	t->keys = xcalloc(cap, sizeof(*t->keys));
	t->slots = xcalloc(cap, sizeof(*t->slots));
}

void pv_owners_free(struct pv_owner_table *t)
{
	free(t->keys);
	free(t->slots);
	free(t->first);
	free(t->count);
	free(t->owners);
	free(t->procs);
	memset(t, 0, sizeof(*t));
}

static uint32_t find_slot(const struct pv_owner_table *t, uint32_t inode)
{
	size_t mask = t->cap - 1;
	for (size_t i = inode_hash(inode, mask);; i = (i + 1) & mask) {
		if (t->keys[i] == inode)
			return t->slots[i];
		if (t->keys[i] == 0)
			return NO_SLOT;
	}
}

static void grow(struct pv_owner_table *t)
{
	size_t cap = t->cap * 2, mask = cap - 1;
	uint32_t *keys = xcalloc(cap, sizeof(*keys));
	uint32_t *slots = xcalloc(cap, sizeof(*slots));
	for (size_t j = 0; j < t->cap; j++) {
		if (!t->keys[j])
			continue;
		size_t i = inode_hash(t->keys[j], mask);
		while (keys[i])
			i = (i + 1) & mask;
		keys[i] = t->keys[j];
		slots[i] = t->slots[j];
	}
	free(t->keys);
	free(t->slots);
	t->keys = keys;
	t->slots = slots;
	t->cap = cap;
}

void pv_owners_want(struct pv_owner_table *t, uint32_t inode)
{
	if (inode == 0)
		return;
	if ((t->nslots + 1) * 2 > t->cap)
		grow(t);
	size_t mask = t->cap - 1;
	size_t i = inode_hash(inode, mask);
	for (; t->keys[i]; i = (i + 1) & mask)
		if (t->keys[i] == inode)
			return;
	t->keys[i] = inode;
	t->slots[i] = (uint32_t)t->nslots++;
}

/* Parse "socket:[12345]"; returns 0 when the link is not a socket. */
static uint32_t socket_inode(const char *link, ssize_t n)
{
	if (n < 10 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']')
		return 0;
	uint64_t v = 0;
	for (ssize_t i = 8; i < n - 1; i++) {
		if (link[i] < '0' || link[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(link[i] - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	return (uint32_t)v;
}

static uint32_t add_process(struct pv_owner_table *t, int procfd, const char *pidname, int32_t pid)
{
	if (t->nprocs == t->capprocs) {
		t->capprocs = t->capprocs ? t->capprocs * 2 : 64;
		t->procs = xreallocarray(t->procs, t->capprocs, sizeof(*t->procs));
	}
	struct pv_process *p = &t->procs[t->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;

	struct stat st;
	if (fstatat(procfd, pidname, &st, 0) == 0)
		p->uid = st.st_uid;

	char path[sizeof(((struct dirent64 *)0)->d_name) + 8];
	snprintf(path, sizeof(path), "%s/comm", pidname);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, p->comm, sizeof(p->comm));
		close(fd);
		if (n > 0) {
			/* The kernel ends comm with one newline; keep any others. */
			if (p->comm[n - 1] == '\n')
				n--;
			p->comm_len = (uint32_t)n;
		}
	}
	return (uint32_t)t->nprocs++;
}

static void add_owner(struct pv_owner_table *t, uint32_t slot, int32_t pid, int32_t fd,
		      uint32_t proc)
{
	if (t->nowners == t->capowners) {
		t->capowners = t->capowners ? t->capowners * 2 : 256;
		t->owners = xreallocarray(t->owners, t->capowners, sizeof(*t->owners));
	}
	t->owners[t->nowners++] =
	    (struct pv_owner){.pid = pid, .fd = fd, .proc = proc, .slot = slot};
}

static bool parse_num(const char *s, int32_t *out)
{
	int64_t v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (*s - '0');
		if (v > INT32_MAX)
			return false;
	}
	*out = (int32_t)v;
	return true;
}

static void walk_process(struct pv_owner_table *t, int procfd, const char *pidname, int32_t pid)
{
	char path[sizeof(((struct dirent64 *)0)->d_name) + 8];
	snprintf(path, sizeof(path), "%s/fd", pidname);
	int dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		/* ENOENT: the process exited meanwhile; nothing to attribute. */
		if (errno == EACCES || errno == EPERM)
			t->denied = true;
		return;
	}

	uint32_t proc = NO_SLOT;
	char dents[16384];
	for (;;) {
		ssize_t n = getdents64(dfd, dents, sizeof(dents));
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			off += d->d_reclen;
			int32_t fdnum;
			if (!parse_num(d->d_name, &fdnum))
				continue;
			char link[64];
			ssize_t len = readlinkat(dfd, d->d_name, link, sizeof(link));
			uint32_t inode = socket_inode(link, len);
			if (!inode)
				continue;
			uint32_t slot = find_slot(t, inode);
			if (slot == NO_SLOT)
				continue;
			if (proc == NO_SLOT)
				proc = add_process(t, procfd, pidname, pid);
			add_owner(t, slot, pid, fdnum, proc);
		}
	}
	close(dfd);
}

int pv_owners_walk(struct pv_owner_table *t, const char *proc_root)
{
	int procfd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0)
		return -errno;

	char dents[32768];
	int err = 0;
	for (;;) {
		ssize_t n = getdents64(procfd, dents, sizeof(dents));
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			off += d->d_reclen;
			int32_t pid;
			if (parse_num(d->d_name, &pid))
				walk_process(t, procfd, d->d_name, pid);
		}
	}
	close(procfd);
	return err;
}

static int owner_cmp(const void *pa, const void *pb)
{
	const struct pv_owner *a = pa, *b = pb;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return (a->fd > b->fd) - (a->fd < b->fd);
}

void pv_owners_finish(struct pv_owner_table *t)
{
	if (t->nowners > 1)
		qsort(t->owners, t->nowners, sizeof(*t->owners), owner_cmp);
	t->first = xcalloc(t->nslots, sizeof(*t->first));
	t->count = xcalloc(t->nslots, sizeof(*t->count));
	for (size_t i = t->nowners; i-- > 0;) {
		t->first[t->owners[i].slot] = (uint32_t)i;
		t->count[t->owners[i].slot]++;
	}
}

void pv_owners_lookup(const struct pv_owner_table *t, uint32_t inode, uint32_t *first,
		      uint32_t *count)
{
	*first = 0;
	*count = 0;
	if (inode == 0 || !t->count)
		return;
	uint32_t slot = find_slot(t, inode);
	if (slot == NO_SLOT)
		return;
	*first = t->first[slot];
	*count = t->count[slot];
}
