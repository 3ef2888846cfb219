/*
 * floor: the least work any socket viewer with owners must do, timed.
 *
 *   floor [-d] [-w] [-v] [-c]
 *
 * (a) dump: one sock_diag dump per (AF_INET, AF_INET6) x (TCP, UDP), all
 *     states, no extensions, read with a 32 KiB buffer; messages are counted
 *     and thrown away.
 * (b) walk: every /proc/PID/fd directory is listed with getdents64 and
 *     every entry read with readlinkat() on the directory fd; links are
 *     counted (and socket links among them), nothing is kept.
 *
 * The two parts run one after the other (-d: dump only, -w: walk only).
 * -v adds one line per dump (family, protocol, messages, datagrams, time)
 * on standard error.  -c replaces the AF_INET and AF_INET6 TCP dumps by one
 * legacy TCPDIAG_GETSOCK dump, which the kernel runs with AF_UNSPEC (both
 * families in one walk of the TCP hash tables): an experiment, not part of
 * the floor.
 * Output, one line:
 *   sockets=S fds=F socket_fds=SF procs=P dump_s=T walk_s=T total_s=T dump_max_s=T
 * (dump_max_s: the longest of the dumps, so that max(dump_max_s, dump_s / 2)
 * is the least the dumps could take side by side on two CPUs.)
 * Exit status 0, or 1 with a message on standard error.
 *
 * Build: cc -O2 -o floor floor.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NL_BUF (32 * 1024)
#define DENTS_BUF (64 * 1024)

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int verbose, compat;
static double longest; /* the longest single dump, seconds */

/* One dump; returns the number of inet_diag messages.  family < 0: a legacy
 * TCPDIAG_GETSOCK request (struct inet_diag_req), both families at once. */
static long dump_one(int fd, int family, int protocol, uint32_t seq, char *buf)
{
	struct {
		struct nlmsghdr nlh;
		union {
			struct inet_diag_req_v2 v2;
			struct inet_diag_req v1;
		};
	} msg;
	memset(&msg, 0, sizeof(msg));
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = seq;
	if (family < 0) {
		msg.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(msg.v1));
		msg.nlh.nlmsg_type = TCPDIAG_GETSOCK;
		msg.v1.idiag_family = AF_INET;
		msg.v1.idiag_states = ~0u;
	} else {
		msg.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(msg.v2));
		msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
		msg.v2.sdiag_family = family;
		msg.v2.sdiag_protocol = protocol;
		msg.v2.idiag_states = ~0u;
	}
	double t0 = now();
	long datagrams = 0;

	struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
	struct iovec iov = {.iov_base = &msg, .iov_len = msg.nlh.nlmsg_len};
	struct msghdr mh = {.msg_name = &nl, .msg_namelen = sizeof(nl), .msg_iov = &iov,
			    .msg_iovlen = 1};
	while (sendmsg(fd, &mh, 0) < 0)
		if (errno != EINTR)
			die("sendmsg sock_diag request");

	long count = 0;
	for (;;) {
		ssize_t n = recv(fd, buf, NL_BUF, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recv sock_diag");
		}
		datagrams++;
		if (n == 0) {
			fprintf(stderr, "floor: sock_diag: unexpected end of stream\n");
			exit(1);
		}
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				continue;
			if (h->nlmsg_type == NLMSG_DONE) {
				int err = 0;
				if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
					memcpy(&err, NLMSG_DATA(h), sizeof(err));
				if (err < 0) {
					errno = -err;
					if (errno != ENOENT) /* ENOENT: diag module missing */
						die("sock_diag dump");
				}
				if (now() - t0 > longest)
					longest = now() - t0;
				if (verbose)
					fprintf(stderr, "dump %s/%s: %ld sockets, %ld datagrams, %.6f s\n",
						family < 0 ? "tcpdiag-compat" :
						family == AF_INET ? "inet" : "inet6",
						protocol == IPPROTO_TCP ? "tcp" : "udp", count, datagrams,
						now() - t0);
				return count;
			}
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);
				errno = -e->error;
				die("sock_diag request");
			}
			/* replies to a legacy request carry its type */
			if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK)
				count++;
		}
	}
}

static long dump_all(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		die("socket(NETLINK_SOCK_DIAG)");
	char *buf = malloc(NL_BUF);
	if (!buf)
		die("malloc");
	static const int fams[] = {AF_INET, AF_INET6};
	static const int protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	long total = 0;
	uint32_t seq = 1;
	if (compat)
		total += dump_one(fd, -1, IPPROTO_TCP, seq++, buf);
	for (int f = 0; f < 2; f++)
		for (int p = 0; p < 2; p++)
			if (!compat || protos[p] != IPPROTO_TCP)
				total += dump_one(fd, fams[f], protos[p], seq++, buf);
	free(buf);
	close(fd);
	return total;
}

struct walk {
	long fds, socket_fds, procs;
};

static void walk_fd_dir(int dfd, char *dents, struct walk *w)
{
	char link[256];
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, dents, DENTS_BUF);
		if (n < 0) {
			if (errno == ENOENT || errno == ESRCH)
				return; /* the process exited meanwhile */
			die("getdents64 /proc/PID/fd");
		}
		if (n == 0)
			return;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(dents + off);
			off += d->d_reclen;
			if (d->d_name[0] == '.')
				continue;
			ssize_t len = readlinkat(dfd, d->d_name, link, sizeof(link));
			if (len < 0)
				continue; /* closed meanwhile */
			w->fds++;
			if (len > 8 && memcmp(link, "socket:[", 8) == 0)
				w->socket_fds++;
		}
	}
}

static struct walk walk_proc(void)
{
	struct walk w = {0, 0, 0};
	char *pdents = malloc(DENTS_BUF), *fdents = malloc(DENTS_BUF);
	if (!pdents || !fdents)
		die("malloc");
	int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (proc < 0)
		die("open /proc");
	for (;;) {
		long n = syscall(SYS_getdents64, proc, pdents, DENTS_BUF);
		if (n < 0)
			die("getdents64 /proc");
		if (n == 0)
			break;
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(pdents + off);
			off += d->d_reclen;
			if (d->d_name[0] < '1' || d->d_name[0] > '9')
				continue;
			char path[64];
			snprintf(path, sizeof(path), "%s/fd", d->d_name);
			int dfd = openat(proc, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd < 0)
				continue; /* gone, or not ours to read */
			w.procs++;
			walk_fd_dir(dfd, fdents, &w);
			close(dfd);
		}
	}
	close(proc);
	free(pdents);
	free(fdents);
	return w;
}

int main(int argc, char **argv)
{
	int do_dump = 0, do_walk = 0, c;
	while ((c = getopt(argc, argv, "dwvch")) != -1) {
		switch (c) {
		case 'd': do_dump = 1; break;
		case 'w': do_walk = 1; break;
		case 'v': verbose = 1; break;
		case 'c': compat = 1; break;
		case 'h':
			printf("usage: floor [-d] [-w] [-v] [-c]\n"
			       "Time a bare sock_diag dump of all TCP/UDP sockets (-d) and a bare\n"
			       "walk of /proc/*/fd (-w); both by default.  -v: per-dump timings on\n"
			       "stderr; -c: one legacy TCPDIAG_GETSOCK dump for TCP (experiment).\n");
			return 0;
		default:
			fprintf(stderr, "usage: floor [-d] [-w] [-v] [-c]\n");
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: floor [-d] [-w] [-v] [-c]\n");
		return 2;
	}
	if (!do_dump && !do_walk)
		do_dump = do_walk = 1;

	long sockets = -1;
	struct walk w = {-1, -1, -1};
	double t0 = now(), t1 = t0, t2;
	if (do_dump) {
		sockets = dump_all();
		t1 = now();
	}
	if (do_walk)
		w = walk_proc();
	t2 = now();
	printf("sockets=%ld fds=%ld socket_fds=%ld procs=%ld dump_s=%.6f walk_s=%.6f "
	       "total_s=%.6f dump_max_s=%.6f\n",
	       sockets, w.fds, w.socket_fds, w.procs, t1 - t0, t2 - t1, t2 - t0, longest);
	return fflush(stdout) == EOF ? 1 : 0;
}
