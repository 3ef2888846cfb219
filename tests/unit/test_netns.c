/*
 * Which namespaces --all-netns finds and what it calls them, on fake
 * /proc trees: each fake PID's ns/net is a symlink to a real namespace
 * file, the test's own or one a child made.  An unnamed namespace is
 * named by its lowest PID; the host's is PID 1's, or kthreadd's (PID 2)
 * where PID 1's is hidden, and only a PID 2 that is kthreadd counts; a
 * PID whose ns/net cannot be seen is skipped.  Exits 77 (skipped) where
 * no namespace can be made.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/netns.h"

static pid_t other_pid; /* a child in a network namespace of its own */
static char other_ns[64], own_ns[64];

/* A child that makes a network namespace (as root, or in a user namespace) and waits. */
static pid_t start_other(void)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		char ok = unshare(CLONE_NEWNET) == 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
		if (write(p[1], &ok, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	char ok = 0;
	close(p[1]);
	if (pid < 0 || read(p[0], &ok, 1) != 1 || !ok) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		pid = -1;
	}
	close(p[0]);
	return pid;
}

static void put(const char *root, const char *rel, const char *text)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

/* A fake PID under root: its ns/net a link to ns (NULL: none), its comm (NULL: none). */
static void fake_pid(const char *root, int pid, const char *ns, const char *comm)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%d", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/%d/ns", root, pid);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	if (ns) {
		snprintf(path, sizeof(path), "%s/%d/ns/net", root, pid);
		ck_assert_int_eq(symlink(ns, path), 0);
	}
	if (comm) {
		char rel[64];
		snprintf(rel, sizeof(rel), "%d/comm", pid);
		put(root, rel, comm);
	}
}

/* A fake /proc whose self is the test's own process. */
static const char *fake_proc(void)
{
	const char *tmpl = scratch_dir("netns");
	char path[4096];
	snprintf(path, sizeof(path), "%s/self", tmpl);
	ck_assert_int_eq(symlink("/proc/self", path), 0);
	return tmpl;
}

static void remove_tree(const char *root)
{
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
}

/* The labels of what pv_netns_list finds, in its order, joined by spaces. */
static void labels(const char *proc, const char *run, char *out, size_t size)
{
	struct pv_netns *list;
	size_t n = pv_netns_list(proc, run, &list);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char label[PV_NETNS_NAME_MAX + 32];
		pv_netns_label(&list[i], label, sizeof(label));
		size_t len = strlen(out);
		snprintf(out + len, size - len, "%s%s%s", i ? " " : "", label,
			 list[i].own ? "(own)" : "");
	}
	pv_netns_list_free(list, n);
}

/* PID 1 seen: its namespace is the host's; the other one is named by its lowest PID. */
START_TEST(lowest_pid_names_a_namespace)
{
	const char *root = fake_proc();
	fake_pid(root, 1, own_ns, "init\n");
	fake_pid(root, 2, own_ns, "kthreadd\n");
	fake_pid(root, 31, other_ns, "late\n");
	fake_pid(root, 25, NULL, "hidden\n"); /* its ns/net out of sight: skipped */
	fake_pid(root, 17, other_ns, "first\n");
	fake_pid(root, 24, other_ns, "middle\n");
	char got[512];
	labels(root, "/nonexistent", got, sizeof(got));
	ck_assert_str_eq(got, "host(own) pid:17");

	/* -N pid:31 is the same namespace: the lowest PID in it is not looked for there */
	struct pv_netns ns;
	struct pv_why why;
	ck_assert(pv_netns_open("pid:31", root, "/nonexistent", &ns, &why));
	ck_assert(!ns.host && !ns.own);
	pv_netns_label(&ns, got, sizeof(got));
	ck_assert_str_eq(got, "pid:31");
	pv_netns_close(&ns);
	ck_assert(!pv_netns_open("pid:25", root, "/nonexistent", &ns, &why));
	ck_assert_str_eq(why.why, "no such process");
	remove_tree(root);
}
END_TEST

/* PID 1's namespace hidden: kthreadd's (PID 2) is the host's, and only kthreadd's. */
START_TEST(kthreadd_names_the_host)
{
	const char *root = fake_proc();
	fake_pid(root, 1, NULL, "init\n");
	fake_pid(root, 2, other_ns, "kthreadd\n");
	fake_pid(root, 9, own_ns, "portview\n");
	char got[512];
	labels(root, "/nonexistent", got, sizeof(got));
	ck_assert_str_eq(got, "pid:9(own) host");

	/* a PID 2 that is not kthreadd (a container's second process) is no host */
	remove_tree(root);
	root = fake_proc();
	fake_pid(root, 1, NULL, "init\n");
	fake_pid(root, 2, other_ns, "kthreadd-ish\n");
	fake_pid(root, 9, own_ns, "portview\n");
	labels(root, "/nonexistent", got, sizeof(got));
	ck_assert_str_eq(got, "pid:9(own) pid:2");

	/* nor is a kthreadd whose comm cannot be read */
	remove_tree(root);
	root = fake_proc();
	fake_pid(root, 1, NULL, NULL);
	fake_pid(root, 2, other_ns, NULL);
	fake_pid(root, 9, own_ns, NULL);
	labels(root, "/nonexistent", got, sizeof(got));
	ck_assert_str_eq(got, "pid:9(own) pid:2");
	remove_tree(root);
}
END_TEST

/* A name under the run directory wins over a PID; the named come before the unnamed. */
START_TEST(names_before_pids)
{
	const char *root = fake_proc();
	char run[4096];
	snprintf(run, sizeof(run), "%s/run", root);
	ck_assert_int_eq(mkdir(run, 0755), 0);
	fake_pid(root, 1, own_ns, "init\n");
	fake_pid(root, 40, other_ns, "web\n");
	char path[4200];
	snprintf(path, sizeof(path), "%s/web2", run);
	ck_assert_int_eq(symlink(other_ns, path), 0);
	snprintf(path, sizeof(path), "%s/web1", run);
	ck_assert_int_eq(symlink(other_ns, path), 0);
	char got[512];
	labels(root, run, got, sizeof(got));
	ck_assert_str_eq(got, "host(own) web1");
	remove_tree(root);
}
END_TEST

int main(void)
{
	other_pid = start_other();
	if (other_pid < 0) {
		puts("skip: cannot create a network namespace");
		return 77;
	}
	snprintf(other_ns, sizeof(other_ns), "/proc/%d/ns/net", (int)other_pid);
	snprintf(own_ns, sizeof(own_ns), "/proc/%d/ns/net", (int)getpid());
	Suite *s = suite_create("netns");
	TCase *tc = tcase_create("labels");
	tcase_add_test(tc, lowest_pid_names_a_namespace);
	tcase_add_test(tc, kthreadd_names_the_host);
	tcase_add_test(tc, names_before_pids);
	suite_add_tcase(s, tc);
	int rc = run_suite(s);
	kill(other_pid, SIGKILL);
	waitpid(other_pid, NULL, 0);
	return rc;
}
