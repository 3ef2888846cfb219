/*
 * Real sockets for the unit tests that talk to the kernel: a private
 * network namespace with lo up, loopback listeners and connections.
 * Needs CAP_SYS_ADMIN for the namespace (can_unshare() says).
 */
#ifndef PORTVIEW_TEST_LIVE_H
#define PORTVIEW_TEST_LIVE_H

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static inline void private_netns(void)
{
	ck_assert_int_eq(unshare(CLONE_NEWNET), 0);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(fd, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	ck_assert_int_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	ck_assert_int_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0);
	close(fd);
}

static inline socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	a->sin6_addr = in6addr_loopback;
	return sizeof(*a);
}

static inline int bound(int family, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	int fd = socket(family, SOCK_STREAM, 0), one = 1;
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

static inline int listener(int family, uint16_t port)
{
	int fd = bound(family, port);
	ck_assert_int_eq(listen(fd, 128), 0);
	return fd;
}

/* A connection from client_port to the listener on port: {client, server}. */
static inline void connect_pair(int lfd, int family, uint16_t port, uint16_t client_port,
				int fds[2])
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, port, &ss);
	fds[0] = bound(family, client_port);
	ck_assert_int_eq(connect(fds[0], (struct sockaddr *)&ss, len), 0);
	fds[1] = accept(lfd, NULL, NULL);
	ck_assert_int_ge(fds[1], 0);
}

/* Close with a reset: the socket leaves the kernel's tables at once. */
static inline void reset_close(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
}

static inline bool can_unshare(void)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(unshare(CLONE_NEWNET) == 0 ? 0 : 1);
	int st;
	return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/*
 * Go on in a grandchild that is PID 1 of a new PID namespace with its own
 * /proc: a test that takes owners then walks (or iterates) this test's
 * processes only, not every process of a busy host.  The grandchild
 * returns -1 and carries on; the caller gets its exit status (1 if it was
 * killed or the namespace could not be made).  The namespace is made in a
 * child, not here: a process that made one can fork into it only until
 * its first child ends, and LSan forks its tracer at exit.
 */
static inline int own_pid_namespace(void)
{
	pid_t mid = fork();
	if (mid < 0)
		return 1;
	if (mid == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
			_exit(1);
		pid_t pid = fork();
		if (pid < 0)
			_exit(1);
		if (pid == 0) {
			if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
			    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  NULL) != 0)
				_exit(1);
			return -1;
		}
		int st;
		if (waitpid(pid, &st, 0) != pid)
			_exit(1);
		_exit(WIFEXITED(st) ? WEXITSTATUS(st)
				    : 1); /* no exit handlers: LSan's is the child's */
	}
	int st;
	if (waitpid(mid, &st, 0) != mid)
		return 1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

#endif
