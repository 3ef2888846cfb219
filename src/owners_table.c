/*
 * The owner table: the socket inodes a view wants, joined with the parts
 * of a finished scan into inode -> owners.
 */
#include "portview/buf.h"
#include "portview/owners.h"
#include "portview/util.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

static size_t inode_hash(uint32_t ino, size_t mask)
{
	return (size_t)pv_hash64(ino) & mask;
}

void pv_owners_init(struct pv_owner_table *t, size_t expected)
{
	memset(t, 0, sizeof(*t));
	size_t cap = 64;
	while (cap * 3 < expected * 4)
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
	if ((t->nslots + 1) * 4 > t->cap * 3)
		grow(t);
	size_t mask = t->cap - 1;
	size_t i = inode_hash(inode, mask);
	for (; t->keys[i]; i = (i + 1) & mask)
		if (t->keys[i] == inode)
			return;
	t->keys[i] = inode;
	t->slots[i] = (uint32_t)t->nslots++;
}

static bool owner_before(const struct pv_owner *a, const struct pv_owner *b)
{
	return a->pid < b->pid || (a->pid == b->pid && a->fd < b->fd);
}

void pv_owners_join(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts)
{
	t->first = xcalloc(t->nslots ? t->nslots : 1, sizeof(*t->first));
	t->count = xcalloc(t->nslots ? t->nslots : 1, sizeof(*t->count));

	/* Processes of every part, renumbered into one array. */
	size_t nprocs = 0;
	for (size_t i = 0; i < nparts; i++) {
		nprocs += parts[i].nprocs;
		t->unseen |= parts[i].unseen;
	}
	t->procs = xreallocarray(NULL, nprocs ? nprocs : 1, sizeof(*t->procs));

	/* Count the wanted fds per slot (a counting sort by inode). */
	size_t base = 0;
	for (size_t i = 0; i < nparts; i++) {
		const struct pv_scan_part *p = &parts[i];
		if (p->nprocs)
			memcpy(t->procs + base, p->procs, p->nprocs * sizeof(*p->procs));
		base += p->nprocs;
		for (size_t j = 0; j < p->nfds; j++) {
			uint32_t slot = find_slot(t, p->fds[j].inode);
			if (slot != NO_SLOT)
				t->count[slot]++;
		}
	}
	t->nprocs = nprocs;
	size_t total = 0;
	for (size_t i = 0; i < t->nslots; i++) {
		t->first[i] = (uint32_t)total;
		total += t->count[i];
		t->count[i] = 0;
	}
	t->owners = xreallocarray(NULL, total ? total : 1, sizeof(*t->owners));
	t->nowners = total;

	/* Place them; looking each inode up again costs less than remembering. */
	base = 0;
	for (size_t i = 0; i < nparts; i++) {
		const struct pv_scan_part *p = &parts[i];
		for (size_t j = 0; j < p->nfds; j++) {
			uint32_t slot = find_slot(t, p->fds[j].inode);
			if (slot == NO_SLOT)
				continue;
			struct pv_owner o = p->fds[j];
			o.proc += (uint32_t)base;
			/*
			 * insertion into the slot's group, sorted by pid then fd; one
			 * descriptor seen through two file tables (a thread's copy of
			 * its process's) is one owner
			 */
			struct pv_owner *g = t->owners + t->first[slot];
			uint32_t n = t->count[slot], at = n;
			while (at > 0 && owner_before(&o, &g[at - 1]))
				at--;
			if (at > 0 && g[at - 1].pid == o.pid && g[at - 1].fd == o.fd)
				continue;
			memmove(g + at + 1, g + at, (n - at) * sizeof(*g));
			g[at] = o;
			t->count[slot]++;
		}
		base += p->nprocs;
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
