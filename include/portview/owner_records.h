/*
 * The records the BPF task_file iterator (src/bpf/owners.bpf.c) writes and
 * owners_bpf.c decodes: shared by both sides, so only <linux/types.h>.
 *
 * For each task with a socket open, a task record then, in the same
 * write, its first socket's fd record; then an fd record per further
 * socket.  Written in the host's byte order.
 */
#ifndef PORTVIEW_OWNER_RECORDS_H
#define PORTVIEW_OWNER_RECORDS_H

#include <linux/types.h>

#define PV_REC_TASK 0x4b534154u /* "TASK" */
#define PV_REC_FD   0x20204446u /* "FD  " */
#define PV_REC_COMM 16		/* TASK_COMM_LEN */

/* A task (thread) that holds sockets: its process as the reader sees it. */
struct pv_rec_task {
	__u32 kind;		/* PV_REC_TASK */
	__s32 tgid;		/* in the reader's PID namespace */
	__s32 tid;		/* the same: tells threads of one process apart */
	__u32 uid;		/* the process's effective uid */
	char comm[PV_REC_COMM]; /* the process's (thread group leader's) */
};

/* One socket descriptor of the task last announced. */
struct pv_rec_fd {
	__u32 kind; /* PV_REC_FD */
	__s32 tgid;
	__s32 fd;
	__u32 inode;
};

#endif
