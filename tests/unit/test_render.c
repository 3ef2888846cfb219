/* The table renderer: exact text for hand-made records. */
#include "records.h"
#include "portview/annotate.h"
#include "portview/format.h"
#include "portview/ports.h"
#include "portview/render.h"
#include "portview/services.h"
#include "portview/state.h"

/* services NULL: no annotation columns' data (o->plain hides them anyway). */
static char *render_with(const struct pv_socklist *l, const struct pv_owner_table *t,
			 const struct pv_services *svc, const struct pv_ephemeral *eph,
			 const struct pv_options *o)
{
	struct pv_buf b;
	pv_buf_init(&b);
	struct pv_view v = {.l = l, .services = svc, .ephemeral = eph, .owners = t};
	pv_render_table(&b, &v, NULL, o);
	pv_buf_putc(&b, '\0');
	return b.data;
}

static char *render(const struct pv_socklist *l, const struct pv_owner_table *t,
		    const struct pv_options *o)
{
	return render_with(l, t, NULL, NULL, o);
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

/* The owner table as a /proc walk that found fds[] would leave it. */
static void setup_table(struct pv_owner_table *t, const struct pv_socklist *l)
{
	struct pv_scan scan;
	memset(&scan, 0, sizeof(scan));
	scan.parts[0].fds = fds;
	scan.parts[0].nfds = sizeof(fds) / sizeof(fds[0]);
	scan.parts[0].procs = procs;
	scan.parts[0].nprocs = sizeof(procs) / sizeof(procs[0]);
	pv_owners_init(t, l->n);
	for (size_t i = 0; i < l->n; i++)
		pv_owners_want(t, l->v[i].inode);
	pv_owners_join(t, &scan);
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
	struct pv_options o;
	pv_options_init(&o);
	o.numeric = true;
	o.plain = true;
	fill(&l);
	char *got = render(&l, NULL, &o);
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

START_TEST(pid_and_program_columns)
{
	struct pv_socklist l;
	struct pv_options o;
	struct pv_owner_table t;
	pv_options_init(&o);
	o.numeric = true;
	o.plain = true;
	o.owner = true;
	fill(&l);
	setup_table(&t, &l);
	char *got = render(&l, &t, &o);
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
	got = render(&l, &t, &o);
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
	pv_owners_free(&t);
}
END_TEST

START_TEST(long_addresses_widen_columns)
{
	struct pv_socklist l;
	struct pv_options o;
	pv_options_init(&o);
	o.numeric = true;
	o.plain = true;
	pv_socklist_init(&l);
	struct pv_sock s = mksock(IPPROTO_TCP, AF_INET6, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
				  443, "::ffff:192.168.100.200", 65535, PV_TCP_CLOSE_WAIT);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "1.2.3.4", 1, "5.6.7.8", 2, PV_TCP_FIN_WAIT1);
	pv_socklist_add(&l, &s);
	char *got = render(&l, NULL, &o);
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
	struct pv_options o;
	pv_options_init(&o);
	o.numeric = true;
	o.plain = true;
	o.owner = true;
	pv_socklist_init(&l);
	char *got = render(&l, NULL, &o);
	ck_assert_str_eq(
	    got, "\nActive Connections\n\n"
		 "  Proto  Local Address          Foreign Address        State           PID\n");
	free(got);
}
END_TEST

START_TEST(port_annotation_columns)
{
	struct pv_socklist l;
	struct pv_options o;
	struct pv_services svc;
	/* the built-in registry only: 443/tcp is https, 50123 is unassigned */
	pv_services_load(&svc, "/dev/null");
	struct pv_ephemeral eph = {.known = true, .lo = 32768, .hi = 60999};
	pv_options_init(&o);
	o.numeric = true;
	pv_socklist_init(&l);
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "10.0.0.1", 50123, "10.0.0.2", 443, PV_TCP_ESTABLISHED);
	pv_socklist_add(&l, &s);
	s = mksock(IPPROTO_TCP, AF_INET, "0.0.0.0", 443, "0.0.0.0", 0, PV_TCP_LISTEN);
	pv_socklist_add(&l, &s);
	char *got = render_with(&l, NULL, &svc, &eph, &o);
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

int main(void)
{
	Suite *s = suite_create("render");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, netstat_layout_without_owner);
	tcase_add_test(tc, pid_and_program_columns);
	tcase_add_test(tc, long_addresses_widen_columns);
	tcase_add_test(tc, header_without_rows);
	tcase_add_test(tc, port_annotation_columns);
	tcase_add_test(tc, annotation_width_is_the_text_width);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
