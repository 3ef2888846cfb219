/*
 * Refreshes that reuse what the run kept (the owner scan's loaded
 * iterator, struct pv_scan_keep; each row's owner slot) against a fresh
 * one-shot gather of the same moment: 500 refreshes of sockets this test
 * opens in a private network namespace and PID namespace, with, between
 * two refreshes, connections opened, half-closed, reset and closed,
 * listeners and UDP sockets added, descriptors passed to other processes
 * (SCM_RIGHTS) with or without the sender keeping its copy, and holders
 * that exit.  Every refresh's table (with PID/Program, in the display
 * order or sorted by PID) and JSON (each owner's PID and descriptor)
 * must be the fresh one's, byte for byte.  The same again with --top's
 * refreshes, which follow the kernel's change log (follow.h) instead of
 * dumping every socket.
 */
#include <signal.h>
#include <sys/uio.h>

#include "helpers.h"
#include "live.h"
#include "portview/follow.h"
#include "portview/owners.h"
#include "portview/places.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/sort.h"
#include "portview/state.h"
#include "portview/view.h"

#define REFRESHES 500
#define HOLDERS	  3
#define MAX_SOCKS 256

/* ---- holders: processes that are handed sockets and hold them ------------------------------ */

struct holder {
	pid_t pid;
	int ctl; /* our end of its socketpair */
};

/* Send one command byte, with fd passed along when fd >= 0; wait for the holder's answer. */
static void tell(const struct holder *h, char cmd, int fd)
{
	struct iovec iov = {.iov_base = &cmd, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ck_assert_int_eq(sendmsg(h->ctl, &m, 0), 1);
	char ok;
	ck_assert_int_eq(read(h->ctl, &ok, 1), 1);
}

/* The holder's loop: 'h' holds the passed descriptor, 'c' closes its oldest, 'x' exits. */
static void holder_main(int ctl)
{
	int held[MAX_SOCKS], n = 0;
	for (;;) {
		char cmd;
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = {.iov_base = &cmd, .iov_len = 1};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = u.buf,
				   .msg_controllen = sizeof(u.buf)};
		if (recvmsg(ctl, &m, 0) != 1 || cmd == 'x')
			_exit(0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		if (cmd == 'h' && c && c->cmsg_type == SCM_RIGHTS && n < MAX_SOCKS)
			memcpy(&held[n++], CMSG_DATA(c), sizeof(int));
		else if (cmd == 'c' && n > 0) {
			close(held[0]);
			memmove(held, held + 1, (size_t)--n * sizeof(int));
		}
		if (write(ctl, "k", 1) != 1)
			_exit(1);
	}
}

static void holder_start(struct holder *h)
{
	int sp[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
	h->pid = fork();
	ck_assert_int_ge(h->pid, 0);
	if (h->pid == 0) {
		/* none of the test's sockets: only what is handed over */
		if (dup2(sp[1], 3) != 3 || close_range(4, ~0u, 0) != 0 || write(3, "k", 1) != 1)
			_exit(1);
		holder_main(3);
	}
	close(sp[1]);
	h->ctl = sp[0];
	char ok; /* once it has closed its copies of ours */
	ck_assert_int_eq(read(h->ctl, &ok, 1), 1);
}

/* The holder exits: the sockets only it held close, the others lose an owner. */
static void holder_exit(struct holder *h)
{
	char cmd = 'x';
	ck_assert_int_eq(write(h->ctl, &cmd, 1), 1);
	int st;
	ck_assert_int_eq(waitpid(h->pid, &st, 0), h->pid);
	close(h->ctl);
}

/* ---- the population and its changes ------------------------------------------------------- */

struct population {
	int fds[MAX_SOCKS]; /* the sockets this process holds */
	size_t n;
	int lfd[2]; /* the listeners the connections go to: IPv4, IPv6 */
	uint16_t next_port;
	uint32_t seed;
	struct holder h[HOLDERS];
	size_t ops[7];
};

static uint32_t rnd(struct population *p, uint32_t below)
{
	p->seed = p->seed * 1103515245u + 12345u;
	return (p->seed >> 8) % below;
}

static void keep(struct population *p, int fd)
{
	if (p->n < MAX_SOCKS)
		p->fds[p->n++] = fd;
	else
		close(fd);
}

/* A socket of ours, taken out of the list (the caller closes or keeps it). */
static int take_one(struct population *p)
{
	size_t i = rnd(p, (uint32_t)p->n);
	int fd = p->fds[i];
	p->fds[i] = p->fds[--p->n];
	return fd;
}

static void change(struct population *p)
{
	uint32_t what = p->n < 8 ? 0 : rnd(p, 7);
	p->ops[what]++;
	int pair[2], fd;
	switch (what) {
	case 0: /* a new connection, both ends ours */
		fd = (int)rnd(p, 2);
		connect_pair(p->lfd[fd], fd ? AF_INET6 : AF_INET, 5000, p->next_port++, pair);
		keep(p, pair[0]);
		keep(p, pair[1]);
		break;
	case 1: /* one closed: a reset, or a FIN (TIME_WAIT: no inode, no owner) */
		fd = take_one(p);
		if (rnd(p, 2))
			reset_close(fd);
		else
			close(fd);
		break;
	case 2: /* a state change: half-closed (FIN_WAIT2, its peer CLOSE_WAIT) */
		shutdown(p->fds[rnd(p, (uint32_t)p->n)], SHUT_WR);
		break;
	case 3: /* handed to a holder, our copy closed: a new owner */
		fd = take_one(p);
		tell(&p->h[rnd(p, HOLDERS)], 'h', fd);
		close(fd);
		break;
	case 4: /* handed over and kept: two owners */
		tell(&p->h[rnd(p, HOLDERS)], 'h', p->fds[rnd(p, (uint32_t)p->n)]);
		break;
	case 5: { /* a holder exits (its owners gone), a new one takes its place */
		struct holder *h = &p->h[rnd(p, HOLDERS)];
		if (rnd(p, 2))
			tell(h, 'c', -1);
		holder_exit(h);
		holder_start(h);
		break;
	}
	default: /* a listener, a bound TCP socket or a UDP socket */
		fd =
		    rnd(p, 2) ? listener(AF_INET, p->next_port++) : bound(AF_INET6, p->next_port++);
		keep(p, fd);
		fd = socket(AF_INET, SOCK_DGRAM, 0);
		ck_assert_int_ge(fd, 0);
		keep(p, fd);
		break;
	}
}

/* Whether a line of /proc/net/tcp{,6} shows a state that moves on by itself at once. */
static bool moving(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	char line[512];
	bool any = false;
	unsigned st;
	while (!any && fgets(line, sizeof(line), f))
		/* SYN_SENT, SYN_RECV, FIN_WAIT1, LAST_ACK, CLOSING: an ACK on its way */
		any = sscanf(line, "%*s %*s %*s %x", &st) == 1 &&
		      (st == 2 || st == 3 || st == 4 || st == 9 || st == 11);
	fclose(f);
	return any;
}

/* Until loopback's last segments have landed (5 s at most): both takes see one moment. */
static void settle(void)
{
	for (int i = 0; i < 500 && (moving("/proc/net/tcp") || moving("/proc/net/tcp6")); i++)
		usleep(10000);
}

/* ---- refreshes and one-shot gathers --------------------------------------------------------- */

static void open_places(struct pv_places *P)
{
	static const struct pv_places_opts o = {
	    .proc_root = "/proc", .sysctl_dir = "/proc/sys/net/ipv4", .run_netns = "/run/netns"};
	bool refused;
	ck_assert_int_eq(pv_places_open(P, &o, &refused), 0);
	ck_assert_uint_eq(P->n, 1);
}

struct take {
	struct pv_socklist l;
	struct pv_view v;
	enum pv_owner_source used;
	bool followed; /* from the change log, not a full dump */
};

/*
 * A gather as the refresh loop takes it (keep: what the run keeps) or as
 * a one-shot run does (keep NULL), sorted by PID when by_pid, rendered
 * with PID/Program into out; with memo, as the interval display in a pipe
 * renders it, from the rows of the table memo kept (before: its list).
 */
static void take(const struct pv_places *P, const struct pv_services *svc,
		 struct pv_scan_keep *keep, struct pv_follow *follow, enum pv_owner_source src,
		 bool by_pid, struct pv_table_memo *memo, const struct pv_socklist *before,
		 struct take *t, struct pv_buf *out)
{
	static const struct pv_dump_policy policy = {.check = PV_DUMP_CHECK};
	static const struct pv_query q = {.states = PV_STATES_ALL};
	const struct pv_gather_opts o = {.query = &q,
					 .dump = &policy,
					 .owners = true,
					 .source = src,
					 .proc_root = "/proc",
					 .keep = keep,
					 .follow = follow};
	struct pv_gather_report rep;
	pv_socklist_init(&t->l);
	ck_assert_int_eq(pv_gather(P, &o, svc, &t->l, &t->v, &rep), 0);
	t->followed = rep.followed && !rep.follow.full;
	ck_assert_int_eq(rep.scan_err, 0);
	ck_assert(!rep.unseen);
	t->used = rep.scan.used;
	pv_gather_report_free(&rep);
	if (by_pid) {
		struct pv_order order = {.keys = {PV_SORT_PID}, .n = 1};
		pv_socklist_sort_by(&t->l, &order, &t->v.owners, NULL);
	}
	/*
	 * each row's owners found by its remembered slot are its inode's, sorted
	 * or not (one assertion: check writes down where it is at each)
	 */
	size_t wrong = 0;
	for (size_t i = 0; i < t->l.n; i++) {
		uint32_t first, count, want_first, want_count;
		pv_owners_lookup_at(&t->v.owners, i, t->l.v[i].inode, &first, &count);
		pv_owners_lookup(&t->v.owners, t->l.v[i].inode, &want_first, &want_count);
		wrong += count != want_count || first != want_first;
	}
	ck_assert_msg(wrong == 0, "%zu of %zu rows: owners by slot not their inode's", wrong,
		      t->l.n);
	struct pv_table_opts to = {.numeric = true, .program = true, .wide = true};
	out->len = 0;
	if (memo) {
		uint32_t *match = pv_watch_match(before, &t->l);
		pv_render_table_again(out, &t->v, &to, memo, match);
		free(match);
	} else {
		pv_render_table(out, &t->v, &to);
	}
	pv_render_json(out, &t->v); /* each owner's descriptor too */
	pv_buf_putc(out, '\0');
}

static void take_free(struct take *t)
{
	pv_view_free(&t->v);
	pv_socklist_free(&t->l);
}

/* _i 0: refreshes that dump; 1: refreshes that follow the change log. */
START_TEST(five_hundred_refreshes_as_fresh)
{
	private_netns();
	struct pv_follow *follow = NULL;
	if (_i == 1) {
		int err = pv_follow_open(&follow);
		if (err) {
			/* a build without BPF, or no CAP_BPF: --top then dumps in full */
			printf("refresh: followed: skipped, the change log cannot load (%s)\n",
			       strerror(-err));
			return;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct population p = {.lfd = {listener(AF_INET, 5000), listener(AF_INET6, 5000)},
			       .next_port = 20000,
			       .seed = 25};
	for (int i = 0; i < HOLDERS; i++)
		holder_start(&p.h[i]);
	for (int i = 0; i < 12; i++)
		change(&p);

	struct pv_services svc;
	struct pv_places P;
	struct pv_place_failure fail;
	pv_services_load(&svc, "/dev/null");
	open_places(&P);
	ck_assert_int_eq(pv_places_open_snapshotters(&P, &fail), 0);

	struct pv_scan_keep kept = {0};
	struct take slots[2], fresh, *prev = NULL, *cur = &slots[0];
	struct pv_buf got, want;
	pv_buf_init(&got);
	pv_buf_init(&want);
	size_t rows = 0, again = 0, bpf = 0, followed = 0, copied = 0;
	struct pv_table_memo *memo = pv_table_memo_new();
	for (int r = 0; r < REFRESHES; r++) {
		bool by_pid = r % 3 == 2;
		/*
		 * The refresh first, the one before it still held, as the loop holds
		 * it; then a one-shot gather: every 25th as the program takes it
		 * (the iterator loaded afresh: 20-70 ms of RCU waits to unload it),
		 * the others from the /proc walk, the other producer.
		 */
		enum pv_owner_source src = r % 25 == 0 ? PV_OWNERS_AUTO : PV_OWNERS_PROC;
		const struct pv_socklist *before = prev ? &prev->l : NULL;
		take(&P, &svc, &kept, follow, PV_OWNERS_AUTO, by_pid, memo, before, cur, &got);
		take(&P, &svc, NULL, NULL, src, by_pid, NULL, NULL, &fresh, &want);
		if (strcmp(got.data, want.data) != 0) {
			/* a connection still settling (a FIN in flight): both again, once */
			again++;
			if (getenv("REFRESH_DEBUG"))
				fprintf(stderr, "refresh %d again: %s\n", r,
					text_diff(got.data, want.data));
			/*
			 * Or a TIME_WAIT socket whose time ran out just now: a followed
			 * refresh asks for one 50 ms after its timer's end (follow.c's
			 * tw_due), later still where the kernel's timer fired late, so
			 * past that.  (Seen on a loaded host, where the test runs three
			 * times as long and more TIME_WAIT sockets end within it.)
			 */
			usleep(200 * 1000);
			settle();
			/* the memo keeps the table just rendered: the next is matched to it */
			struct take first = *cur;
			take_free(&fresh);
			take(&P, &svc, &kept, follow, PV_OWNERS_AUTO, by_pid, memo, &first.l, cur,
			     &got);
			take_free(&first);
			take(&P, &svc, NULL, NULL, src, by_pid, NULL, NULL, &fresh, &want);
		}
		if (strcmp(got.data, want.data) != 0 && getenv("REFRESH_DEBUG"))
			fprintf(stderr, "GOT\n%.3000s\nWANT\n%.3000s\n", got.data, want.data);
		ck_assert_msg(strcmp(got.data, want.data) == 0, "refresh %d: %s", r,
			      text_diff(got.data, want.data));
		if (src == PV_OWNERS_AUTO)
			ck_assert_int_eq(cur->used, fresh.used);
		bpf += cur->used == PV_OWNERS_BPF;
		followed += cur->followed;
		copied += pv_table_memo_reused(memo);
		rows += cur->l.n;
		take_free(&fresh);
		if (prev)
			take_free(prev);
		prev = cur;
		cur = prev == &slots[0] ? &slots[1] : &slots[0];
		for (uint32_t k = 1 + rnd(&p, 3); k > 0; k--)
			change(&p);
		settle();
	}
	if (prev)
		take_free(prev);
	pv_scan_keep_free(&kept);
	/* every kind of change happened, and the tables were not trivial */
	for (size_t i = 0; i < 7; i++)
		ck_assert_uint_gt(p.ops[i], 10);
	ck_assert_uint_gt(rows, 20 * REFRESHES);
	ck_assert_uint_le(again, REFRESHES / 20);
	/* most rows did not change between two refreshes: their text was copied */
	ck_assert_uint_gt(copied, rows / 2);
	pv_table_memo_free(memo);
	/* the change log's refreshes: all but the full dumps of its start and its resyncs */
	if (follow)
		ck_assert_uint_gt(followed, REFRESHES * 9 / 10);
	printf("refresh: %s: %zu rows in %d refreshes (%zu copied from the table before), %zu "
	       "taken again, %zu from the BPF iterator, %zu from the change log\n",
	       follow ? "followed" : "dumped", rows, REFRESHES, copied, again, bpf, followed);
	pv_follow_close(follow);

	pv_buf_free(&got);
	pv_buf_free(&want);
	pv_places_free(&P);
	pv_services_free(&svc);
	for (int i = 0; i < HOLDERS; i++)
		holder_exit(&p.h[i]);
	for (size_t i = 0; i < p.n; i++)
		close(p.fds[i]);
	close(p.lfd[0]);
	close(p.lfd[1]);
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	/* this test's processes alone in the owner scans (live.h) */
	int status = own_pid_namespace();
	if (status >= 0)
		return status;
	Suite *s = suite_create("refresh");
	TCase *tc = tcase_create("reuse");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, five_hundred_refreshes_as_fresh, 0, 2);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
