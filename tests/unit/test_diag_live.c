/*
 * The exact lookups that check a dump's boundaries, against the running
 * kernel: each test runs in a child of its own (CK_FORK) inside a private
 * network namespace, on sockets it opened itself.  Needs CAP_SYS_ADMIN for
 * the namespace; exits 77 (skipped) where a namespace cannot be made.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "live.h"
#include "portview/snapshot.h"
#include "portview/sock_diag.h"
#include "portview/state.h"

static void dump_tcp(struct pv_socklist *l)
{
	struct mnl_socket *nl;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	struct pv_diag_query q = {
	    .family = AF_UNSPEC, .proto = IPPROTO_TCP, .states = PV_STATES_ALL};
	struct pv_diag_stats st;
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, l, &st, NULL), 0);
	pv_diag_close(nl);
}

/*
 * The kernel acts on a reset or a FIN as the packet arrives, which on
 * loopback may be a moment after the call that sent it returned: wait for
 * the state the test needs, polling, rather than for a fixed time.
 */
#define WAIT_MS 10000

/* The TCP state of fd as the kernel has it (TCP_INFO). */
static int tcp_state(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	ck_assert_int_eq(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_state;
}

static void wait_state(int fd, int state)
{
	int now;
	for (int ms = 0; (now = tcp_state(fd)) != state; ms++) {
		if (ms == WAIT_MS)
			ck_abort_msg("fd %d is %s after %d ms, want %s", fd,
				     pv_state_display(IPPROTO_TCP, (uint8_t)now), WAIT_MS,
				     pv_state_display(IPPROTO_TCP, (uint8_t)state));
		usleep(1000);
	}
}

/* How many sockets lport -> rport of family a dump lists; *state: the last one's. */
static size_t count_in_dump(uint8_t family, uint16_t lport, uint16_t rport, uint8_t *state)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	size_t n = 0;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].family == family && l.v[i].lport == lport && l.v[i].rport == rport) {
			*state = l.v[i].state;
			n++;
		}
	pv_socklist_free(&l);
	return n;
}

/* Wait until a dump lists lport -> rport once, in state, or (state 0) not at all. */
static void wait_dump(uint8_t family, uint16_t lport, uint16_t rport, uint8_t state)
{
	uint8_t now = 0;
	size_t n;
	for (int ms = 0;
	     (n = count_in_dump(family, lport, rport, &now)) != (state != 0) || (n && now != state);
	     ms++) {
		if (ms == WAIT_MS)
			ck_abort_msg("%zu sockets %u -> %u (%s) after %d ms, want %s", n, lport,
				     rport, n ? pv_state_display(IPPROTO_TCP, now) : "-", WAIT_MS,
				     state ? pv_state_display(IPPROTO_TCP, state) : "none");
		usleep(1000);
	}
}

static struct pv_sock find(const struct pv_socklist *l, uint8_t family, uint16_t lport,
			   uint16_t rport)
{
	struct pv_sock hit;
	size_t found = 0;
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].family == family && l->v[i].lport == lport && l->v[i].rport == rport) {
			pv_socklist_get(l, i, &hit);
			found++;
		}
	ck_assert_msg(found == 1, "%zu sockets %u -> %u", found, lport, rport);
	return hit;
}

/* The identity of a record, as the kernel takes it in an exact lookup. */
static void id_of(const struct pv_sock *s, struct pv_diag_id *out)
{
	memset(out, 0, sizeof(*out));
	out->family = s->family;
	out->state = s->state;
	out->id.idiag_sport = htons(s->local.port);
	out->id.idiag_dport = htons(s->remote.port);
	memcpy(out->id.idiag_src, s->local.addr, sizeof(out->id.idiag_src));
	memcpy(out->id.idiag_dst, s->remote.addr, sizeof(out->id.idiag_dst));
	out->id.idiag_if = s->ifindex;
	out->id.idiag_cookie[0] = (uint32_t)s->cookie;
	out->id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
}

static long count_gone(const struct pv_diag_id *ids, size_t n)
{
	struct mnl_socket *nl;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	long gone = pv_diag_count_gone(nl, IPPROTO_TCP, ids, n);
	pv_diag_close(nl);
	return gone;
}

static long gone(struct pv_sock s)
{
	struct pv_diag_id id;
	id_of(&s, &id);
	return count_gone(&id, 1);
}

static long all_gone(const struct pv_socklist *l)
{
	struct pv_diag_id *ids = calloc(l->n + 1, sizeof(*ids));
	ck_assert_ptr_nonnull(ids);
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock s;
		pv_socklist_get(l, i, &s);
		id_of(&s, &ids[i]);
	}
	long n = count_gone(ids, l->n);
	free(ids);
	return n;
}

START_TEST(open_sockets_are_found)
{
	private_netns();
	int l4 = listener(AF_INET, 5000), l6 = listener(AF_INET6, 5001), c4[2], c6[2];
	connect_pair(l4, AF_INET, 5000, 40000, c4);
	connect_pair(l6, AF_INET6, 5001, 40001, c6);
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	ck_assert_uint_eq(l.n, 6);
	ck_assert_int_eq(all_gone(&l), 0);
	ck_assert_int_eq(gone(find(&l, AF_INET6, 40001, 5001)), 0);
	ck_assert_int_eq(count_gone(NULL, 0), 0);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(reset_connection_is_gone)
{
	private_netns();
	int lfd = listener(AF_INET, 5000), c[2];
	connect_pair(lfd, AF_INET, 5000, 40000, c);
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	ck_assert_uint_eq(l.n, 3);
	reset_close(c[0]); /* the server end takes the reset and closes too */
	wait_state(c[1], PV_TCP_CLOSE);
	ck_assert_int_eq(gone(find(&l, AF_INET, 40000, 5000)), 1);
	ck_assert_int_eq(gone(find(&l, AF_INET, 5000, 40000)), 1);
	ck_assert_int_eq(gone(find(&l, AF_INET, 5000, 0)), 0);
	ck_assert_int_eq(all_gone(&l), 2);
	close(c[1]);
	pv_socklist_free(&l);
}
END_TEST

/*
 * A connection that closes into TIME_WAIT keeps its cookie and its place:
 * not gone.  The end that closes last leaves the tables: gone.
 */
START_TEST(time_wait_is_not_gone)
{
	private_netns();
	int lfd = listener(AF_INET, 5000), c[2];
	connect_pair(lfd, AF_INET, 5000, 40000, c);
	struct pv_socklist l, after;
	pv_socklist_init(&l);
	pv_socklist_init(&after);
	dump_tcp(&l);
	close(c[0]);
	wait_state(c[1], PV_TCP_CLOSE_WAIT);
	close(c[1]);
	/* the last ACK reached the server end, which has left the tables */
	wait_dump(AF_INET, 5000, 40000, 0);
	dump_tcp(&after);
	ck_assert_uint_eq(find(&after, AF_INET, 40000, 5000).state, PV_TCP_TIME_WAIT);
	ck_assert_int_eq(gone(find(&l, AF_INET, 40000, 5000)), 0);
	ck_assert_int_eq(gone(find(&l, AF_INET, 5000, 40000)), 1);
	pv_socklist_free(&l);
	pv_socklist_free(&after);
}
END_TEST

/* The same addresses and ports on a new socket: a new cookie, so gone. */
START_TEST(same_tuple_new_socket_is_gone)
{
	private_netns();
	int lfd = listener(AF_INET6, 5000), c[2];
	connect_pair(lfd, AF_INET6, 5000, 40000, c);
	struct pv_socklist l, again;
	pv_socklist_init(&l);
	pv_socklist_init(&again);
	dump_tcp(&l);
	reset_close(c[0]);
	wait_state(c[1], PV_TCP_CLOSE);
	close(c[1]);
	connect_pair(lfd, AF_INET6, 5000, 40000, c);
	dump_tcp(&again);
	struct pv_sock old = find(&l, AF_INET6, 40000, 5000);
	struct pv_sock now = find(&again, AF_INET6, 40000, 5000);
	ck_assert(old.cookie != now.cookie);
	ck_assert_int_eq(gone(old), 1);
	ck_assert_int_eq(gone(now), 0);
	pv_socklist_free(&l);
	pv_socklist_free(&again);
}
END_TEST

/* More lookups than one batch holds, some gone. */
START_TEST(many_in_batches)
{
	private_netns();
	enum { N = 100, CLOSED = 37 };
	int lfd = listener(AF_INET, 5000), c[N][2];
	for (int i = 0; i < N; i++)
		connect_pair(lfd, AF_INET, 5000, (uint16_t)(40000 + i), c[i]);
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	ck_assert_uint_eq(l.n, 2 * N + 1);
	ck_assert_int_eq(all_gone(&l), 0);
	for (int i = 0; i < CLOSED; i++)
		reset_close(c[i * 2][0]);
	for (int i = 0; i < CLOSED; i++)
		wait_state(c[i * 2][1], PV_TCP_CLOSE);
	ck_assert_int_eq(all_gone(&l), 2 * CLOSED);
	pv_socklist_free(&l);
}
END_TEST

/* A dump of TCP with each socket's tcp_info asked for (info) and kept. */
static void dump_tcp_info(struct pv_socklist *l, bool info)
{
	struct mnl_socket *nl;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	struct pv_diag_query q = {.family = AF_UNSPEC,
				  .proto = IPPROTO_TCP,
				  .states = PV_STATES_ALL,
				  .ext = info ? 1u << (INET_DIAG_INFO - 1) : 0};
	struct pv_diag_stats st;
	l->keep_info = true;
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, l, &st, NULL), 0);
	pv_diag_close(nl);
}

static void send_all(int fd, size_t n)
{
	char buf[4096];
	memset(buf, 'x', sizeof(buf));
	for (size_t sent = 0; sent < n;) {
		ssize_t k = send(fd, buf, n - sent < sizeof(buf) ? n - sent : sizeof(buf), 0);
		ck_assert_int_gt(k, 0);
		sent += (size_t)k;
	}
}

static void recv_all(int fd, size_t n)
{
	char buf[4096];
	for (size_t got = 0; got < n;) {
		ssize_t k = recv(fd, buf, sizeof(buf), 0);
		ck_assert_int_gt(k, 0);
		got += (size_t)k;
	}
}

/*
 * -i: the kernel's byte counters for a transfer this test made, in the
 * same dump; without the request, none (the kernel sends none).
 */
START_TEST(tcp_info_counts_the_bytes)
{
	private_netns();
	int lfd = listener(AF_INET, 5000), c[2];
	connect_pair(lfd, AF_INET, 5000, 40000, c);
	send_all(c[0], 300000);
	recv_all(c[1], 300000);
	send_all(c[1], 1234);
	recv_all(c[0], 1234);
	struct pv_socklist l;
	pv_socklist_init(&l);
	/* the last ACK may be a moment behind the data on loopback */
	for (int ms = 0;; ms++) {
		pv_socklist_free(&l);
		pv_socklist_init(&l);
		dump_tcp_info(&l, true);
		struct pv_sock cl = find(&l, AF_INET, 40000, 5000);
		if (cl.info && cl.info->bytes_acked >= 300001)
			break;
		ck_assert_msg(ms < WAIT_MS, "client bytes_acked never reached 300001");
		usleep(1000);
	}
	struct pv_sock cl = find(&l, AF_INET, 40000, 5000);
	struct pv_sock sv = find(&l, AF_INET, 5000, 40000);
	struct pv_sock ls = find(&l, AF_INET, 5000, 0);
	ck_assert_ptr_nonnull(cl.info);
	ck_assert_ptr_nonnull(sv.info);
	ck_assert_ptr_nonnull(ls.info); /* a listener has one too */
	uint8_t all = PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY | PV_TI_SENT;
	ck_assert_uint_eq(cl.info->have, all);
	/* bytes_sent counts retransmissions, which a loaded loopback sees at times */
	ck_assert_uint_ge(cl.info->bytes_sent, 300000);
	ck_assert_uint_eq(cl.info->bytes_acked, 300001); /* the SYN counts one */
	ck_assert_uint_eq(cl.info->bytes_received, 1234);
	ck_assert_uint_eq(sv.info->bytes_received, 300000);
	ck_assert_uint_ge(sv.info->bytes_sent, 1234);
	ck_assert_uint_ge(cl.info->segs_out, 3);
	ck_assert_uint_gt(cl.info->rtt_us, 0);
	ck_assert_uint_gt(cl.info->snd_cwnd, 0);
	ck_assert_uint_le(cl.info->bytes_sent - 300000, (uint64_t)cl.info->total_retrans * 65536);
	pv_socklist_free(&l);

	pv_socklist_init(&l);
	dump_tcp_info(&l, false);
	ck_assert_ptr_null(find(&l, AF_INET, 40000, 5000).info);
	pv_socklist_free(&l);
}
END_TEST

/* Read the destroy groups until a record with this cookie comes, or time runs out. */
static bool freed_comes(struct mnl_socket *ev, uint64_t cookie, struct pv_socklist *got)
{
	for (int ms = 0; ms < WAIT_MS; ms++) {
		ck_assert_int_eq(pv_diag_read_destroyed(ev, got), 0);
		for (size_t i = 0; i < got->n; i++)
			if (got->v[i].cookie == cookie)
				return true;
		usleep(1000);
	}
	return false;
}

/*
 * The destroy groups: a connection reset and a UDP socket closed each
 * arrive with their cookie, protocol and last tcp_info; a listener never
 * closed does not.
 */
START_TEST(destroy_groups_report_closes)
{
	private_netns();
	struct mnl_socket *ev;
	ck_assert_int_eq(pv_diag_open_destroyed(&ev), 0);
	ck_assert_int_ge(pv_diag_fd(ev), 0);
	int lfd = listener(AF_INET6, 5000), c[2];
	connect_pair(lfd, AF_INET6, 5000, 40000, c);
	send_all(c[0], 5000);
	recv_all(c[1], 5000);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 5353, &ss);
	ck_assert_int_eq(bind(u, (struct sockaddr *)&ss, len), 0);
	struct pv_socklist l, got;
	pv_socklist_init(&l);
	pv_socklist_init(&got);
	dump_tcp(&l);
	struct pv_sock cl = find(&l, AF_INET6, 40000, 5000);
	/*
	 * Nothing of the test's yet.  private_netns()'s ioctl socket, closed
	 * before the groups were joined, may still come: the kernel sends the
	 * closes from a work queue, late on a busy machine.
	 */
	ck_assert_int_eq(pv_diag_read_destroyed(ev, &got), 0);
	for (size_t i = 0; i < got.n; i++) {
		ck_assert_uint_ne(got.v[i].lport, 5353);
		for (size_t k = 0; k < l.n; k++)
			ck_assert_uint_ne(got.v[i].cookie, l.v[k].cookie);
	}
	pv_socklist_free(&got); /* emptied: keep_info is set on an empty list */
	pv_socklist_init(&got);

	/* a close: the last counters, the addresses as they were */
	got.keep_info = true;
	struct pv_sock sv = find(&l, AF_INET6, 5000, 40000);
	close(c[1]);
	ck_assert(freed_comes(ev, sv.cookie, &got));
	struct pv_sock d;
	for (size_t i = 0; i < got.n; i++) {
		pv_socklist_get(&got, i, &d);
		if (d.cookie == sv.cookie)
			break;
	}
	ck_assert_uint_eq(d.proto, IPPROTO_TCP);
	ck_assert_uint_eq(d.family, AF_INET6);
	ck_assert_uint_eq(d.local.port, 5000);
	ck_assert_uint_eq(d.remote.port, 40000);
	ck_assert_uint_eq(d.inode, 0); /* the kernel says none in these */
	ck_assert_ptr_nonnull(d.info);
	ck_assert_uint_eq(d.info->bytes_received, 5000);

	/*
	 * A reset disconnects first: the kernel has forgotten the foreign port
	 * and zeroed the counters by the time it frees the socket.  Only the
	 * cookie says which it was.
	 */
	pv_socklist_free(&got);
	pv_socklist_init(&got);
	got.keep_info = true;
	reset_close(c[0]);
	ck_assert(freed_comes(ev, cl.cookie, &got));
	for (size_t i = 0; i < got.n; i++) {
		pv_socklist_get(&got, i, &d);
		if (d.cookie == cl.cookie)
			break;
	}
	ck_assert_uint_eq(d.local.port, 40000);
	ck_assert_uint_eq(d.remote.port, 0);

	/* UDP: its cookie from a dump, then its close */
	struct mnl_socket *nl;
	struct pv_diag_query q = {.family = AF_INET, .proto = IPPROTO_UDP, .states = PV_STATES_ALL};
	struct pv_diag_stats st;
	struct pv_socklist ul;
	pv_socklist_init(&ul);
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, &ul, &st, NULL), 0);
	pv_diag_close(nl);
	ck_assert_uint_eq(ul.n, 1);
	close(u);
	pv_socklist_free(&got);
	pv_socklist_init(&got);
	ck_assert(freed_comes(ev, ul.v[0].cookie, &got));
	for (size_t i = 0; i < got.n; i++)
		if (got.v[i].cookie == ul.v[0].cookie)
			ck_assert_uint_eq(got.v[i].proto, IPPROTO_UDP);
	for (size_t i = 0; i < got.n; i++)
		ck_assert(got.v[i].lport != 5000 || got.v[i].rport != 0); /* the listener lives */

	pv_socklist_free(&ul);
	pv_socklist_free(&got);
	pv_socklist_free(&l);
	close(lfd);
	pv_diag_close(ev);
}
END_TEST

/* Read another destroy groups socket until every cookie of want has come. */
static void wait_all_freed(struct mnl_socket *watch, const struct pv_socklist *want)
{
	struct pv_socklist got;
	pv_socklist_init(&got);
	size_t seen = 0;
	for (int ms = 0; seen < want->n; ms++) {
		ck_assert_msg(ms < WAIT_MS, "%zu of %zu closes seen after %d ms", seen, want->n,
			      WAIT_MS);
		ck_assert_int_eq(pv_diag_read_destroyed(watch, &got), 0);
		seen = 0;
		for (size_t i = 0; i < want->n; i++)
			for (size_t k = 0; k < got.n; k++)
				if (got.v[k].cookie == want->v[i].cookie) {
					seen++;
					break;
				}
		if (seen < want->n)
			usleep(1000);
	}
	pv_socklist_free(&got);
}

/* A UDP socket bound to 127.0.0.1:port. */
static int udp_bound(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, port, &ss);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

/* The cookies of this namespace's UDP sockets. */
static void dump_udp(struct pv_socklist *l)
{
	struct mnl_socket *nl;
	struct pv_diag_query q = {.family = AF_INET, .proto = IPPROTO_UDP, .states = PV_STATES_ALL};
	struct pv_diag_stats st;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, l, &st, NULL), 0);
	pv_diag_close(nl);
}

/*
 * An overflow of the destroy groups' queue: the read that meets ENOBUFS
 * reads on to the end of the queue, so that the next close is delivered.
 * While anything is left in an overflowed queue the kernel drops what
 * comes next without another ENOBUFS: a reader that stopped at the error
 * would never hear of that close.  A second socket with a large buffer
 * says when the kernel has sent every close.
 */
START_TEST(destroy_overflow_reads_to_the_end)
{
	private_netns();
	struct mnl_socket *ev, *watch;
	ck_assert_int_eq(pv_diag_open_destroyed(&ev), 0);
	ck_assert_int_eq(pv_diag_open_destroyed(&watch), 0);
	int small = 4096; /* the kernel doubles it: a few messages fit */
	ck_assert_int_eq(setsockopt(pv_diag_fd(ev), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)),
			 0);
	enum { N = 200 };
	int fd[N + 1];
	for (int i = 0; i <= N; i++)
		fd[i] = udp_bound((uint16_t)(20000 + i));
	struct pv_socklist all, first, probe, got;
	pv_socklist_init(&all);
	pv_socklist_init(&first);
	pv_socklist_init(&probe);
	pv_socklist_init(&got);
	dump_udp(&all);
	ck_assert_uint_eq(all.n, N + 1);
	struct pv_sock s;
	for (size_t i = 0; i < all.n; i++) {
		pv_socklist_get(&all, i, &s);
		ck_assert(pv_socklist_add(s.local.port == 20000 + N ? &probe : &first, &s));
	}
	for (int i = 0; i < N; i++)
		close(fd[i]);
	wait_all_freed(watch, &first);

	/* ENOBUFS, and what the queue kept read with it */
	ck_assert_int_eq(pv_diag_read_destroyed(ev, &got), -ENOBUFS);
	ck_assert_uint_gt(got.n, 0);
	ck_assert_uint_lt(got.n, N);

	/* the queue is empty: the next close comes */
	pv_socklist_free(&got);
	pv_socklist_init(&got);
	close(fd[N]);
	wait_all_freed(watch, &probe);
	ck_assert_int_eq(pv_diag_read_destroyed(ev, &got), 0);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_uint_eq(got.v[0].cookie, probe.v[0].cookie);

	pv_socklist_free(&all);
	pv_socklist_free(&first);
	pv_socklist_free(&probe);
	pv_socklist_free(&got);
	pv_diag_close(watch);
	pv_diag_close(ev);
}
END_TEST

/*
 * One socket looked up by cookie: still there in its state, there as
 * TIME_WAIT after an active close, gone after a reset.
 */
START_TEST(lookup_state_by_cookie)
{
	private_netns();
	int lfd = listener(AF_INET, 5000), c[2], r[2];
	connect_pair(lfd, AF_INET, 5000, 40000, c);
	connect_pair(lfd, AF_INET, 5000, 40001, r);
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	struct pv_sock tw = find(&l, AF_INET, 40000, 5000);
	struct pv_sock rs = find(&l, AF_INET, 40001, 5000);
	struct mnl_socket *nl;
	uint8_t state = 0;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	ck_assert_int_eq(pv_diag_lookup_state(nl, &tw, &state), 0);
	ck_assert_uint_eq(state, PV_TCP_ESTABLISHED);

	close(c[0]);
	wait_state(c[1], PV_TCP_CLOSE_WAIT);
	close(c[1]);
	wait_dump(AF_INET, 5000, 40000, 0);
	ck_assert_int_eq(pv_diag_lookup_state(nl, &tw, &state), 0);
	ck_assert_uint_eq(state, PV_TCP_TIME_WAIT);

	reset_close(r[0]);
	wait_state(r[1], PV_TCP_CLOSE);
	ck_assert_int_eq(pv_diag_lookup_state(nl, &rs, &state), -ENOENT);
	/* another cookie on the same addresses: not this socket */
	tw.cookie ^= 1;
	ck_assert_int_eq(pv_diag_lookup_state(nl, &tw, &state), -ENOENT);
	pv_diag_close(nl);
	close(r[1]);
	pv_socklist_free(&l);
}
END_TEST

/*
 * Whether a process still holds a dumped socket (for the note on owners not
 * found): the listener and an open end yes; an end its process closed (an
 * orphan now, inode 0) and a reset one no; UDP sockets, bound and
 * connected, until closed (the kernel reads a UDP lookup's ends the other
 * way round); the same with a kept snapshotter.
 */
START_TEST(still_held_after_close)
{
	private_netns();
	int lfd = listener(AF_INET, 5000), c[2], r[2];
	connect_pair(lfd, AF_INET, 5000, 40010, c);
	connect_pair(lfd, AF_INET, 5000, 40011, r);
	struct pv_socklist l;
	pv_socklist_init(&l);
	dump_tcp(&l);
	struct pv_sock lst = find(&l, AF_INET, 5000, 0);
	struct pv_sock open_end = find(&l, AF_INET, 40010, 5000);
	struct pv_sock other_end = find(&l, AF_INET, 5000, 40010);
	struct pv_sock reset_end = find(&l, AF_INET, 40011, 5000);
	int ub = udp_bound(5300), uc = udp_bound(5301);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 5302, &ss);
	ck_assert_int_eq(connect(uc, (struct sockaddr *)&ss, len), 0);
	struct pv_socklist ul;
	pv_socklist_init(&ul);
	dump_udp(&ul);
	struct pv_sock udp[2] = {find(&ul, AF_INET, 5300, 0), find(&ul, AF_INET, 5301, 5302)};
	struct pv_snapshotter *kept;
	ck_assert_int_eq(pv_snapshotter_open(&kept), 0);
	for (int k = 0; k < 2; k++) {
		struct pv_snapshotter *s = k ? kept : NULL;
		ck_assert_int_eq(pv_snapshot_still_held(s, &lst), 1);
		ck_assert_int_eq(pv_snapshot_still_held(s, &open_end), 1);
		ck_assert_int_eq(pv_snapshot_still_held(s, &udp[0]), 1);
		ck_assert_int_eq(pv_snapshot_still_held(s, &udp[1]), 1);
	}
	close(c[0]);
	reset_close(r[0]);
	close(ub);
	close(uc);
	for (int k = 0; k < 2; k++) {
		struct pv_snapshotter *s = k ? kept : NULL;
		ck_assert_int_eq(pv_snapshot_still_held(s, &open_end), 0);
		ck_assert_int_eq(pv_snapshot_still_held(s, &reset_end), 0);
		ck_assert_int_eq(pv_snapshot_still_held(s, &udp[0]), 0);
		ck_assert_int_eq(pv_snapshot_still_held(s, &udp[1]), 0);
		ck_assert_int_eq(pv_snapshot_still_held(s, &other_end), 1);
		/* the same addresses with another inode: not what was dumped */
		struct pv_sock moved = other_end;
		moved.inode++;
		ck_assert_int_eq(pv_snapshot_still_held(s, &moved), 0);
	}
	pv_snapshotter_close(kept);
	close(c[1]);
	close(r[1]);
	close(lfd);
	pv_socklist_free(&l);
	pv_socklist_free(&ul);
}
END_TEST

/* A dump of the states asked for, with its boundaries noted (nothing looked up). */
static void dump_states(uint32_t states, struct pv_socklist *l, struct pv_diag_stats *st,
			struct pv_diag_tails *t)
{
	struct mnl_socket *nl;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	struct pv_diag_query q = {.family = AF_UNSPEC, .proto = IPPROTO_TCP, .states = states};
	*t = (struct pv_diag_tails){.check = false};
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, l, st, t), 0);
	pv_diag_close(nl);
}

/*
 * Sockets bound but neither listening nor connecting: listed when the
 * bound state is asked for (from the kernel's bind hash, in its CLOSE
 * state), under PV_TCP_BOUND_INACTIVE; not otherwise.  An unconnected UDP
 * socket keeps the CLOSE state.
 */
START_TEST(bound_sockets_are_listed_as_bound)
{
	private_netns();
	int b4 = bound(AF_INET, 7200), b6 = bound(AF_INET6, 0), lfd = listener(AF_INET, 7300);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_storage ss;
	socklen_t len = loopback(AF_INET, 7400, &ss);
	ck_assert_int_eq(bind(u, (struct sockaddr *)&ss, len), 0);
	struct pv_socklist l;
	struct pv_diag_stats st;
	struct pv_diag_tails t;
	pv_socklist_init(&l);
	dump_states(PV_STATES_ALL, &l, &st, &t);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(find(&l, AF_INET, 7200, 0).state, PV_TCP_BOUND_INACTIVE);
	ck_assert_uint_eq(find(&l, AF_INET, 7300, 0).state, PV_TCP_LISTEN);
	size_t n6 = 0;
	for (size_t i = 0; i < l.n; i++)
		if (l.v[i].family == AF_INET6) {
			ck_assert_uint_eq(l.v[i].state, PV_TCP_BOUND_INACTIVE);
			ck_assert_uint_ne(l.v[i].lport, 0); /* the port bind() picked */
			n6++;
		}
	ck_assert_uint_eq(n6, 1);
	/* Without the bit: only the listener. */
	pv_socklist_free(&l);
	dump_states(PV_STATES_ALL & ~PV_SF(PV_TCP_BOUND_INACTIVE), &l, &st, &t);
	ck_assert_uint_eq(l.n, 1);
	pv_socklist_free(&l);
	/* UDP's unconnected state stays CLOSE. */
	ck_assert_uint_eq(pv_diag_state(IPPROTO_UDP, PV_TCP_CLOSE), PV_TCP_CLOSE);
	ck_assert_uint_eq(pv_diag_state(IPPROTO_TCP, PV_TCP_CLOSE), PV_TCP_BOUND_INACTIVE);
	ck_assert_uint_eq(pv_diag_state(IPPROTO_TCP, PV_TCP_LISTEN), PV_TCP_LISTEN);
	close(b4);
	close(b6);
	close(lfd);
	close(u);
}
END_TEST

static void raise_nofile(void)
{
	struct rlimit r = {4096, 4096};
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &r), 0);
}

/*
 * A dump walks the listening hash, then the bind hash, then the
 * established one.  Boundaries among listeners (a listener on either
 * side) cut the listeners' walk but not the bind hash's; one among bound
 * sockets cuts the bind hash's walk.
 */
START_TEST(boundaries_name_the_walk_they_cut)
{
	enum { N = 600 };
	private_netns();
	raise_nofile();
	for (int i = 0; i < N; i++)
		listener(AF_INET, (uint16_t)(20000 + i));
	struct pv_socklist l;
	struct pv_diag_stats st;
	struct pv_diag_tails t;
	pv_socklist_init(&l);
	dump_states(PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_BOUND_INACTIVE), &l, &st, &t);
	ck_assert_uint_eq(l.n, N);
	ck_assert_uint_ge(st.datagrams, 3); /* two of records, at least, and the end */
	ck_assert_uint_ge(t.boundaries, 1);
	ck_assert(t.listener_boundary);
	ck_assert_msg(!t.bound_boundary, "a boundary between listeners cut the bind hash's walk");
	pv_socklist_free(&l);

	for (int i = 0; i < N; i++)
		bound(AF_INET, (uint16_t)(30000 + i));
	dump_states(PV_SF(PV_TCP_BOUND_INACTIVE), &l, &st, &t);
	ck_assert_uint_eq(l.n, N);
	ck_assert_uint_ge(t.boundaries, 1);
	ck_assert(!t.listener_boundary);
	ck_assert_msg(t.bound_boundary, "a boundary between bound sockets went unnoticed");
	pv_socklist_free(&l);
}
END_TEST

/* Whether this process may make a network namespace (in a throwaway child). */
/*
 * A relayed walk (pv_diag_query.relay): parsed by the walking thread until
 * a helper joins, then read there and parsed by the helper.  Joined at
 * once, or some way into the walk, or never: the same records in the same
 * order, each with its tcp_info, the same boundaries noted and looked up,
 * none gone.  A helper that comes after the walk returns at once.
 */
struct relay_helper {
	struct pv_diag_relay *relay;
	atomic_bool stop;
	unsigned delay_us; /* after the walk opens, before joining */
	bool helped;
};

static void *relay_help(void *arg)
{
	struct relay_helper *h = arg;
	while (!atomic_load(&h->stop) && !pv_diag_relay_open(h->relay))
		;
	if (h->delay_us)
		usleep(h->delay_us);
	while (!atomic_load(&h->stop) && !h->helped)
		h->helped = pv_diag_relay_help(h->relay);
	return NULL;
}

struct relayed_dump {
	struct pv_socklist l;
	struct pv_diag_stats st;
	struct pv_diag_tails t;
};

static void dump_relayed(struct pv_diag_relay *relay, struct relayed_dump *d)
{
	struct mnl_socket *nl, *lookup;
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	ck_assert_int_eq(pv_diag_open(&lookup), 0);
	struct pv_diag_query q = {.family = AF_INET,
				  .proto = IPPROTO_TCP,
				  .states = PV_STATES_ALL,
				  .ext = 1u << (INET_DIAG_INFO - 1),
				  .relay = relay};
	pv_socklist_init(&d->l);
	d->l.keep_info = true;
	d->t = (struct pv_diag_tails){.check = true, .tail_len = 3, .lookup = lookup};
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, &d->l, &d->st, &d->t), 0);
	pv_diag_close(lookup);
	pv_diag_close(nl);
}

START_TEST(relay_hands_the_walk_over)
{
	enum { N = 1000 };
	private_netns();
	raise_nofile();
	int lfd = listener(AF_INET, 5000), c[N][2];
	for (int i = 0; i < N; i++)
		connect_pair(lfd, AF_INET, 5000, (uint16_t)(40000 + i), c[i]);
	struct relayed_dump alone;
	dump_relayed(NULL, &alone);
	ck_assert_uint_eq(alone.l.n, 2 * N + 1);
	ck_assert_uint_gt(alone.st.datagrams, 8); /* a walk of many datagrams */
	ck_assert_uint_gt(alone.t.checked, 0);
	/*
	 * A helper waiting from the start joins the walk, unless the walk ends
	 * before it is scheduled (a busy host): then again, up to 50 times.
	 */
	/* several times: a join some way in falls at a new point each time */
	static const unsigned delays[] = {0, 300, 0, 100, 0, 600, 0, 200, 0, 400};
	unsigned tries = 0;
	for (size_t k = 0; k < sizeof(delays) / sizeof(delays[0]); k++) {
		struct pv_diag_relay relay;
		pv_diag_relay_init(&relay);
		struct relay_helper h = {.relay = &relay, .delay_us = delays[k]};
		atomic_init(&h.stop, false);
		pthread_t helper;
		ck_assert_int_eq(pthread_create(&helper, NULL, relay_help, &h), 0);
		struct relayed_dump d;
		dump_relayed(&relay, &d);
		atomic_store(&h.stop, true);
		pthread_join(helper, NULL);
		ck_assert_msg(!pv_diag_relay_help(&relay), "a helper after the walk joins no walk");
		pv_diag_relay_destroy(&relay);
		if (delays[k] == 0 && !h.helped && ++tries < 50)
			k--; /* this walk is checked below all the same */
		else if (delays[k] == 0)
			ck_assert_msg(h.helped, "a helper waiting from the start joins the walk");
		ck_assert_uint_eq(d.l.n, alone.l.n);
		for (size_t i = 0; i < d.l.n; i++) {
			struct pv_sock a, b;
			pv_socklist_get(&alone.l, i, &a);
			pv_socklist_get(&d.l, i, &b);
			ck_assert_msg(
			    a.cookie == b.cookie && a.state == b.state &&
				a.local.port == b.local.port && a.remote.port == b.remote.port,
			    "helper joining after %u us: record %zu is not the walk's own",
			    delays[k], i);
			ck_assert_msg(b.info || b.state == PV_TCP_LISTEN,
				      "record %zu without its tcp_info", i);
		}
		ck_assert_uint_eq(d.st.datagrams, alone.st.datagrams);
		ck_assert_uint_eq(d.t.boundaries, alone.t.boundaries);
		ck_assert_uint_eq(d.t.checked, alone.t.checked);
		ck_assert_int_eq(d.t.gone, 0);
		pv_socklist_free(&d.l);
	}
	pv_socklist_free(&alone.l);
	for (int i = 0; i < N; i++) {
		close(c[i][0]);
		close(c[i][1]);
	}
	close(lfd);
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	Suite *s = suite_create("diag_live");
	TCase *tc = tcase_create("lookups");
	tcase_set_timeout(tc, 2 * WAIT_MS / 1000 + 10); /* past any one wait */
	tcase_add_test(tc, open_sockets_are_found);
	tcase_add_test(tc, reset_connection_is_gone);
	tcase_add_test(tc, time_wait_is_not_gone);
	tcase_add_test(tc, same_tuple_new_socket_is_gone);
	tcase_add_test(tc, many_in_batches);
	tcase_add_test(tc, tcp_info_counts_the_bytes);
	tcase_add_test(tc, destroy_groups_report_closes);
	tcase_add_test(tc, destroy_overflow_reads_to_the_end);
	tcase_add_test(tc, lookup_state_by_cookie);
	tcase_add_test(tc, still_held_after_close);
	tcase_add_test(tc, bound_sockets_are_listed_as_bound);
	tcase_add_test(tc, boundaries_name_the_walk_they_cut);
	tcase_add_test(tc, relay_hands_the_walk_over);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
