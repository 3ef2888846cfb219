/*
 * The per-process view (procview.c): a hand-made population of sockets,
 * owners and rates added up per program, per process and per unit, each
 * row checked field by field: sockets counted once per row however many
 * of its processes hold them, listening ports sorted and each once, the
 * TCP rates summed and UDP's left out, the sockets without owners in a
 * row of their own, last; the busiest first.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "records.h"
#include "portview/procview.h"
#include "portview/state.h"
#include "portview/view.h"

/* curl (10, 11), nginx (20, 21), dnsmasq (30) */
static struct pv_process procs[] = {
    {.pid = 10, .uid = 1000, .comm = "curl", .comm_len = 4},
    {.pid = 11, .uid = 1000, .comm = "curl", .comm_len = 4},
    {.pid = 20, .uid = 0, .comm = "nginx", .comm_len = 5},
    {.pid = 21, .uid = 33, .comm = "nginx", .comm_len = 5},
    {.pid = 30, .uid = 0, .comm = "dnsmasq", .comm_len = 7},
};
static struct pv_owner fds[] = {
    {.pid = 10, .fd = 3, .proc = 0, .inode = 100}, {.pid = 11, .fd = 3, .proc = 1, .inode = 101},
    {.pid = 20, .fd = 6, .proc = 2, .inode = 200}, {.pid = 21, .fd = 6, .proc = 3, .inode = 200},
    {.pid = 20, .fd = 7, .proc = 2, .inode = 201}, {.pid = 21, .fd = 7, .proc = 3, .inode = 201},
    {.pid = 21, .fd = 8, .proc = 3, .inode = 202}, {.pid = 21, .fd = 9, .proc = 3, .inode = 203},
    {.pid = 30, .fd = 4, .proc = 4, .inode = 300}, {.pid = 30, .fd = 5, .proc = 4, .inode = 301},
};

struct world {
	struct pv_socklist l;
	struct pv_view v;
	struct pv_rate rates[16];
	char proc_root[200];
};

static void add(struct world *w, uint8_t proto, int af, const char *src, uint16_t sport,
		const char *dst, uint16_t dport, uint8_t state, uint32_t inode, uint64_t sent,
		uint64_t received)
{
	struct pv_sock s = mksock(proto, af, src, sport, dst, dport, state);
	s.inode = inode;
	if (sent || received)
		w->rates[w->l.n] =
		    (struct pv_rate){.sent = sent, .received = received, .known = true};
	ck_assert(pv_socklist_add(&w->l, &s));
}

static void write_cgroup(const char *root, int pid, const char *path)
{
	char name[128];
	snprintf(name, sizeof(name), "%s/%d", root, pid);
	ck_assert_int_eq(mkdir(name, 0755), 0);
	snprintf(name, sizeof(name), "%s/%d/cgroup", root, pid);
	FILE *f = fopen(name, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "0::%s\n", path);
	fclose(f);
}

static void make_world(struct world *w, bool units)
{
	memset(w, 0, sizeof(*w));
	pv_socklist_init(&w->l);
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 40000, "10.0.0.2", 443, PV_TCP_ESTABLISHED, 100,
	    1000, 2000);
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 40001, "10.0.0.2", 443, PV_TCP_ESTABLISHED, 101,
	    500, 100);
	/* nginx's listeners, shared by master and worker; a second :80 (SO_REUSEPORT) */
	add(w, IPPROTO_TCP, AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, PV_TCP_LISTEN, 200, 0, 0);
	add(w, IPPROTO_TCP, AF_INET6, "::", 443, "::", 0, PV_TCP_LISTEN, 201, 0, 0);
	add(w, IPPROTO_TCP, AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, PV_TCP_LISTEN, 202, 0, 0);
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 80, "10.0.0.9", 5555, PV_TCP_ESTABLISHED, 203, 300,
	    400);
	/* dnsmasq: a bound UDP socket and a connected one, whose "rate" must not count */
	add(w, IPPROTO_UDP, AF_INET, "0.0.0.0", 53, "0.0.0.0", 0, PV_TCP_CLOSE, 300, 0, 0);
	add(w, IPPROTO_UDP, AF_INET, "10.0.0.1", 5000, "8.8.8.8", 53, PV_TCP_ESTABLISHED, 301, 77,
	    88);
	/* no process holds a TIME_WAIT socket: three, more than dnsmasq's, yet last */
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 40002, "10.0.0.2", 443, PV_TCP_TIME_WAIT, 0, 0, 0);
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 40003, "10.0.0.2", 443, PV_TCP_TIME_WAIT, 0, 0, 0);
	add(w, IPPROTO_TCP, AF_INET, "10.0.0.1", 40004, "10.0.0.2", 443, PV_TCP_TIME_WAIT, 0, 0, 0);
	pv_view_init(&w->v, &w->l, NULL, NULL);
	struct pv_scan_part part = {.fds = fds,
				    .nfds = sizeof(fds) / sizeof(fds[0]),
				    .procs = procs,
				    .nprocs = sizeof(procs) / sizeof(procs[0])};
	ck_assert(!pv_view_join_owners(&w->v, &part, 1));
	w->v.rates = w->rates;
	if (units) {
		ck_assert_int_lt(
		    snprintf(w->proc_root, sizeof(w->proc_root), "%s", scratch_dir("procview")),
		    (int)sizeof(w->proc_root));
		write_cgroup(w->proc_root, 10, "/user.slice/user-1000.slice/session-3.scope");
		write_cgroup(w->proc_root, 11, "/user.slice/user-1000.slice/session-3.scope");
		write_cgroup(w->proc_root, 20, "/system.slice/nginx.service");
		write_cgroup(w->proc_root, 21, "/system.slice/nginx.service");
		write_cgroup(w->proc_root, 30, "/system.slice/dnsmasq.service");
		pv_view_want_units(&w->v, w->proc_root);
	}
}

static void free_world(struct world *w)
{
	pv_view_free(&w->v);
	pv_socklist_free(&w->l);
	if (w->proc_root[0]) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", w->proc_root);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static void ck_name(const struct pv_procrow *r, const char *name)
{
	ck_assert_msg(r->name_len == strlen(name) && memcmp(r->name, name, r->name_len) == 0,
		      "row %.*s, expected %s", (int)r->name_len, r->name, name);
}

static void ck_pids(const struct pv_procrow *r, size_t n, const int32_t *want)
{
	ck_assert_uint_eq(r->npids, n);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(r->pids[i], want[i]);
}

START_TEST(by_program)
{
	struct world w;
	struct pv_procview pv;
	make_world(&w, false);
	pv_procview_build(&pv, &w.v, PV_PROCVIEW_PROGRAM);
	ck_assert_uint_eq(pv.n, 4);

	const struct pv_procrow *curl = &pv.rows[0];
	ck_name(curl, "curl");
	ck_pids(curl, 2, (const int32_t[]){10, 11});
	ck_assert_uint_eq(curl->uid, 1000);
	ck_assert_uint_eq(curl->sockets, 2);
	ck_assert_uint_eq(curl->tcp, 2);
	ck_assert_uint_eq(curl->tcp_states[PV_TCP_ESTABLISHED], 2);
	ck_assert_uint_eq(curl->nlisten, 0);
	ck_assert_uint_eq(curl->send_rate, 1500);
	ck_assert_uint_eq(curl->recv_rate, 2100);
	ck_assert_uint_eq(curl->rated, 2);

	/* the shared listener counted once; port 80 listed once */
	const struct pv_procrow *nginx = &pv.rows[1];
	ck_name(nginx, "nginx");
	ck_pids(nginx, 2, (const int32_t[]){20, 21});
	ck_assert_uint_eq(nginx->sockets, 4);
	ck_assert_uint_eq(nginx->tcp_states[PV_TCP_LISTEN], 3);
	ck_assert_uint_eq(nginx->tcp_states[PV_TCP_ESTABLISHED], 1);
	ck_assert_uint_eq(nginx->nlisten, 2);
	ck_assert_uint_eq(nginx->listen[0].port, 80);
	ck_assert_uint_eq(nginx->listen[1].port, 443);
	ck_assert_uint_eq(nginx->listen[1].proto, IPPROTO_TCP);
	ck_assert_uint_eq(nginx->send_rate, 300);
	ck_assert_uint_eq(nginx->recv_rate, 400);
	ck_assert_uint_eq(nginx->rated, 1);

	/* UDP: counted as sockets, its traffic not */
	const struct pv_procrow *dns = &pv.rows[2];
	ck_name(dns, "dnsmasq");
	ck_assert_uint_eq(dns->sockets, 2);
	ck_assert_uint_eq(dns->udp, 2);
	ck_assert_uint_eq(dns->tcp, 0);
	ck_assert_uint_eq(dns->udp_connected, 1);
	ck_assert_uint_eq(dns->nlisten, 1);
	ck_assert_uint_eq(dns->listen[0].port, 53);
	ck_assert_uint_eq(dns->listen[0].proto, IPPROTO_UDP);
	ck_assert_uint_eq(dns->send_rate + dns->recv_rate + dns->rated, 0);

	const struct pv_procrow *none = &pv.rows[3];
	ck_assert(none->no_owner);
	ck_assert_uint_eq(none->name_len, 0);
	ck_assert_uint_eq(none->npids, 0);
	ck_assert_uint_eq(none->sockets, 3);
	ck_assert_uint_eq(none->tcp_states[PV_TCP_TIME_WAIT], 3);
	for (size_t i = 0; i < 3; i++)
		ck_assert(!pv.rows[i].no_owner);

	pv_procview_free(&pv);
	ck_assert_uint_eq(pv.n, 0);
	free_world(&w);
}
END_TEST

/* Per process: a shared socket in each holder's row; ties by sockets, then name. */
START_TEST(by_pid)
{
	struct world w;
	struct pv_procview pv;
	make_world(&w, false);
	pv_procview_build(&pv, &w.v, PV_PROCVIEW_PID);
	ck_assert_uint_eq(pv.n, 6);
	static const int32_t order[] = {10, 21, 11, 30, 20};
	static const size_t sockets[] = {1, 4, 1, 2, 2};
	for (size_t i = 0; i < 5; i++) {
		ck_pids(&pv.rows[i], 1, &order[i]);
		ck_assert_uint_eq(pv.rows[i].sockets, sockets[i]);
	}
	ck_name(&pv.rows[1], "nginx");
	ck_assert_uint_eq(pv.rows[1].uid, 33);
	ck_assert_uint_eq(pv.rows[1].nlisten, 2);
	ck_assert_uint_eq(pv.rows[4].nlisten, 2);
	ck_assert_uint_eq(pv.rows[0].send_rate, 1000);
	ck_assert(pv.rows[5].no_owner);
	pv_procview_free(&pv);
	free_world(&w);
}
END_TEST

/* Per unit: the owners' units from their cgroups, each process in its unit's pid set. */
START_TEST(by_unit)
{
	struct world w;
	struct pv_procview pv;
	make_world(&w, true);
	pv_procview_build(&pv, &w.v, PV_PROCVIEW_UNIT);
	ck_assert_uint_eq(pv.n, 4);
	ck_name(&pv.rows[0], "session-3.scope");
	ck_assert_int_eq(pv.rows[0].unit_kind, PV_UNIT_SCOPE);
	ck_pids(&pv.rows[0], 2, (const int32_t[]){10, 11});
	ck_assert_uint_eq(pv.rows[0].send_rate, 1500);
	ck_name(&pv.rows[1], "nginx.service");
	ck_assert_int_eq(pv.rows[1].unit_kind, PV_UNIT_SERVICE);
	ck_pids(&pv.rows[1], 2, (const int32_t[]){20, 21});
	ck_assert_uint_eq(pv.rows[1].sockets, 4);
	ck_name(&pv.rows[2], "dnsmasq.service");
	ck_assert(pv.rows[3].no_owner);
	pv_procview_free(&pv);
	free_world(&w);
}
END_TEST

/* Nothing in, nothing out; a view without owners: one no_owner row. */
START_TEST(empty_and_ownerless)
{
	struct pv_socklist l;
	struct pv_view v;
	struct pv_procview pv;
	pv_socklist_init(&l);
	pv_view_init(&v, &l, NULL, NULL);
	pv_procview_build(&pv, &v, PV_PROCVIEW_PROGRAM);
	ck_assert_uint_eq(pv.n, 0);
	pv_procview_free(&pv);
	pv_view_free(&v);
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 1, "127.0.0.1", 2, PV_TCP_ESTABLISHED);
	ck_assert(pv_socklist_add(&l, &s));
	ck_assert(pv_socklist_add(&l, &s));
	pv_view_init(&v, &l, NULL, NULL);
	pv_procview_build(&pv, &v, PV_PROCVIEW_PID);
	ck_assert_uint_eq(pv.n, 1);
	ck_assert(pv.rows[0].no_owner);
	ck_assert_uint_eq(pv.rows[0].sockets, 2);
	pv_procview_free(&pv);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("procview");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, by_program);
	tcase_add_test(tc, by_pid);
	tcase_add_test(tc, by_unit);
	tcase_add_test(tc, empty_and_ownerless);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
