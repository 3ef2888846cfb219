/*
 * The /proc producer of the owner scan: the processes under the /proc
 * root, each one's /proc/PID/fd (and /proc/PID/task/TID/fd where a
 * thread's file table differs), and what this /proc cannot show.
 */
#include "owners_internal.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NO_PROC UINT32_MAX

/* A /proc entry named by a PID or fd number. */
static bool parse_num(const char *s, int32_t *out)
{
	uint64_t v;
	if (pv_parse_uint_str(s, INT32_MAX, &v) < 0)
		return false;
	*out = (int32_t)v;
	return true;
}

/*
 * The entries of a directory whose names are numbers (pids, thread ids,
 * descriptors), read with getdents64 into a buffer of the caller's.
 */
struct numdir {
	int fd;
	char *buf;
	size_t size;
	ssize_t len, off;
	int err; /* at the end: 0, or the negative errno of a failed read */
};

static void numdir_init(struct numdir *d, int fd, char *buf, size_t size)
{
	*d = (struct numdir){.fd = fd, .buf = buf, .size = size};
}

/* The next numbered entry: its number and name; false at the end. */
static bool numdir_next(struct numdir *d, int32_t *num, const char **name)
{
	for (;;) {
		while (d->off < d->len) {
			struct dirent64 *e = (struct dirent64 *)(d->buf + d->off);
			d->off += e->d_reclen;
			if (parse_num(e->d_name, num)) {
				*name = e->d_name;
				return true;
			}
		}
		d->len = getdents64(d->fd, d->buf, d->size);
		d->off = 0;
		if (d->len <= 0) {
			d->err = d->len < 0 ? -errno : 0;
			return false;
		}
	}
}

/* Parse "socket:[12345]"; returns 0 when the link is not a socket. */
static uint32_t socket_inode(const char *link, ssize_t n)
{
	uint64_t v;
	if (n < 10 || memcmp(link, "socket:[", 8) != 0 || link[n - 1] != ']' ||
	    pv_parse_uint(link + 8, (size_t)n - 9, UINT32_MAX, &v) < 0)
		return 0;
	return (uint32_t)v;
}

static uint32_t add_process(struct pv_scan_part *p, int procfd, int32_t pid)
{
	if (p->nprocs == p->capprocs) {
		p->capprocs = p->capprocs ? p->capprocs * 2 : 64;
		p->procs = xreallocarray(p->procs, p->capprocs, sizeof(*p->procs));
	}
	struct pv_process *pr = &p->procs[p->nprocs];
	memset(pr, 0, sizeof(*pr));
	pr->pid = pid;

	char path[32];
	snprintf(path, sizeof(path), "%d", (int)pid);
	struct stat st;
	if (fstatat(procfd, path, &st, 0) == 0)
		pr->uid = st.st_uid;
	snprintf(path, sizeof(path), "%d/comm", (int)pid);
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, pr->comm, sizeof(pr->comm));
		close(fd);
		if (n > 0) {
			/* The kernel ends comm with one newline; keep any others. */
			if (pr->comm[n - 1] == '\n')
				n--;
			pr->comm_len = (uint32_t)n;
		}
	}
	return (uint32_t)p->nprocs++;
}

/*
 * Walk one fd directory (path, under procfd) of process pid: its socket
 * fds into p, the process entry made at the first (*proc).  Returns how
 * many entries it had, or -1 when it could not be read.
 */
static long walk_fds(struct pv_scan_part *p, int procfd, int32_t pid, const char *path,
		     uint32_t *proc)
{
	int dfd = openat(procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		/* ENOENT: the process exited meanwhile; nothing to attribute. */
		if (errno == EACCES || errno == EPERM)
			p->unseen |= PV_UNSEEN_DENIED;
		return -1;
	}

	long entries = 0;
	char dents[16384];
	struct numdir it;
	int32_t fdnum;
	const char *name;
	numdir_init(&it, dfd, dents, sizeof(dents));
	while (numdir_next(&it, &fdnum, &name)) {
		entries++;
		char link[64];
		ssize_t len = readlinkat(dfd, name, link, sizeof(link));
		uint32_t inode = socket_inode(link, len);
		if (!inode)
			continue;
		if (*proc == NO_PROC)
			*proc = add_process(p, procfd, pid);
		if (p->nfds == p->capfds) {
			p->capfds = p->capfds ? p->capfds + p->capfds / 2 : 1024;
			p->fds = xreallocarray(p->fds, p->capfds, sizeof(*p->fds));
		}
		p->fds[p->nfds++] = (struct pv_owner){pid, fdnum, *proc, inode};
	}
	close(dfd);
	return entries;
}

/* Whether two tasks share one file table: 1 yes, 0 no, -1 cannot tell. */
static int same_files(int32_t a, int32_t b)
{
	long r = syscall(SYS_kcmp, (pid_t)a, (pid_t)b, KCMP_FILES, 0, 0);
	return r < 0 ? -1 : r == 0;
}

/* At most this many distinct file tables of one process are told apart. */
#define MAX_TABLES 16

/*
 * The threads of pid whose file table is not the main thread's: one that
 * called unshare(CLONE_FILES) or was cloned without CLONE_FILES, and every
 * thread of a process whose main thread has exited (its fd directory is
 * then empty, leader_empty).  Each table is walked once; a descriptor seen
 * through two tables is one owner (pv_owners_join).
 */
static void walk_threads(struct pv_scan_part *p, const struct pv_scan *s, int32_t pid,
			 bool leader_empty, uint32_t *proc)
{
	char path[48];
	snprintf(path, sizeof(path), "%d/task", (int)pid);
	int dfd = openat(s->procfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	int32_t walked[MAX_TABLES];
	size_t nwalked = 0;
	char dents[4096];
	struct numdir it;
	int32_t tid;
	const char *name;
	numdir_init(&it, dfd, dents, sizeof(dents));
	while (numdir_next(&it, &tid, &name)) {
		if (tid == pid)
			continue;
		bool walk;
		if (!s->kcmp) {
			/* Without kcmp: the first thread of a leader that has exited. */
			walk = leader_empty && nwalked == 0;
		} else {
			int same = same_files(pid, tid);
			walk = same == 0 || (same < 0 && leader_empty && nwalked == 0);
			for (size_t i = 0; i < nwalked && walk; i++)
				walk = same_files(walked[i], tid) != 1;
		}
		if (!walk)
			continue;
		snprintf(path, sizeof(path), "%d/task/%d/fd", (int)pid, (int)tid);
		if (walk_fds(p, s->procfd, pid, path, proc) >= 0 && nwalked < MAX_TABLES)
			walked[nwalked++] = tid;
	}
	close(dfd);
}

static void walk_process(struct pv_scan_part *p, const struct pv_scan *s, int32_t pid)
{
	char path[32];
	uint32_t proc = NO_PROC;
	snprintf(path, sizeof(path), "%d/fd", (int)pid);
	long entries = walk_fds(p, s->procfd, pid, path, &proc);
	if (entries < 0)
		return;
	/*
	 * A task directory links to each thread (2 + threads): only a process
	 * of more than one thread can have more than one file table.
	 */
	struct stat st;
	snprintf(path, sizeof(path), "%d/task", (int)pid);
	if (fstatat(s->procfd, path, &st, 0) == 0 && st.st_nlink > 3)
		walk_threads(p, s, pid, entries == 0, &proc);
}

void pv_proc_work(struct pv_scan *s)
{
	int i = atomic_fetch_add(&s->parts_used, 1);
	struct pv_scan_part *p = &s->parts[i];
	for (;;) {
		size_t k = atomic_fetch_add(&s->next, 1);
		if (k >= s->npids)
			break;
		walk_process(p, s, s->pids[k]);
	}
	atomic_store(&s->done_ns[i], pv_scan_ns_since(&s->t0));
}

static ssize_t read_small(int procfd, const char *path, char *buf, size_t size)
{
	int fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (ssize_t r; n + 1 < size && (r = read(fd, buf + n, size - 1 - n)) > 0;)
		n += (size_t)r;
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The kernel's flag of its own threads, in /proc/PID/stat's ninth field. */
#define PF_KTHREAD 0x00200000ul

/*
 * Whether proc_root shows the host's PID namespace, where kernel threads
 * live: its PID 2 is kthreadd.  A /proc of a nested namespace (a
 * container, unshare -p --mount-proc) shows its own processes only, while
 * processes outside it may hold the sockets of the network namespace.
 */
bool pv_proc_shows_host_pids(int procfd)
{
	char buf[1024];
	unsigned long flags;
	if (read_small(procfd, "2/stat", buf, sizeof(buf)) <= 0)
		return false;
	/* after the name in parentheses: state, ppid, pgrp, session, tty, tpgid, flags */
	const char *p = strrchr(buf, ')');
	return p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) == 1 &&
	       (flags & PF_KTHREAD);
}

/* The value of option name= in a comma list of mount options, or NULL. */
static const char *mount_option(const char *opts, const char *name, size_t *len)
{
	size_t n = strlen(name);
	for (const char *p = opts; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			*len = strcspn(p + n + 1, ",");
			return p + n + 1;
		}
	}
	return NULL;
}

/*
 * Whether proc_root is mounted with hidepid (proc(5)) so that it hides other
 * users' processes from this one: not from a process with CAP_SYS_PTRACE,
 * nor from members of the mount's gid= group.  Read from
 * proc_root/self/mountinfo (the last proc mount on proc_root) and
 * proc_root/self/status.
 */
static bool hidepid_hides(int procfd, const char *proc_root)
{
	enum { INFO_MAX = 1 << 18 }; /* a host with thousands of mounts */
	char *info = xmalloc(INFO_MAX);
	char opts[512] = "";
	ssize_t n = read_small(procfd, "self/mountinfo", info, INFO_MAX);
	for (char *line = n > 0 ? info : NULL, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - FSTYPE SOURCE SUPEROPTS */
		char point[256], fstype[32], super[512];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %*s %255s", point) != 1 ||
		    sscanf(dash + 3, "%31s %*s %511s", fstype, super) != 2)
			continue;
		if (strcmp(point, proc_root) == 0 && strcmp(fstype, "proc") == 0)
			snprintf(opts, sizeof(opts), "%s", super);
	}
	free(info);
	size_t len;
	const char *mode = mount_option(opts, "hidepid", &len);
	if (!mode || (len == 1 && mode[0] == '0') || (len == 3 && memcmp(mode, "off", 3) == 0))
		return false;
	/* CAP_SYS_PTRACE (bit 19 of CapEff) sees every process */
	char status[4096];
	unsigned long long caps;
	const char *cap = read_small(procfd, "self/status", status, sizeof(status)) > 0
			      ? strstr(status, "\nCapEff:")
			      : NULL;
	if (cap && sscanf(cap + 8, "%llx", &caps) == 1 && (caps & (1ull << 19)))
		return false;
	const char *gid = mount_option(opts, "gid", &len);
	if (gid) {
		gid_t g = (gid_t)strtoul(gid, NULL, 10), groups[256];
		int ng = getgroups(256, groups);
		if (getegid() == g)
			return false;
		for (int i = 0; i < ng; i++)
			if (groups[i] == g)
				return false;
	}
	return true;
}

/* Whether the PIDs under procfd are the calling process's namespace's, for kcmp(2). */
static bool pids_are_ours(int procfd)
{
	char link[32];
	ssize_t n = readlinkat(procfd, "self", link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	uint64_t pid;
	return pv_parse_uint_str(link, INT32_MAX, &pid) == 0 && (pid_t)pid == getpid();
}

/* The processes under proc_root, into s->pids. */
int pv_proc_list(struct pv_scan *s)
{
	s->procfd = open(s->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->procfd < 0)
		return -errno;

	size_t cap = 0;
	char dents[32768];
	struct numdir it;
	int32_t pid;
	const char *name;
	numdir_init(&it, s->procfd, dents, sizeof(dents));
	while (numdir_next(&it, &pid, &name)) {
		if (s->npids == cap) {
			cap = cap ? cap * 2 : 256;
			s->pids = xreallocarray(s->pids, cap, sizeof(*s->pids));
		}
		s->pids[s->npids++] = pid;
	}
	if (it.err)
		return it.err;
	s->rep.processes = s->npids;
	return 0;
}

void pv_proc_probe(struct pv_scan *s)
{
	if (hidepid_hides(s->procfd, s->proc_root))
		s->parts[0].unseen |= PV_UNSEEN_HIDEPID;
	s->kcmp = pids_are_ours(s->procfd);
}
