/*
 * The per-process view: a view's rows added up per program, process or
 * unit.  Each socket is counted once in each group one of its owners
 * belongs to; the groups are found through a hash map of their keys (a
 * pid, or a hash of the name checked against the name itself).
 */
#include "portview/procview.h"
#include "portview/buf.h"
#include "portview/hashmap.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define NO_GROUP UINT32_MAX

struct builder {
	struct pv_procview *pv;
	size_t cap;
	struct pv_hashmap keys; /* key -> row */
	uint32_t *proc_group;	/* per process of the owner table: its row, or NO_GROUP */
	size_t *counted;	/* per row: 1 + the last socket counted in it */
	size_t *cap_pids;	/* per row: room in its pids */
	size_t *cap_listen;	/* per row: room in its listen */
	uint32_t no_owner;	/* the no_owner row, or NO_GROUP */
};

static uint32_t new_row(struct builder *b, const char *name, size_t len, uint32_t uid)
{
	struct pv_procview *pv = b->pv;
	if (pv->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		pv->rows = xreallocarray(pv->rows, b->cap, sizeof(*pv->rows));
		b->counted = xreallocarray(b->counted, b->cap, sizeof(*b->counted));
		b->cap_pids = xreallocarray(b->cap_pids, b->cap, sizeof(*b->cap_pids));
		b->cap_listen = xreallocarray(b->cap_listen, b->cap, sizeof(*b->cap_listen));
	}
	struct pv_procrow *r = &pv->rows[pv->n];
	memset(r, 0, sizeof(*r));
	if (len > sizeof(r->name))
		len = sizeof(r->name);
	memcpy(r->name, name, len);
	r->name_len = len;
	r->uid = uid;
	b->counted[pv->n] = b->cap_pids[pv->n] = b->cap_listen[pv->n] = 0;
	return (uint32_t)pv->n++;
}

/* The row named name (len bytes), made when there is none yet. */
static uint32_t row_by_name(struct builder *b, const char *name, size_t len, uint32_t uid)
{
	if (len > PV_UNIT_NAME_MAX)
		len = PV_UNIT_NAME_MAX;
	uint64_t key = pv_hash_bytes(name, len, 0x70726f63);
	bool added;
	uint32_t *slot = pv_hashmap_put(&b->keys, key, &added);
	if (added)
		return *slot = new_row(b, name, len, uid);
	const struct pv_procrow *r = &b->pv->rows[*slot];
	if (r->name_len == len && memcmp(r->name, name, len) == 0)
		return *slot;
	/* two names, one hash: look the name up the long way */
	for (size_t i = 0; i < b->pv->n; i++) {
		r = &b->pv->rows[i];
		if (!r->no_owner && r->name_len == len && memcmp(r->name, name, len) == 0)
			return (uint32_t)i;
	}
	return new_row(b, name, len, uid);
}

static void add_pid(struct builder *b, uint32_t g, int32_t pid)
{
	struct pv_procrow *r = &b->pv->rows[g];
	if (r->npids && r->pids[r->npids - 1] == pid)
		return;
	if (r->npids == b->cap_pids[g]) {
		b->cap_pids[g] = b->cap_pids[g] ? 2 * b->cap_pids[g] : 4;
		r->pids = xreallocarray(r->pids, b->cap_pids[g], sizeof(*r->pids));
	}
	r->pids[r->npids++] = pid;
}

/* The row of owner table process p (PROGRAM, PID), worked out once per process. */
static uint32_t row_of_proc(struct builder *b, const struct pv_view *v, uint32_t p)
{
	if (b->proc_group[p] != NO_GROUP)
		return b->proc_group[p];
	const struct pv_process *pr = &v->owners.procs[p];
	uint32_t g;
	if (b->pv->by == PV_PROCVIEW_PID) {
		bool added;
		uint32_t *slot = pv_hashmap_put(&b->keys, (uint64_t)(uint32_t)pr->pid, &added);
		if (added)
			*slot = new_row(b, pr->comm, pr->comm_len, pr->uid);
		g = *slot;
	} else {
		g = row_by_name(b, pr->comm, pr->comm_len, pr->uid);
	}
	add_pid(b, g, pr->pid);
	return b->proc_group[p] = g;
}

static void add_listen(struct builder *b, uint32_t g, uint16_t port, uint8_t proto)
{
	struct pv_procrow *r = &b->pv->rows[g];
	if (r->nlisten == b->cap_listen[g]) {
		b->cap_listen[g] = b->cap_listen[g] ? 2 * b->cap_listen[g] : 4;
		r->listen = xreallocarray(r->listen, b->cap_listen[g], sizeof(*r->listen));
	}
	r->listen[r->nlisten++] = (struct pv_procport){.port = port, .proto = proto};
}

/* Socket i (row) counted in row g, unless it has been already. */
static void count(struct builder *b, uint32_t g, size_t i, const struct pv_row *row)
{
	if (b->counted[g] == i + 1)
		return;
	b->counted[g] = i + 1;
	struct pv_procrow *r = &b->pv->rows[g];
	const struct pv_sock *s = &row->s;
	r->sockets++;
	if (s->proto == IPPROTO_TCP) {
		r->tcp++;
		if (s->state < PV_PROCVIEW_STATES)
			r->tcp_states[s->state]++;
		if (s->state == PV_TCP_LISTEN)
			add_listen(b, g, s->local.port, s->proto);
		if (row->rate.known) {
			r->send_rate += row->rate.sent;
			r->recv_rate += row->rate.received;
			r->rated++;
		}
	} else if (s->proto == IPPROTO_UDP) {
		r->udp++;
		if (s->remote.port)
			r->udp_connected++;
		else if (s->local.port)
			add_listen(b, g, s->local.port, s->proto);
	}
}

/* The row for a unit label (PV_PROCVIEW_UNIT). */
static uint32_t row_of_unit(struct builder *b, const struct pv_row *row, const struct pv_view *v)
{
	char label[PV_UNIT_NAME_MAX + 16] = "";
	enum pv_unit_kind kind = row->unit ? row->unit->kind : PV_UNIT_NONE;
	if (kind != PV_UNIT_NONE)
		pv_unit_label(row->unit, label, sizeof(label));
	uint32_t uid = row->owner_count
			   ? v->owners.procs[v->owners.owners[row->owner_first].proc].uid
			   : row->s.uid;
	uint32_t g = row_by_name(b, label, strlen(label), uid);
	b->pv->rows[g].unit_kind = kind;
	for (uint32_t k = 0; k < row->owner_count; k++)
		add_pid(b, g, v->owners.owners[row->owner_first + k].pid);
	return g;
}

static void add_socket(struct builder *b, const struct pv_view *v, size_t i)
{
	struct pv_row row;
	pv_view_row(v, i, &row);
	bool unit_known = row.unit && row.unit->kind != PV_UNIT_NONE;
	if (b->pv->by == PV_PROCVIEW_UNIT && (row.owner_count || unit_known)) {
		count(b, row_of_unit(b, &row, v), i, &row);
		return;
	}
	if (row.owner_count == 0) {
		if (b->no_owner == NO_GROUP) {
			b->no_owner = new_row(b, "", 0, row.s.uid);
			b->pv->rows[b->no_owner].no_owner = true;
		}
		count(b, b->no_owner, i, &row);
		return;
	}
	for (uint32_t k = 0; k < row.owner_count; k++)
		count(b, row_of_proc(b, v, v->owners.owners[row.owner_first + k].proc), i, &row);
}

static int cmp_i32(const void *a, const void *b)
{
	int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
	return (x > y) - (x < y);
}

static int cmp_port(const void *a, const void *b)
{
	const struct pv_procport *x = a, *y = b;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return (x->proto > y->proto) - (x->proto < y->proto);
}

/* The busiest first; the sockets without owners last. */
static int cmp_row(const void *a, const void *b)
{
	const struct pv_procrow *x = a, *y = b;
	if (x->no_owner != y->no_owner)
		return x->no_owner ? 1 : -1;
	uint64_t tx = x->send_rate + x->recv_rate, ty = y->send_rate + y->recv_rate;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	if (x->sockets != y->sockets)
		return x->sockets > y->sockets ? -1 : 1;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);
	if (c || x->name_len != y->name_len)
		return c ? c : x->name_len < y->name_len ? -1 : 1;
	int32_t px = x->npids ? x->pids[0] : 0, py = y->npids ? y->pids[0] : 0;
	return (px > py) - (px < py);
}

/* Sorted, each once. */
static void tidy(struct pv_procrow *r)
{
	size_t n = 0;
	if (r->npids > 1) /* qsort wants an array, even of none */
		qsort(r->pids, r->npids, sizeof(*r->pids), cmp_i32);
	for (size_t i = 0; i < r->npids; i++)
		if (n == 0 || r->pids[n - 1] != r->pids[i])
			r->pids[n++] = r->pids[i];
	r->npids = n;
	n = 0;
	if (r->nlisten > 1)
		qsort(r->listen, r->nlisten, sizeof(*r->listen), cmp_port);
	for (size_t i = 0; i < r->nlisten; i++)
		if (n == 0 || cmp_port(&r->listen[n - 1], &r->listen[i]) != 0)
			r->listen[n++] = r->listen[i];
	r->nlisten = n;
}

void pv_procview_build(struct pv_procview *pv, const struct pv_view *v, enum pv_procview_by by)
{
	*pv = (struct pv_procview){.by = by};
	struct builder b = {.pv = pv, .no_owner = NO_GROUP};
	size_t nprocs = v->has_owners ? v->owners.nprocs : 0;
	pv_hashmap_init(&b.keys, nprocs + 16);
	b.proc_group = xmalloc((nprocs ? nprocs : 1) * sizeof(*b.proc_group));
	for (size_t p = 0; p < nprocs; p++)
		b.proc_group[p] = NO_GROUP;
	for (size_t i = 0; i < v->l->n; i++)
		add_socket(&b, v, i);
	for (size_t g = 0; g < pv->n; g++)
		tidy(&pv->rows[g]);
	if (pv->n > 1)
		qsort(pv->rows, pv->n, sizeof(*pv->rows), cmp_row);
	pv_hashmap_free(&b.keys);
	free(b.proc_group);
	free(b.counted);
	free(b.cap_pids);
	free(b.cap_listen);
}

void pv_procview_free(struct pv_procview *pv)
{
	for (size_t i = 0; i < pv->n; i++) {
		free(pv->rows[i].pids);
		free(pv->rows[i].listen);
	}
	free(pv->rows);
	*pv = (struct pv_procview){0};
}
