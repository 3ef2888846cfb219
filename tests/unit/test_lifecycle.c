/*
 * The lifecycle records made into rows (lifecycle_batch.c): the query
 * applied, the namespaces followed, and the owners each row names: the
 * task of the record, the listener of an accepted connection (the one the
 * records opened, or the last dump's), the dump's for a socket it knew.
 */
#include <stdlib.h>

#include "records.h"
#include "portview/lifecycle.h"
#include "portview/state.h"

#define NS_OWN	 111
#define NS_OTHER 222

static struct pv_lc_rec rec(uint8_t kind, uint64_t cookie, uint16_t sport, uint16_t dport,
			    uint8_t oldstate, uint8_t newstate)
{
	struct pv_lc_rec r;
	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.cookie = cookie;
	r.netns = NS_OWN;
	r.family = AF_INET;
	r.sport = sport;
	r.dport = dport;
	r.oldstate = oldstate;
	r.newstate = newstate;
	inet_pton(AF_INET, "127.0.0.1", r.saddr);
	inet_pton(AF_INET, dport ? "127.0.0.1" : "0.0.0.0", r.daddr);
	return r;
}

static void named(struct pv_lc_rec *r, int32_t pid, const char *comm, uint8_t flag)
{
	r->pid = pid;
	r->flags |= flag | PV_LC_F_STARTED;
	strncpy(r->comm, comm, sizeof(r->comm));
}

/* "PID/program" of row i's owners, comma-separated, or "-". */
static void owners_of(const struct pv_view *v, size_t i, char *out, size_t n)
{
	struct pv_row r;
	pv_view_row(v, i, &r);
	out[0] = '\0';
	if (!r.owner_count)
		snprintf(out, n, "-");
	for (uint32_t k = 0; k < r.owner_count; k++) {
		const struct pv_owner *o = &v->owners.owners[r.owner_first + k];
		const struct pv_process *p = &v->owners.procs[o->proc];
		size_t used = strlen(out);
		snprintf(out + used, n - used, "%s%d/%.*s", k ? "," : "", (int)o->pid,
			 (int)p->comm_len, p->comm);
	}
}

static const struct pv_view_netns places[] = {{.label = "own", .ino = NS_OWN}};

START_TEST(rows_and_owners)
{
	struct pv_query q = {.states = PV_STATES_ALL};
	struct pv_lc_ctx c = {.q = &q, .places = places, .nplaces = 1};
	struct pv_lc_rec r[6];
	r[0] = rec(PV_LC_OPENED, 1, 8080, 0, PV_TCP_CLOSE, PV_TCP_LISTEN);
	named(&r[0], 10, "srv", PV_LC_F_TASK);
	r[1] = rec(PV_LC_OPENED, 2, 40000, 8080, PV_TCP_SYN_SENT, PV_TCP_ESTABLISHED);
	named(&r[1], 20, "cli", PV_LC_F_ACTIVE);
	r[2] = rec(PV_LC_OPENED, 3, 8080, 40000, PV_TCP_SYN_RECV, PV_TCP_ESTABLISHED);
	r[2].flags = PV_LC_F_PASSIVE | PV_LC_F_STARTED;
	r[3] = rec(PV_LC_OPENED, 4, 8080, 40001, PV_TCP_SYN_RECV, PV_TCP_ESTABLISHED);
	r[3].netns = NS_OTHER; /* not followed */
	r[4] = rec(PV_LC_CLOSED, 2, 40000, 8080, PV_TCP_FIN_WAIT2, PV_TCP_CLOSE);
	named(&r[4], 20, "cli", PV_LC_F_ACTIVE);
	r[5] = rec(PV_LC_CLOSED, 5, 40002, 8080, PV_TCP_ESTABLISHED, PV_TCP_CLOSE);

	struct pv_lc_batch b;
	pv_lc_batch_init(&b);
	pv_lc_batch_build(&b, &c, r, 6);
	ck_assert_uint_eq(b.l.n, 5);
	char who[64];
	const char *want[] = {"10/srv", "20/cli", "10/srv", "20/cli", "-"};
	const uint8_t states[] = {PV_TCP_LISTEN, PV_TCP_ESTABLISHED, PV_TCP_ESTABLISHED,
				  PV_TCP_FIN_WAIT2, PV_TCP_ESTABLISHED};
	for (size_t i = 0; i < 5; i++) {
		struct pv_row row;
		pv_view_row(&b.view, i, &row);
		owners_of(&b.view, i, who, sizeof(who));
		ck_assert_msg(strcmp(who, want[i]) == 0, "row %zu: %s", i, who);
		ck_assert_uint_eq(row.s.state, states[i]);
		ck_assert_ptr_nonnull(row.netns);
		ck_assert_str_eq(row.netns->label, "own");
	}

	/* the listener closed: an accepted connection after it has no owner known */
	struct pv_lc_rec later[2];
	later[0] = rec(PV_LC_CLOSED, 1, 8080, 0, PV_TCP_LISTEN, PV_TCP_CLOSE);
	later[1] = rec(PV_LC_OPENED, 6, 8080, 40003, PV_TCP_SYN_RECV, PV_TCP_ESTABLISHED);
	later[1].flags = PV_LC_F_PASSIVE;
	pv_lc_batch_build(&b, &c, later, 2);
	ck_assert_uint_eq(b.l.n, 2);
	owners_of(&b.view, 1, who, sizeof(who));
	ck_assert_str_eq(who, "-");

	/* the query: connections only, and --dport 8080 */
	q.states = PV_STATES_CONNECTED;
	q.clauses[0] =
	    (struct pv_port_clause){.sides = PV_SIDE_DST, .nranges = 1, .ranges = {{8080, 8080}}};
	q.nclauses = 1;
	pv_lc_batch_build(&b, &c, r, 6);
	ck_assert_uint_eq(b.l.n, 3); /* the client's open and close, the other close */
	ck_assert_uint_eq(b.ev[0].rec.cookie, 2);
	ck_assert_uint_eq(b.ev[1].rec.cookie, 2);
	ck_assert_uint_eq(b.ev[2].rec.cookie, 5);

	/* --all-netns: the other namespace too, labelled by its inode */
	q.states = PV_STATES_ALL;
	q.nclauses = 0;
	c.all = true;
	pv_lc_batch_build(&b, &c, r + 3, 1);
	ck_assert_uint_eq(b.l.n, 1);
	struct pv_row row;
	pv_view_row(&b.view, 0, &row);
	ck_assert_str_eq(row.netns->label, "net:[222]");
	pv_lc_batch_free(&b);
}
END_TEST

/* Owners from the last dump: an accepted connection's listener, a socket it knew. */
START_TEST(owners_from_the_dump)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "0.0.0.0", 9090, "0.0.0.0", 0, PV_TCP_LISTEN);
	s.inode = 500;
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 50000, "127.0.0.1", 9999, PV_TCP_ESTABLISHED);
	s.inode = 501;
	s.cookie = 77;
	pv_socklist_add(&l, &s);
	struct pv_process procs[] = {{.pid = 30, .comm = "web", .comm_len = 3},
				     {.pid = 31, .comm = "old", .comm_len = 3}};
	struct pv_owner fds[] = {{.pid = 30, .fd = 5, .proc = 0, .inode = 500},
				 {.pid = 31, .fd = 6, .proc = 1, .inode = 501}};
	struct pv_scan_part part = {.fds = fds, .nfds = 2, .procs = procs, .nprocs = 2};
	struct pv_view v;
	pv_view_init(&v, &l, NULL, NULL);
	pv_view_join_owners(&v, &part, 1);
	struct pv_idmap at;
	pv_idmap_init(&at, 2);
	pv_idmap_put(&at, l.v[0].cookie, 0);
	pv_idmap_put(&at, 77, 1);
	size_t nl;
	uint32_t *lst = pv_lc_listeners(&l, &nl);
	ck_assert_uint_eq(nl, 1);

	struct pv_query q = {.states = PV_STATES_ALL};
	struct pv_lc_ctx c = {.q = &q,
			      .places = places,
			      .nplaces = 1,
			      .known = {.view = &v, .at = &at, .listeners = lst, .nlisteners = nl}};
	struct pv_lc_rec r[2];
	r[0] = rec(PV_LC_OPENED, 8, 9090, 41000, PV_TCP_SYN_RECV, PV_TCP_ESTABLISHED);
	r[0].flags = PV_LC_F_PASSIVE;
	r[1] = rec(PV_LC_CLOSED, 77, 50000, 9999, PV_TCP_ESTABLISHED, PV_TCP_CLOSE);
	struct pv_lc_batch b;
	pv_lc_batch_init(&b);
	pv_lc_batch_build(&b, &c, r, 2);
	char who[64];
	owners_of(&b.view, 0, who, sizeof(who));
	ck_assert_str_eq(who, "30/web");
	owners_of(&b.view, 1, who, sizeof(who));
	ck_assert_str_eq(who, "31/old");
	ck_assert_uint_eq(b.ev[0].inode, 0);
	ck_assert_uint_eq(b.ev[1].inode, 501); /* the dump's, for JSON's inode */

	/* --pid 31: only the row 31 owns */
	q.pids[0] = 31;
	q.npids = 1;
	pv_lc_batch_build(&b, &c, r, 2);
	ck_assert_uint_eq(b.l.n, 1);
	ck_assert_uint_eq(b.ev[0].rec.cookie, 77);
	pv_lc_batch_free(&b);
	free(lst);
	pv_idmap_free(&at);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(reset_reasons)
{
	ck_assert_str_eq(pv_lc_reset_reason(0), "not_specified");
	ck_assert_str_eq(pv_lc_reset_reason(11), "tcp_abort_on_close");
	ck_assert_ptr_null(pv_lc_reset_reason(999));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("lifecycle");
	tcase_add_test(tc, rows_and_owners);
	tcase_add_test(tc, owners_from_the_dump);
	tcase_add_test(tc, reset_reasons);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
