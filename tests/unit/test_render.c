/* The table renderer: exact text for hand-made records. */
#include "records.h"
#include "portview/format.h"
#include "portview/ports.h"
#include "portview/render.h"
#include "portview/services.h"
#include "portview/sort.h"
#include "portview/state.h"
#include "portview/users.h"
#include "portview/view.h"
#include "portview/watch.h"
#include "portview/util.h"

static const struct pv_scan_part *table_parts(size_t *n);

/*
 * services NULL: no annotation columns' data (o->plain hides them anyway);
 * owners: with the owners table_parts() finds.
 */
static char *render_with(const struct pv_socklist *l, bool owners, const struct pv_services *svc,
			 const struct pv_ephemeral *eph, const struct pv_table_opts *o)
{
	struct pv_buf b;
	struct pv_view v;
	pv_buf_init(&b);
	pv_view_init(&v, l, svc, eph);
	if (owners) {
		size_t n;
		const struct pv_scan_part *parts = table_parts(&n);
		ck_assert(!pv_view_join_owners(&v, parts, n));
	}
	pv_render_table(&b, &v, o);
	pv_buf_putc(&b, '\0');
	pv_view_free(&v);
	return b.data;
}

static char *render(const struct pv_socklist *l, bool owners, const struct pv_table_opts *o)
{
	return render_with(l, owners, NULL, NULL, o);
}

/*
 * Three processes, one with a hostile name, holding the sockets by inode:
 * 100 (3496 twice, 3500), 300 and 400 (42).
 */
static struct pv_process procs[] = {
    {.pid = 3496, .comm = "sshd", .comm_len = 4},
    {.pid = 3500, .comm = "sshd", .comm_len = 4},
    {.pid = 42, .comm = "x\x1b[2Jy", .comm_len = 6},
};
static struct pv_owner fds[] = {
    {.pid = 3496, .fd = 3, .proc = 0, .inode = 100},
    {.pid = 3496, .fd = 4, .proc = 0, .inode = 100},
    {.pid = 3500, .fd = 3, .proc = 1, .inode = 100},
    {.pid = 42, .fd = 5, .proc = 2, .inode = 300},
    {.pid = 42, .fd = 6, .proc = 2, .inode = 400},
};

/* What a /proc walk that found fds[] would leave. */
static const struct pv_scan_part *table_parts(size_t *n)
{
	static struct pv_scan_part part;
	part = (struct pv_scan_part){.fds = fds,
				     .nfds = sizeof(fds) / sizeof(fds[0]),
				     .procs = procs,
				     .nprocs = sizeof(procs) / sizeof(procs[0])};
	*n = 1;
	return &part;
}

static void fill(struct pv_socklist *l)
{
	pv_socklist_init(l);
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 5354, "127.0.0.1", 49681, PV_TCP_ESTABLISHED);
	s.inode = 100; /* 3496 twice (two fds) and 3500 */
	pv_socklist_add(l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", 49681, "127.0.0.1", 5354, PV_TCP_TIME_WAIT);
	pv_socklist_add(l, &s);
	s = mksock(IPPROTO_TCP, AF_INET6, "::", 22, "::", 0, PV_TCP_LISTEN);
	s.inode = 300;
	pv_socklist_add(l, &s);
	s = mksock(IPPROTO_UDP, AF_INET, "0.0.0.0", 5353, "0.0.0.0", 0, PV_TCP_CLOSE);
	s.inode = 400;
	pv_socklist_add(l, &s);
}

START_TEST(netstat_layout_without_owner)
{
	struct pv_socklist l;
	struct pv_table_opts o = {0};
	o.numeric = true;
	o.plain = true;
	fill(&l);
	char *got = render(&l, false, &o);
	ck_assert_str_eq(got, "\n"
			      "Active Connections\n"
			      "\n"
			      "  Proto  Local Address          Foreign Address        State\n"
			      "  TCP    127.0.0.1:5354         127.0.0.1:49681        ESTABLISHED\n"
			      "  TCP    127.0.0.1:49681        127.0.0.1:5354         TIME_WAIT\n"
			      "  TCP    [::]:22                [::]:0                 LISTENING\n"
			      "  UDP    0.0.0.0:5353           *:*\n");
	free(got);
	pv_socklist_free(&l);
}
END_TEST

/* A socket held by several processes: the lowest PID and how many more. */
START_TEST(shared_sockets_condensed)
{
	struct pv_socklist l;
	struct pv_table_opts o = {.numeric = true, .plain = true, .owner = true, .program = true};
	fill(&l);
	char *got = render(&l, true, &o);
	ck_assert_str_eq(got,
			 "\n"
			 "Active Connections\n"
			 "\n"
			 "  Proto  Local Address          Foreign Address        State           "
			 "PID       PID/Program name\n"
			 "  TCP    127.0.0.1:5354         127.0.0.1:49681        ESTABLISHED     "
			 "3496 (+1) 3496/sshd (+1)\n"
			 "  TCP    127.0.0.1:49681        127.0.0.1:5354         TIME_WAIT       "
			 "-         -\n"
			 "  TCP    [::]:22                [::]:0                 LISTENING       "
			 "42        42/x\\x1b[2Jy\n"
			 "  UDP    0.0.0.0:5353           *:*                                    "
			 "42        42/x\\x1b[2Jy\n");
	free(got);
	pv_socklist_free(&l);
}
END_TEST

/*
 * Fitted to the terminal: the annotation columns go first (Foreign Port,
 * then Local Port), then the owner lists condense, then the padding
 * shrinks to the content; the netstat columns and the addresses stay.
 */
START_TEST(fitted_to_the_terminal)
{
	struct pv_socklist l;
	struct pv_services svc;
	struct pv_ephemeral eph = {.known = true, .lo = 32768, .hi = 60999};
	pv_services_load(&svc, "/dev/null");
	pv_socklist_init(&l);
	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET6, "2001:db8::10", 443, "2001:db8:aaaa::20",
				  52114, PV_TCP_ESTABLISHED);
	s.inode = 100;
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "10.0.0.1", 3000, "0.0.0.0", 0, PV_TCP_LISTEN);
	s.inode = 300;
	pv_socklist_add(&l, &s);

	/* the whole table, as a pipe gets it: 120 columns */
	struct pv_table_opts o = {.numeric = true, .owner = true};
	char *got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_text_eq(got,
			  "\n"
			  "Active Connections\n"
			  "\n"
			  "  Proto  Local Address          Foreign Address           State     "
			  "      PID       Local Port       Foreign Port\n"
			  "  TCP    [2001:db8::10]:443     [2001:db8:aaaa::20]:52114 ESTABLISHED"
			  "     3496 (+1) https well-known - dynamic\n"
			  "  TCP    10.0.0.1:3000          0.0.0.0:0                 LISTENING  "
			  "     42        hbci registered  -\n");
	free(got);

	/* 100 columns: the Foreign Port column goes */
	o.width = 100;
	got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_text_eq(got,
			  "\n"
			  "Active Connections\n"
			  "\n"
			  "  Proto  Local Address          Foreign Address           State     "
			  "      PID       Local Port\n"
			  "  TCP    [2001:db8::10]:443     [2001:db8:aaaa::20]:52114 ESTABLISHED"
			  "     3496 (+1) https well-known\n"
			  "  TCP    10.0.0.1:3000          0.0.0.0:0                 LISTENING  "
			  "     42        hbci registered\n");
	free(got);

	/* 80: the Local Port column too, then the padding of the rest */
	o.width = 80;
	got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_text_eq(
	    got, "\n"
		 "Active Connections\n"
		 "\n"
		 "  Proto Local Address      Foreign Address           State       PID\n"
		 "  TCP   [2001:db8::10]:443 [2001:db8:aaaa::20]:52114 ESTABLISHED 3496 (+1)\n"
		 "  TCP   10.0.0.1:3000      0.0.0.0:0                 LISTENING   42\n");
	free(got);

	/* -W lists every owner and -e too; a narrow terminal condenses them still */
	o.width = 0;
	o.wide = true;
	got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_ptr_nonnull(strstr(got, " 3496,3500 "));
	free(got);
	o.wide = false;
	o.extended = true;
	o.plain = true;
	got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_ptr_nonnull(strstr(got, " 3496,3500 "));
	free(got);
	o.width = 60;
	got = render_with(&l, true, &svc, &eph, &o);
	ck_assert_ptr_nonnull(strstr(got, " 3496 (+1) "));
	free(got);
	pv_socklist_free(&l);
	pv_services_free(&svc);
}
END_TEST

/*
 * An IPv6 wildcard that takes IPv4 as well shows as *:PORT, as ss shows
 * it; with IPV6_V6ONLY set, or unknown, [::]:PORT.  JSON says which.
 */
START_TEST(dual_stack_wildcard_is_a_star)
{
	struct pv_socklist l;
	struct pv_table_opts o = {.numeric = true, .plain = true};
	pv_socklist_init(&l);
	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET6, "::", 8080, "::", 0, PV_TCP_LISTEN);
	s.v6only = 0;
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET6, "::", 80, "::", 0, PV_TCP_LISTEN);
	s.v6only = 1;
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_UDP, AF_INET6, "::", 5353, "::", 0, PV_TCP_CLOSE);
	s.v6only = 0;
	pv_socklist_add(&l, &s);
	pv_socklist_sort(&l);
	char *got = render(&l, false, &o);
	ck_assert_str_eq(got, "\n"
			      "Active Connections\n"
			      "\n"
			      "  Proto  Local Address          Foreign Address        State\n"
			      "  TCP    [::]:80                [::]:0                 LISTENING\n"
			      "  TCP    *:8080                 [::]:0                 LISTENING\n"
			      "  UDP    *:5353                 *:*\n");
	free(got);
	o.numeric = false;
	got = render(&l, false, &o);
	ck_assert_msg(strstr(got, "  TCP    *:8080 ") && strstr(got, "  TCP    [::]:80 "), "%s",
		      got);
	free(got);

	struct pv_buf b;
	struct pv_view v;
	pv_buf_init(&b);
	pv_view_init(&v, &l, NULL, NULL);
	pv_render_json(&b, &v);
	pv_buf_putc(&b, '\0');
	const char *first = strstr(b.data, "\"v6only\": true");
	const char *second = strstr(b.data, "\"v6only\": false");
	ck_assert_msg(first && second && first < second && strstr(second + 1, "\"v6only\": false"),
		      "%s", b.data);
	pv_view_free(&v);
	pv_buf_free(&b);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(pid_and_program_columns)
{
	struct pv_socklist l;
	struct pv_table_opts o = {0};
	o.numeric = true;
	o.plain = true;
	o.owner = true;
	o.wide = true; /* every owner */
	fill(&l);
	char *got = render(&l, true, &o);
	ck_assert_str_eq(
	    got,
	    "\n"
	    "Active Connections\n"
	    "\n"
	    "  Proto  Local Address          Foreign Address        State           PID\n"
	    "  TCP    127.0.0.1:5354         127.0.0.1:49681        ESTABLISHED     3496,3500\n"
	    "  TCP    127.0.0.1:49681        127.0.0.1:5354         TIME_WAIT       -\n"
	    "  TCP    [::]:22                [::]:0                 LISTENING       42\n"
	    "  UDP    0.0.0.0:5353           *:*                                    42\n");
	free(got);

	o.program = true;
	got = render(&l, true, &o);
	ck_assert_str_eq(got,
			 "\n"
			 "Active Connections\n"
			 "\n"
			 "  Proto  Local Address          Foreign Address        State           "
			 "PID       PID/Program name\n"
			 "  TCP    127.0.0.1:5354         127.0.0.1:49681        ESTABLISHED     "
			 "3496,3500 3496/sshd,3500/sshd\n"
			 "  TCP    127.0.0.1:49681        127.0.0.1:5354         TIME_WAIT       "
			 "-         -\n"
			 "  TCP    [::]:22                [::]:0                 LISTENING       "
			 "42        42/x\\x1b[2Jy\n"
			 "  UDP    0.0.0.0:5353           *:*                                    "
			 "42        42/x\\x1b[2Jy\n");
	free(got);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(long_addresses_widen_columns)
{
	struct pv_socklist l;
	struct pv_table_opts o = {0};
	o.numeric = true;
	o.plain = true;
	pv_socklist_init(&l);
	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET6, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
				  443, "::ffff:192.168.100.200", 65535, PV_TCP_CLOSE_WAIT);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "1.2.3.4", 1, "5.6.7.8", 2, PV_TCP_FIN_WAIT1);
	pv_socklist_add(&l, &s);
	char *got = render(&l, false, &o);
	ck_assert_str_eq(got,
			 "\n"
			 "Active Connections\n"
			 "\n"
			 "  Proto  Local Address                                Foreign Address"
			 "                State\n"
			 "  TCP    [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:443 "
			 "[::ffff:192.168.100.200]:65535 CLOSE_WAIT\n"
			 "  TCP    1.2.3.4:1                                    5.6.7.8:2"
			 "                      FIN_WAIT_1\n");
	free(got);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(header_without_rows)
{
	struct pv_socklist l;
	struct pv_table_opts o = {0};
	o.numeric = true;
	o.plain = true;
	o.owner = true;
	pv_socklist_init(&l);
	char *got = render(&l, false, &o);
	ck_assert_str_eq(
	    got, "\nActive Connections\n\n"
		 "  Proto  Local Address          Foreign Address        State           PID\n");
	free(got);
}
END_TEST

START_TEST(port_annotation_columns)
{
	struct pv_socklist l;
	struct pv_table_opts o = {0};
	struct pv_services svc;
	/* the built-in registry only: 443/tcp is https, 50123 is unassigned */
	pv_services_load(&svc, "/dev/null");
	struct pv_ephemeral eph = {.known = true, .lo = 32768, .hi = 60999};
	o.numeric = true;
	pv_socklist_init(&l);
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "10.0.0.1", 50123, "10.0.0.2", 443, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "0.0.0.0", 443, "0.0.0.0", 0, PV_TCP_LISTEN);
	pv_socklist_add(&l, &s);
	char *got = render_with(&l, false, &svc, &eph, &o);
	ck_assert_str_eq(got,
			 "\n"
			 "Active Connections\n"
			 "\n"
			 "  Proto  Local Address          Foreign Address        State           "
			 "Local Port          Foreign Port\n"
			 "  TCP    10.0.0.1:50123         10.0.0.2:443           ESTABLISHED     "
			 "- dynamic ephemeral https well-known\n"
			 "  TCP    0.0.0.0:443            0.0.0.0:0              LISTENING       "
			 "https well-known    -\n");
	free(got);
	pv_socklist_free(&l);
	pv_services_free(&svc);
}
END_TEST

/* The width the table pass measures without formatting is the text's. */
START_TEST(annotation_width_is_the_text_width)
{
	static const struct pv_service odd[] = {
	    {"https", "", "", 443, IPPROTO_TCP, PV_SRC_IANA},
	    {"a\\b", "", "", 1, IPPROTO_TCP, PV_SRC_ETC},
	    {"x\x1b[2J", "", "", 2, IPPROTO_TCP, PV_SRC_ETC},
	    {"caf\xc3\xa9", "", "", 3, IPPROTO_TCP, PV_SRC_ETC},
	    {"bad\xff", "", "", 4, IPPROTO_TCP, PV_SRC_ETC},
	    {"sp ace", "", "", 5, IPPROTO_TCP, PV_SRC_ETC},
	};
	for (size_t i = 0; i <= sizeof(odd) / sizeof(odd[0]); i++)
		for (uint8_t cls = PV_CLASS_NONE; cls <= PV_CLASS_DYNAMIC; cls++)
			for (int eph = 0; eph < 2; eph++) {
				const struct pv_service *svc = i ? &odd[i - 1] : NULL;
				struct pv_buf b;
				pv_buf_init(&b);
				pv_annotation_text(&b, svc, cls, eph);
				ck_assert_uint_eq(pv_annotation_width(svc, cls, eph),
						  pv_text_width(b.data, b.len));
				pv_buf_free(&b);
			}
}
END_TEST

/* ---- JSON ---------------------------------------------------------------- */

/*
 * Holders for the JSON records, by inode: 100 (3496 twice, 3500), 300 (42,
 * a hostile name), 400 (7, no name), 600 (43, quote and backslash); 500 is
 * held by nobody, 999 by 42 but never wanted.  Out of order on purpose.
 */
static struct pv_process json_procs[] = {
    {.pid = 3500, .comm = "sshd", .comm_len = 4},    {.pid = 3496, .comm = "sshd", .comm_len = 4},
    {.pid = 42, .comm = "x\x1b[2Jy", .comm_len = 6}, {.pid = 7, .comm_len = 0},
    {.pid = 43, .comm = "a\"b\\c", .comm_len = 5},
};
static struct pv_owner json_fds[] = {
    {.pid = 3500, .fd = 3, .proc = 0, .inode = 100},
    {.pid = 3496, .fd = 4, .proc = 1, .inode = 100},
    {.pid = 42, .fd = 8, .proc = 2, .inode = 999},
    {.pid = 3496, .fd = 3, .proc = 1, .inode = 100},
    {.pid = 42, .fd = 5, .proc = 2, .inode = 300},
    {.pid = 7, .fd = 9, .proc = 3, .inode = 400},
    {.pid = 43, .fd = 6, .proc = 4, .inode = 600},
};

/* User names as if from the passwd database; 4242 has none. */
static void json_users(struct pv_users *u)
{
	pv_users_init(u);
	u->cap = 4;
	u->v = calloc(u->cap, sizeof(*u->v));
	ck_assert_ptr_nonnull(u->v);
	u->v[u->n++] = (struct pv_user_entry){0, strdup("root")};
	u->v[u->n++] = (struct pv_user_entry){1000, strdup("alice")};
	u->v[u->n++] = (struct pv_user_entry){4242, NULL};
}

/*
 * A view of l, its user names from json_users(); with owners, those of
 * json_fds, and with denied, some /proc/PID/fd unreadable too, as for a
 * user not root.
 */
static void json_view(struct pv_view *v, const struct pv_socklist *l, const struct pv_services *svc,
		      const struct pv_ephemeral *eph, bool owners, bool denied)
{
	pv_view_init(v, l, svc, eph);
	json_users(&v->users);
	if (owners) {
		struct pv_scan_part parts[2] = {
		    {.unseen = denied ? PV_UNSEEN_DENIED : 0},
		    {.fds = json_fds,
		     .nfds = sizeof(json_fds) / sizeof(json_fds[0]),
		     .procs = json_procs,
		     .nprocs = sizeof(json_procs) / sizeof(json_procs[0])},
		};
		/* (json_fill's rows include sockets with a file that nobody holds) */
		ck_assert_int_eq(pv_view_join_owners(v, parts, 2), denied ? PV_UNSEEN_DENIED : 0);
	}
}

static char *render_json(struct pv_view *v)
{
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_json(&b, v);
	pv_buf_putc(&b, '\0');
	pv_view_free(v);
	return b.data;
}

static struct pv_sock with(struct pv_sock s, uint64_t cookie, uint32_t inode, uint32_t uid,
			   uint32_t ifindex, uint32_t rq, uint32_t wq)
{
	s.cookie = cookie;
	s.inode = inode;
	s.uid = uid;
	s.ifindex = ifindex;
	s.rqueue = rq;
	s.wqueue = wq;
	return s;
}

/* The six records of the JSON tests; which ones: a bitmask of 1 << row. */
static void json_fill(struct pv_socklist *l, unsigned rows)
{
	struct pv_sock r[6];
	/* a client: 64-bit cookie, distinct queues, three owners */
	r[0] = with(
	    mksock(IPPROTO_TCP, AF_INET, "10.0.0.1", 50123, "10.0.0.2", 443, PV_TCP_ESTABLISHED),
	    0x123456789abcdef0ull, 100, 1000, 0, 3, 7);
	/* its keepalive probes unanswered, as tcp_info counts them */
	r[0].timer = 2;
	r[0].expires = 7197190;
	r[0].probes = 2;
	/* a listener: no foreign side; the backlog as queues */
	r[1] = with(mksock(IPPROTO_TCP, AF_INET, "0.0.0.0", 443, "0.0.0.0", 0, PV_TCP_LISTEN),
		    (1ull << 32) + 1, 300, 0, 0, 0, 128);
	/* link-local, bound to lo; no inode, a uid with no name */
	r[2] =
	    with(mksock(IPPROTO_TCP, AF_INET6, "fe80::1", 22, "fe80::2", 40000, PV_TCP_TIME_WAIT),
		 7, 0, 4242, 1, 0, 0);
	/* IPv4-mapped; 50000 is reserved: in the range, not ephemeral */
	r[3] = with(mksock(IPPROTO_TCP, AF_INET6, "::ffff:10.0.0.1", 50000, "::ffff:10.0.0.3", 8080,
			   PV_TCP_SYN_SENT),
		    8, 400, 0, 0, 0, 1);
	/* the SYN sent three times more */
	r[3].timer = 1;
	r[3].expires = 1000;
	r[3].retrans = 3;
	/* unconnected UDP: no state; an interface index with no interface */
	r[4] = with(mksock(IPPROTO_UDP, AF_INET, "0.0.0.0", 5353, "0.0.0.0", 0, PV_TCP_CLOSE), 9,
		    500, 0, 4000000000u, 768, 0);
	/* connected UDP on the first port of the range */
	r[5] = with(mksock(IPPROTO_UDP, AF_INET6, "2001:db8::1", 32768, "2001:db8::53", 53,
			   PV_TCP_ESTABLISHED),
		    10, 600, 1000, 0, 0, 0);
	pv_socklist_init(l);
	for (unsigned i = 0; i < 6; i++)
		if (rows & 1u << i)
			ck_assert(pv_socklist_add(l, &r[i]));
}

/* 32768-60999 with 50000 reserved */
static void json_range(struct pv_ephemeral *e, bool known)
{
	memset(e, 0, sizeof(*e));
	e->known = known;
	e->lo = 32768;
	e->hi = 60999;
	e->reserved = pv_portset_new();
	pv_portset_add(e->reserved, 50000);
}

START_TEST(json_every_field)
{
	struct pv_socklist l;
	struct pv_services svc;
	struct pv_ephemeral eph;
	pv_services_load(&svc, "/dev/null");
	json_range(&eph, true);
	json_fill(&l, 0x3f);
	struct pv_view v;
	json_view(&v, &l, &svc, &eph, true, false);
	char *got = render_json(&v);
	ck_assert_text_eq(
	    got,
	    "[\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
	    "\"ESTABLISHED\", "
	    "\"local\": {\"address\": \"10.0.0.1\", \"port\": 50123, \"service\": null, "
	    "\"class\": \"dynamic\", \"ephemeral\": true}, "
	    "\"foreign\": {\"address\": \"10.0.0.2\", \"port\": 443, \"service\": \"https\", "
	    "\"class\": \"well-known\", \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [{\"pid\": 3496, \"program\": \"sshd\", \"fd\": 3}, "
	    "{\"pid\": 3496, \"program\": \"sshd\", \"fd\": 4}, "
	    "{\"pid\": 3500, \"program\": \"sshd\", \"fd\": 3}], "
	    "\"netns\": null, \"unit\": null, \"uid\": 1000, \"user\": \"alice\", \"inode\": 100, "
	    "\"cookie\": 1311768467463790320, "
	    "\"rx_queue\": 3, \"tx_queue\": 7, "
	    "\"timer\": {\"name\": \"keepalive\", \"expires_ms\": 7197190, \"retransmits\": 0, "
	    "\"probes\": 2}},\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
	    "\"LISTENING\", "
	    "\"local\": {\"address\": \"0.0.0.0\", \"port\": 443, \"service\": \"https\", "
	    "\"class\": \"well-known\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": null, \"port\": null, \"service\": null, "
	    "\"class\": null, \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [{\"pid\": 42, \"program\": \"x\\u001b[2Jy\", \"fd\": 5}], "
	    "\"netns\": null, \"unit\": null, \"uid\": 0, \"user\": \"root\", \"inode\": 300, "
	    "\"cookie\": 4294967297, "
	    "\"rx_queue\": 0, \"tx_queue\": 128, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv6\", \"v6only\": null, \"state\": "
	    "\"TIME_WAIT\", "
	    "\"local\": {\"address\": \"fe80::1\", \"port\": 22, \"service\": \"ssh\", "
	    "\"class\": \"well-known\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": \"fe80::2\", \"port\": 40000, \"service\": \"safetynetp\", "
	    "\"class\": \"registered\", \"ephemeral\": null}, "
	    "\"interface\": \"lo\", "
	    "\"owners\": [], "
	    "\"netns\": null, \"unit\": null, \"uid\": 4242, \"user\": null, \"inode\": null, "
	    "\"cookie\": 7, "
	    "\"rx_queue\": 0, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv6\", \"v6only\": null, \"state\": "
	    "\"SYN_SENT\", "
	    "\"local\": {\"address\": \"::ffff:10.0.0.1\", \"port\": 50000, \"service\": null, "
	    "\"class\": \"dynamic\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": \"::ffff:10.0.0.3\", \"port\": 8080, "
	    "\"service\": \"http-alt\", \"class\": \"registered\", \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [{\"pid\": 7, \"program\": null, \"fd\": 9}], "
	    "\"netns\": null, \"unit\": null, \"uid\": 0, \"user\": \"root\", \"inode\": 400, "
	    "\"cookie\": 8, "
	    "\"rx_queue\": 0, \"tx_queue\": 1, "
	    "\"timer\": {\"name\": \"on\", \"expires_ms\": 1000, \"retransmits\": 3, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"udp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": null, "
	    "\"local\": {\"address\": \"0.0.0.0\", \"port\": 5353, \"service\": \"mdns\", "
	    "\"class\": \"registered\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": null, \"port\": null, \"service\": null, "
	    "\"class\": null, \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [], "
	    "\"netns\": null, \"unit\": null, \"uid\": 0, \"user\": \"root\", \"inode\": 500, "
	    "\"cookie\": 9, "
	    "\"rx_queue\": 768, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"udp\", \"family\": \"ipv6\", \"v6only\": null, \"state\": "
	    "\"ESTABLISHED\", "
	    "\"local\": {\"address\": \"2001:db8::1\", \"port\": 32768, "
	    "\"service\": \"filenet-tms\", \"class\": \"registered\", \"ephemeral\": true}, "
	    "\"foreign\": {\"address\": \"2001:db8::53\", \"port\": 53, \"service\": \"domain\", "
	    "\"class\": \"well-known\", \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [{\"pid\": 43, \"program\": \"a\\\"b\\\\c\", \"fd\": 6}], "
	    "\"netns\": null, \"unit\": null, \"uid\": 1000, \"user\": \"alice\", \"inode\": 600, "
	    "\"cookie\": 10, "
	    "\"rx_queue\": 0, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}}\n"
	    "]\n");
	free(got);
	pv_socklist_free(&l);
	pv_ephemeral_free(&eph);
	pv_services_free(&svc);
}
END_TEST

/*
 * Some processes could not be read and the range is unknown: owners found
 * are listed, none found is null (unknown) but [] for a socket with no
 * inode; every local "ephemeral" is null.
 */
START_TEST(json_denied_owners_and_unknown_range)
{
	struct pv_socklist l;
	struct pv_services svc;
	struct pv_ephemeral eph;
	pv_services_load(&svc, "/dev/null");
	json_range(&eph, false);
	json_fill(&l, 1u << 0 | 1u << 2 | 1u << 4);
	struct pv_view v;
	json_view(&v, &l, &svc, &eph, true, true);
	char *got = render_json(&v);
	ck_assert_text_eq(
	    got,
	    "[\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
	    "\"ESTABLISHED\", "
	    "\"local\": {\"address\": \"10.0.0.1\", \"port\": 50123, \"service\": null, "
	    "\"class\": \"dynamic\", \"ephemeral\": null}, "
	    "\"foreign\": {\"address\": \"10.0.0.2\", \"port\": 443, \"service\": \"https\", "
	    "\"class\": \"well-known\", \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": [{\"pid\": 3496, \"program\": \"sshd\", \"fd\": 3}, "
	    "{\"pid\": 3496, \"program\": \"sshd\", \"fd\": 4}, "
	    "{\"pid\": 3500, \"program\": \"sshd\", \"fd\": 3}], "
	    "\"netns\": null, \"unit\": null, \"uid\": 1000, \"user\": \"alice\", \"inode\": 100, "
	    "\"cookie\": 1311768467463790320, "
	    "\"rx_queue\": 3, \"tx_queue\": 7, "
	    "\"timer\": {\"name\": \"keepalive\", \"expires_ms\": 7197190, \"retransmits\": 0, "
	    "\"probes\": 2}},\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv6\", \"v6only\": null, \"state\": "
	    "\"TIME_WAIT\", "
	    "\"local\": {\"address\": \"fe80::1\", \"port\": 22, \"service\": \"ssh\", "
	    "\"class\": \"well-known\", \"ephemeral\": null}, "
	    "\"foreign\": {\"address\": \"fe80::2\", \"port\": 40000, \"service\": \"safetynetp\", "
	    "\"class\": \"registered\", \"ephemeral\": null}, "
	    "\"interface\": \"lo\", "
	    "\"owners\": [], "
	    "\"netns\": null, \"unit\": null, \"uid\": 4242, \"user\": null, \"inode\": null, "
	    "\"cookie\": 7, "
	    "\"rx_queue\": 0, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"udp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": null, "
	    "\"local\": {\"address\": \"0.0.0.0\", \"port\": 5353, \"service\": \"mdns\", "
	    "\"class\": \"registered\", \"ephemeral\": null}, "
	    "\"foreign\": {\"address\": null, \"port\": null, \"service\": null, "
	    "\"class\": null, \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": null, "
	    "\"netns\": null, \"unit\": null, \"uid\": 0, \"user\": \"root\", \"inode\": 500, "
	    "\"cookie\": 9, "
	    "\"rx_queue\": 768, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}}\n"
	    "]\n");
	free(got);
	pv_socklist_free(&l);
	pv_ephemeral_free(&eph);
	pv_services_free(&svc);
}
END_TEST

/* Owners not looked up: null everywhere, even where there is no inode. */
START_TEST(json_without_owner_table)
{
	struct pv_socklist l;
	struct pv_services svc;
	struct pv_ephemeral eph;
	pv_services_load(&svc, "/dev/null");
	json_range(&eph, true);
	json_fill(&l, 1u << 1 | 1u << 2);
	struct pv_view v;
	json_view(&v, &l, &svc, &eph, false, false);
	char *got = render_json(&v);
	ck_assert_text_eq(
	    got,
	    "[\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
	    "\"LISTENING\", "
	    "\"local\": {\"address\": \"0.0.0.0\", \"port\": 443, \"service\": \"https\", "
	    "\"class\": \"well-known\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": null, \"port\": null, \"service\": null, "
	    "\"class\": null, \"ephemeral\": null}, "
	    "\"interface\": null, "
	    "\"owners\": null, "
	    "\"netns\": null, \"unit\": null, \"uid\": 0, \"user\": \"root\", \"inode\": 300, "
	    "\"cookie\": 4294967297, "
	    "\"rx_queue\": 0, \"tx_queue\": 128, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}},\n"
	    "  {\"proto\": \"tcp\", \"family\": \"ipv6\", \"v6only\": null, \"state\": "
	    "\"TIME_WAIT\", "
	    "\"local\": {\"address\": \"fe80::1\", \"port\": 22, \"service\": \"ssh\", "
	    "\"class\": \"well-known\", \"ephemeral\": false}, "
	    "\"foreign\": {\"address\": \"fe80::2\", \"port\": 40000, \"service\": \"safetynetp\", "
	    "\"class\": \"registered\", \"ephemeral\": null}, "
	    "\"interface\": \"lo\", "
	    "\"owners\": null, "
	    "\"netns\": null, \"unit\": null, \"uid\": 4242, \"user\": null, \"inode\": null, "
	    "\"cookie\": 7, "
	    "\"rx_queue\": 0, \"tx_queue\": 0, "
	    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, \"probes\": "
	    "0}}\n"
	    "]\n");
	free(got);
	pv_socklist_free(&l);
	pv_ephemeral_free(&eph);
	pv_services_free(&svc);
}
END_TEST

START_TEST(json_empty_list)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	struct pv_view v;
	json_view(&v, &l, NULL, NULL, false, false);
	char *got = render_json(&v);
	ck_assert_text_eq(got, "[]\n");
	free(got);
}
END_TEST

/* Every kernel state by its name; unconnected UDP has none. */
START_TEST(json_state_names)
{
	static const struct {
		uint8_t proto, state;
		const char *json;
	} states[] = {
	    {IPPROTO_TCP, PV_TCP_ESTABLISHED, "\"ESTABLISHED\""},
	    {IPPROTO_TCP, PV_TCP_SYN_SENT, "\"SYN_SENT\""},
	    {IPPROTO_TCP, PV_TCP_SYN_RECV, "\"SYN_RECEIVED\""},
	    {IPPROTO_TCP, PV_TCP_FIN_WAIT1, "\"FIN_WAIT_1\""},
	    {IPPROTO_TCP, PV_TCP_FIN_WAIT2, "\"FIN_WAIT_2\""},
	    {IPPROTO_TCP, PV_TCP_TIME_WAIT, "\"TIME_WAIT\""},
	    {IPPROTO_TCP, PV_TCP_CLOSE, "\"CLOSED\""},
	    {IPPROTO_TCP, PV_TCP_CLOSE_WAIT, "\"CLOSE_WAIT\""},
	    {IPPROTO_TCP, PV_TCP_LAST_ACK, "\"LAST_ACK\""},
	    {IPPROTO_TCP, PV_TCP_LISTEN, "\"LISTENING\""},
	    {IPPROTO_TCP, PV_TCP_CLOSING, "\"CLOSING\""},
	    {IPPROTO_TCP, PV_TCP_NEW_SYN_RECV, "\"SYN_RECEIVED\""},
	    {IPPROTO_UDP, PV_TCP_ESTABLISHED, "\"ESTABLISHED\""},
	    {IPPROTO_UDP, PV_TCP_CLOSE, "null"},
	};
	struct pv_services svc;
	struct pv_ephemeral eph;
	pv_services_load(&svc, "/dev/null");
	json_range(&eph, true);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		struct pv_socklist l;
		pv_socklist_init(&l);
		struct pv_sock s = with(mksock(states[i].proto, AF_INET, "127.0.0.1", 50123,
					       "127.0.0.1", 443, states[i].state),
					5, 0, 0, 0, 0, 0);
		ck_assert(pv_socklist_add(&l, &s));
		struct pv_view v;
		json_view(&v, &l, &svc, &eph, false, false);
		char *got = render_json(&v), want[1024];
		snprintf(
		    want, sizeof(want),
		    "[\n  {\"proto\": \"%s\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
		    "%s, "
		    "\"local\": {\"address\": \"127.0.0.1\", \"port\": 50123, \"service\": null, "
		    "\"class\": \"dynamic\", \"ephemeral\": true}, "
		    "\"foreign\": {\"address\": \"127.0.0.1\", \"port\": 443, "
		    "\"service\": \"https\", \"class\": \"well-known\", \"ephemeral\": null}, "
		    "\"interface\": null, \"owners\": null, \"netns\": null, \"unit\": null, "
		    "\"uid\": 0, \"user\": \"root\", "
		    "\"inode\": null, \"cookie\": 5, \"rx_queue\": 0, \"tx_queue\": 0, "
		    "\"timer\": {\"name\": \"off\", \"expires_ms\": 0, \"retransmits\": 0, "
		    "\"probes\": 0}}\n]\n",
		    states[i].proto == IPPROTO_TCP ? "tcp" : "udp", states[i].json);
		ck_assert_text_eq(got, want);
		free(got);
		pv_socklist_free(&l);
	}
	pv_ephemeral_free(&eph);
	pv_services_free(&svc);
}
END_TEST

/* --ranges: the share in use is of the ports not reserved. */
START_TEST(ranges_table_and_json)
{
	struct pv_range_use rows[] = {
	    {.proto = IPPROTO_TCP,
	     .known = true,
	     .start = 50000,
	     .count = 1000,
	     .reserved = 500,
	     .in_use = 5},
	    {.proto = IPPROTO_TCP,
	     .iana = true,
	     .known = true,
	     .start = 49152,
	     .count = 16384,
	     .reserved = -1,
	     .in_use = 3},
	    {.proto = IPPROTO_UDP, .known = false},
	};
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_ranges(&b, rows, 3);
	pv_buf_putc(&b, '\0');
	ck_assert_text_eq(b.data,
			  "\n"
			  "Local Port Ranges\n"
			  "\n"
			  "  Proto  Range          Start  Ports  Reserved  In Use  Used\n"
			  "  TCP    ephemeral      50000  1000   500       5       1.00%\n"
			  "  TCP    iana-dynamic   49152  16384  -         3       0.02%\n"
			  "  UDP    ephemeral      unknown (ip_local_port_range unreadable)\n");
	b.len = 0;
	pv_render_ranges_json(&b, rows, 3);
	pv_buf_putc(&b, '\0');
	ck_assert_text_eq(b.data,
			  "[\n"
			  "  {\"proto\": \"tcp\", \"range\": \"ephemeral\", \"start\": 50000, "
			  "\"end\": 50999, \"ports\": 1000, \"reserved\": 500, \"in_use\": 5},\n"
			  "  {\"proto\": \"tcp\", \"range\": \"iana-dynamic\", \"start\": 49152, "
			  "\"end\": 65535, \"ports\": 16384, \"reserved\": null, \"in_use\": 3},\n"
			  "  {\"proto\": \"udp\", \"range\": \"ephemeral\", \"start\": null, "
			  "\"end\": null, \"ports\": null, \"reserved\": null, \"in_use\": null}\n"
			  "]\n");
	pv_buf_free(&b);
}
END_TEST

/*
 * A large table formatted on several threads (PORTVIEW_TABLE_THREADS) is
 * the text one thread writes, whatever the options.  Rows go to threads
 * in chunks of 128; the rows that set the columns' widths (the longest
 * address, PID list and program name) sit in late chunks, and the rows
 * change every few lines, so a chunk out of place, a thread's widths not
 * counted or a cell written by the wrong thread's scratch shows.
 */
enum { BIG = 5000 };

static struct pv_process big_procs[] = {
    {.pid = 7, .comm = "short", .comm_len = 5},
    {.pid = 1234567, .comm = "a-rather-long-name", .comm_len = 18},
    {.pid = 42, .comm = "x\x1b[2Jy", .comm_len = 6},
    {.pid = 99, .comm = "\xe3\x83\x9d\xe3\x83\xbc\xe3\x83\x88", .comm_len = 9},
};
static struct pv_owner big_fds[2 * BIG];
static struct pv_tcp_info big_info = {.rtt_us = 1500,
				      .rttvar_us = 250,
				      .snd_cwnd = 10,
				      .bytes_sent = 123456,
				      .have = PV_TI_BASE | PV_TI_SENT};

static void fill_big(struct pv_socklist *l, struct pv_scan_part *part)
{
	static const uint8_t states[] = {PV_TCP_ESTABLISHED, PV_TCP_TIME_WAIT, PV_TCP_LISTEN,
					 PV_TCP_CLOSE_WAIT, PV_TCP_SYN_SENT};
	pv_socklist_init(l);
	l->keep_info = true;
	size_t nfds = 0;
	for (uint32_t i = 0; i < BIG; i++) {
		char a[64], b[64];
		bool udp = i % 5 == 4, v6 = i % 13 == 0 || i == 4321;
		uint8_t state = udp ? PV_TCP_CLOSE : states[i % 5];
		if (i == 4321)
			snprintf(a, sizeof(a), "2001:db8:1234:5678:9abc:def0:1234:5678");
		else if (v6)
			snprintf(a, sizeof(a), "fe80::%x", i);
		else
			snprintf(a, sizeof(a), "10.%u.%u.%u", i % 7, i % 251, i % 250 + 1);
		if (v6)
			snprintf(b, sizeof(b), "::%x", i % 3 ? i : 0);
		else
			snprintf(b, sizeof(b), "192.168.%u.%u", i % 3, i % 200);
		struct pv_sock s = mksock(udp ? IPPROTO_UDP : IPPROTO_TCP, v6 ? AF_INET6 : AF_INET,
					  a, (uint16_t)(i * 37 % 65535 + 1), b,
					  (uint16_t)(i * 7919 % 65535 + 1), state);
		s.inode = state == PV_TCP_TIME_WAIT ? 0 : 1000 + i;
		struct pv_sock *sp = &s;
		if (i % 3 == 0)
			sp->info = &big_info;
		pv_socklist_add(l, sp);
		if (!s.inode || i % 11 == 0)
			continue; /* no owner: "-" */
		uint32_t proc = i == 4700 ? 2 : i == 3900 ? 3 : 0;
		big_fds[nfds++] = (struct pv_owner){
		    .pid = big_procs[proc].pid, .fd = 3, .proc = proc, .inode = s.inode};
		if (i % 7 == 0 || i == 4999) /* shared: a list, or "7 (+1)" condensed */
			big_fds[nfds++] =
			    (struct pv_owner){.pid = 1234567, .fd = 4, .proc = 1, .inode = s.inode};
	}
	*part = (struct pv_scan_part){.fds = big_fds,
				      .nfds = nfds,
				      .procs = big_procs,
				      .nprocs = sizeof(big_procs) / sizeof(big_procs[0])};
}

/* The table of l (and, with rows, the frame of these changes) on threads threads. */
static char *render_big(const struct pv_view *v, const struct pv_view *prev,
			const struct pv_watch_row *rows, size_t n, struct pv_table_opts o,
			unsigned threads)
{
	struct pv_buf b;
	pv_buf_init(&b);
	o.threads = threads;
	struct pv_frame f = {.cur = v, .prev = prev, .rows = rows, .n = n};
	pv_render_frame(&b, &f, &o);
	pv_buf_putc(&b, '\0');
	return b.data;
}

START_TEST(threads_write_the_same_table)
{
	struct pv_socklist l;
	struct pv_scan_part part;
	fill_big(&l, &part);
	struct pv_services svc;
	pv_services_load(&svc, NULL);
	struct pv_ephemeral eph = {.known = true, .lo = 32768, .hi = 60999};
	struct pv_view v;
	pv_view_init(&v, &l, &svc, &eph);
	ck_assert(!pv_view_join_owners(&v, &part, 1));
	/* a frame: every row, some new, some changed, some closed (of the same list) */
	static struct pv_watch_row rows[BIG];
	for (uint32_t i = 0; i < BIG; i++)
		rows[i] =
		    (struct pv_watch_row){.index = i,
					  .change = (uint8_t)(i % 17 == 0   ? PV_CHANGE_NEW
							      : i % 19 == 0 ? PV_CHANGE_STATE
							      : i % 23 == 0 ? PV_CHANGE_CLOSED
									    : PV_CHANGE_NONE)};
	struct {
		const char *what;
		struct pv_table_opts o;
		bool frame;
	} cases[] = {
	    {"-an", {.numeric = true}, false},
	    {"-ano", {.numeric = true, .owner = true}, false},
	    {"-anp", {.numeric = true, .program = true}, false},
	    {"-anpW", {.numeric = true, .program = true, .wide = true}, false},
	    {"-anp on 100 columns", {.numeric = true, .program = true, .width = 100}, false},
	    {"-anoi", {.numeric = true, .owner = true, .info = true}, false},
	    {"-anp, a frame with marks", {.numeric = true, .program = true, .changes = true}, true},
	    {"-ano, a frame in colour",
	     {.numeric = true, .owner = true, .changes = true, .color = true},
	     true},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct pv_watch_row *r = cases[c].frame ? rows : NULL;
		char *one = render_big(&v, &v, r, BIG, cases[c].o, 1);
		/* the widest cells are in the table: each column's width is theirs */
		ck_assert_msg(strstr(one, "[2001:db8:1234:5678:9abc:def0:1234:5678]:"), "%s",
			      cases[c].what);
		for (unsigned t = 2; t <= PV_TABLE_THREADS_MAX; t++) {
			char *many = render_big(&v, &v, r, BIG, cases[c].o, t);
			ck_assert_msg(strcmp(one, many) == 0, "%s on %u threads: not the same text",
				      cases[c].what, t);
			free(many);
		}
		free(one);
	}
	pv_view_free(&v);
	pv_services_free(&svc);
	pv_socklist_free(&l);
}
END_TEST

/*
 * -i's columns are measured without formatting their cells (quick
 * widths): in tables of random tcp_info (every branch of the formats:
 * milliseconds with 0 to 3 decimals and past 1,000 s, counts each side
 * of 10,000 and of each prefix, fields the kernel did not give), every
 * cell starts where its title does, none is wider than its column, and
 * each column is one wider than its widest cell or its title.
 */
/* Of one magnitude in a table (kind < 8), of any in others: so that each sets a column's width. */
static uint64_t rnd_scaled(uint32_t *x, int kind)
{
	*x = *x * 1103515245u + 12345u;
	uint32_t r = *x >> 8;
	static const uint64_t scale[] = {1,	10,	1000,	       9995,
					 99950, 999500, 1000000000ull, 999500000000000000ull};
	return (uint64_t)(r % 1000) * scale[kind < 8 ? kind : (int)(r >> 10) % 8] + (r >> 13) % 3;
}

/* Of one form in a table (kind < 5), of any in others. */
static uint32_t rnd_us(uint32_t *x, int kind)
{
	*x = *x * 1103515245u + 12345u;
	uint32_t r = *x >> 4;
	switch (kind < 5 ? kind : (int)(r % 5)) {
	case 0:
		return r % 1000;
	case 1:
		return (r % 5000) * 1000 + (r >> 12) % 10 * 100; /* one decimal */
	case 2:
		return (r % 100) * 1000 + (r >> 12) % 100 * 10; /* up to two */
	case 3:
		return 1000000 + r % 3000000000u; /* printf's %g */
	default:
		return r % 1000000;
	}
}

static const char *info_titles[] = {"RTT ms",	   "Cwnd",    "Sent",	  "Acked",  "Rcvd",
				    "Segs out/in", "Retrans", "Delivery", "Idle ms"};
enum { NT = sizeof(info_titles) / sizeof(info_titles[0]), ROWS = 12 };

/* ROWS connections with tcp_info of table's scale (rnd_us, rnd_scaled), a few without. */
static void info_rows(struct pv_socklist *l, int table, uint32_t *seed)
{
	uint32_t x = *seed;
	pv_socklist_init(l);
	l->keep_info = true;
	for (int i = 0; i < ROWS; i++) {
		struct pv_sock s = mksock(IPPROTO_TCP, AF_INET, "10.0.0.1", (uint16_t)(1000 + i),
					  "10.0.0.2", 80, PV_TCP_ESTABLISHED);
		x = x * 1103515245u + 12345u;
		struct pv_tcp_info ti = {.have = (uint8_t)((x >> 9) % 8 == 0 ? PV_TI_BASE : 0x1f),
					 .rtt_us = rnd_us(&x, table % 6),
					 .rttvar_us = rnd_us(&x, table % 6),
					 .snd_cwnd = (uint32_t)rnd_scaled(&x, table % 9),
					 .bytes_sent = rnd_scaled(&x, table % 9),
					 .bytes_acked = rnd_scaled(&x, table % 9),
					 .bytes_received = rnd_scaled(&x, table % 9),
					 .delivery_rate = rnd_scaled(&x, table % 9),
					 .segs_out = (uint32_t)rnd_scaled(&x, table % 9),
					 .segs_in = (uint32_t)rnd_scaled(&x, table % 9),
					 .retrans = (uint32_t)rnd_scaled(&x, table % 9),
					 .total_retrans = (uint32_t)rnd_scaled(&x, table % 9),
					 .last_data_sent_ms = (uint32_t)rnd_scaled(&x, table % 9),
					 .last_data_recv_ms = (uint32_t)rnd_scaled(&x, table % 9)};
		if ((x >> 13) % 7 != 0)
			s.info = &ti; /* a few without: '-' */
		pv_socklist_add(l, &s);
	}
	*seed = x;
}

START_TEST(info_columns_as_wide_as_their_widest_cell)
{
	const char **titles = info_titles;
	uint32_t x = 99;
	for (int table = 0; table < 300; table++) {
		struct pv_socklist l;
		info_rows(&l, table, &x);
		struct pv_table_opts o = {.numeric = true, .info = true, .plain = true};
		char *out = render(&l, false, &o);
		char *header = strstr(out, "  Proto");
		ck_assert_ptr_nonnull(header);
		size_t start[NT];
		for (int c = 0; c < NT; c++) {
			char *t = strstr(header, titles[c]);
			ck_assert_msg(t && (c == 0 || t - header > (long)start[c - 1]), "%s",
				      titles[c]);
			start[c] = (size_t)(t - header);
		}
		size_t widest[NT];
		for (int c = 0; c < NT; c++)
			widest[c] = strlen(titles[c]);
		char *line = strchr(header, '\n') + 1;
		for (int i = 0; i < ROWS; i++) {
			char *end = strchr(line, '\n');
			ck_assert_ptr_nonnull(end);
			size_t len = (size_t)(end - line);
			for (int c = 0; c < NT; c++) {
				ck_assert_msg(
				    start[c] < len && line[start[c] - 1] == ' ' &&
					line[start[c]] != ' ',
				    "table %d row %d: %s's cell not at its title:\n%.*s\n%.*s",
				    table, i, titles[c], (int)(strchr(header, '\n') - header),
				    header, (int)len, line);
				size_t w = strcspn(line + start[c], " \n");
				if (c + 1 < NT)
					ck_assert_msg(
					    start[c] + w < start[c + 1],
					    "table %d row %d: %s's cell wider than its column",
					    table, i, titles[c]);
				if (w > widest[c])
					widest[c] = w;
			}
			line = end + 1;
		}
		for (int c = 0; c + 1 < NT; c++)
			ck_assert_msg(
			    start[c + 1] - start[c] == widest[c] + 1,
			    "table %d: %s's column %zu wide, its widest cell or title %zu", table,
			    titles[c], start[c + 1] - start[c], widest[c]);
		free(out);
		pv_socklist_free(&l);
	}
}
END_TEST

/*
 * Fitted to a terminal, -i leaves out its least telling columns first
 * (fit): the cells of the columns kept stay under their titles, and those
 * of the columns left out are nowhere, every row as wide as its cells.
 */
START_TEST(info_columns_left_out_to_fit)
{
	uint32_t x = 7;
	size_t dropped_some = 0;
	for (int table = 0; table < 90; table++) {
		struct pv_socklist l;
		info_rows(&l, table, &x);
		struct pv_table_opts o = {.numeric = true,
					  .info = true,
					  .plain = true,
					  .width = 100 + (size_t)table % 9 * 10};
		char *out = render(&l, false, &o);
		char *header = strstr(out, "  Proto");
		ck_assert_ptr_nonnull(header);
		size_t hlen = (size_t)(strchr(header, '\n') - header);
		size_t start[NT], kept = 0;
		int shown[NT];
		for (int c = 0; c < NT; c++) {
			char *t = strstr(header, info_titles[c]);
			if (t && t < header + hlen) {
				shown[kept] = c;
				start[kept++] = (size_t)(t - header);
			}
		}
		dropped_some += kept < NT;
		char *line = strchr(header, '\n') + 1;
		for (int i = 0; i < ROWS; i++) {
			char *end = strchr(line, '\n');
			ck_assert_ptr_nonnull(end);
			size_t len = (size_t)(end - line);
			/* the cells after the state: one per info column kept, and the annotations'
			 */
			char *p = strstr(line, "ESTABLISHED") + strlen("ESTABLISHED");
			size_t cells = 0;
			for (; p < end; p += strspn(p, " "))
				if (*p != ' ') {
					cells++;
					p += strcspn(p, " \n");
				}
			size_t want = kept + (strstr(header, "Local Port") != NULL) * 2 +
				      (strstr(header, "Foreign Port") != NULL) * 2;
			ck_assert_msg(
			    cells == want,
			    "table %d row %d: %zu cells after the state, %zu columns:\n%.*s\n%.*s",
			    table, i, cells, want, (int)hlen, header, (int)len, line);
			for (size_t k = 0; k < kept; k++)
				ck_assert_msg(
				    start[k] < len && line[start[k] - 1] == ' ' &&
					line[start[k]] != ' ',
				    "table %d row %d: %s's cell not at its title:\n%.*s\n%.*s",
				    table, i, info_titles[shown[k]], (int)hlen, header, (int)len,
				    line);
			line = end + 1;
		}
		free(out);
		pv_socklist_free(&l);
	}
	ck_assert_uint_gt(dropped_some, 30);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, netstat_layout_without_owner);
	tcase_add_test(tc, pid_and_program_columns);
	tcase_add_test(tc, shared_sockets_condensed);
	tcase_add_test(tc, fitted_to_the_terminal);
	tcase_add_test(tc, dual_stack_wildcard_is_a_star);
	tcase_add_test(tc, long_addresses_widen_columns);
	tcase_add_test(tc, header_without_rows);
	tcase_add_test(tc, port_annotation_columns);
	tcase_add_test(tc, annotation_width_is_the_text_width);
	tcase_add_test(tc, ranges_table_and_json);
	tcase_add_test(tc, threads_write_the_same_table);
	tcase_add_test(tc, info_columns_as_wide_as_their_widest_cell);
	tcase_add_test(tc, info_columns_left_out_to_fit);
	suite_add_tcase(s, tc);
	tc = tcase_create("json");
	tcase_add_test(tc, json_every_field);
	tcase_add_test(tc, json_denied_owners_and_unknown_range);
	tcase_add_test(tc, json_without_owner_table);
	tcase_add_test(tc, json_empty_list);
	tcase_add_test(tc, json_state_names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
