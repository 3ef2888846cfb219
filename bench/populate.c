/*
 * populate: open and hold a large, known population of loopback sockets.
 *
 *   populate -n N [-p P] [-l L] [-u U] [-v]
 *
 * Creates N established TCP connections over loopback (2N sockets: the
 * connecting end and the accepted end, both held by the same worker), L
 * listening TCP sockets and U bound UDP sockets, spread over P worker
 * processes, in the current network namespace.  Meant to run under
 * `unshare -n` with lo up: it uses addresses all over 127.0.0.0/8.
 *
 * When everything is open it prints "ready TOTAL" (TOTAL = 2N + L + U) on
 * standard output, then holds the sockets until its standard input reaches
 * end of file or it gets SIGTERM, SIGINT or SIGHUP.  Workers die with the
 * parent (PR_SET_PDEATHSIG) and exit when it closes their hold pipe.  A
 * worker that dies early makes populate fail (exit 1).  With -v a summary
 * (worker PIDs, creation time) goes to standard error.
 *
 * Addresses (all on lo, nothing to configure):
 *   connection listeners  127.1.x.y:8000, one per chunk of <= 16384
 *                         connections, closed once their chunk is accepted;
 *   connecting ends       bound to 127.100.x.y with IP_BIND_ADDRESS_NO_PORT,
 *                         ephemeral port chosen by connect(); each
 *                         (source, listener) pair is used at most 16384
 *                         times, well inside the default 28232-port range;
 *   the L listeners       127.50.x.y:10000-59999;
 *   the U UDP sockets     127.60.x.y:10000-59999.
 *
 * Build: cc -O2 -o populate populate.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define CHUNK 16384		/* connections per (source, listener) pair */
#define MAX_CHUNKS 1024		/* per worker: 16M connections */
#define BATCH 128		/* connects before accepting; < somaxconn */
#define CONN_PORT 8000
#define SPARE_FDS 64		/* pipes, stdio, a listener, slack */

static const char *prog = "populate";

struct share {
	long conns, listen_first, listen_n, udp_first, udp_n;
};

/* What a worker tells the parent once it is done (or has failed). */
struct report {
	int ok;
	long sockets;
	char msg[256];
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"usage: populate -n CONNECTIONS [-p PROCESSES] [-l LISTENERS] [-u UDP] [-v]\n"
		"Open 2*CONNECTIONS established loopback TCP sockets, LISTENERS listening\n"
		"TCP sockets and UDP bound UDP sockets in the current network namespace,\n"
		"spread over PROCESSES workers; print \"ready TOTAL\" and hold them until\n"
		"standard input is closed or SIGTERM arrives.\n");
	exit(status);
}

static long parse_count(const char *s, char opt)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > 100000000)
		die("-%c: not a count between 0 and 100000000: '%s'", opt, s);
	return v;
}

/* 127.B.C.D with B = base + idx / 62500, C = idx / 250 % 250, D = 1 + idx % 250. */
static struct sockaddr_in lo_addr(unsigned base, long idx, unsigned port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	uint32_t b = base + (uint32_t)(idx / 62500), c = (uint32_t)(idx / 250 % 250),
		 d = 1 + (uint32_t)(idx % 250);
	sa.sin_addr.s_addr = htonl(127u << 24 | b << 16 | c << 8 | d);
	return sa;
}

static const char *fmt_addr(const struct sockaddr_in *sa)
{
	static char buf[64];
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &sa->sin_addr, ip, sizeof(ip));
	snprintf(buf, sizeof(buf), "%s:%u", ip, ntohs(sa->sin_port));
	return buf;
}

/* ---- worker ---------------------------------------------------------- */

static int report_fd = -1;
static long worker_sockets;

static void wfail(const char *fmt, ...)
{
	struct report r = {.ok = 0, .sockets = worker_sockets};
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r.msg, sizeof(r.msg), fmt, ap);
	va_end(ap);
	if (errno && n > 0 && (size_t)n < sizeof(r.msg))
		snprintf(r.msg + n, sizeof(r.msg) - n, ": %s", strerror(errno));
	if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		fprintf(stderr, "%s: worker %d: %s\n", prog, (int)getpid(), r.msg);
	_exit(1);
}

static int tcp_socket(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		if (errno == EMFILE)
			wfail("socket (RLIMIT_NOFILE reached after %ld sockets; use more -p)",
			      worker_sockets);
		wfail("socket (after %ld sockets)", worker_sockets);
	}
	return fd;
}

static void do_bind(int fd, const struct sockaddr_in *sa, const char *what)
{
	if (bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0)
		wfail("bind %s to %s", what, fmt_addr(sa));
}

static void set_int(int fd, int level, int opt, int val, const char *name)
{
	if (setsockopt(fd, level, opt, &val, sizeof(val)) < 0)
		wfail("setsockopt %s", name);
}

static void run_worker(int w, const struct share *s)
{
	errno = 0;
	/* Listeners and UDP sockets first: they use fixed ports. */
	for (long i = s->listen_first; i < s->listen_first + s->listen_n; i++) {
		struct sockaddr_in sa = lo_addr(50, i / 50000, 10000 + i % 50000);
		int fd = tcp_socket();
		set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
		do_bind(fd, &sa, "listener");
		if (listen(fd, 128) < 0)
			wfail("listen on %s", fmt_addr(&sa));
		worker_sockets++;
	}
	for (long i = s->udp_first; i < s->udp_first + s->udp_n; i++) {
		struct sockaddr_in sa = lo_addr(60, i / 50000, 10000 + i % 50000);
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			wfail("UDP socket (after %ld sockets)", worker_sockets);
		do_bind(fd, &sa, "UDP socket");
		worker_sockets++;
	}

	/* Connections, chunk by chunk: one temporary listener per chunk. */
	struct sockaddr_in src = lo_addr(100, w, 0);
	long left = s->conns;
	for (long chunk = 0; left > 0; chunk++) {
		if (chunk >= MAX_CHUNKS)
			wfail("too many connections for one worker (%ld); use more -p", s->conns);
		struct sockaddr_in dst = lo_addr(1, (long)w * MAX_CHUNKS + chunk, CONN_PORT);
		int lfd = tcp_socket();
		set_int(lfd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
		do_bind(lfd, &dst, "connection listener");
		if (listen(lfd, 4096) < 0)
			wfail("listen on %s", fmt_addr(&dst));
		long n = left < CHUNK ? left : CHUNK;
		for (long done = 0; done < n;) {
			long b = n - done < BATCH ? n - done : BATCH;
			for (long k = 0; k < b; k++) {
				int c = tcp_socket();
				set_int(c, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1,
					"IP_BIND_ADDRESS_NO_PORT");
				do_bind(c, &src, "client");
				if (connect(c, (struct sockaddr *)&dst, sizeof(dst)) < 0)
					wfail("connect %s", fmt_addr(&dst));
				worker_sockets++;
			}
			for (long k = 0; k < b; k++) {
				int a = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
				if (a < 0) {
					if (errno == EINTR) {
						k--;
						continue;
					}
					wfail("accept on %s", fmt_addr(&dst));
				}
				worker_sockets++;
			}
			done += b;
		}
		/* The accepted sockets outlive their listener. */
		if (close(lfd) < 0)
			wfail("close listener");
		left -= n;
	}

	struct report r = {.ok = 1, .sockets = worker_sockets};
	if (write(report_fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
}

/* ---- parent ---------------------------------------------------------- */

static long per_worker(long total, long p, long w)
{
	return total / p + (w < total % p);
}

static long first_of(long total, long p, long w)
{
	return w * (total / p) + (w < total % p ? w : total % p);
}

/* fds a worker with this share needs at its peak */
static long fds_needed(long n, long l, long u, long p)
{
	long most = 0;
	for (long w = 0; w < p; w++) {
		long need = 2 * per_worker(n, p, w) + per_worker(l, p, w) + per_worker(u, p, w);
		if (need > most)
			most = need;
	}
	return most + SPARE_FDS;
}

static long read_long_file(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Raise RLIMIT_NOFILE (soft to hard, hard up to fs.nr_open when needed);
 * return the soft limit in force. */
static long raise_nofile(long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit RLIMIT_NOFILE: %s", strerror(errno));
	if (rl.rlim_max != RLIM_INFINITY && (long)rl.rlim_max < want) {
		long nr_open = read_long_file("/proc/sys/fs/nr_open");
		long hard = want;
		if (nr_open > 0 && hard > nr_open)
			hard = nr_open;
		if (hard > (long)rl.rlim_max) {
			struct rlimit up = {.rlim_cur = hard, .rlim_max = hard};
			if (setrlimit(RLIMIT_NOFILE, &up) == 0)
				rl = up;
			else if (errno == EPERM)
				fprintf(stderr, "%s: cannot raise the RLIMIT_NOFILE hard limit from %llu "
						"to %ld (no CAP_SYS_RESOURCE)\n",
					prog, (unsigned long long)rl.rlim_max, hard);
			else
				die("setrlimit RLIMIT_NOFILE to %ld: %s", hard, strerror(errno));
		}
	}
	if (rl.rlim_cur != rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die("setrlimit RLIMIT_NOFILE soft to %llu: %s",
			    (unsigned long long)rl.rlim_max, strerror(errno));
	}
	return rl.rlim_cur == RLIM_INFINITY ? LONG_MAX : (long)rl.rlim_cur;
}

static pid_t *pids;
static long nworkers;

static void kill_workers(int sig)
{
	for (long w = 0; w < nworkers; w++)
		if (pids[w] > 0)
			kill(pids[w], sig);
}

static void reap_all(void)
{
	for (long w = 0; w < nworkers; w++) {
		if (pids[w] <= 0)
			continue;
		while (waitpid(pids[w], NULL, 0) < 0 && errno == EINTR)
			;
		pids[w] = 0;
	}
}

static void fail_all(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	kill_workers(SIGKILL);
	reap_all();
	exit(1);
}

static const char *describe_status(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof(buf), "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, sizeof(buf), "status 0x%x", st);
	return buf;
}

/* Reap children that have died; a worker dying while we hold is an error. */
static void check_children(void)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		for (long w = 0; w < nworkers; w++) {
			if (pids[w] == pid) {
				pids[w] = 0;
				fail_all("worker %ld (pid %d) %s", w, (int)pid, describe_status(st));
			}
		}
	}
}

int main(int argc, char **argv)
{
	long n = -1, p = 1, l = 0, u = 0;
	int verbose = 0, c;

	while ((c = getopt(argc, argv, "n:p:l:u:vh")) != -1) {
		switch (c) {
		case 'n': n = parse_count(optarg, 'n'); break;
		case 'p': p = parse_count(optarg, 'p'); break;
		case 'l': l = parse_count(optarg, 'l'); break;
		case 'u': u = parse_count(optarg, 'u'); break;
		case 'v': verbose = 1; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	if (optind != argc || n < 0)
		usage(2);
	if (p < 1)
		die("-p: need at least one worker process");
	if (l > 250L * 50000 || u > 250L * 50000)
		die("-l/-u: at most 12500000");

	double t0 = now();
	long limit = raise_nofile(fds_needed(n, l, u, p));
	long p0 = p;
	while (fds_needed(n, l, u, p) > limit) {
		if (limit <= SPARE_FDS + 2)
			die("RLIMIT_NOFILE is %ld: too low to hold any sockets", limit);
		p++;
	}
	if (p != p0)
		fprintf(stderr, "%s: RLIMIT_NOFILE is %ld: using %ld worker processes instead of %ld\n",
			prog, limit, p, p0);
	for (long w = 0; w < p; w++)
		if ((per_worker(n, p, w) + CHUNK - 1) / CHUNK > MAX_CHUNKS)
			die("too many connections per worker; use more -p");
	long filemax = read_long_file("/proc/sys/fs/file-max");
	if (filemax > 0 && filemax < 2 * n + l + u + 1000)
		die("fs.file-max is %ld: too low for %ld sockets", filemax, 2 * n + l + u);

	/* Signals: handled through a signalfd in the parent; workers restore
	 * the original mask. */
	sigset_t mask, oldmask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &oldmask) < 0)
		die("sigprocmask: %s", strerror(errno));
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		die("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);

	/* Workers block reading the hold pipe; closing its write end (or our
	 * death) releases them. */
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));

	pids = calloc(p, sizeof(*pids));
	int *rfd = calloc(p, sizeof(*rfd));
	if (!pids || !rfd)
		die("out of memory");
	pid_t parent = getpid();
	for (long w = 0; w < p; w++) {
		int rp[2];
		if (pipe2(rp, O_CLOEXEC) < 0)
			fail_all("pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			fail_all("fork: %s", strerror(errno));
		if (pid == 0) {
			if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) {
				perror("populate: prctl(PR_SET_PDEATHSIG)");
				_exit(1);
			}
			if (getppid() != parent)
				_exit(1);
			sigprocmask(SIG_SETMASK, &oldmask, NULL);
			signal(SIGPIPE, SIG_DFL);
			close(sfd);
			close(hold[1]);
			close(rp[0]);
			for (long k = 0; k < w; k++)
				close(rfd[k]);
			int dn = open("/dev/null", O_RDWR);
			if (dn < 0 || dup2(dn, 0) < 0 || dup2(dn, 1) < 0) {
				perror("populate: /dev/null");
				_exit(1);
			}
			if (dn > 2)
				close(dn);
			report_fd = rp[1];
			struct share s = {
				.conns = per_worker(n, p, w),
				.listen_first = first_of(l, p, w),
				.listen_n = per_worker(l, p, w),
				.udp_first = first_of(u, p, w),
				.udp_n = per_worker(u, p, w),
			};
			run_worker((int)w, &s);
			close(report_fd);
			char ch;
			ssize_t r;
			while ((r = read(hold[0], &ch, 1)) != 0) {
				if (r < 0 && errno != EINTR)
					_exit(1);
			}
			_exit(0);
		}
		pids[w] = pid;
		nworkers = w + 1;
		rfd[w] = rp[0];
		close(rp[1]);
	}
	close(hold[0]);

	/* Collect every worker's report; keep watching signals meanwhile. */
	struct pollfd *pfd = calloc(p + 1, sizeof(*pfd));
	if (!pfd)
		fail_all("out of memory");
	long pending = p, total = 0;
	while (pending > 0) {
		long k = 0;
		pfd[k++] = (struct pollfd){.fd = sfd, .events = POLLIN};
		for (long w = 0; w < p; w++)
			if (rfd[w] >= 0)
				pfd[k++] = (struct pollfd){.fd = rfd[w], .events = POLLIN};
		if (poll(pfd, k, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail_all("poll: %s", strerror(errno));
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				fail_all("read signalfd: %s", strerror(errno));
			if (si.ssi_signo != SIGCHLD)
				fail_all("interrupted by signal %d before ready", (int)si.ssi_signo);
			/* SIGCHLD: the worker's report (or EOF) tells more. */
		}
		for (long w = 0; w < p; w++) {
			if (rfd[w] < 0)
				continue;
			struct pollfd *q = NULL;
			for (long j = 1; j < k; j++)
				if (pfd[j].fd == rfd[w])
					q = &pfd[j];
			if (!q || !q->revents)
				continue;
			struct report r;
			ssize_t got = read(rfd[w], &r, sizeof(r));
			if (got < 0 && errno == EINTR)
				continue;
			if (got != (ssize_t)sizeof(r)) {
				int st = 0;
				pid_t dead = pids[w];
				while (waitpid(dead, &st, 0) < 0 && errno == EINTR)
					;
				pids[w] = 0;
				fail_all("worker %ld (pid %d) %s before reporting", w, (int)dead,
					 describe_status(st));
			}
			if (!r.ok)
				fail_all("worker %ld (pid %d) failed: %s", w, (int)pids[w], r.msg);
			total += r.sockets;
			close(rfd[w]);
			rfd[w] = -1;
			pending--;
		}
	}
	check_children();
	if (total != 2 * n + l + u)
		fail_all("internal error: workers hold %ld sockets, expected %ld", total,
			 2 * n + l + u);
	if (verbose) {
		fprintf(stderr, "%s: %ld sockets (%ld connections, %ld listeners, %ld UDP) in %ld "
				"processes in %.2f s; worker pids:",
			prog, total, n, l, u, p, now() - t0);
		for (long w = 0; w < p; w++)
			fprintf(stderr, " %d", (int)pids[w]);
		fputc('\n', stderr);
	}
	if (printf("ready %ld\n", total) < 0 || fflush(stdout) == EOF)
		fail_all("writing to standard output: %s", strerror(errno));

	/* Hold until stdin closes or a signal arrives. */
	int status = 0, stdin_open = 1;
	for (;;) {
		struct pollfd w[2] = {
			{.fd = sfd, .events = POLLIN},
			{.fd = stdin_open ? 0 : -1, .events = POLLIN},
		};
		if (poll(w, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fail_all("poll: %s", strerror(errno));
		}
		if (w[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				fail_all("read signalfd: %s", strerror(errno));
			if (si.ssi_signo == SIGCHLD) {
				check_children();
				continue;
			}
			break;
		}
		if (w[1].revents & POLLNVAL)
			break; /* no stdin at all */
		if (w[1].revents) {
			char buf[4096];
			ssize_t r = read(0, buf, sizeof(buf));
			if (r == 0)
				break;
			if (r < 0 && errno != EINTR && errno != EAGAIN) {
				fprintf(stderr, "%s: reading standard input: %s\n", prog,
					strerror(errno));
				status = 1;
				break;
			}
		}
	}

	/* Release the workers and wait for them to close everything. */
	close(hold[1]);
	reap_all();
	return status;
}
