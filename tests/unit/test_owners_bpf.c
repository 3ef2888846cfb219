/*
 * The BPF iterator's records through the decoder the reads use, and the
 * iterator itself on this process's own socket where it can be loaded.
 */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/owner_records.h"
#include "portview/owners_bpf.h"

/* A record stream, built as the program writes it. */
struct stream {
	unsigned char b[8192];
	size_t n;
};

static void put_task(struct stream *s, int32_t tgid, int32_t tid, const char *comm)
{
	struct pv_rec_task t = {.kind = PV_REC_TASK, .tgid = tgid, .tid = tid, .uid = 1000};
	/* no NUL when 16 long (the kernel always ends it: the decoder may not rely on it) */
	memcpy(t.comm, comm, strlen(comm) < sizeof(t.comm) ? strlen(comm) : sizeof(t.comm));
	ck_assert_uint_le(s->n + sizeof(t), sizeof(s->b));
	memcpy(s->b + s->n, &t, sizeof(t));
	s->n += sizeof(t);
}

static void put_fd(struct stream *s, int32_t tgid, int32_t fd, uint32_t inode)
{
	struct pv_rec_fd f = {.kind = PV_REC_FD, .tgid = tgid, .fd = fd, .inode = inode};
	ck_assert_uint_le(s->n + sizeof(f), sizeof(s->b));
	memcpy(s->b + s->n, &f, sizeof(f));
	s->n += sizeof(f);
}

/*
 * Decode s as the reads do, `chunk` bytes at a time (the tail of a cut
 * record carried over); returns what the finish said.
 */
static int decode(const struct stream *s, size_t chunk, struct pv_scan_part *out,
		  struct pv_bpf_decoder *d)
{
	unsigned char buf[8192 + 64];
	size_t have = 0, fed = 0;
	memset(out, 0, sizeof(*out));
	pv_bpf_decoder_init(d, out);
	while (fed < s->n) {
		size_t n = s->n - fed < chunk ? s->n - fed : chunk;
		memcpy(buf + have, s->b + fed, n);
		fed += n;
		have += n;
		size_t used;
		int err = pv_bpf_decode(d, buf, have, &used);
		if (err)
			return err;
		ck_assert_uint_le(used, have);
		memmove(buf, buf + used, have - used);
		have -= used;
	}
	return pv_bpf_decoder_finish(d, have);
}

static void part_free(struct pv_scan_part *p)
{
	free(p->fds);
	free(p->procs);
}

/* The owners of inode, as "pid/fd" words in the join's order. */
static const char *owners_of(const struct pv_scan_part *p, uint32_t inode, char *out, size_t cap)
{
	struct pv_owner_table t;
	pv_owners_init(&t, 4);
	pv_owners_want(&t, inode);
	pv_owners_join(&t, p, 1);
	uint32_t first, count;
	pv_owners_lookup(&t, inode, &first, &count);
	size_t n = 0;
	out[0] = '\0';
	for (uint32_t i = 0; i < count; i++) {
		const struct pv_owner *o = &t.owners[first + i];
		const struct pv_process *pr = &t.procs[o->proc];
		ck_assert_int_eq(pr->pid, o->pid);
		n += (size_t)snprintf(out + n, cap - n, "%s%d/%d/%.*s", i ? " " : "", o->pid, o->fd,
				      (int)pr->comm_len, pr->comm);
	}
	pv_owners_free(&t);
	return out;
}

/*
 * nginx 100: fds 3 (inode 1000) and 4 (2000); its child 200 holds 1000 as
 * fd 7; "a-name-of-16-ch" with its 16th byte not a NUL.
 */
static void two_processes(struct stream *s)
{
	memset(s, 0, sizeof(*s));
	put_task(s, 100, 100, "nginx");
	put_fd(s, 100, 3, 1000);
	put_fd(s, 100, 4, 2000);
	put_task(s, 200, 200, "nginx");
	put_fd(s, 200, 7, 1000);
	put_task(s, 300, 300, "a-name-of-16-chX");
	put_fd(s, 300, 9, 3000);
}

START_TEST(decodes_tasks_and_fds)
{
	struct stream s;
	struct pv_scan_part p;
	struct pv_bpf_decoder d;
	char buf[256];
	two_processes(&s);
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), 0);
	ck_assert_uint_eq(d.tasks, 3);
	ck_assert_uint_eq(d.fds, 4);
	ck_assert_uint_eq(d.repeats, 0);
	ck_assert_uint_eq(p.nprocs, 3);
	ck_assert_uint_eq(p.procs[0].uid, 1000);
	ck_assert_uint_eq(p.procs[2].comm_len, 16);
	ck_assert(!(p.unseen & PV_UNSEEN_DENIED));
	ck_assert_str_eq(owners_of(&p, 1000, buf, sizeof(buf)), "100/3/nginx 200/7/nginx");
	ck_assert_str_eq(owners_of(&p, 2000, buf, sizeof(buf)), "100/4/nginx");
	ck_assert_str_eq(owners_of(&p, 3000, buf, sizeof(buf)), "300/9/a-name-of-16-chX");
	pv_bpf_decoder_free(&d);
	part_free(&p);
}
END_TEST

/* Reads cut records anywhere: every chunk size gives the same owners. */
START_TEST(records_cut_by_reads)
{
	struct stream s;
	char want[3][256], got[256];
	two_processes(&s);
	struct pv_scan_part p;
	struct pv_bpf_decoder d;
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), 0);
	uint32_t inodes[3] = {1000, 2000, 3000};
	for (int i = 0; i < 3; i++)
		owners_of(&p, inodes[i], want[i], sizeof(want[i]));
	pv_bpf_decoder_free(&d);
	part_free(&p);
	for (size_t chunk = 1; chunk <= s.n; chunk++) {
		ck_assert_msg(decode(&s, chunk, &p, &d) == 0, "chunk %zu", chunk);
		ck_assert_uint_eq(d.fds, 4);
		for (int i = 0; i < 3; i++)
			ck_assert_msg(
			    strcmp(owners_of(&p, inodes[i], got, sizeof(got)), want[i]) == 0,
			    "chunk %zu: inode %u: %s, not %s", chunk, inodes[i], got, want[i]);
		pv_bpf_decoder_free(&d);
		part_free(&p);
	}
}
END_TEST

/*
 * Threads of one process announced one by one (its leader has exited, or
 * a thread unshared its table, which starts as a copy): each (fd, inode)
 * once, what differs kept; other processes untouched.
 */
START_TEST(threads_sharing_a_table_repeat_nothing)
{
	struct stream s = {.n = 0};
	struct pv_scan_part p;
	struct pv_bpf_decoder d;
	char buf[256];
	put_task(&s, 100, 101, "worker");
	put_fd(&s, 100, 3, 1000);
	put_fd(&s, 100, 4, 2000);
	put_task(&s, 50, 50, "other");
	put_fd(&s, 50, 3, 1000);
	put_fd(&s, 50, 3, 1000); /* kept by the decoder; the join counts (pid, fd) once */
	put_task(&s, 100, 102, "worker");
	put_fd(&s, 100, 3, 1000);
	put_fd(&s, 100, 4, 2000);
	put_task(&s, 100, 103, "worker");
	put_fd(&s, 100, 4, 2000);
	put_fd(&s, 100, 5, 2000); /* its own table: a new fd, same socket */
	put_fd(&s, 100, 4, 3000); /* fd 4 is another socket in this table */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), 0);
	ck_assert_uint_eq(p.nprocs, 2);
	ck_assert_uint_eq(d.tasks, 4);
	ck_assert_uint_eq(d.repeats, 3);
	ck_assert_str_eq(owners_of(&p, 1000, buf, sizeof(buf)), "50/3/other 100/3/worker");
	ck_assert_str_eq(owners_of(&p, 2000, buf, sizeof(buf)), "100/4/worker 100/5/worker");
	ck_assert_str_eq(owners_of(&p, 3000, buf, sizeof(buf)), "100/4/worker");
	pv_bpf_decoder_free(&d);
	part_free(&p);
}
END_TEST

START_TEST(bad_records_refused)
{
	struct stream s;
	struct pv_scan_part p;
	struct pv_bpf_decoder d;

	s = (struct stream){.n = 0};
	put_fd(&s, 100, 3, 1000); /* before any task */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 0};
	put_task(&s, 100, 100, "a");
	put_fd(&s, 101, 3, 1000); /* not the task announced */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 0};
	put_task(&s, 0, 100, "a"); /* no pid in the reader's namespace */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 0};
	put_task(&s, 100, 100, "a");
	put_fd(&s, 100, 3, 0); /* no inode */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 0};
	put_task(&s, 100, 100, "a");
	put_fd(&s, 100, -1, 1000); /* no fd */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 4};
	memcpy(s.b, "JUNK", 4); /* no kind of record */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	pv_bpf_decoder_free(&d);
	part_free(&p);

	s = (struct stream){.n = 0};
	put_task(&s, 100, 100, "a");
	put_fd(&s, 100, 3, 1000);
	s.n -= 1; /* the stream ends inside a record */
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), -EBADMSG);
	ck_assert_uint_eq(d.fds, 0);
	pv_bpf_decoder_free(&d);
	part_free(&p);
}
END_TEST

/* Many processes: the pid table grows and keeps every one. */
START_TEST(many_processes)
{
	static struct stream s;
	struct pv_scan_part p;
	struct pv_bpf_decoder d;
	s.n = 0;
	for (int32_t pid = 1; pid <= 150; pid++) {
		put_task(&s, pid, pid, "p");
		put_fd(&s, pid, 3, (uint32_t)(10000 + pid));
	}
	/* a second thread of each tenth, with the same table */
	for (int32_t pid = 10; pid <= 150; pid += 10) {
		put_task(&s, pid, pid + 1000, "p");
		put_fd(&s, pid, 3, (uint32_t)(10000 + pid));
	}
	ck_assert_int_eq(decode(&s, sizeof(s.b), &p, &d), 0);
	ck_assert_uint_eq(p.nprocs, 150);
	ck_assert_uint_eq(p.nfds, 150);
	ck_assert_uint_eq(d.repeats, 15);
	for (size_t i = 0; i < p.nfds; i++) {
		ck_assert_int_eq(p.procs[p.fds[i].proc].pid, p.fds[i].pid);
		ck_assert_uint_eq(p.fds[i].inode, (uint32_t)(10000 + p.fds[i].pid));
	}
	pv_bpf_decoder_free(&d);
	part_free(&p);
}
END_TEST

/*
 * The iterator, where this process may load it (root, as in CI); NULL
 * elsewhere, after checking that the open failed cleanly.
 */
static struct pv_bpf_iter *open_iterator(void)
{
	struct pv_bpf_iter *it;
	int err = pv_bpf_iter_open(&it);
	if (err) {
		ck_assert_msg(err == -EPERM || err == -EOPNOTSUPP || !pv_bpf_capable(),
			      "capable, but the iterator failed: %s", strerror(-err));
		return NULL;
	}
	return it;
}

/*
 * The iterator on this process's own socket, where this process may load
 * it (root, as in CI); elsewhere the open must fail cleanly.
 */
START_TEST(iterator_finds_own_socket)
{
	struct pv_bpf_iter *it = open_iterator();
	if (!it)
		return;
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	ck_assert_int_ge(s, 0);
	struct stat st;
	ck_assert_int_eq(fstat(s, &st), 0);
	struct pv_scan_part p = {0};
	struct pv_bpf_stats stats;
	ck_assert_int_eq(pv_bpf_iter_read(it, &p, &stats), 0);
	pv_bpf_iter_close(it);
	ck_assert_uint_ge(stats.reads, 1);
	int found = 0;
	for (size_t i = 0; i < p.nfds; i++)
		if (p.fds[i].inode == (uint32_t)st.st_ino) {
			ck_assert_int_eq(p.fds[i].pid, getpid());
			ck_assert_int_eq(p.fds[i].fd, s);
			found++;
		}
	ck_assert_int_eq(found, 1);
	part_free(&p);
	close(s);
}
END_TEST

/*
 * 800 processes holding one socket each: the program writes each
 * process's header and its first descriptor as one 48-byte record, so
 * their 38 KB are more than the kernel's 32 KiB read and one read ends
 * among them; the record that did not fit must come again whole, header
 * and all, at the start of the next read (each socket with its own
 * process's PID).  The children are sleep(1) processes holding the socket.
 * Not under valgrind (owners_bpf_valgrind sets PV_TEST_UNDER_VALGRIND):
 * it makes each spawn a fork of itself, half a minute for 800.
 */
#define CROWD 800

START_TEST(every_process_across_reads)
{
	if (getenv("PV_TEST_UNDER_VALGRIND"))
		return;
	struct pv_bpf_iter *it = open_iterator();
	if (!it)
		return;
	static pid_t pids[CROWD];
	static uint32_t inodes[CROWD];
	int n = 0;
	for (; n < CROWD; n++) {
		int s = socket(AF_INET, SOCK_DGRAM, 0); /* inherited through exec */
		ck_assert_int_ge(s, 0);
		struct stat st;
		ck_assert_int_eq(fstat(s, &st), 0);
		inodes[n] = (uint32_t)st.st_ino;
		/* posix_spawn: a fork of this process would copy its page tables each time */
		char *argv[] = {"sleep", "300", NULL};
		ck_assert_int_eq(posix_spawn(&pids[n], "/bin/sleep", NULL, NULL, argv, environ), 0);
		close(s);
	}
	struct pv_scan_part p = {0};
	struct pv_bpf_stats stats;
	int err = pv_bpf_iter_read(it, &p, &stats);
	pv_bpf_iter_close(it);
	/* The children are put away before any assertion can end the test. */
	for (int i = 0; i < n; i++)
		kill(pids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(pids[i], NULL, 0);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_ge(stats.reads, 2);
	int wrong = 0, first_wrong = -1;
	for (int i = 0; i < n; i++) {
		int found = 0, right = 0;
		for (size_t j = 0; j < p.nfds; j++)
			if (p.fds[j].inode == inodes[i]) {
				found++;
				right += p.fds[j].pid == pids[i];
			}
		if (found != 1 || right != 1) {
			wrong++;
			if (first_wrong < 0)
				first_wrong = i;
		}
	}
	ck_assert_msg(wrong == 0,
		      "%d of %d children's sockets not once with their own PID "
		      "(the first: child %d, PID %d, inode %u), over %zu reads",
		      wrong, n, first_wrong, first_wrong >= 0 ? (int)pids[first_wrong] : 0,
		      first_wrong >= 0 ? inodes[first_wrong] : 0, stats.reads);
	part_free(&p);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("owners_bpf");
	TCase *tc = tcase_create("decoder");
	/* 800 processes spawned: seconds on a machine busy with other tests, not check's 4 */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, decodes_tasks_and_fds);
	tcase_add_test(tc, records_cut_by_reads);
	tcase_add_test(tc, threads_sharing_a_table_repeat_nothing);
	tcase_add_test(tc, bad_records_refused);
	tcase_add_test(tc, many_processes);
	tcase_add_test(tc, iterator_finds_own_socket);
	tcase_add_test(tc, every_process_across_reads);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
