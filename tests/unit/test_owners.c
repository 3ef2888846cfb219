/* The /proc walk, on a fake /proc tree the test builds. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/owners.h"

static char root[200]; /* the mountinfo lines below hold it three times */

static void mkpath(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_msg(mkdir(p, 0755) == 0, "mkdir %s: %s", p, strerror(errno));
}

static void mklink(const char *rel, const char *target)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	ck_assert_msg(symlink(target, p) == 0, "symlink %s: %s", p, strerror(errno));
}

static void mkfile(const char *rel, const char *content, size_t n)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, content, n), (ssize_t)n);
	close(fd);
}

/*
 * pid 100 "nginx": fds 3 -> socket 1000, 4 -> socket 2000, 5 -> a pipe
 * pid 200 "nginx": fd 7 -> socket 1000 (inherited over fork)
 * pid 30 "evil\nname": fd 9 -> socket 3000, fd 10 -> socket 4000 (not wanted)
 * pid 40: no fd directory (a zombie or an exited process)
 * "self", "net", "1x": not processes
 */
static void build_tree(void)
{
	ck_assert_int_lt(snprintf(root, sizeof(root), "%s", scratch_dir("proc")),
			 (int)sizeof(root));
	mkpath("100");
	mkpath("100/fd");
	mklink("100/fd/3", "socket:[1000]");
	mklink("100/fd/4", "socket:[2000]");
	mklink("100/fd/5", "pipe:[1000]");
	mkfile("100/comm", "nginx\n", 6);
	mkpath("200");
	mkpath("200/fd");
	mklink("200/fd/7", "socket:[1000]");
	mkfile("200/comm", "nginx\n", 6);
	mkpath("30");
	mkpath("30/fd");
	mklink("30/fd/9", "socket:[3000]");
	mklink("30/fd/10", "socket:[4000]");
	mklink("30/fd/11", "socket:[99999999999]"); /* beyond 32 bits: ignored */
	mklink("30/fd/12", "socket:[12a]");
	mkfile("30/comm", "evil\nname\n", 10);
	mkpath("40");
	mkfile("40/comm", "zombie\n", 7);
	/* the host's PID namespace: PID 2 is kthreadd, a kernel thread */
	mkpath("2");
	mkfile("2/stat", "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0\n", 38);
	mkpath("self");
	mkpath("net");
	mkpath("1x");
	mkpath("1x/fd");
	mklink("1x/fd/3", "socket:[2000]");
}

static void remove_tree(void)
{
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

static const struct pv_process *proc_of(const struct pv_owner_table *t, uint32_t first, uint32_t i)
{
	return &t->procs[t->owners[first + i].proc];
}

/* The /proc walk as the program makes it, on this thread, then the join. */
static int walk(struct pv_owner_table *t, const char *proc_root)
{
	struct pv_scan *s;
	int err = pv_scan_start(&s, proc_root, PV_OWNERS_PROC, false);
	if (err)
		return err;
	ck_assert_int_eq(pv_scan_finish(s), 0);
	size_t n;
	const struct pv_scan_part *parts = pv_scan_parts(s, &n);
	pv_owners_join(t, parts, n);
	pv_scan_free(s);
	return 0;
}

START_TEST(walk_attributes_every_holder)
{
	build_tree();
	struct pv_owner_table t;
	pv_owners_init(&t, 2);
	pv_owners_want(&t, 1000);
	pv_owners_want(&t, 2000);
	pv_owners_want(&t, 3000);
	pv_owners_want(&t, 5000); /* held by nobody */
	pv_owners_want(&t, 0);	  /* TIME_WAIT: ignored */
	pv_owners_want(&t, 1000); /* twice: one slot */
	ck_assert_uint_eq(t.nslots, 4);
	ck_assert_int_eq(walk(&t, root), 0);
	ck_assert_uint_eq(t.unseen, 0);

	uint32_t first, count;
	pv_owners_lookup(&t, 1000, &first, &count);
	ck_assert_uint_eq(count, 2);
	ck_assert_int_eq(t.owners[first].pid, 100);
	ck_assert_int_eq(t.owners[first].fd, 3);
	ck_assert_int_eq(t.owners[first + 1].pid, 200);
	ck_assert_int_eq(t.owners[first + 1].fd, 7);
	const struct pv_process *p = proc_of(&t, first, 0);
	ck_assert_uint_eq(p->comm_len, 5);
	ck_assert(memcmp(p->comm, "nginx", 5) == 0);

	pv_owners_lookup(&t, 2000, &first, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(t.owners[first].pid, 100);
	ck_assert_int_eq(t.owners[first].fd, 4);

	pv_owners_lookup(&t, 3000, &first, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(t.owners[first].pid, 30);
	p = proc_of(&t, first, 0);
	/* only the kernel's trailing newline is dropped */
	ck_assert_uint_eq(p->comm_len, 9);
	ck_assert(memcmp(p->comm, "evil\nname", 9) == 0);

	pv_owners_lookup(&t, 5000, &first, &count);
	ck_assert_uint_eq(count, 0);
	pv_owners_lookup(&t, 4000, &first, &count);
	ck_assert_uint_eq(count, 0);
	pv_owners_lookup(&t, 0, &first, &count);
	ck_assert_uint_eq(count, 0);
	/* one process entry per process that holds a wanted socket */
	ck_assert_uint_eq(t.nprocs, 3);
	pv_owners_free(&t);
	remove_tree();
}
END_TEST

START_TEST(several_fds_of_one_process_sorted)
{
	build_tree();
	mklink("200/fd/2", "socket:[1000]");
	mklink("200/fd/12", "socket:[1000]");
	struct pv_owner_table t;
	pv_owners_init(&t, 1);
	pv_owners_want(&t, 1000);
	ck_assert_int_eq(walk(&t, root), 0);
	uint32_t first, count;
	pv_owners_lookup(&t, 1000, &first, &count);
	ck_assert_uint_eq(count, 4);
	const int want[][2] = {{100, 3}, {200, 2}, {200, 7}, {200, 12}};
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(t.owners[first + i].pid, want[i][0]);
		ck_assert_int_eq(t.owners[first + i].fd, want[i][1]);
	}
	pv_owners_free(&t);
	remove_tree();
}
END_TEST

START_TEST(many_inodes_grow_the_table)
{
	struct pv_owner_table t;
	pv_owners_init(&t, 0);
	for (uint32_t i = 1; i <= 10000; i++)
		pv_owners_want(&t, i * 7919u);
	ck_assert_uint_eq(t.nslots, 10000);
	ck_assert_int_eq(walk(&t, "/nonexistent-proc"), -ENOENT);
	pv_owners_free(&t);
}
END_TEST

/*
 * The hash after many grows: 3,000 inodes wanted from the smallest table,
 * spread over the whole 32-bit range, held by 0, 1 or 2 fds each (split
 * over both scan parts), among fds of sockets nobody wants.  Every inode
 * must come back with exactly its owners; a grow that dropped or moved a
 * key, or lost its slot number, shows as an inode with none or another's.
 */
enum { NWANT = 3000, NPROCS = 97 };

static uint32_t wanted_inode(uint32_t k)
{
	return 1 + k * 1431655u; /* 1 .. 4293533346 */
}

/* Owner j of wanted inode k: pids 100.. hold owner 0, pids 1100.. owner 1. */
static int32_t owner_pid(uint32_t k, uint32_t j)
{
	return (int32_t)(100 + 1000 * j + k % NPROCS);
}

static int32_t owner_fd(uint32_t k, uint32_t j)
{
	return (int32_t)(3 + k + j);
}

static void add_fd(struct pv_scan_part *p, int32_t pid, int32_t fd, uint32_t inode)
{
	ck_assert_uint_lt(p->nfds, p->capfds);
	p->fds[p->nfds++] = (struct pv_owner){pid, fd, (uint32_t)(pid % 1000 - 100), inode};
}

START_TEST(grown_table_keeps_every_inode)
{
	/* part 0 holds owner 1 of each inode, part 1 owner 0: the join sorts */
	struct pv_scan_part parts[2];
	memset(parts, 0, sizeof(parts));
	for (int i = 0; i < 2; i++) {
		struct pv_scan_part *p = &parts[i];
		p->capfds = 2 * NWANT;
		p->fds = calloc(p->capfds, sizeof(*p->fds));
		p->procs = calloc(NPROCS, sizeof(*p->procs));
		ck_assert(p->fds && p->procs);
		p->nprocs = NPROCS;
		for (int32_t q = 0; q < NPROCS; q++) {
			struct pv_process *pr = &p->procs[q];
			pr->pid = 100 + 1000 * (1 - i) + q;
			pr->comm_len =
			    (uint32_t)snprintf(pr->comm, sizeof(pr->comm), "p%d", pr->pid);
		}
	}
	for (uint32_t k = 0; k < NWANT; k++) {
		uint32_t n = k % 3;
		for (uint32_t j = 0; j < n; j++)
			add_fd(&parts[1 - j], owner_pid(k, j), owner_fd(k, j), wanted_inode(k));
		/* a socket nobody asked about */
		add_fd(&parts[k % 2], owner_pid(k, 1 - k % 2), 100000 + (int32_t)k,
		       wanted_inode(k) + 2);
	}

	struct pv_owner_table t;
	pv_owners_init(&t, 1);
	size_t cap0 = t.slots.cap;
	for (uint32_t k = 0; k < NWANT; k++)
		pv_owners_want(&t, wanted_inode(k));
	for (uint32_t k = 0; k < NWANT; k += 7) /* again: still one slot each */
		pv_owners_want(&t, wanted_inode(k));
	ck_assert_uint_eq(t.nslots, NWANT);
	ck_assert_uint_ge(t.slots.cap, cap0 * 32); /* it grew five times or more */
	pv_owners_join(&t, parts, 2);

	for (uint32_t k = 0; k < NWANT; k++) {
		uint32_t inode = wanted_inode(k), first, count;
		pv_owners_lookup(&t, inode, &first, &count);
		if (count != k % 3)
			ck_abort_msg("inode %u (wanted #%u): %u owners, want %u", inode, k, count,
				     k % 3);
		for (uint32_t j = 0; j < count; j++) {
			const struct pv_owner *o = &t.owners[first + j];
			const struct pv_process *pr = &t.procs[o->proc];
			char comm[16];
			snprintf(comm, sizeof(comm), "p%d", owner_pid(k, j));
			if (o->inode != inode || o->pid != owner_pid(k, j) ||
			    o->fd != owner_fd(k, j) || pr->pid != o->pid ||
			    pr->comm_len != strlen(comm) || memcmp(pr->comm, comm, pr->comm_len))
				ck_abort_msg(
				    "inode %u (wanted #%u), owner %u: inode %u pid %d fd %d "
				    "(process %d), want pid %d fd %d",
				    inode, k, j, o->inode, o->pid, o->fd, pr->pid, owner_pid(k, j),
				    owner_fd(k, j));
		}
		pv_owners_lookup(&t, inode + 2, &first, &count);
		if (count != 0)
			ck_abort_msg("inode %u, never wanted, has %u owners", inode + 2, count);
	}
	ck_assert_uint_eq(t.nowners, NWANT); /* 0 + 1 + 2 per three inodes */
	pv_owners_free(&t);
	for (int i = 0; i < 2; i++) {
		free(parts[i].fds);
		free(parts[i].procs);
	}
}
END_TEST

/* The walk of a /proc tree, for what the scan says it could not see. */
static uint8_t unseen_of(const char *proc_root)
{
	struct pv_owner_table t;
	pv_owners_init(&t, 1);
	ck_assert_int_eq(walk(&t, proc_root), 0);
	uint8_t u = t.unseen;
	pv_owners_free(&t);
	return u;
}

static void set_file(const char *rel, const char *text)
{
	mkfile(rel, text, strlen(text));
}

/*
 * A /proc of a nested PID namespace has no kernel thread as PID 2; one
 * mounted with hidepid hides other users' processes from a process
 * without CAP_SYS_PTRACE outside the gid= group.
 */
START_TEST(partial_views_are_known)
{
	build_tree();
	ck_assert_uint_eq(unseen_of(root), 0);

	/* PID 2 is some process of the namespace, not kthreadd */
	set_file("2/stat", "2 (sh) S 1 2 2 0 -1 4194560 0 0\n");
	ck_assert_uint_eq(unseen_of(root), PV_UNSEEN_PIDNS);
	set_file("2/stat", "2 (a) b) S 0 0 0 0 -1 2129984 0 0\n"); /* ')' in the name */
	ck_assert_uint_eq(unseen_of(root), 0);

	/* hidepid on this tree's mount point (the last proc mount there counts) */
	char mi[1024];
	snprintf(mi, sizeof(mi),
		 "22 1 0:5 / /proc rw - proc proc rw,hidepid=invisible\n"
		 "23 1 0:5 / %s rw,nosuid - proc proc rw\n"
		 "24 1 0:5 / %s rw,nosuid - proc proc rw,hidepid=invisible\n"
		 "25 1 0:5 / %s/sys rw - sysfs sysfs rw,hidepid=2\n",
		 root, root, root);
	set_file("self/mountinfo", mi);
	set_file("self/status", "Name:\tportview\nCapEff:\t0000000000000000\n");
	ck_assert_uint_eq(unseen_of(root), PV_UNSEEN_HIDEPID);
	/* CAP_SYS_PTRACE sees through it */
	set_file("self/status", "Name:\tportview\nCapEff:\t0000000000080000\n");
	ck_assert_uint_eq(unseen_of(root), 0);
	set_file("self/status", "Name:\tportview\nCapEff:\t0000000000000000\n");
	/* so does the gid= group */
	snprintf(mi, sizeof(mi), "24 1 0:5 / %s rw - proc proc rw,hidepid=2,gid=%u\n", root,
		 (unsigned)getegid());
	set_file("self/mountinfo", mi);
	ck_assert_uint_eq(unseen_of(root), 0);
	/* hidepid=0 hides nothing; another mount point does not count */
	snprintf(mi, sizeof(mi),
		 "24 1 0:5 / %s rw - proc proc rw,hidepid=0\n"
		 "25 1 0:5 / %s2 rw - proc proc rw,hidepid=invisible\n",
		 root, root);
	set_file("self/mountinfo", mi);
	ck_assert_uint_eq(unseen_of(root), 0);
	remove_tree();
}
END_TEST

/*
 * A process whose main thread has exited: its fd directory is empty, and
 * its sockets are found through its other threads' (here without kcmp,
 * which a fake tree's PIDs cannot be given: the first thread's).
 */
START_TEST(exited_main_thread_owners_found_through_a_thread)
{
	build_tree();
	mkpath("500");
	mkpath("500/fd");
	set_file("500/comm", "daemon\n");
	mkpath("500/task");
	mkpath("500/task/500");
	mkpath("500/task/500/fd");
	mkpath("500/task/501");
	mkpath("500/task/501/fd");
	mklink("500/task/501/fd/3", "socket:[5000]");
	struct pv_owner_table t;
	pv_owners_init(&t, 1);
	pv_owners_want(&t, 5000);
	ck_assert_int_eq(walk(&t, root), 0);
	uint32_t first, count;
	pv_owners_lookup(&t, 5000, &first, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(t.owners[first].pid, 500);
	ck_assert_int_eq(t.owners[first].fd, 3);
	ck_assert(memcmp(proc_of(&t, first, 0)->comm, "daemon", 6) == 0);
	pv_owners_free(&t);
	remove_tree();
}
END_TEST

/* One descriptor seen through two file tables (a thread's copy) is one owner. */
START_TEST(one_descriptor_through_two_tables_is_one_owner)
{
	static struct pv_process procs[] = {{.pid = 7, .comm = "x", .comm_len = 1}};
	static struct pv_owner fds[] = {
	    {.pid = 7, .fd = 4, .proc = 0, .inode = 100},
	    {.pid = 7, .fd = 3, .proc = 0, .inode = 100},
	    {.pid = 7, .fd = 4, .proc = 0, .inode = 100}, /* the thread's copy */
	    {.pid = 7, .fd = 5, .proc = 0, .inode = 100}, /* the thread's own */
	    {.pid = 7, .fd = 3, .proc = 0, .inode = 200}, /* another table's fd 3 */
	};
	struct pv_scan_part part = {.fds = fds, .nfds = 5, .procs = procs, .nprocs = 1};
	struct pv_owner_table t;
	pv_owners_init(&t, 2);
	pv_owners_want(&t, 100);
	pv_owners_want(&t, 200);
	pv_owners_join(&t, &part, 1);
	uint32_t first, count;
	pv_owners_lookup(&t, 100, &first, &count);
	ck_assert_uint_eq(count, 3);
	ck_assert_int_eq(t.owners[first].fd, 3);
	ck_assert_int_eq(t.owners[first + 1].fd, 4);
	ck_assert_int_eq(t.owners[first + 2].fd, 5);
	pv_owners_lookup(&t, 200, &first, &count);
	ck_assert_uint_eq(count, 1);
	pv_owners_free(&t);
}
END_TEST

START_TEST(real_proc_finds_own_socket)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	struct stat st;
	ck_assert_int_eq(fstat(s, &st), 0);
	struct pv_owner_table t;
	pv_owners_init(&t, 1);
	pv_owners_want(&t, (uint32_t)st.st_ino);
	ck_assert_int_eq(walk(&t, "/proc"), 0);
	uint32_t first, count;
	pv_owners_lookup(&t, (uint32_t)st.st_ino, &first, &count);
	ck_assert_uint_eq(count, 1);
	ck_assert_int_eq(t.owners[first].pid, getpid());
	ck_assert_int_eq(t.owners[first].fd, s);
	pv_owners_free(&t);
	close(s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("owners");
	TCase *tc = tcase_create("walk");
	tcase_set_timeout(tc, 60); /* a real /proc walk on a busy machine, under ASan */
	tcase_add_test(tc, walk_attributes_every_holder);
	tcase_add_test(tc, several_fds_of_one_process_sorted);
	tcase_add_test(tc, many_inodes_grow_the_table);
	tcase_add_test(tc, grown_table_keeps_every_inode);
	tcase_add_test(tc, real_proc_finds_own_socket);
	tcase_add_test(tc, partial_views_are_known);
	tcase_add_test(tc, exited_main_thread_owners_found_through_a_thread);
	tcase_add_test(tc, one_descriptor_through_two_tables_is_one_owner);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
