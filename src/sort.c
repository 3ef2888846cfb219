#include "portview/sort.h"
#include "portview/buf.h"
#include "portview/state.h"
#include "portview/util.h"

#include <errno.h>
#include <netinet/in.h>
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
	for (size_t i = 0; i < ARRAY_SIZE(sort_keys); i++) {
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
};

static int cmp_int(long long a, long long b)
{
	return (a > b) - (a < b);
}

/* The first owner of a record, or NULL. */
static const struct pv_owner *first_owner(const struct pv_rec *r, const struct pv_owner_table *t)
{
	uint32_t first, count;
	if (!t)
		return NULL;
	pv_owners_lookup(t, r->inode, &first, &count);
	return count ? &t->owners[first] : NULL;
}

static int cmp_program(const struct pv_owner *a, const struct pv_owner *b,
		       const struct pv_owner_table *t)
{
	if (!a || !b)
		return cmp_int(!a, !b); /* unknown owners last */
	const struct pv_process *pa = &t->procs[a->proc];
	const struct pv_process *pb = &t->procs[b->proc];
	size_t n = pa->comm_len < pb->comm_len ? pa->comm_len : pb->comm_len;
	int c = memcmp(pa->comm, pb->comm, n);
	return c ? c : cmp_int(pa->comm_len, pb->comm_len);
}

static void endpoint_of(const struct pv_socklist *l, const struct pv_rec *r, bool local,
			uint8_t addr[16], uint16_t *port)
{
	memset(addr, 0, 16);
	if (r->family == AF_INET6)
		memcpy(addr, local ? l->v6[r->laddr].local : l->v6[r->laddr].remote, 16);
	else
		memcpy(addr, local ? &r->laddr : &r->raddr, 4);
	*port = local ? r->lport : r->rport;
}

static int cmp_endpoint(const struct pv_socklist *l, const struct pv_rec *a, const struct pv_rec *b,
			bool local)
{
	int c = cmp_int(a->family, b->family);
	if (c)
		return c;
	uint8_t x[16], y[16];
	uint16_t px, py;
	endpoint_of(l, a, local, x, &px);
	endpoint_of(l, b, local, y, &py);
	c = memcmp(x, y, 16);
	return c ? c : cmp_int(px, py);
}

static int by_key(const struct pv_socklist *l, const struct pv_rec *a, const struct pv_rec *b,
		  const void *arg)
{
	const struct sort_ctx *ctx = arg;
	int c = 0;
	switch (ctx->key) {
	case PV_SORT_PROTO:
		c = cmp_int(a->proto, b->proto);
		break;
	case PV_SORT_LOCAL:
		c = cmp_endpoint(l, a, b, true);
		break;
	case PV_SORT_FOREIGN:
		c = cmp_endpoint(l, a, b, false);
		break;
	case PV_SORT_STATE:
		c = strcmp(pv_state_display(a->proto, a->state),
			   pv_state_display(b->proto, b->state));
		break;
	case PV_SORT_PID: {
		const struct pv_owner *x = first_owner(a, ctx->owners);
		const struct pv_owner *y = first_owner(b, ctx->owners);
		c = cmp_int(x ? x->pid : INT_MAX, y ? y->pid : INT_MAX);
		break;
	}
	case PV_SORT_PROGRAM:
		c = cmp_program(first_owner(a, ctx->owners), first_owner(b, ctx->owners),
				ctx->owners);
		break;
	case PV_SORT_PORT:
		c = cmp_int(a->lport, b->lport);
		break;
	case PV_SORT_DEFAULT:
		break;
	}
	if (!c)
		c = pv_rec_cmp(l, a, b);
	return ctx->reverse ? -c : c;
}

/* In place, on the 32-byte records (sock.c's introsort). */
void pv_socklist_sort_by(struct pv_socklist *l, enum pv_sort_key key, bool reverse,
			 const struct pv_owner_table *owners)
{
	if (key == PV_SORT_DEFAULT && !reverse) {
		pv_socklist_sort(l);
		return;
	}
	struct sort_ctx ctx = {key, reverse, owners};
	pv_socklist_sort_with(l, by_key, &ctx);
}
