/*
 * The summary (summary.c) and its renderers: what a hand-made population
 * adds up to, and the exact text, JSON and metrics printed for it.
 */
#include "records.h"
#include "portview/format.h"
#include "portview/ports.h"
#include "portview/render.h"
#include "portview/services.h"
#include "portview/state.h"
#include "portview/summary.h"
#include "portview/util.h"
#include "portview/view.h"

/* The range 50000-50019 with 50010 reserved: 19 ports available. */
static struct pv_ephemeral range(void)
{
	struct pv_ephemeral e = {.known = true, .lo = 50000, .hi = 50019};
	e.reserved = pv_portset_new();
	pv_portset_add(e.reserved, 50010);
	e.nreserved = 1;
	return e;
}

static void add(struct pv_socklist *l, uint8_t proto, int af, const char *src, uint16_t sport,
		const char *dst, uint16_t dport, uint8_t state, uint32_t inode)
{
	struct pv_sock s = mksock(proto, af, src, sport, dst, dport, state);
	s.inode = inode;
	ck_assert(pv_socklist_add(l, &s));
}

/*
 * Client connections toward three destinations, and what must not count
 * toward any: ports outside the range, a reserved port, a server's side of
 * a connection on a listening port inside the range.
 */
static void clients(struct pv_socklist *l)
{
	pv_socklist_init(l);
	/* 127.0.0.1 -> 10.0.0.1:443: four ports, one in TIME_WAIT, one as v4-mapped */
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50001, "10.0.0.1", 443, PV_TCP_ESTABLISHED, 11);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50002, "10.0.0.1", 443, PV_TCP_TIME_WAIT, 0);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50003, "10.0.0.1", 443, PV_TCP_SYN_SENT, 12);
	add(l, IPPROTO_TCP, AF_INET6, "::ffff:127.0.0.1", 50004, "::ffff:10.0.0.1", 443,
	    PV_TCP_ESTABLISHED, 13);
	/* the same local port toward another destination: its own group */
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50001, "10.0.0.2", 443, PV_TCP_ESTABLISHED, 14);
	/* outside the range, and reserved: in no group */
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 40000, "10.0.0.1", 443, PV_TCP_ESTABLISHED, 15);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50010, "10.0.0.1", 443, PV_TCP_ESTABLISHED, 16);
	/* a server on a port inside the range: its connections are not clients' */
	add(l, IPPROTO_TCP, AF_INET, "0.0.0.0", 50015, "0.0.0.0", 0, PV_TCP_LISTEN, 17);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50015, "10.0.0.9", 1234, PV_TCP_ESTABLISHED, 18);
	/* UDP: two sockets sharing port 50006 count as one port */
	add(l, IPPROTO_UDP, AF_INET, "127.0.0.1", 50005, "10.0.0.1", 53, PV_TCP_ESTABLISHED, 19);
	add(l, IPPROTO_UDP, AF_INET, "127.0.0.1", 50006, "10.0.0.1", 53, PV_TCP_ESTABLISHED, 20);
	add(l, IPPROTO_UDP, AF_INET, "127.0.0.1", 50006, "10.0.0.1", 53, PV_TCP_ESTABLISHED, 21);
	/* IPv6 */
	add(l, IPPROTO_TCP, AF_INET6, "2001:db8::1", 50007, "2001:db8::2", 80, PV_TCP_FIN_WAIT2,
	    22);
}

static void build(struct pv_summary *s, const struct pv_socklist *l, const struct pv_ephemeral *e,
		  const struct pv_scan_part *parts, size_t nparts)
{
	struct pv_view v;
	pv_view_init(&v, l, NULL, e);
	if (parts)
		pv_view_join_owners(&v, parts, nparts);
	pv_summary_build(s, &v);
	pv_view_free(&v);
}

static void check_group(const struct pv_pressure_group *g, uint8_t proto, int af, const char *laddr,
			const char *raddr, uint16_t rport, uint32_t in_use, uint32_t time_wait)
{
	uint8_t a[16] = {0}, b[16] = {0};
	ck_assert_int_eq(inet_pton(af, laddr, a), 1);
	ck_assert_int_eq(inet_pton(af, raddr, b), 1);
	ck_assert_int_eq(g->proto, proto);
	ck_assert_int_eq(g->family, af);
	ck_assert_mem_eq(g->laddr, a, 16);
	ck_assert_mem_eq(g->raddr, b, 16);
	ck_assert_uint_eq(g->rport, rport);
	ck_assert_uint_eq(g->in_use, in_use);
	ck_assert_uint_eq(g->time_wait, time_wait);
	ck_assert_uint_eq(g->available, 19);
}

START_TEST(groups_per_destination)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	clients(&l);
	build(&s, &l, &e, NULL, 0);
	ck_assert(s.range_known);
	ck_assert_uint_eq(s.lo, 50000);
	ck_assert_uint_eq(s.hi, 50019);
	ck_assert_uint_eq(s.reserved, 1);
	ck_assert_uint_eq(s.available, 19);
	ck_assert_uint_eq(s.ngroups, 4);
	/* the most pressed first; ties by protocol, family, addresses */
	check_group(&s.groups[0], IPPROTO_TCP, AF_INET, "127.0.0.1", "10.0.0.1", 443, 4, 1);
	check_group(&s.groups[1], IPPROTO_UDP, AF_INET, "127.0.0.1", "10.0.0.1", 53, 2, 0);
	check_group(&s.groups[2], IPPROTO_TCP, AF_INET, "127.0.0.1", "10.0.0.2", 443, 1, 0);
	check_group(&s.groups[3], IPPROTO_TCP, AF_INET6, "2001:db8::1", "2001:db8::2", 80, 1, 0);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

START_TEST(no_range_no_groups)
{
	struct pv_socklist l;
	struct pv_ephemeral e = {0};
	struct pv_summary s;
	clients(&l);
	build(&s, &l, &e, NULL, 0);
	ck_assert(!s.range_known);
	ck_assert_uint_eq(s.ngroups, 0);
	ck_assert_uint_eq(s.ephemeral, 0);
	ck_assert_ptr_null(pv_summary_over(&s, 0));
	pv_summary_free(&s);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(counts_by_protocol_family_state_class)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	clients(&l);
	add(&l, IPPROTO_TCP, AF_INET, "127.0.0.1", 22, "10.0.0.3", 50500, PV_TCP_NEW_SYN_RECV, 0);
	add(&l, IPPROTO_UDP, AF_INET6, "::", 53, "::", 0, PV_TCP_CLOSE, 30);
	build(&s, &l, &e, NULL, 0);
	ck_assert_uint_eq(s.total, 15);
	/* [TCP, UDP][IPv4, IPv6][state] */
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_ESTABLISHED], 5);
	ck_assert_uint_eq(s.sockets[0][1][PV_TCP_ESTABLISHED], 1);
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_TIME_WAIT], 1);
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_SYN_SENT], 1);
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_LISTEN], 1);
	ck_assert_uint_eq(s.sockets[0][1][PV_TCP_FIN_WAIT2], 1);
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_SYN_RECV], 1); /* NEW_SYN_RECV folded in */
	ck_assert_uint_eq(s.sockets[0][0][PV_TCP_NEW_SYN_RECV], 0);
	ck_assert_uint_eq(s.sockets[1][0][PV_TCP_ESTABLISHED], 3);
	ck_assert_uint_eq(s.sockets[1][1][PV_TCP_CLOSE], 1);
	uint32_t sum = 0;
	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++)
			for (int st = 0; st < PV_SUMMARY_STATES; st++)
				sum += s.sockets[p][f][st];
	ck_assert_uint_eq(sum, 15);
	/* local ports: 22 and 53; 40000; the thirteen 5xxxx ones */
	ck_assert_uint_eq(s.classes[PV_CLASS_WELL_KNOWN], 2);
	ck_assert_uint_eq(s.classes[PV_CLASS_REGISTERED], 1);
	ck_assert_uint_eq(s.classes[PV_CLASS_DYNAMIC], 12);
	/* in the range but 50010 (reserved): 12 - 1 */
	ck_assert_uint_eq(s.ephemeral, 11);
	ck_assert_str_eq(pv_summary_state_name(IPPROTO_UDP, PV_TCP_CLOSE), "UNCONN");
	ck_assert_str_eq(pv_summary_state_name(IPPROTO_TCP, PV_TCP_CLOSE), "CLOSED");
	ck_assert_str_eq(pv_summary_state_name(IPPROTO_TCP, PV_TCP_LISTEN), "LISTENING");
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

START_TEST(levels_and_thresholds)
{
	struct pv_pressure_group g = {.available = 100};
	static const struct {
		uint32_t in_use;
		enum pv_pressure_level level;
	} cases[] = {
	    {0, PV_PRESSURE_OK},       {49, PV_PRESSURE_OK},	   {50, PV_PRESSURE_WARNING},
	    {79, PV_PRESSURE_WARNING}, {80, PV_PRESSURE_CRITICAL}, {100, PV_PRESSURE_CRITICAL},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		g.in_use = cases[i].in_use;
		ck_assert_msg(pv_pressure_level(&g) == cases[i].level, "%u of 100",
			      cases[i].in_use);
	}
	/* 80 of 100 is above 79%, not above 80% */
	g.in_use = 80;
	ck_assert(pv_pressure_over(&g, 79));
	ck_assert(!pv_pressure_over(&g, 80));
	ck_assert(!pv_pressure_over(&g, 100));
	/* one of three is 33.3%: above 33, not above 34 */
	g = (struct pv_pressure_group){.in_use = 1, .available = 3};
	ck_assert(pv_pressure_over(&g, 33));
	ck_assert(!pv_pressure_over(&g, 34));
	ck_assert(pv_pressure_level(&g) == PV_PRESSURE_OK);
	g.in_use = 2; /* 66.7% */
	ck_assert(pv_pressure_level(&g) == PV_PRESSURE_WARNING);
	/* a big range: 22586 of 28232 is 80.0002% */
	g = (struct pv_pressure_group){.in_use = 22586, .available = 28232};
	ck_assert(pv_pressure_level(&g) == PV_PRESSURE_CRITICAL);
	g.in_use = 22585;
	ck_assert(pv_pressure_level(&g) == PV_PRESSURE_WARNING);
	ck_assert_str_eq(pv_pressure_level_name(PV_PRESSURE_OK), "ok");
	ck_assert_str_eq(pv_pressure_level_name(PV_PRESSURE_WARNING), "warning");
	ck_assert_str_eq(pv_pressure_level_name(PV_PRESSURE_CRITICAL), "critical");
}
END_TEST

START_TEST(over_finds_the_most_pressed)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	clients(&l);
	build(&s, &l, &e, NULL, 0);
	/* 4 of 19 is 21.05%: above 21, not above 22 */
	const struct pv_pressure_group *g = pv_summary_over(&s, 21);
	ck_assert_ptr_eq(g, &s.groups[0]);
	ck_assert_ptr_null(pv_summary_over(&s, 22));
	ck_assert_ptr_eq(pv_summary_over(&s, 0), &s.groups[0]);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

/* Processes: nginx 10 and 11 share inode 100; curl 20; a hostile name 30. */
static struct pv_process procs[] = {
    {.pid = 10, .comm = "nginx", .comm_len = 5},
    {.pid = 11, .comm = "nginx", .comm_len = 5},
    {.pid = 20, .comm = "curl", .comm_len = 4},
    {.pid = 30, .comm = "x\x1b[2J\"\\\n", .comm_len = 8},
};
static struct pv_owner fds[] = {
    {.pid = 10, .fd = 3, .proc = 0, .inode = 100}, {.pid = 10, .fd = 4, .proc = 0, .inode = 101},
    {.pid = 11, .fd = 3, .proc = 1, .inode = 100}, {.pid = 11, .fd = 5, .proc = 1, .inode = 102},
    {.pid = 20, .fd = 3, .proc = 2, .inode = 200}, {.pid = 20, .fd = 4, .proc = 2, .inode = 201},
    {.pid = 20, .fd = 5, .proc = 2, .inode = 202}, {.pid = 30, .fd = 3, .proc = 3, .inode = 300},
};

static const struct pv_scan_part *parts(size_t *n)
{
	static struct pv_scan_part part;
	part = (struct pv_scan_part){
	    .fds = fds, .nfds = ARRAY_SIZE(fds), .procs = procs, .nprocs = ARRAY_SIZE(procs)};
	*n = 1;
	return &part;
}

/*
 * A small server: nginx listens on 443 (inode 100, shared) and 80 (101)
 * with connections from curl's ephemeral ports; a UDP socket on 53 (300)
 * with a connected one beside it; a TIME_WAIT without owner.
 */
static void server(struct pv_socklist *l)
{
	pv_socklist_init(l);
	add(l, IPPROTO_TCP, AF_INET, "0.0.0.0", 80, "0.0.0.0", 0, PV_TCP_LISTEN, 101);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 80, "127.0.0.1", 50003, PV_TCP_ESTABLISHED, 102);
	add(l, IPPROTO_TCP, AF_INET, "0.0.0.0", 443, "0.0.0.0", 0, PV_TCP_LISTEN, 100);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 443, "127.0.0.1", 50001, PV_TCP_ESTABLISHED, 0);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 443, "127.0.0.1", 50002, PV_TCP_TIME_WAIT, 0);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50001, "127.0.0.1", 443, PV_TCP_ESTABLISHED, 200);
	add(l, IPPROTO_TCP, AF_INET, "127.0.0.1", 50003, "127.0.0.1", 80, PV_TCP_ESTABLISHED, 201);
	add(l, IPPROTO_TCP, AF_INET6, "::1", 50004, "::1", 8080, PV_TCP_SYN_SENT, 202);
	add(l, IPPROTO_UDP, AF_INET, "0.0.0.0", 53, "0.0.0.0", 0, PV_TCP_CLOSE, 300);
	add(l, IPPROTO_UDP, AF_INET, "127.0.0.1", 53, "127.0.0.1", 50009, PV_TCP_ESTABLISHED, 0);
}

START_TEST(programs_and_ports)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	size_t n;
	const struct pv_scan_part *p = parts(&n);
	server(&l);
	build(&s, &l, &e, p, n);
	ck_assert(s.owners_known);
	ck_assert(!s.owners_partial);
	ck_assert_uint_eq(s.unowned, 3);
	ck_assert_uint_eq(s.programs_total, 3);
	ck_assert_uint_eq(s.nprograms, 3);
	/* the most sockets first: curl 3, nginx 3 (a shared socket counts once), then x */
	ck_assert_uint_eq(s.programs[0].sockets, 3);
	ck_assert_mem_eq(s.programs[0].comm, "curl", 4);
	ck_assert_uint_eq(s.programs[0].npids, 1);
	ck_assert_int_eq(s.programs[0].pids[0], 20);
	ck_assert_uint_eq(s.programs[1].sockets, 3);
	ck_assert_mem_eq(s.programs[1].comm, "nginx", 5);
	ck_assert_uint_eq(s.programs[1].npids, 2);
	ck_assert_int_eq(s.programs[1].pids[0], 10);
	ck_assert_int_eq(s.programs[1].pids[1], 11);
	ck_assert_uint_eq(s.programs[2].sockets, 1);
	ck_assert_uint_eq(s.programs[2].comm_len, 8);

	/* 443 has two connections; 80 and UDP 53 one each (TCP first) */
	ck_assert_uint_eq(s.ports_total, 3);
	ck_assert_uint_eq(s.nports, 3);
	ck_assert_uint_eq(s.ports[0].port, 443);
	ck_assert_uint_eq(s.ports[0].connections, 2);
	ck_assert_int_eq(s.ports[0].pid, 10);
	ck_assert_uint_eq(s.ports[1].port, 80);
	ck_assert_uint_eq(s.ports[1].proto, IPPROTO_TCP);
	ck_assert_uint_eq(s.ports[1].connections, 1);
	ck_assert_uint_eq(s.ports[2].port, 53);
	ck_assert_uint_eq(s.ports[2].proto, IPPROTO_UDP);
	ck_assert_int_eq(s.ports[2].pid, 30);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

/* Twelve programs: the ten with the most sockets are kept, in order. */
START_TEST(top_ten_programs)
{
	struct pv_process many[12];
	struct pv_owner owned[78];
	struct pv_socklist l;
	struct pv_summary s;
	struct pv_ephemeral e = {0};
	size_t n = 0;
	pv_socklist_init(&l);
	for (int i = 0; i < 12; i++) {
		many[i] = (struct pv_process){.pid = 100 + i, .comm_len = 3};
		snprintf(many[i].comm, sizeof(many[i].comm), "p%02d", i);
		/* program i holds i + 1 sockets */
		for (int k = 0; k <= i; k++) {
			uint32_t inode = (uint32_t)(1000 + n);
			owned[n++] = (struct pv_owner){
			    .pid = 100 + i, .fd = k, .proc = (uint32_t)i, .inode = inode};
			add(&l, IPPROTO_TCP, AF_INET, "127.0.0.1", (uint16_t)(1000 + n), "10.0.0.1",
			    80, PV_TCP_ESTABLISHED, inode);
		}
	}
	struct pv_scan_part part = {.fds = owned, .nfds = n, .procs = many, .nprocs = 12};
	build(&s, &l, &e, &part, 1);
	ck_assert_uint_eq(s.programs_total, 12);
	ck_assert_uint_eq(s.nprograms, PV_SUMMARY_TOP);
	for (int i = 0; i < PV_SUMMARY_TOP; i++) {
		char want[4];
		snprintf(want, sizeof(want), "p%02d", 11 - i);
		ck_assert_mem_eq(s.programs[i].comm, want, 3);
		ck_assert_uint_eq(s.programs[i].sockets, (unsigned)(12 - i));
	}
	pv_summary_free(&s);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(percent_parser)
{
	static const struct {
		const char *in;
		int want; /* -1: refused */
		const char *why;
	} cases[] = {
	    {"0", 0, NULL},
	    {"100", 100, NULL},
	    {"80%", 80, NULL},
	    {"007", 7, NULL},
	    {"101", -1, "percentage out of range (0-100)"},
	    {"99999999999999999999999", -1, "percentage out of range (0-100)"},
	    {"", -1, "not a whole number of percent (0-100)"},
	    {"%", -1, "not a whole number of percent (0-100)"},
	    {"80%%", -1, "not a whole number of percent (0-100)"},
	    {"-1", -1, "not a whole number of percent (0-100)"},
	    {"7.5", -1, "not a whole number of percent (0-100)"},
	    {" 80", -1, "not a whole number of percent (0-100)"},
	    {"0x10", -1, "not a whole number of percent (0-100)"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned pct = 12345;
		struct pv_why why = {0};
		bool ok = pv_parse_percent(cases[i].in, &pct, &why);
		ck_assert_msg(ok == (cases[i].want >= 0), "'%s'", cases[i].in);
		if (ok)
			ck_assert_uint_eq(pct, (unsigned)cases[i].want);
		else
			ck_assert_str_eq(why.why, cases[i].why);
	}
}
END_TEST

/* ---- renderers ------------------------------------------------------------------------ */

static char *text_of(const struct pv_summary *s, bool color)
{
	struct pv_buf b;
	struct pv_summary_opts o = {.color = color};
	pv_buf_init(&b);
	pv_render_summary(&b, s, &o);
	pv_buf_putc(&b, '\0');
	return b.data;
}

START_TEST(summary_text)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	struct pv_services svc;
	struct pv_view v;
	size_t n;
	const struct pv_scan_part *p = parts(&n);
	pv_services_load(&svc, "/dev/null");
	server(&l);
	pv_view_init(&v, &l, &svc, &e);
	pv_view_join_owners(&v, p, n);
	pv_summary_build(&s, &v);
	char *got = text_of(&s, false);
	ck_assert_text_eq(got,
			  "\n"
			  "Socket Summary\n"
			  "\n"
			  "  Proto  Sockets  IPv4  IPv6\n"
			  "  TCP    8        7     1\n"
			  "  UDP    2        2     0\n"
			  "  All    10       9     1\n"
			  "\n"
			  "  Proto  State        Sockets  IPv4  IPv6\n"
			  "  TCP    ESTABLISHED  4        4     0\n"
			  "  TCP    SYN_SENT     1        0     1\n"
			  "  TCP    TIME_WAIT    1        1     0\n"
			  "  TCP    LISTENING    2        2     0\n"
			  "  UDP    ESTABLISHED  1        1     0\n"
			  "  UDP    UNCONN       1        1     0\n"
			  "\n"
			  "  Local Port  Sockets\n"
			  "  well-known  7\n"
			  "  registered  0\n"
			  "  dynamic     3\n"
			  "  ephemeral   3\n"
			  "\n"
			  "Ephemeral Port Pressure\n"
			  "\n"
			  "  Range 50000-50019: 20 ports, 1 reserved, 19 available to each "
			  "destination\n"
			  "\n"
			  "  Proto  Local Address  Foreign Address  In Use  Pressure           "
			  "TIME_WAIT  Level\n"
			  "  TCP    127.0.0.1      127.0.0.1:80     1/19    5.3% [..........]  "
			  "0 (0.0%)   ok\n"
			  "  TCP    127.0.0.1      127.0.0.1:443    1/19    5.3% [..........]  "
			  "0 (0.0%)   ok\n"
			  "  TCP    ::1            [::1]:8080       1/19    5.3% [..........]  "
			  "0 (0.0%)   ok\n"
			  "\n"
			  "Top Programs\n"
			  "\n"
			  "  Sockets  Program          PIDs\n"
			  "  3        curl             20\n"
			  "  3        nginx            10,11\n"
			  "  1        x\\x1b[2J\"\\\\\\x0a  30\n"
			  "  Sockets without an owner: 3\n"
			  "\n"
			  "Busiest Listening Ports\n"
			  "\n"
			  "  Proto  Port  Service  Connections  Listener\n"
			  "  TCP    443   https    2            10/nginx\n"
			  "  TCP    80    http     1            10/nginx\n"
			  "  UDP    53    domain   1            30/x\\x1b[2J\"\\\\\\x0a\n");
	free(got);
	pv_summary_free(&s);
	pv_view_free(&v);
	pv_services_free(&svc);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

/* Levels, colours, TIME_WAIT shares and more groups than are shown. */
START_TEST(summary_text_pressure_levels)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	pv_socklist_init(&l);
	/* 16 of 19 toward .1 (84.2%, 5 in TIME_WAIT), 10 toward .2 (52.6%) */
	for (uint16_t i = 0; i < 16; i++)
		add(&l, IPPROTO_TCP, AF_INET, "10.1.1.1", (uint16_t)(50000 + i + (i >= 10)),
		    "10.0.0.1", 443, i < 5 ? PV_TCP_TIME_WAIT : PV_TCP_ESTABLISHED, 0);
	for (uint16_t i = 0; i < 10; i++)
		add(&l, IPPROTO_TCP, AF_INET, "10.1.1.1", (uint16_t)(50000 + i), "10.0.0.2", 443,
		    PV_TCP_ESTABLISHED, 0);
	/* eleven more destinations with one port each */
	for (int i = 0; i < 11; i++) {
		char dst[16];
		snprintf(dst, sizeof(dst), "10.0.1.%d", i);
		add(&l, IPPROTO_TCP, AF_INET, "10.1.1.1", 50000, dst, 443, PV_TCP_ESTABLISHED, 0);
	}
	build(&s, &l, &e, NULL, 0);
	ck_assert_uint_eq(s.ngroups, 13);
	char *got = text_of(&s, true);
	const char *from = strstr(got, "\nEphemeral Port Pressure\n");
	ck_assert_ptr_nonnull(from);
	char *end = strstr(from, "\nTop Programs");
	ck_assert_ptr_nonnull(end);
	*end = '\0';
	ck_assert_text_eq(
	    from,
	    "\nEphemeral Port Pressure\n"
	    "\n"
	    "  Range 50000-50019: 20 ports, 1 reserved, 19 available to each destination\n"
	    "\n"
	    "  Proto  Local Address  Foreign Address  In Use  Pressure            TIME_WAIT  "
	    "Level\n"
	    "  TCP    10.1.1.1       10.0.0.1:443     16/19   \033[1;31m84.2% [########..]\033[0m"
	    "  5 (31.3%)  \033[1;31mcritical\033[0m\n"
	    "  TCP    10.1.1.1       10.0.0.2:443     10/19   \033[33m52.6% [#####.....]\033[0m"
	    "  0 (0.0%)   \033[33mwarning\033[0m\n"
	    "  TCP    10.1.1.1       10.0.1.0:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.1:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.2:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.3:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.4:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.5:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.6:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  TCP    10.1.1.1       10.0.1.7:443     1/19    5.3% [..........]   0 (0.0%)   ok\n"
	    "  (3 more destinations)\n");
	free(got);
	/* without colour: the same text, the escapes taken out */
	got = text_of(&s, false);
	ck_assert_ptr_null(strchr(got, '\033'));
	ck_assert_ptr_nonnull(strstr(got, "  TCP    10.1.1.1       10.0.0.1:443     16/19   "
					  "84.2% [########..]  5 (31.3%)  critical\n"));
	free(got);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

START_TEST(summary_text_without_range_or_sockets)
{
	struct pv_socklist l;
	struct pv_ephemeral e = {0};
	struct pv_summary s;
	struct pv_scan_part none = {0};
	pv_socklist_init(&l);
	build(&s, &l, &e, &none, 1);
	char *got = text_of(&s, true);
	ck_assert_text_eq(got, "\n"
			       "Socket Summary\n"
			       "\n"
			       "  Proto  Sockets  IPv4  IPv6\n"
			       "  All    0        0     0\n"
			       "\n"
			       "Ephemeral Port Pressure\n"
			       "\n"
			       "  Range unknown (ip_local_port_range unreadable)\n"
			       "\n"
			       "Top Programs\n"
			       "\n"
			       "  Sockets without an owner: 0\n"
			       "\n"
			       "Busiest Listening Ports\n"
			       "\n"
			       "  No connections to listening ports\n");
	free(got);
	pv_summary_free(&s);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(summary_json)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	struct pv_services svc;
	struct pv_view v;
	struct pv_buf b;
	size_t n;
	const struct pv_scan_part *p = parts(&n);
	pv_services_load(&svc, "/dev/null");
	server(&l);
	pv_view_init(&v, &l, &svc, &e);
	pv_view_join_owners(&v, p, n);
	pv_summary_build(&s, &v);
	pv_buf_init(&b);
	pv_render_summary_json(&b, &s);
	pv_buf_putc(&b, '\0');
	ck_assert_text_eq(
	    b.data,
	    "{\n"
	    "  \"total\": 10,\n"
	    "  \"protocols\": [{\"proto\": \"tcp\", \"sockets\": 8, \"ipv4\": 7, \"ipv6\": 1}, "
	    "{\"proto\": \"udp\", \"sockets\": 2, \"ipv4\": 2, \"ipv6\": 0}],\n"
	    "  \"states\": [\n"
	    "    {\"proto\": \"tcp\", \"state\": \"ESTABLISHED\", \"sockets\": 4, \"ipv4\": 4, "
	    "\"ipv6\": 0},\n"
	    "    {\"proto\": \"tcp\", \"state\": \"SYN_SENT\", \"sockets\": 1, \"ipv4\": 0, "
	    "\"ipv6\": 1},\n"
	    "    {\"proto\": \"tcp\", \"state\": \"TIME_WAIT\", \"sockets\": 1, \"ipv4\": 1, "
	    "\"ipv6\": 0},\n"
	    "    {\"proto\": \"tcp\", \"state\": \"LISTENING\", \"sockets\": 2, \"ipv4\": 2, "
	    "\"ipv6\": 0},\n"
	    "    {\"proto\": \"udp\", \"state\": \"ESTABLISHED\", \"sockets\": 1, \"ipv4\": 1, "
	    "\"ipv6\": 0},\n"
	    "    {\"proto\": \"udp\", \"state\": \"UNCONN\", \"sockets\": 1, \"ipv4\": 1, "
	    "\"ipv6\": 0}\n"
	    "  ],\n"
	    "  \"local_ports\": {\"well-known\": 7, \"registered\": 0, \"dynamic\": 3, "
	    "\"ephemeral\": 3},\n"
	    "  \"ephemeral\": {\"start\": 50000, \"end\": 50019, \"ports\": 20, \"reserved\": 1, "
	    "\"available\": 19, \"destinations\": 3,\n"
	    "    \"top\": [\n"
	    "      {\"proto\": \"tcp\", \"family\": \"ipv4\", \"local_address\": \"127.0.0.1\", "
	    "\"foreign_address\": \"127.0.0.1\", \"foreign_port\": 80, \"in_use\": 1, "
	    "\"available\": 19, \"pressure\": 0.0526316, \"time_wait\": 0, \"level\": \"ok\"},\n"
	    "      {\"proto\": \"tcp\", \"family\": \"ipv4\", \"local_address\": \"127.0.0.1\", "
	    "\"foreign_address\": \"127.0.0.1\", \"foreign_port\": 443, \"in_use\": 1, "
	    "\"available\": 19, \"pressure\": 0.0526316, \"time_wait\": 0, \"level\": \"ok\"},\n"
	    "      {\"proto\": \"tcp\", \"family\": \"ipv6\", \"local_address\": \"::1\", "
	    "\"foreign_address\": \"::1\", \"foreign_port\": 8080, \"in_use\": 1, "
	    "\"available\": 19, \"pressure\": 0.0526316, \"time_wait\": 0, \"level\": \"ok\"}\n"
	    "    ]},\n"
	    "  \"programs\": [\n"
	    "    {\"program\": \"curl\", \"sockets\": 3, \"pids\": [20]},\n"
	    "    {\"program\": \"nginx\", \"sockets\": 3, \"pids\": [10, 11]},\n"
	    "    {\"program\": \"x\\u001b[2J\\\"\\\\\\u000a\", \"sockets\": 1, \"pids\": [30]}\n"
	    "  ],\n"
	    "  \"programs_total\": 3,\n"
	    "  \"unowned\": 3,\n"
	    "  \"owners_complete\": true,\n"
	    "  \"listening_ports\": [\n"
	    "    {\"proto\": \"tcp\", \"port\": 443, \"service\": \"https\", \"connections\": 2, "
	    "\"listener\": {\"pid\": 10, \"program\": \"nginx\"}},\n"
	    "    {\"proto\": \"tcp\", \"port\": 80, \"service\": \"http\", \"connections\": 1, "
	    "\"listener\": {\"pid\": 10, \"program\": \"nginx\"}},\n"
	    "    {\"proto\": \"udp\", \"port\": 53, \"service\": \"domain\", \"connections\": 1, "
	    "\"listener\": {\"pid\": 30, \"program\": \"x\\u001b[2J\\\"\\\\\\u000a\"}}\n"
	    "  ],\n"
	    "  \"listening_ports_total\": 3\n"
	    "}\n");
	pv_buf_free(&b);
	pv_summary_free(&s);
	pv_view_free(&v);
	pv_services_free(&svc);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

START_TEST(metrics_label_escapes)
{
	static const struct {
		const char *in;
		size_t n;
		const char *want;
	} cases[] = {
	    {"nginx", 5, "\"nginx\""},
	    {"a\"b", 3, "\"a\\\"b\""},
	    {"a\\b", 3, "\"a\\\\b\""},
	    {"a\nb", 3, "\"a\\nb\""},
	    {"\x1b[2J", 4, "\"\xef\xbf\xbd[2J\""},
	    {"\x7f\t", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"\xff\xc3", 2, "\"\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"\xc2\x9b!", 3, "\"\xef\xbf\xbd!\""}, /* C1: one character, one U+FFFD */
	    {"caf\xc3\xa9", 5, "\"caf\xc3\xa9\""},
	    {"", 0, "\"\""},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pv_buf b;
		pv_buf_init(&b);
		pv_metrics_label(&b, cases[i].in, cases[i].n);
		pv_buf_putc(&b, '\0');
		ck_assert_str_eq(b.data, cases[i].want);
		pv_buf_free(&b);
	}
}
END_TEST

START_TEST(summary_metrics)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	struct pv_buf b;
	size_t n;
	const struct pv_scan_part *p = parts(&n);
	server(&l);
	build(&s, &l, &e, p, n);
	pv_buf_init(&b);
	pv_render_summary_metrics(&b, &s, 0.25);
	pv_buf_putc(&b, '\0');
	/* every usual state of each protocol and family, zero included */
	ck_assert_ptr_nonnull(strstr(
	    b.data, "# HELP portview_sockets Sockets by protocol, address family and state.\n"
		    "# TYPE portview_sockets gauge\n"
		    "portview_sockets{proto=\"tcp\",family=\"ipv4\",state=\"ESTABLISHED\"} 4\n"
		    "portview_sockets{proto=\"tcp\",family=\"ipv4\",state=\"SYN_SENT\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "portview_sockets{proto=\"tcp\",family=\"ipv6\",state=\"CLOSING\"} 0\n"
		    "portview_sockets{proto=\"udp\",family=\"ipv4\",state=\"ESTABLISHED\"} 1\n"
		    "portview_sockets{proto=\"udp\",family=\"ipv4\",state=\"UNCONN\"} 1\n"
		    "portview_sockets{proto=\"udp\",family=\"ipv6\",state=\"ESTABLISHED\"} 0\n"
		    "portview_sockets{proto=\"udp\",family=\"ipv6\",state=\"UNCONN\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "portview_ephemeral_ports_available 19\n"
					     "# HELP portview_ephemeral_destinations "));
	ck_assert_ptr_nonnull(strstr(b.data, "portview_ephemeral_destinations 3\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "portview_ephemeral_ports_in_use{proto=\"tcp\",laddr=\"::1\",raddr=\"::1\","
		    "rport=\"8080\"} 1\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "portview_ephemeral_pressure_ratio{proto=\"tcp\",laddr=\"127.0.0.1\","
			   "raddr=\"127.0.0.1\",rport=\"80\"} 0.0526316\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "portview_program_sockets{program=\"curl\"} 3\n"
		    "portview_program_sockets{program=\"nginx\"} 3\n"
		    "portview_program_sockets{program=\"x\xef\xbf\xbd[2J\\\"\\\\\\n\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(b.data, "portview_unowned_sockets 3\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "portview_listening_port_connections{proto=\"tcp\",port=\"443\"} 2\n"));
	/* the last sample, then the end */
	const char *tail = "portview_scrape_duration_seconds 0.250000\n# EOF\n";
	ck_assert_str_eq(b.data + strlen(b.data) - strlen(tail), tail);
	pv_buf_free(&b);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

/* --metrics --all-netns: each family once, a series per namespace with its labels. */
START_TEST(metrics_of_namespaces)
{
	struct pv_socklist l;
	struct pv_ephemeral e = range();
	struct pv_summary s;
	struct pv_buf b;
	size_t n;
	const struct pv_scan_part *p = parts(&n);
	server(&l);
	build(&s, &l, &e, p, n);
	struct pv_metrics_source src[2] = {
	    {.s = &s, .netns = "host"},
	    {.s = &s, .netns = "pid:42", .unit = "docker:\"ab\\c"},
	};
	pv_buf_init(&b);
	pv_render_metrics(&b, src, 2, 0.5);
	pv_buf_putc(&b, '\0');
	ck_assert_ptr_nonnull(
	    strstr(b.data, "portview_sockets{netns=\"host\",proto=\"tcp\",family=\"ipv4\","
			   "state=\"ESTABLISHED\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(
	    b.data, "portview_sockets{netns=\"pid:42\",unit=\"docker:\\\"ab\\\\c\",proto=\"tcp\","
		    "family=\"ipv4\",state=\"ESTABLISHED\"} 4\n"));
	ck_assert_ptr_nonnull(strstr(b.data,
				     "portview_ephemeral_ports_available{netns=\"host\"} 19\n"
				     "portview_ephemeral_ports_available{netns=\"pid:42\","
				     "unit=\"docker:\\\"ab\\\\c\"} 19\n"));
	ck_assert_ptr_nonnull(
	    strstr(b.data, "portview_program_sockets{netns=\"host\",program=\"curl\"} 3\n"));
	/* each family's HELP once, the duration once and without labels */
	const char *h = strstr(b.data, "# HELP portview_sockets ");
	ck_assert_ptr_nonnull(h);
	ck_assert_ptr_null(strstr(h + 1, "# HELP portview_sockets "));
	const char *tail = "portview_scrape_duration_seconds 0.500000\n# EOF\n";
	ck_assert_str_eq(b.data + strlen(b.data) - strlen(tail), tail);
	pv_buf_free(&b);
	pv_summary_free(&s);
	pv_socklist_free(&l);
	pv_ephemeral_free(&e);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("summary");
	TCase *tc = tcase_create("summary");
	tcase_add_test(tc, groups_per_destination);
	tcase_add_test(tc, no_range_no_groups);
	tcase_add_test(tc, counts_by_protocol_family_state_class);
	tcase_add_test(tc, levels_and_thresholds);
	tcase_add_test(tc, over_finds_the_most_pressed);
	tcase_add_test(tc, programs_and_ports);
	tcase_add_test(tc, top_ten_programs);
	tcase_add_test(tc, percent_parser);
	suite_add_tcase(s, tc);
	tc = tcase_create("render");
	tcase_add_test(tc, summary_text);
	tcase_add_test(tc, summary_text_pressure_levels);
	tcase_add_test(tc, summary_text_without_range_or_sockets);
	tcase_add_test(tc, summary_json);
	tcase_add_test(tc, metrics_label_escapes);
	tcase_add_test(tc, summary_metrics);
	tcase_add_test(tc, metrics_of_namespaces);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
