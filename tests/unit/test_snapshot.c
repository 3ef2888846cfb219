/*
 * Snapshots taken again and again in one process, as the interval mode
 * will take them: 200 of a few sockets this test opened, in a private
 * network namespace, each made into a view and rendered.  Every one must
 * give the same table and JSON, and nothing may leak: no memory (the
 * suite's ASan build, and snapshot_valgrind under memcheck) and no file
 * descriptor (the snapshotter keeps its netlink sockets, nothing else).
 */
#include <dirent.h>

#include "helpers.h"
#include "live.h"
#include "portview/owners.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/state.h"
#include "portview/view.h"

#define SNAPSHOTS 200

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

/* One snapshot of q into l, with owners, rendered both ways into out. */
static void take_and_render(struct pv_snapshotter *s, const struct pv_query *q,
			    const struct pv_netns_facts *ns, const struct pv_services *svc,
			    struct pv_socklist *l, struct pv_buf *out)
{
	static const struct pv_dump_policy policy = {.check = PV_DUMP_CHECK};
	struct pv_snapshot_report rep;
	struct pv_scan *scan;
	ck_assert_int_eq(pv_scan_start(&scan, "/proc", true), 0);
	ck_assert_int_eq(pv_snapshot_take(s, q, ns, &policy, PV_KEEP_MORE, l, &rep), 0);
	pv_scan_finish(scan);

	struct pv_view v;
	size_t nparts;
	const struct pv_scan_part *parts = pv_scan_parts(scan, &nparts);
	pv_view_init(&v, l, svc, &ns->ephemeral);
	ck_assert(!pv_view_join_owners(&v, parts, nparts));
	pv_scan_free(scan);
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
	struct pv_netns_facts ns;
	struct pv_snapshotter *s;
	pv_services_load(&svc, "/dev/null");
	pv_netns_facts_load(&ns, "/proc/sys/net/ipv4", "/proc");
	size_t fds = open_fds();
	ck_assert_int_eq(pv_snapshotter_open(&s), 0);
	size_t with_snapshotter = open_fds();

	struct pv_query q = {.states = PV_STATES_ALL};
	struct pv_socklist l;
	struct pv_buf first, again;
	pv_socklist_init(&l);
	pv_buf_init(&first);
	pv_buf_init(&again);
	take_and_render(s, &q, &ns, &svc, &l, &first);
	/* the sockets this test opened, each with this process as its owner */
	ck_assert_uint_eq(l.n, 9);
	ck_assert_ptr_nonnull(memmem(first.data, first.len, "127.0.0.1:40001", 15));
	ck_assert_ptr_nonnull(memmem(first.data, first.len, "\"fd\": ", 6));
	for (int i = 1; i < SNAPSHOTS; i++) {
		take_and_render(s, &q, &ns, &svc, &l, &again);
		if (again.len != first.len || memcmp(again.data, first.data, first.len) != 0)
			ck_abort_msg("snapshot %d differs from the first:\n%.*s\nfirst:\n%.*s", i,
				     (int)again.len, again.data, (int)first.len, first.data);
		ck_assert_uint_eq(open_fds(), with_snapshotter);
	}
	pv_snapshotter_close(s);
	ck_assert_uint_eq(open_fds(), fds);

	pv_buf_free(&first);
	pv_buf_free(&again);
	pv_socklist_free(&l);
	pv_netns_facts_free(&ns);
	pv_services_free(&svc);
	int all[] = {l4, l6, c4[0], c4[1], c4b[0], c4b[1], c6[0], c6[1], u};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		close(all[i]);
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	Suite *s = suite_create("snapshot");
	TCase *tc = tcase_create("again");
	tcase_set_timeout(tc, 300); /* valgrind is slow */
	tcase_add_test(tc, two_hundred_snapshots);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
