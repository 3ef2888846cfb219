/*
 * The owner table: the socket inodes a view wants, joined with the parts
 * of a finished scan into inode -> owners.
 */
#include "portview/buf.h"
#include "portview/owners.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

void pv_owners_init(struct pv_owner_table *t, size_t expected)
{
	memset(t, 0, sizeof(*t));
	pv_hashmap_init32(&t->slots, expected); /* inodes: 8-byte entries */
}

void pv_owners_free(struct pv_owner_table *t)
{
	pv_hashmap_free(&t->slots);
	free(t->first);
	free(t->count);
	pv_big_free(t->owners);
	free(t->procs);
	free(t->row_slot);
	free(t->slot_inode);
	memset(t, 0, sizeof(*t));
}

static uint32_t find_slot(const struct pv_owner_table *t, uint32_t inode)
{
	uint32_t slot;
	return pv_hashmap_get(&t->slots, inode, &slot) ? slot : NO_SLOT;
}

/* inode's slot, a new one if it was not wanted yet; NO_SLOT for 0 */
static uint32_t want(struct pv_owner_table *t, uint32_t inode)
{
	bool added;
	if (inode == 0)
		return NO_SLOT;
	uint32_t *slot = pv_hashmap_put(&t->slots, inode, &added);
	if (added) {
		if (t->nslots == t->capslots) {
			t->capslots = t->capslots ? t->capslots * 2 : 1024;
			t->slot_inode = xreallocarray(t->slot_inode, t->capslots, sizeof(uint32_t));
		}
		t->slot_inode[t->nslots] = inode;
		*slot = (uint32_t)t->nslots++;
	}
	return *slot;
}

void pv_owners_want(struct pv_owner_table *t, uint32_t inode)
{
	want(t, inode);
}

void pv_owners_rows(struct pv_owner_table *t, size_t n)
{
	if (n)
		pv_owners_place_at(t, n - 1, 0);
}

bool pv_owners_place_at(struct pv_owner_table *t, size_t row, uint32_t inode)
{
	if (row >= t->caprows) {
		size_t cap = t->caprows ? t->caprows * 2 : 1024;
		while (cap <= row)
			cap *= 2;
		t->row_slot = xreallocarray(t->row_slot, cap, sizeof(uint32_t));
		t->caprows = cap;
	}
	while (t->nrows <= row)
		t->row_slot[t->nrows++] = NO_SLOT;
	uint32_t slot = inode ? find_slot(t, inode) : NO_SLOT;
	t->row_slot[row] = slot;
	return slot != NO_SLOT && t->count[slot] > 0;
}

static bool owner_before(const struct pv_owner *a, const struct pv_owner *b)
{
	return a->pid < b->pid || (a->pid == b->pid && a->fd < b->fd);
}

/*
 * pv_owners_join's work; with slots, each fd's slot in parts' order, as
 * wanting it gave (else each fd is looked up, twice).
 */
static void join(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts,
		 const uint32_t *slots)
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

	/*
	 * Count the wanted fds per slot (a counting sort by inode); the fds
	 * are looked up again when placed, which costs less than keeping each
	 * one's slot (4 bytes an fd: 800 KB at 100k sockets' 200k fds).
	 */
	size_t base = 0, k = 0;
	for (size_t i = 0; i < nparts; i++) {
		const struct pv_scan_part *p = &parts[i];
		if (p->nprocs)
			memcpy(t->procs + base, p->procs, p->nprocs * sizeof(*p->procs));
		base += p->nprocs;
		for (size_t j = 0; j < p->nfds; j++, k++) {
			uint32_t slot = slots ? slots[k] : find_slot(t, p->fds[j].inode);
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
	/*
	 * On 2 MB pages once large (pv_big_realloc): 100,000 owners are 2.4 MB,
	 * some 600 fresh 4 KiB pages at 7 us each on this VM, 4 ms of the scan
	 * thread's time before the dumps may use it.
	 */
	t->owners = pv_big_realloc(NULL, total ? total : 1, sizeof(*t->owners), true);
	t->nowners = total;

	/* Place them. */
	base = 0;
	k = 0;
	for (size_t i = 0; i < nparts; i++) {
		const struct pv_scan_part *p = &parts[i];
		for (size_t j = 0; j < p->nfds; j++, k++) {
			uint32_t slot = slots ? slots[k] : find_slot(t, p->fds[j].inode);
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

void pv_owners_join(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts)
{
	join(t, parts, nparts, NULL);
}

void pv_owners_index(struct pv_owner_table *t, const struct pv_scan_part *parts, size_t nparts)
{
	size_t nfds = 0, k = 0;
	for (size_t i = 0; i < nparts; i++)
		nfds += parts[i].nfds;
	pv_owners_init(t, nfds);
	/* each fd's slot kept (4 bytes an fd): two lookups in a large table less per fd */
	uint32_t *slots = xreallocarray(NULL, nfds ? nfds : 1, sizeof(*slots));
	for (size_t i = 0; i < nparts; i++)
		for (size_t j = 0; j < parts[i].nfds; j++)
			slots[k++] = want(t, parts[i].fds[j].inode);
	join(t, parts, nparts, slots);
	free(slots);
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

void pv_owners_lookup_at(const struct pv_owner_table *t, size_t row, uint32_t inode,
			 uint32_t *first, uint32_t *count)
{
	uint32_t slot = row < t->nrows ? t->row_slot[row] : NO_SLOT;
	if (inode == 0 || !t->count || slot == NO_SLOT || t->slot_inode[slot] != inode) {
		pv_owners_lookup(t, inode, first, count);
		return;
	}
	*first = t->first[slot];
	*count = t->count[slot];
}
