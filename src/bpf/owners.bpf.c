// SPDX-License-Identifier: GPL-2.0-only
/*
 * The owners of sockets, from inside the kernel: a task_file iterator that
 * writes, for each file of each task that is a socket, an fd record
 * (tgid, fd, inode), preceded by one task record per task (its process's
 * pid and comm).  Built into a light skeleton (owners_bpf.c loads it).
 *
 * The GPL-compatible licence is not a formality: without it the verifier
 * refuses the program access to struct bpf_iter_meta.
 *
 * The kernel structures are written out here with only the fields read,
 * and relocated by the kernel when the program is loaded (CO-RE), so the
 * program does not depend on one kernel's layout.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "portview/owner_records.h"

#define S_IFMT	 00170000
#define S_IFSOCK 0140000

struct pid_namespace;

struct upid {
	int nr;
	struct pid_namespace *ns;
} __attribute__((preserve_access_index));

struct pid {
	unsigned int level;
	struct upid numbers[1];
} __attribute__((preserve_access_index));

typedef struct {
	unsigned int val;
} kuid_t;

struct cred {
	kuid_t euid;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	struct task_struct *group_leader;
	struct pid *thread_pid;
	const struct cred *cred;
	char comm[16];
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
	__u64 session_id;
	__u64 seq_num;
} __attribute__((preserve_access_index));

struct bpf_iter__task_file {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
	__u32 fd;
	struct file *file;
} __attribute__((preserve_access_index));

char LICENSE[] SEC("license") = "GPL";

/*
 * The task whose record went out last (its kernel-wide thread id, unique
 * among live tasks, and one load away), and its process's pid as the
 * reader sees it.  A full buffer makes the kernel drop the current file's
 * output and run the program again on it at the next read, so these are
 * set only once the write that carried the task record has succeeded.
 */
__s32 announced_task = 0;
__s32 announced_tgid = 0;

/*
 * The number of p in the reader's PID namespace, at level `level`, or 0
 * when p has none there.  numbers[] cannot be indexed by a variable (the
 * verifier refuses the variable offset), so the entry is read by address.
 */
static int pid_nr_at(struct pid *p, unsigned int level, struct pid_namespace *ns)
{
	if (!p || BPF_CORE_READ(p, level) < level)
		return 0;
	struct upid *u = (void *)((char *)p + bpf_core_field_offset(p->numbers) +
				  (__u64)level * bpf_core_type_size(struct upid));
	struct upid entry;
	if (bpf_core_read(&entry.ns, sizeof(entry.ns), &u->ns) ||
	    bpf_core_read(&entry.nr, sizeof(entry.nr), &u->nr))
		return 0;
	return entry.ns == ns ? entry.nr : 0;
}

SEC("iter/task_file")
int pv_owners(struct bpf_iter__task_file *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;

	if (ctx->meta->seq_num == 0)
		announced_task = 0;
	if (!task || !file)
		return 0;
	struct inode *inode = file->f_inode;
	if (!inode || (inode->i_mode & S_IFMT) != S_IFSOCK)
		return 0;

	struct pv_rec_fd fd = {
	    .kind = PV_REC_FD,
	    .fd = (__s32)ctx->fd,
	    .inode = (__u32)inode->i_ino,
	};
	int global_tid = task->pid;
	if (announced_task == global_tid && global_tid) {
		fd.tgid = announced_tgid;
		bpf_seq_write(seq, &fd, sizeof(fd));
		return 0;
	}

	/*
	 * A task not announced yet.  The iterator visits the tasks of the
	 * reader's PID namespace (the one of whoever made the iterator: the
	 * reader, which reads it too); the process's number there is that of
	 * its leader's pid at the reader's level.
	 */
	struct task_struct *me = (struct task_struct *)bpf_get_current_task_btf();
	struct pid *mine = me->thread_pid;
	if (!mine)
		return 0;
	unsigned int level = mine->level;
	struct upid *my_entry = (void *)((char *)mine + bpf_core_field_offset(mine->numbers) +
					 (__u64)level * bpf_core_type_size(struct upid));
	struct pid_namespace *ns = NULL;
	if (bpf_core_read(&ns, sizeof(ns), &my_entry->ns))
		return 0;
	struct task_struct *leader = task->group_leader;
	int tgid = pid_nr_at(leader ? leader->thread_pid : NULL, level, ns);
	int tid = pid_nr_at(task->thread_pid, level, ns);
	if (tgid <= 0 || tid <= 0)
		return 0; /* exiting, or not in the reader's namespace */

	fd.tgid = tgid;
	struct {
		struct pv_rec_task task;
		struct pv_rec_fd fd;
	} both = {
	    .task = {.kind = PV_REC_TASK, .tgid = tgid, .tid = tid},
	    .fd = fd,
	};
	const struct cred *cred = leader->cred;
	if (cred)
		both.task.uid = cred->euid.val;
	bpf_probe_read_kernel(both.task.comm, sizeof(both.task.comm), leader->comm);
	if (bpf_seq_write(seq, &both, sizeof(both)) == 0) {
		announced_task = global_tid;
		announced_tgid = tgid;
	}
	return 0;
}
