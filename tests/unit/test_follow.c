/*
 * --top's refreshes from the change log (follow.h) where the kernel's
 * tracepoints say least, each refresh's table held to a fresh one-shot
 * gather of the same moment (test_refresh.c holds 500 refreshes of
 * loopback churn the same way):
 * - a connect() nobody answers (a SYN into a veth that drops it):
 *   SYN_SENT is told before the local port is chosen;
 * - connections a listener accepts only later: no inode, then its owner;
 * - a group of SO_REUSEPORT listeners, one closed: an exact lookup would
 *   find another of the group;
 * - a socket half-closed whose peer then closes: FIN_WAIT2 to TIME_WAIT
 *   without a full socket's change of state;
 * - the socket whose details --top shows, asked for at each refresh: an
 *   idle one's tcp_info ("idle for") moves with no record;
 * - bound, inactive sockets (bind() told by a cgroup program, the bind
 *   hash walked only then): bound, refused a connection but still bound,
 *   a listener shut down, closed; and no walk when no bind was told.
 * Each followed refresh must come from the log, not from a full dump.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>

#include "helpers.h"
#include "live.h"
#include "portview/follow.h"
#include "portview/places.h"
#include "portview/render.h"
#include "portview/state.h"
#include "portview/view.h"

struct world {
	struct pv_services svc;
	struct pv_places P;
	struct pv_follow *follow;
	struct pv_buf got, want;
	int full;    /* the followed takes that were full dumps */
	bool walked; /* the last followed take walked the bind hash */
};

struct take {
	struct pv_socklist l;
	struct pv_view v;
};

/*
 * A gather as --top takes it (keeping tcp_info), followed (w->follow) or
 * one-shot, its table (with PID/Program) into out.
 */
static void take(struct world *w, bool followed, struct take *t, struct pv_buf *out)
{
	static const struct pv_dump_policy policy = {.check = PV_DUMP_CHECK};
	static const struct pv_query q = {.states = PV_STATES_ALL};
	const struct pv_gather_opts o = {.query = &q,
					 .dump = &policy,
					 .keeps = PV_KEEP_INFO,
					 .owners = true,
					 .proc_root = "/proc",
					 .follow = followed ? w->follow : NULL};
	struct pv_gather_report rep;
	pv_socklist_init(&t->l);
	ck_assert_int_eq(pv_gather(&w->P, &o, &w->svc, &t->l, &t->v, &rep), 0);
	if (followed) {
		w->full += rep.follow.full;
		w->walked = rep.follow.walked;
	}
	pv_gather_report_free(&rep);
	struct pv_table_opts to = {.numeric = true, .program = true, .wide = true};
	out->len = 0;
	pv_render_table(out, &t->v, &to);
	pv_buf_putc(out, '\0');
}

static void take_free(struct take *t)
{
	pv_view_free(&t->v);
	pv_socklist_free(&t->l);
}

/* Whether /proc/net/tcp{,6} shows a state that moves on by itself at once (an ACK on its way). */
static bool moving(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[512];
	bool any = false;
	unsigned st;
	while (!any && fgets(line, sizeof(line), f))
		/* SYN_RECV, FIN_WAIT1, LAST_ACK, CLOSING (not SYN_SENT: one is left unanswered) */
		any = sscanf(line, "%*s %*s %*s %x", &st) == 1 &&
		      (st == 3 || st == 4 || st == 9 || st == 11);
	fclose(f);
	return any;
}

/*
 * The followed refresh, from the log, as the fresh gather: the same table,
 * and for each socket the tcp_info counts --top's rates and RTT are made
 * of.  (Not all of tcp_info: an idle socket's "idle for" grows by itself,
 * and --top asks again only for the sockets that moved.)
 */
static void same(struct world *w, const char *what)
{
	for (int i = 0; i < 500 && (moving("/proc/net/tcp") || moving("/proc/net/tcp6")); i++)
		usleep(10000); /* loopback's last segments landed: both takes see one moment */
	int full = w->full;
	struct take got, want;
	take(w, true, &got, &w->got);
	take(w, false, &want, &w->want);
	ck_assert_msg(strcmp(w->got.data, w->want.data) == 0, "%s: %s", what,
		      text_diff(w->got.data, w->want.data));
	ck_assert_msg(w->full == full, "%s: a full dump, not the change log", what);
	ck_assert_uint_eq(got.l.n, want.l.n);
	for (size_t i = 0; i < got.l.n; i++) {
		const struct pv_tcp_info *a = pv_socklist_info(&got.l, i),
					 *b = pv_socklist_info(&want.l, i);
		ck_assert_msg(got.l.v[i].cookie == want.l.v[i].cookie, "%s: row %zu", what, i);
		ck_assert_msg(a->have == b->have && a->bytes_acked == b->bytes_acked &&
				  a->bytes_received == b->bytes_received && a->rtt_us == b->rtt_us,
			      "%s: row %zu's tcp_info: acked %llu/%llu, received %llu/%llu, rtt "
			      "%u/%u",
			      what, i, (unsigned long long)a->bytes_acked,
			      (unsigned long long)b->bytes_acked,
			      (unsigned long long)a->bytes_received,
			      (unsigned long long)b->bytes_received, a->rtt_us, b->rtt_us);
	}
	take_free(&got);
	take_free(&want);
}

static bool world_open(struct world *w)
{
	private_netns();
	int err = pv_follow_open(&w->follow);
	if (err) {
		printf("follow: skipped, the change log cannot load (%s)\n", strerror(-err));
		return false;
	}
	static const struct pv_places_opts o = {
	    .proc_root = "/proc", .sysctl_dir = "/proc/sys/net/ipv4", .run_netns = "/run/netns"};
	bool refused;
	struct pv_place_failure fail;
	pv_services_load(&w->svc, "/dev/null");
	ck_assert_int_eq(pv_places_open(&w->P, &o, &refused), 0);
	ck_assert_int_eq(pv_places_open_snapshotters(&w->P, &fail), 0);
	pv_buf_init(&w->got);
	pv_buf_init(&w->want);
	struct take first;
	take(w, true, &first, &w->got); /* the first: a full dump */
	take_free(&first);
	ck_assert_int_eq(w->full, 1);
	return true;
}

static void world_close(struct world *w)
{
	pv_buf_free(&w->got);
	pv_buf_free(&w->want);
	pv_places_free(&w->P);
	pv_services_free(&w->svc);
	pv_follow_close(w->follow);
}

START_TEST(connect_not_answered)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	/*
	 * A veth pair whose far end drops what it is sent (a neighbour entry
	 * with another address): the SYN is never answered.
	 */
	ck_assert_int_eq(system("ip link add pvf0 type veth peer name pvf1 && "
				"ip addr add 10.99.0.1/24 dev pvf0 && ip link set pvf0 up && "
				"ip link set pvf1 up && "
				"ip neigh add 10.99.0.2 lladdr 02:00:00:00:99:02 dev pvf0"),
			 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(80)};
	to.sin_addr.s_addr = htonl(0x0a630002); /* 10.99.0.2 */
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), -1);
	ck_assert_int_eq(errno, EINPROGRESS);
	same(&w, "a connect() not answered, at once");
	ck_assert_ptr_nonnull(strstr(w.got.data, "10.99.0.2:80"));
	ck_assert_ptr_nonnull(strstr(w.got.data, "SYN_SENT"));
	usleep(1200 * 1000); /* its SYN sent again */
	same(&w, "a connect() not answered, a second on");
	close(fd);
	same(&w, "a connect() given up");
	ck_assert_ptr_null(strstr(w.got.data, "10.99.0.2:80"));
	world_close(&w);
}
END_TEST

START_TEST(accepted_later)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	int lfd = listener(AF_INET, 5100);
	int c[3];
	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(AF_INET, 5100, &ss);
		c[i] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_eq(connect(c[i], (struct sockaddr *)&ss, len), 0);
	}
	same(&w, "three connections not accepted yet");
	int a = accept(lfd, NULL, NULL);
	ck_assert_int_ge(a, 0);
	same(&w, "one of them accepted");
	close(c[1]);
	same(&w, "another one's client gone before its accept");
	close(a);
	close(c[0]);
	close(c[2]);
	close(lfd);
	same(&w, "all closed");
	world_close(&w);
}
END_TEST

START_TEST(reuseport_group)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	int fds[3], one = 1;
	for (int i = 0; i < 3; i++) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(AF_INET6, 5200, &ss);
		fds[i] = socket(AF_INET6, SOCK_STREAM, 0);
		ck_assert_int_eq(setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)),
				 0);
		ck_assert_int_eq(bind(fds[i], (struct sockaddr *)&ss, len), 0);
		ck_assert_int_eq(listen(fds[i], 16), 0);
	}
	same(&w, "three SO_REUSEPORT listeners");
	close(fds[1]);
	same(&w, "one of the group closed");
	close(fds[0]);
	close(fds[2]);
	same(&w, "the group closed");
	world_close(&w);
}
END_TEST

START_TEST(half_closed_then_closed)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	int lfd = listener(AF_INET, 5300), p[2];
	connect_pair(lfd, AF_INET, 5300, 30300, p);
	shutdown(p[0], SHUT_WR);
	usleep(100 * 1000);
	same(&w, "half closed: FIN_WAIT2 and CLOSE_WAIT");
	close(p[0]); /* an orphan in FIN_WAIT2: a TIME_WAIT socket of that state */
	usleep(100 * 1000);
	same(&w, "the half-closed end closed");
	close(p[1]); /* its FIN turns the other into TIME_WAIT: no change of a full socket */
	usleep(100 * 1000);
	same(&w, "the peer closed too");
	ck_assert_ptr_nonnull(strstr(w.got.data, "TIME_WAIT"));
	close(lfd);
	world_close(&w);
}
END_TEST

/* The row of cookie in t's list; -1: none. */
static long row_of(const struct take *t, uint64_t cookie)
{
	for (size_t i = 0; i < t->l.n; i++)
		if (t->l.v[i].cookie == cookie)
			return (long)i;
	return -1;
}

START_TEST(details_asked_again)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	int lfd = listener(AF_INET, 5400), p[2];
	connect_pair(lfd, AF_INET, 5400, 30400, p);
	ck_assert_int_eq(write(p[0], "x", 1), 1);
	char c;
	ck_assert_int_eq(read(p[1], &c, 1), 1);
	same(&w, "a connection that moved a byte");
	usleep(1500 * 1000);
	/* idle since: the log says nothing, and its tcp_info's "idle for" is as last asked */
	struct take got, want;
	take(&w, true, &got, &w.got);
	take(&w, false, &want, &w.want);
	long g = -1, k = -1;
	for (size_t i = 0; i < want.l.n && g < 0; i++)
		if (want.l.v[i].lport == 30400 && (g = row_of(&got, want.l.v[i].cookie)) >= 0)
			k = (long)i;
	ck_assert(g >= 0 && k >= 0);
	uint64_t cookie = want.l.v[k].cookie;
	ck_assert_uint_ge(pv_socklist_info(&want.l, k)->last_data_sent_ms,
			  pv_socklist_info(&got.l, g)->last_data_sent_ms + 1000);
	take_free(&got);
	take_free(&want);
	/* asked for at each take (the details shown): as a dump says it */
	pv_follow_fresh(w.follow, cookie);
	take(&w, true, &got, &w.got);
	take(&w, false, &want, &w.want);
	g = row_of(&got, cookie);
	k = row_of(&want, cookie);
	ck_assert(g >= 0 && k >= 0);
	ck_assert_uint_ge(pv_socklist_info(&got.l, g)->last_data_sent_ms, 1400);
	ck_assert_uint_le(pv_socklist_info(&want.l, k)->last_data_sent_ms -
			      pv_socklist_info(&got.l, g)->last_data_sent_ms,
			  200);
	take_free(&got);
	take_free(&want);
	close(p[0]);
	close(p[1]);
	close(lfd);
	world_close(&w);
}
END_TEST

/* A TCP socket bound to 127.0.0.1:port (SO_REUSEADDR: the port taken again at once). */
static int bound_v4(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* Followed takes until one does not walk the bind hash; it must come within three. */
static void settled(struct world *w, const char *what)
{
	for (int i = 0; i < 3; i++) {
		same(w, what);
		if (!w->walked)
			return;
	}
	ck_abort_msg("%s: the bind hash walked at every take, no bind told", what);
}

START_TEST(bound_sockets)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	settled(&w, "nothing bound");
	int a = bound_v4(5500);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET6, 5501, &ss);
	int b = socket(AF_INET6, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(b, (struct sockaddr *)&ss, len), 0);
	same(&w, "two sockets bound");
	ck_assert(w.walked);
	ck_assert_ptr_nonnull(strstr(w.got.data, "127.0.0.1:5500"));
	ck_assert_ptr_nonnull(strstr(w.got.data, "[::1]:5501"));
	settled(&w, "two sockets bound, a take later");
	/* refused: back to CLOSE, its port kept (bound by bind()) */
	int c = bound_v4(5502);
	settled(&w, "a third bound");
	len = loopback(AF_INET, 5599, &ss);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&ss, len), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	same(&w, "its connect() refused");
	ck_assert_ptr_nonnull(strstr(w.got.data, "127.0.0.1:5502"));
	settled(&w, "refused, a take later");
	/* a listener shut down: bound, inactive */
	int l = bound_v4(5503);
	ck_assert_int_eq(listen(l, 4), 0);
	settled(&w, "a listener");
	ck_assert_int_eq(shutdown(l, SHUT_RDWR), 0);
	same(&w, "the listener shut down");
	settled(&w, "shut down, a take later");
	/* closed with no walk to come: the close told */
	close(a);
	same(&w, "a bound socket closed");
	ck_assert_ptr_null(strstr(w.got.data, "127.0.0.1:5500"));
	/* one that listens, then one that connects: bound no more */
	ck_assert_int_eq(listen(b, 4), 0);
	same(&w, "a bound socket listening");
	int lfd = listener(AF_INET, 5504);
	len = loopback(AF_INET, 5504, &ss);
	ck_assert_int_eq(connect(c, (struct sockaddr *)&ss, len), 0);
	same(&w, "a bound socket connected");
	close(b);
	close(c);
	close(l);
	close(lfd);
	same(&w, "all closed");
	world_close(&w);
}
END_TEST

/*
 * This test's own mount namespace (its propagation private first, so that
 * nothing reaches the host's), with every cgroup v2 mount taken away:
 * the bind programs have nowhere to attach.  false: not possible here.
 */
static bool without_cgroup2(void)
{
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return false;
	for (int pass = 0; pass < 8; pass++) {
		FILE *m = fopen("/proc/self/mounts", "re");
		if (!m)
			return false;
		char line[4096], dir[4096], type[64];
		bool found = false;
		while (!found && fgets(line, sizeof(line), m))
			found = sscanf(line, "%*s %4095s %63s", dir, type) == 2 &&
				!strcmp(type, "cgroup2");
		fclose(m);
		if (!found)
			return true;
		if (umount2(dir, MNT_DETACH) != 0)
			return false;
	}
	return false;
}

START_TEST(bound_sockets_unhooked)
{
	if (!without_cgroup2()) {
		printf("follow: unhooked: skipped, no private mount namespace here\n");
		return;
	}
	struct world w = {0};
	if (!world_open(&w))
		return;
	same(&w, "nothing bound");
	ck_assert_msg(w.walked, "no cgroup v2: the bind hash walked at every take");
	int a = bound_v4(5600);
	for (int i = 0; i < 3; i++) {
		same(&w, "a socket bound, told by no program");
		ck_assert(w.walked);
		ck_assert_ptr_nonnull(strstr(w.got.data, "127.0.0.1:5600"));
	}
	close(a);
	same(&w, "closed, told by no program");
	ck_assert(w.walked);
	ck_assert_ptr_null(strstr(w.got.data, "127.0.0.1:5600"));
	world_close(&w);
}
END_TEST

/*
 * A TIME_WAIT socket ends 60 s after it began, with no record of its own:
 * a followed refresh drops it once its time is over, though a resync (a
 * full dump every PV_FOLLOW_RESYNC_MS) came between (each queued it again
 * for its time left, not for 60 s from the resync).  After the one-shot
 * gather first lacks it, the followed takes 0.3 s later and after (past
 * the 50 ms follow.c waits beyond a timer's end) lack it too, though
 * another TIME_WAIT socket, due later, sits before it in the queue.  Some
 * 80 s.
 */
static bool lists_port(const struct take *t, uint16_t port, uint8_t state)
{
	for (size_t i = 0; i < t->l.n; i++)
		if (t->l.v[i].lport == port && t->l.v[i].state == state)
			return true;
	return false;
}

START_TEST(time_wait_ends_after_a_resync)
{
	struct world w = {0};
	if (!world_open(&w))
		return;
	usleep(2000 * 1000); /* its end away from a resync's moment */
	int lfd = listener(AF_INET, 5500), p[2];
	connect_pair(lfd, AF_INET, 5500, 30500, p);
	close(p[0]); /* the active close: p[0]'s end becomes the TIME_WAIT socket */
	close(p[1]);
	/*
	 * And one that ends 6 s later but comes first in display order, so
	 * first in a resync's queue: the first must not wait for it.
	 */
	usleep(6000 * 1000);
	connect_pair(lfd, AF_INET, 5500, 30400, p);
	close(p[0]);
	close(p[1]);
	usleep(100 * 1000);
	struct take got, want;
	take(&w, true, &got, &w.got);
	ck_assert_msg(lists_port(&got, 30500, PV_TCP_TIME_WAIT), "the TIME_WAIT socket followed");
	take_free(&got);
	int resyncs = w.full;
	bool gone = false;
	for (int s = 0; s < 80 && !gone; s++) {
		usleep(1000 * 1000);
		take(&w, false, &want, &w.want);
		gone = !lists_port(&want, 30500, PV_TCP_TIME_WAIT);
		take_free(&want);
		if (!gone) {
			take(&w, true, &got, &w.got); /* refreshes go on, resyncs among them */
			take_free(&got);
		}
	}
	ck_assert_msg(gone, "the TIME_WAIT socket did not end in 80 s");
	ck_assert_msg(w.full > resyncs, "no resync while it lasted");
	int followed = 0;
	for (int k = 0; k < 5; k++) {
		usleep(300 * 1000);
		int full = w.full;
		take(&w, true, &got, &w.got);
		if (w.full == full) {
			followed++;
			ck_assert_msg(!lists_port(&got, 30500, PV_TCP_TIME_WAIT),
				      "a followed refresh lists the TIME_WAIT socket the kernel "
				      "ended:\n%s",
				      w.got.data);
		}
		take_free(&got);
	}
	ck_assert_int_gt(followed, 0);
	close(lfd);
	world_close(&w);
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	int status = own_pid_namespace();
	if (status >= 0)
		return status;
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("hard");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, connect_not_answered);
	tcase_add_test(tc, accepted_later);
	tcase_add_test(tc, reuseport_group);
	tcase_add_test(tc, half_closed_then_closed);
	tcase_add_test(tc, details_asked_again);
	tcase_add_test(tc, bound_sockets);
	tcase_add_test(tc, bound_sockets_unhooked);
	suite_add_tcase(s, tc);
	tc = tcase_create("slow");
	tcase_set_timeout(tc, 150);
	tcase_add_test(tc, time_wait_ends_after_a_resync);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
