/* The /proc walk, on a fake /proc tree the test builds. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/owners.h"

static char root[] = "/tmp/portview-proc-XXXXXX";

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
	ck_assert_ptr_nonnull(mkdtemp(root));
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
	ck_assert_int_eq(pv_owners_walk(&t, root), 0);
	ck_assert(!t.denied);

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
	ck_assert_int_eq(pv_owners_walk(&t, root), 0);
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
	ck_assert_int_eq(pv_owners_walk(&t, "/nonexistent-proc"), -ENOENT);
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
	ck_assert_int_eq(pv_owners_walk(&t, "/proc"), 0);
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
	tcase_add_test(tc, walk_attributes_every_holder);
	tcase_add_test(tc, several_fds_of_one_process_sorted);
	tcase_add_test(tc, many_inodes_grow_the_table);
	tcase_add_test(tc, real_proc_finds_own_socket);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
