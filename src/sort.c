#include "portview/sort.h"
#include "portview/buf.h"
#include "portview/state.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	enum pv_sort_key key;
} sort_keys[] = {
    {"proto", PV_SORT_PROTO}, {"local", PV_SORT_LOCAL}, {"foreign", PV_SORT_FOREIGN},
    {"state", PV_SORT_STATE}, {"pid", PV_SORT_PID},	{"program", PV_SORT_PROGRAM},
    {"port", PV_SORT_PORT},
};

const char *pv_sort_valid_keys(void)
{
	return "proto, local, foreign, state, pid, program, port (a leading - reverses)";
}

int pv_parse_sort_key(const char *text, enum pv_sort_key *key, bool *reverse)
{
	*reverse = text[0] == '-';
	if (*reverse)
		text++;
	for (size_t i = 0; i < sizeof(sort_keys) / sizeof(sort_keys[0]); i++) {
		if (strcasecmp(text, sort_keys[i].name) == 0) {
			*key = sort_keys[i].key;
			return 0;
		}
	}
	return -EINVAL;
}

struct sort_ctx {
	enum pv_sort_key key;
	bool reverse;
	const struct pv_owner_table *owners;
	const struct pv_sock *v;
};

static int cmp_int(long long a, long long b)
{
	return (a > b) - (a < b);
}

static int first_pid(const struct pv_sock *s, const struct pv_owner_table *t)
{
	return t && s->owner_count ? t->owners[s->owner_first].pid : INT_MAX;
}

static int cmp_program(const struct pv_sock *a, const struct pv_sock *b,
		       const struct pv_owner_table *t)
{
	bool ha = t && a->owner_count, hb = t && b->owner_count;
	if (!ha || !hb)
		return cmp_int(!ha, !hb); /* unknown owners last */
	const struct pv_process *pa = &t->procs[t->owners[a->owner_first].proc];
	const struct pv_process *pb = &t->procs[t->owners[b->owner_first].proc];
	size_t n = pa->comm_len < pb->comm_len ? pa->comm_len : pb->comm_len;
	int c = memcmp(pa->comm, pb->comm, n);
	return c ? c : cmp_int(pa->comm_len, pb->comm_len);
}

static int cmp_endpoint(const struct pv_sock *a, const struct pv_endpoint *ea,
			const struct pv_sock *b, const struct pv_endpoint *eb)
{
	int c = cmp_int(a->family, b->family);
	if (!c)
		c = memcmp(ea->addr, eb->addr, sizeof(ea->addr));
	return c ? c : cmp_int(ea->port, eb->port);
}

static int by_key(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *ctx = arg;
	const struct pv_sock *a = &ctx->v[*(const uint32_t *)pa];
	const struct pv_sock *b = &ctx->v[*(const uint32_t *)pb];
	int c = 0;
	switch (ctx->key) {
	case PV_SORT_PROTO:
		c = cmp_int(a->proto, b->proto);
		break;
	case PV_SORT_LOCAL:
		c = cmp_endpoint(a, &a->local, b, &b->local);
		break;
	case PV_SORT_FOREIGN:
		c = cmp_endpoint(a, &a->remote, b, &b->remote);
		break;
	case PV_SORT_STATE:
		c = strcmp(pv_state_display(a->proto, a->state),
			   pv_state_display(b->proto, b->state));
		break;
	case PV_SORT_PID:
		c = cmp_int(first_pid(a, ctx->owners), first_pid(b, ctx->owners));
		break;
	case PV_SORT_PROGRAM:
		c = cmp_program(a, b, ctx->owners);
		break;
	case PV_SORT_PORT:
		c = cmp_int(a->local.port, b->local.port);
		break;
	case PV_SORT_DEFAULT:
		break;
	}
	if (!c)
		c = pv_sock_cmp(a, b);
	return ctx->reverse ? -c : c;
}

/*
 * Records are large, so sort their indices and then move each record once,
 * following the permutation's cycles in place.
 */
void pv_socklist_sort_by(struct pv_socklist *l, enum pv_sort_key key, bool reverse,
			 const struct pv_owner_table *owners)
{
	if (l->n < 2)
		return;
	uint32_t *order = xreallocarray(NULL, l->n, sizeof(*order));
	for (size_t i = 0; i < l->n; i++)
		order[i] = (uint32_t)i;
	struct sort_ctx ctx = {key, reverse, owners, l->v};
	qsort_r(order, l->n, sizeof(*order), by_key, &ctx);

	/* position i must receive record order[i] */
	for (size_t i = 0; i < l->n; i++) {
		if (order[i] == i)
			continue;
		struct pv_sock tmp = l->v[i];
		size_t j = i;
		for (;;) {
			size_t from = order[j];
			order[j] = (uint32_t)j;
			if (from == i) {
				l->v[j] = tmp;
				break;
			}
			l->v[j] = l->v[from];
			j = from;
		}
	}
	free(order);
}
