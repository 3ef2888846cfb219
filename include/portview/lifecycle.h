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

struct pv_query;

struct pv_lifecycle_opts {
	uint64_t only_netns;	       /* the inode of the one namespace to follow; 0: all */
	uint64_t pidns_dev, pidns_ino; /* pids as this PID namespace numbers them; 0: the host's */
	/*
	 * The listing's query, or NULL: the program then writes only the
	 * records whose states and ports it keeps (pv_lc_batch_build still
	 * applies all of it), and every listener's open and close.
	 */
	const struct pv_query *q;
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

/* ---- records into rows ----------------------------------------------- */

#include <stdbool.h>

#include "portview/owners.h"
#include "portview/query.h"
#include "portview/services.h"
#include "portview/sock.h"
#include "portview/util.h"
#include "portview/view.h"

/* What the last dump says, for the owners the records do not carry. */
struct pv_lc_known {
	const struct pv_view *view; /* NULL: no dump yet */
	const struct pv_idmap *at;  /* cookie -> row of view */
	const uint32_t *listeners;  /* the rows of view that are TCP listeners */
	size_t nlisteners;
};

/* What a batch is made with. */
struct pv_lc_ctx {
	const struct pv_query *q;
	const struct pv_services *svc;
	const struct pv_view_netns *places; /* the run's namespaces (their inodes) */
	size_t nplaces;
	bool all; /* --all-netns: a namespace made since the start is followed too */
	struct pv_lc_known known;
};

/* A listener seen opening, for the connections it accepts. */
struct pv_lc_listener {
	uint64_t cookie, netns;
	uint8_t family;
	uint8_t addr[16];
	uint16_t port;
	int32_t pid;
	char comm[PV_LC_COMM];
};

/* Per row of a batch: its record, and the socket's inode when the dump knew it (else 0). */
struct pv_lc_event {
	struct pv_lc_rec rec;
	uint32_t inode;
};

/*
 * The records of one read made into rows of a view, as a dump's are: a
 * row per record the query keeps (the state shown: the new one, or the
 * last before a close), its namespace, and its owners: the task the
 * record names (connect(), listen()), else the listener's for an accepted
 * connection, else the dump's for a socket it knew.
 */
struct pv_lc_batch {
	struct pv_socklist l;
	struct pv_lc_event *ev; /* per record of l */
	size_t cap;
	struct pv_scan_part part; /* the owners named */
	struct pv_view view;
	bool has_view;
	/* the places, then the namespaces met since (labelled "net:[INODE]") */
	struct pv_view_netns *ns;
	size_t nns, capns;
	char (*labels)[32];
	size_t nlabels;
	/* the listeners the records opened since the start (listen()'s task) */
	struct pv_lc_listener *lst;
	size_t nlst, caplst;
};

void pv_lc_batch_init(struct pv_lc_batch *b);
/* Make b the rows of recs[0..n) (what it held before is dropped). */
void pv_lc_batch_build(struct pv_lc_batch *b, const struct pv_lc_ctx *c,
		       const struct pv_lc_rec *recs, size_t n);
void pv_lc_batch_free(struct pv_lc_batch *b);
/* The rows of l that are TCP listeners, for pv_lc_known (to be freed). */
uint32_t *pv_lc_listeners(const struct pv_socklist *l, size_t *n);

#endif
