/*
 * SOCK_DESTROY for one socket (destroy.c), against the running kernel:
 * each test in a child of its own (CK_FORK) inside a private network
 * namespace, on connections it opened itself.  The socket a dump named is
 * closed and its peer reads a reset; a record whose cookie is not the
 * socket's (its 4-tuple taken again since) leaves the socket alone; one
 * gone is -ENOENT; without CAP_NET_ADMIN, -EPERM; a socket in another
 * namespace is closed there and the caller comes back to its own.  Exits
 * 77 (skipped) where a namespace cannot be made.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "helpers.h"
#include "live.h"
#include "portview/destroy.h"
#include "portview/sock_diag.h"
#include "portview/state.h"

/* The TCP record whose local port is port, from a dump of this namespace. */
static bool find(uint16_t port, struct pv_sock *out)
{
	struct mnl_socket *nl;
	struct pv_socklist l;
	struct pv_diag_stats st;
	struct pv_diag_query q = {
	    .family = AF_UNSPEC, .proto = IPPROTO_TCP, .states = PV_STATES_ALL};
	bool found = false;
	pv_socklist_init(&l);
	ck_assert_int_eq(pv_diag_open(&nl), 0);
	ck_assert_int_eq(pv_diag_dump(nl, &q, NULL, &l, &st, NULL), 0);
	pv_diag_close(nl);
	for (size_t i = 0; i < l.n && !found; i++) {
		pv_socklist_get(&l, i, out);
		found = out->local.port == port;
	}
	pv_socklist_free(&l);
	return found;
}

/* What a read gets: 0 for data or the end, else the errno. */
static int read_errno(int fd)
{
	struct timeval tv = {.tv_sec = 10};
	char c;
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	return read(fd, &c, 1) < 0 ? errno : 0;
}

static bool carries(int fds[2])
{
	char c = 0;
	return write(fds[0], "x", 1) == 1 && read(fds[1], &c, 1) == 1 && c == 'x';
}

START_TEST(closes_the_socket_a_dump_named)
{
	private_netns();
	int lfd = listener(AF_INET, 7600), fds[2];
	connect_pair(lfd, AF_INET, 7600, 41000, fds);
	struct pv_sock s;
	ck_assert(find(41000, &s));
	ck_assert_int_eq(pv_destroy(&s, -1), 0);
	ck_assert_int_eq(read_errno(fds[1]), ECONNRESET);
	ck_assert_int_eq(read_errno(fds[0]), ECONNABORTED);
	/* no longer a connection (its fd holds a bound, closed socket) */
	struct pv_sock now;
	ck_assert(!find(41000, &now) || now.state != PV_TCP_ESTABLISHED);
	/* gone now: the same record again */
	ck_assert_int_eq(pv_destroy(&s, -1), -ENOENT);
	ck_assert_str_eq(pv_destroy_strerror(-ENOENT), "already gone");
}
END_TEST

/* The same addresses and ports, another cookie: another socket, left alone. */
START_TEST(another_cookie_is_left_alone)
{
	private_netns();
	int lfd = listener(AF_INET6, 7600), fds[2];
	connect_pair(lfd, AF_INET6, 7600, 41001, fds);
	struct pv_sock s;
	ck_assert(find(41001, &s));
	s.cookie ^= 1;
	ck_assert_int_eq(pv_destroy(&s, -1), -ENOENT);
	ck_assert(carries(fds));
	ck_assert(find(41001, &s));
}
END_TEST

START_TEST(no_net_admin_is_eperm)
{
	private_netns();
	int lfd = listener(AF_INET, 7600), fds[2];
	connect_pair(lfd, AF_INET, 7600, 41002, fds);
	struct pv_sock s;
	ck_assert(find(41002, &s));
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
	d[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
	ck_assert_int_eq(syscall(SYS_capset, &h, d), 0);
	ck_assert_int_eq(pv_destroy(&s, -1), -EPERM);
	ck_assert_str_eq(pv_destroy_strerror(-EPERM), "no permission: needs CAP_NET_ADMIN");
	ck_assert(carries(fds));
}
END_TEST

static ino_t netns_ino(void)
{
	struct stat sb;
	ck_assert_int_eq(stat("/proc/thread-self/ns/net", &sb), 0);
	return sb.st_ino;
}

/* A socket of namespace A closed from namespace B, which the caller is in again after. */
START_TEST(closes_in_another_namespace)
{
	private_netns();
	int lfd = listener(AF_INET, 7600), fds[2];
	connect_pair(lfd, AF_INET, 7600, 41003, fds);
	struct pv_sock s;
	ck_assert(find(41003, &s));
	int a = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(a, 0);
	private_netns();
	ino_t b = netns_ino();
	ck_assert_int_eq(pv_destroy(&s, -1), -ENOENT); /* not here */
	ck_assert_int_eq(pv_destroy(&s, a), 0);
	ck_assert(netns_ino() == b);
	ck_assert_int_eq(read_errno(fds[1]), ECONNRESET);
}
END_TEST

START_TEST(only_tcp_and_udp)
{
	struct pv_sock s = {.proto = IPPROTO_SCTP, .family = AF_INET};
	ck_assert_int_eq(pv_destroy(&s, -1), -EPROTONOSUPPORT);
	ck_assert_str_eq(pv_destroy_strerror(0), "closed");
	ck_assert_ptr_nonnull(
	    strstr(pv_destroy_strerror(-EOPNOTSUPP), "not supported by this kernel"));
}
END_TEST

int main(void)
{
	if (!can_unshare()) {
		puts("skip: cannot create a network namespace (needs root)");
		return 77;
	}
	Suite *s = suite_create("destroy");
	TCase *tc = tcase_create("live");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, closes_the_socket_a_dump_named);
	tcase_add_test(tc, another_cookie_is_left_alone);
	tcase_add_test(tc, closes_in_another_namespace);
	tcase_add_test(tc, only_tcp_and_udp);
	tcase_add_test(tc, no_net_admin_is_eperm); /* last: without CK_FORK its drop stays */
	suite_add_tcase(s, tc);
	return run_suite(s);
}
