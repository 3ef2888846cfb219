/*
 * TCP lifecycles from BPF tracepoints: the program of
 * src/bpf/lifecycle.bpf.c, loaded from a light skeleton built into the
 * binary, and its ring buffer read into records (lifecycle_records.h).
 * A build without BPF (meson -Dbpf=disabled) says -EOPNOTSUPP when asked
 * to load.  Nothing here prints.
 */
#ifndef PORTVIEW_LIFECYCLE_H
#define PORTVIEW_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

#include "portview/lifecycle_records.h"

struct pv_lifecycle;

struct pv_lifecycle_opts {
	uint64_t only_netns;	       /* the inode of the one namespace to follow; 0: all */
	uint64_t pidns_dev, pidns_ino; /* pids as this PID namespace numbers them; 0: the host's */
};

/*
 * Load the program, attach its tracepoints and map its ring buffer.
 * Returns 0, or a negative errno (-EPERM without CAP_BPF and CAP_PERFMON,
 * -ENOENT or -EINVAL on a kernel without the tracepoints or BTF,
 * -EOPNOTSUPP when built without BPF).
 */
int pv_lifecycle_open(struct pv_lifecycle **out, const struct pv_lifecycle_opts *o);
/* A descriptor that polls readable while records wait. */
int pv_lifecycle_fd(const struct pv_lifecycle *lc);
/*
 * Move up to max waiting records into recs, in the order they were
 * written; returns how many (0: none waits).
 */
size_t pv_lifecycle_read(struct pv_lifecycle *lc, struct pv_lc_rec *recs, size_t max);
/* Records the program could not write (the ring buffer was full), since the open. */
uint64_t pv_lifecycle_lost(const struct pv_lifecycle *lc);
void pv_lifecycle_close(struct pv_lifecycle *lc);

/*
 * The kernel's reason for a reset it sent (enum sk_rst_reason) as a word
 * ("not_specified", "no_socket", "tcp_abort_on_close", ...), or NULL when
 * the number is not one this build knows.
 */
const char *pv_lc_reset_reason(uint32_t reason);

#endif
