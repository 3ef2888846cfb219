/*
 * Snapshots taken again and again in one process, as the interval mode
 * will take them: 200 of a few sockets this test opened, in a private
 * network namespace, each gathered as the program gathers them (places.h:
 * the snapshot, the owner scan beside it, the join) and rendered.  Every
 * one must give the same table and JSON, and nothing may leak: no memory (the
 * suite's ASan build, and snapshot_valgrind under memcheck) and no file
 * descriptor (the snapshotter keeps its netlink sockets, those its first
 * snapshot opened for its threads, nothing else).
 */
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "helpers.h"
#include "live.h"
#include "portview/owners.h"
#include "portview/parallel.h"
#include "portview/places.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/state.h"
#include "portview/view.h"
#include "portview/watch.h"

#define SNAPSHOTS 200

/*
 * snapshot_valgrind sets SNAPSHOT_ROUNDS=fewer: 50 snapshots and 150
 * refreshes (the least that keeps the heap check's two windows apart), as
 * memcheck finds a leak or a bad access in the first rounds as well as in
 * the last, at fifty times the cost.
 */
static int rounds(int full, int fewer)
{
	const char *e = getenv("SNAPSHOT_ROUNDS");
	return e && strcmp(e, "fewer") == 0 ? fewer : full;
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	size_t n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* The places of these tests: the namespace the test runs in. */
static void open_places(struct pv_places *P)
{
	static const struct pv_places_opts o = {
	    .proc_root = "/proc", .sysctl_dir = "/proc/sys/net/ipv4", .run_netns = "/run/netns"};
	bool refused;
	ck_assert_int_eq(pv_places_open(P, &o, &refused), 0);
	ck_assert(!refused);
	ck_assert_uint_eq(P->n, 1);
}

/*
 * One gather of q into l and its view, with owners and keeps, as the
 * program takes it (places.h): every step done, every owner seen.
 */
static void gather(const struct pv_places *P, const struct pv_query *q, unsigned keeps,
		   const struct pv_services *svc, struct pv_socklist *l, struct pv_view *v)
{
	static const struct pv_dump_policy policy = {.check = PV_DUMP_CHECK};
	const struct pv_gather_opts o = {.query = q,
					 .dump = &policy,
					 .keeps = keeps,
					 .owners = true,
					 .source = PV_OWNERS_PROC,
					 .proc_root = "/proc"};
	struct pv_gather_report rep;
	ck_assert_int_eq(pv_gather(P, &o, svc, l, v, &rep), 0);
	ck_assert_int_eq(rep.fail.step, PV_STEP_NONE);
	ck_assert_uint_eq(rep.nsnaps, 1);
	ck_assert(rep.scanned);
	ck_assert_int_eq(rep.scan_err, 0);
	ck_assert(!rep.unseen);
	pv_gather_report_free(&rep);
}

/* One snapshot of q into l, with owners, rendered both ways into out. */
static void take_and_render(const struct pv_places *P, const struct pv_query *q,
			    const struct pv_services *svc, struct pv_socklist *l,
			    struct pv_buf *out)
{
	struct pv_view v;
	gather(P, q, PV_KEEP_MORE, svc, l, &v);
	struct pv_table_opts o = {.numeric = true, .program = true};
	out->len = 0;
	pv_render_table(out, &v, &o);
	pv_render_json(out, &v);
	pv_view_free(&v);
}

START_TEST(two_hundred_snapshots)
{
	private_netns();
	int l4 = listener(AF_INET, 5000), l6 = listener(AF_INET6, 5001), c4[2], c6[2], c4b[2];
	connect_pair(l4, AF_INET, 5000, 40000, c4);
	connect_pair(l4, AF_INET, 5000, 40001, c4b);
	connect_pair(l6, AF_INET6, 5001, 40002, c6);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 5353, &ss);
	ck_assert_int_eq(bind(u, (struct sockaddr *)&ss, len), 0);

	struct pv_services svc;
	struct pv_places P;
	struct pv_place_failure fail;
	pv_services_load(&svc, "/dev/null");
	open_places(&P);
	size_t fds = open_fds();
	ck_assert_int_eq(pv_places_open_snapshotters(&P, &fail), 0);

	struct pv_query q = {.states = PV_STATES_ALL};
	struct pv_socklist l;
	struct pv_buf first, again;
	pv_socklist_init(&l);
	pv_buf_init(&first);
	pv_buf_init(&again);
	take_and_render(&P, &q, &svc, &l, &first);
	/* the first snapshot opened the sockets of its threads' dumps (snapshot.h) */
	size_t with_snapshotter = open_fds();
	/* the sockets this test opened, each with this process as its owner */
	ck_assert_uint_eq(l.n, 9);
	ck_assert_ptr_nonnull(memmem(first.data, first.len, "127.0.0.1:40001", 15));
	ck_assert_ptr_nonnull(memmem(first.data, first.len, "\"fd\": ", 6));
	int snapshots = rounds(SNAPSHOTS, 50);
	for (int i = 1; i < snapshots; i++) {
		take_and_render(&P, &q, &svc, &l, &again);
		if (again.len != first.len || memcmp(again.data, first.data, first.len) != 0)
			ck_abort_msg("snapshot %d differs from the first:\n%.*s\nfirst:\n%.*s", i,
				     (int)again.len, again.data, (int)first.len, first.data);
		ck_assert_uint_eq(open_fds(), with_snapshotter);
	}
	pv_places_free(&P);
	ck_assert_uint_eq(open_fds(), fds);

	pv_buf_free(&first);
	pv_buf_free(&again);
	pv_socklist_free(&l);
	pv_services_free(&svc);
	int all[] = {l4, l6, c4[0], c4[1], c4b[0], c4b[1], c6[0], c6[1], u};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		close(all[i]);
}
END_TEST

/* The heap in use (glibc's count; the sanitizers' allocators keep their own). */
static size_t heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/* One refresh's snapshot, as the interval mode keeps it. */
struct refresh {
	struct pv_socklist l;
	struct pv_view v;
	struct pv_rate *rates;
};

/*
 * 500 refreshes of an interval display, as portview -no 0.1 -i takes them:
 * each a snapshot with tcp_info and owners, compared with the one before
 * by cookie, its rates worked out, rendered as the terminal's table and
 * as a line of NDJSON, the older snapshot then freed.  Between refreshes
 * one connection is replaced by another on the same ports and one sends
 * data.  Each refresh must see exactly that: two sockets new, two closed,
 * the same total, a known rate for the sender; and nothing may leak: the
 * same descriptors throughout, the same least heap in use over the last
 * 50 refreshes as over refreshes 50-99, and no leak for ASan or valgrind
 * at the end.
 */
#define REFRESHES 500
#define RING	  8
START_TEST(five_hundred_refreshes)
{
	private_netns();
	int lfd = listener(AF_INET, 6000), data[2], ring[RING][2];
	connect_pair(lfd, AF_INET, 6000, 41999, data);
	for (int i = 0; i < RING; i++)
		connect_pair(lfd, AF_INET, 6000, (uint16_t)(41000 + i), ring[i]);
	struct pv_services svc;
	struct pv_places P;
	struct pv_place_failure fail;
	pv_services_load(&svc, "/dev/null");
	open_places(&P);
	ck_assert_int_eq(pv_places_open_snapshotters(&P, &fail), 0);
	size_t fds = 0, heap_early = 0, heap_late = 0;
	struct pv_query q = {.states = PV_STATES_ALL};
	struct refresh slot[2];
	struct pv_buf out;
	pv_buf_init(&out);
	char chunk[1000];
	memset(chunk, 'x', sizeof(chunk));

	int refreshes = rounds(REFRESHES, 150);
	for (int i = 0; i < refreshes; i++) {
		struct refresh *cur = &slot[i % 2], *prev = i ? &slot[(i + 1) % 2] : NULL;
		size_t n;
		pv_socklist_init(&cur->l);
		gather(&P, &q, PV_KEEP_MORE | PV_KEEP_INFO, &svc, &cur->l, &cur->v);
		cur->rates = calloc(cur->l.n + 1, sizeof(*cur->rates));
		pv_watch_rates(prev ? &prev->l : NULL, &cur->l, 0.1, cur->rates);
		cur->v.rates = cur->rates;

		struct pv_watch_counts c;
		struct pv_watch_row *rows =
		    pv_watch_compare(prev ? &prev->l : NULL, &cur->l, &n, &c);
		struct pv_frame f = {
		    .cur = &cur->v, .prev = prev ? &prev->v : NULL, .rows = rows, .n = n};
		struct pv_table_opts o = {.numeric = true,
					  .owner = true,
					  .info = true,
					  .rates = true,
					  .changes = true,
					  .no_title = true,
					  .width = 120};
		struct pv_watch_header h = {.interval_ms = 100, .counts = c, .first = !prev};
		out.len = 0;
		pv_render_watch_header(&out, &h);
		pv_render_frame(&out, &f, &o);
		size_t text = out.len;
		pv_render_frame_json(&out, &h, &f);
		ck_assert_ptr_eq(memchr(out.data + text, '\n', out.len - text),
				 out.data + out.len - 1); /* one line */
		ck_assert_uint_eq(c.total, 2 * RING + 3);
		if (prev) {
			ck_assert_msg(c.opened == 2 && c.closed == 2 && c.changed == 0,
				      "refresh %d: %zu new, %zu closed, %zu changed", i, c.opened,
				      c.closed, c.changed);
			ck_assert_uint_eq(n, c.total + 2);
			size_t known = 0;
			for (size_t k = 0; k < cur->l.n; k++)
				known += cur->rates[k].known && cur->rates[k].sent > 0 &&
					 cur->l.v[k].lport == 41999;
			ck_assert_msg(known == 1, "refresh %d: no rate for the sender", i);
		}
		free(rows);
		if (prev) {
			pv_view_free(&prev->v);
			pv_socklist_free(&prev->l);
			free(prev->rates);
		}

		/* what changes before the next refresh */
		int k = i % RING;
		reset_close(ring[k][0]);
		close(ring[k][1]);
		connect_pair(lfd, AF_INET, 6000, (uint16_t)(41000 + k), ring[k]);
		ck_assert_int_eq(send(data[0], chunk, sizeof(chunk), 0), sizeof(chunk));
		ck_assert_int_eq(recv(data[1], chunk, sizeof(chunk), MSG_WAITALL), sizeof(chunk));

		if (i == 0)
			fds = open_fds(); /* with the sockets the first refresh opened */
		ck_assert_uint_eq(open_fds(), fds);
		/*
		 * The heap in use moves a little from refresh to refresh (the
		 * scan's buffers, the kernel's answers); the least heap of 50
		 * refreshes does not: a leak raises every one of them.
		 */
		size_t now = heap_in_use();
		if (i >= 50 && i < 100 && (heap_early == 0 || now < heap_early))
			heap_early = now;
		if (i >= refreshes - 50 && (heap_late == 0 || now < heap_late))
			heap_late = now;
	}
#if defined(__SANITIZE_ADDRESS__)
	(void)heap_early; /* ASan's allocator counts apart: its leak check is the test */
	(void)heap_late;
#else
	ck_assert_msg(heap_late <= heap_early + 16384,
		      "heap in use grew from %zu to %zu bytes (the least of refreshes 50-99 and "
		      "the last 50)",
		      heap_early, heap_late);
#endif
	struct refresh *last = &slot[(refreshes - 1) % 2];
	pv_view_free(&last->v);
	pv_socklist_free(&last->l);
	free(last->rates);
	pv_buf_free(&out);
	pv_places_free(&P);
	pv_services_free(&svc);
	for (int i = 0; i < RING; i++) {
		close(ring[i][0]);
		close(ring[i][1]);
	}
	close(data[0]);
	close(data[1]);
	close(lfd);
}
END_TEST

/* Sockets of every kind a snapshot asks for in a request of its own, and fds to close. */
#define CONNS 200
struct population {
	int fds[2 * CONNS + 200];
	size_t n;
};

static void add_fd(struct population *p, int fd)
{
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(p->n, sizeof(p->fds) / sizeof(p->fds[0]));
	p->fds[p->n++] = fd;
}

static int udp(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd = socket(family, SOCK_DGRAM, 0), one = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/*
 * TCP connections and listeners in both families (several datagrams of
 * them), bound, inactive TCP sockets, and UDP in both families, some with
 * the same addresses and ports (SO_REUSEPORT: only the cookie orders them).
 */
static void populate(struct population *p)
{
	int l4 = listener(AF_INET, 7000), l6 = listener(AF_INET6, 7001), pair[2];
	add_fd(p, l4);
	add_fd(p, l6);
	for (int i = 0; i < CONNS; i++) {
		bool v6 = i % 5 == 0;
		connect_pair(v6 ? l6 : l4, v6 ? AF_INET6 : AF_INET, v6 ? 7001 : 7000,
			     (uint16_t)(30000 + i), pair);
		add_fd(p, pair[0]);
		add_fd(p, pair[1]);
	}
	for (int i = 0; i < 20; i++)
		add_fd(p, bound(i % 2 ? AF_INET6 : AF_INET, (uint16_t)(32000 + i / 4)));
	for (int i = 0; i < 60; i++)
		add_fd(p, udp(i % 3 ? AF_INET : AF_INET6, (uint16_t)(5300 + i / 6)));
}

/* One snapshot of every socket, on up to threads threads. */
static void take_on(struct pv_snapshotter *sn, const struct pv_netns_facts *ns, unsigned threads,
		    struct pv_socklist *l, struct pv_snapshot_report *rep)
{
	struct pv_dump_policy policy = {.check = PV_DUMP_CHECK, .threads = threads};
	struct pv_query q = {.states = PV_STATES_ALL};
	pv_socklist_init(l);
	ck_assert_int_eq(pv_snapshot_take(sn, &q, ns, &policy, PV_KEEP_MORE, l, rep), 0);
}

/* Whether record i of a and of b are the same socket with the same fields. */
static bool same_record(const struct pv_socklist *a, const struct pv_socklist *b, size_t i)
{
	struct pv_sock x, y;
	pv_socklist_get(a, i, &x);
	pv_socklist_get(b, i, &y);
	return x.cookie == y.cookie && x.proto == y.proto && x.family == y.family &&
	       x.state == y.state && x.local.port == y.local.port &&
	       x.remote.port == y.remote.port && x.inode == y.inode && x.ifindex == y.ifindex &&
	       x.v6only == y.v6only && memcmp(x.local.addr, y.local.addr, 16) == 0 &&
	       memcmp(x.remote.addr, y.remote.addr, 16) == 0;
}

/* A private namespace populated, its facts, a snapshotter, and one thread's list of it. */
struct populated {
	struct population p;
	struct pv_netns_facts ns;
	struct pv_snapshotter *sn;
	struct pv_socklist one;
};

static void populated_open(struct populated *f)
{
	private_netns();
	f->p.n = 0;
	populate(&f->p);
	pv_netns_facts_load(&f->ns, "/proc/sys/net/ipv4", "/proc");
	ck_assert_int_eq(pv_snapshotter_open(&f->sn), 0);
	struct pv_snapshot_report rep;
	take_on(f->sn, &f->ns, 1, &f->one, &rep);
	ck_assert_uint_eq(rep.threads, 1);
}

static void populated_close(struct populated *f)
{
	pv_socklist_free(&f->one);
	pv_snapshotter_close(f->sn);
	pv_netns_facts_free(&f->ns);
	for (size_t i = 0; i < f->p.n; i++)
		close(f->p.fds[i]);
}

/* Whether l is one's list, record for record (what: how l was taken). */
static void same_as_one(const struct populated *f, const struct pv_socklist *l, const char *what)
{
	ck_assert_uint_eq(l->n, f->one.n);
	for (size_t i = 0; i < f->one.n; i++)
		ck_assert_msg(same_record(&f->one, l, i),
			      "%s: record %zu differs from one thread's", what, i);
}

/*
 * The dumps on 2 and 4 threads (TCP, TCP's bound sockets, UDP per family:
 * one request each) give the list one thread gives, record for record, in
 * the same order.
 */
START_TEST(threads_merge_as_one)
{
	static struct populated f;
	populated_open(&f);
	ck_assert_uint_eq(f.one.n, 2 + 2 * CONNS + 20 + 60);
	struct pv_socklist many;
	struct pv_snapshot_report rep;
	static const unsigned threads[] = {2, 4, 2};
	for (size_t t = 0; t < sizeof(threads) / sizeof(threads[0]); t++) {
		take_on(f.sn, &f.ns, threads[t], &many, &rep);
		ck_assert_uint_eq(rep.threads, threads[t]);
		char what[32];
		snprintf(what, sizeof(what), "%u threads", threads[t]);
		same_as_one(&f, &many, what);
		pv_socklist_free(&many);
	}
	populated_close(&f);
}
END_TEST

/*
 * A thread lent to the dumps (pv_snapshotter_lend: the owner scan's, busy
 * when the snapshot starts): one worker more waits for it, then takes the
 * requests left; never done, it gives up when none is left.  A spinning
 * thread of the test's is the busy one (it is what /proc/loadavg counts),
 * and the namespace's socket count is set above the threads' threshold.
 * Either way the list is the one a single thread gives.
 */
struct lent {
	atomic_bool stop;  /* the spinner's */
	atomic_int asked;  /* done() calls */
	bool done_at_once; /* done() says yes (and stops the spinner) */
};

static void *spin(void *arg)
{
	struct lent *t = arg;
	while (!atomic_load(&t->stop))
		;
	return NULL;
}

static bool lent_done(void *arg)
{
	struct lent *t = arg;
	atomic_fetch_add(&t->asked, 1);
	if (!t->done_at_once)
		return false;
	atomic_store(&t->stop, true);
	return true;
}

START_TEST(lent_thread_takes_what_is_left)
{
	static struct populated f;
	populated_open(&f);
	struct pv_socklist lent;
	struct pv_snapshot_report rep;
	f.ns.geometry.sockets = 1000000; /* dumps on threads, by default */
	bool cpus = pv_cpus_online() > 1;
	for (int at_once = 1; at_once >= 0; at_once--) {
		struct lent t = {.done_at_once = at_once};
		atomic_init(&t.stop, false);
		atomic_init(&t.asked, 0);
		pthread_t spinner;
		ck_assert_int_eq(pthread_create(&spinner, NULL, spin, &t), 0);
		pv_snapshotter_lend(f.sn, lent_done, &t);
		take_on(f.sn, &f.ns, 0, &lent, &rep);
		pv_snapshotter_lend(f.sn, NULL, NULL);
		atomic_store(&t.stop, true);
		pthread_join(spinner, NULL);
		if (cpus) {
			ck_assert_msg(rep.threads >= 2, "a worker waits for the lent thread");
			ck_assert_msg(atomic_load(&t.asked) > 0,
				      "the lent thread is asked whether it is done");
		}
		same_as_one(&f, &lent,
			    at_once ? "lent thread done at once" : "lent thread never done");
		pv_socklist_free(&lent);
	}
	populated_close(&f);
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	/*
	 * In a PID namespace of its own, so that each of the 700 owner scans
	 * sees this test's processes only: on a host busy with thousands
	 * of processes the scans (and the heap check's owner table) would
	 * follow the host.
	 */
	int status = own_pid_namespace();
	if (status >= 0)
		return status;
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("again");
	tcase_set_timeout(tc, 300); /* valgrind is slow */
	tcase_add_test(tc, two_hundred_snapshots);
	tcase_add_test(tc, five_hundred_refreshes);
	tcase_add_test(tc, threads_merge_as_one);
	tcase_add_test(tc, lent_thread_takes_what_is_left);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
