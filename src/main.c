/*
 * portview: who is talking on which port.
 *
 * main() runs the pipeline: request (cli.c) -> snapshot (the kernel's
 * dumps, snapshot.h) -> view (owners, names, annotations, view.h) ->
 * render (render.h), with the summary (summary.h) between view and render
 * for -s, and turns failures into messages and exit codes; the runs that
 * go on (an interval, --events) are watch_run.c's.  Only the program
 * (main.c, cli.c, watch_run.c) prints diagnostics, and only main() exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/netns.h"
#include "portview/owners.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/state.h"
#include "portview/sort.h"
#include "portview/summary.h"
#include "portview/view.h"

/* Write what is left of the output (a sink has written the rest). */
int pv_write_out(struct pv_buf *out, bool *gone)
{
	int err = out->fd >= 0 ? pv_buf_flush(out) : pv_buf_write(out, STDOUT_FILENO);
	out->len = 0;
	/* A reader that went away (| head) wanted no more: not an error. */
	if (err == -EPIPE && gone)
		*gone = true;
	if (err && err != -EPIPE) {
		fprintf(stderr, "portview: cannot write output: %s\n", strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/* PORTVIEW_DEBUG's line for one dump. */
static void debug_dump(const struct pv_dump_report *r)
{
	static const char *const fam[] = {[AF_UNSPEC] = "", [AF_INET] = "v4", [AF_INET6] = "v6"};
	fprintf(stderr,
		"portview: debug: %s%s dump: %zu sockets in %zu datagrams (%zu bytes), "
		"states 0x%x, filter program %zu bytes, hash buckets %u, tail %u of %u "
		"needed, walks again %zu, slices %zu (%zu split%s), boundary records "
		"checked %zu (%ld gone), second pass %s, %zu more, bind hash %s\n",
		pv_proto_name(r->proto), fam[r->family], r->sockets, r->datagrams, r->bytes,
		r->states, r->program_len, r->buckets, r->tail, r->needed, r->walks_again,
		r->slices, r->split, r->incomplete ? ", incomplete" : "", r->checked, r->gone,
		r->second, r->sockets - r->first, r->bound);
}

int pv_open_snapshotter(struct pv_snapshotter **s)
{
	int err = pv_snapshotter_open(s);
	if (err) {
		fprintf(stderr, "portview: cannot open a netlink sock_diag socket: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

/*
 * Take a snapshot of q with s (NULL: a snapshotter opened for it) and say
 * what the run should know of it: the debug lines, a protocol the kernel
 * cannot list (once each, unless quiet), a failure.  Returns an exit
 * status.
 */
static int take(const struct pv_request *req, struct pv_snapshotter *s, const struct pv_query *q,
		const struct pv_netns_facts *ns, unsigned keeps, bool quiet, struct pv_socklist *l)
{
	struct pv_snapshotter *own = NULL;
	struct pv_snapshot_report rep;
	if (!s) {
		int status = pv_open_snapshotter(&own);
		if (status != EXIT_OK)
			return status;
		s = own;
	}
	int err = pv_snapshot_take(s, q, ns, &req->dump, keeps, l, &rep);
	pv_snapshotter_close(own);
	bool warned[256] = {false};
	for (size_t i = 0; i < rep.ndumps; i++) {
		const struct pv_dump_report *r = &rep.dumps[i];
		if (req->debug)
			debug_dump(r);
		if (r->err && !warned[r->proto] && !quiet &&
		    (!err || r->proto != rep.failed_proto)) {
			fprintf(stderr,
				"portview: warning: the kernel cannot list %s sockets (%s); "
				"skipped\n",
				pv_proto_name(r->proto), strerror(-r->err));
			warned[r->proto] = true;
		}
	}
	if (err) {
		fprintf(stderr, "portview: %s socket dump failed: %s\n",
			pv_proto_name(rep.failed_proto),
			err == -EBADMSG ? "malformed reply from the kernel" : strerror(-err));
		return EXIT_RUNTIME;
	}
	if (req->debug && rep.repeats)
		fprintf(stderr, "portview: debug: %zu repeated sockets dropped\n", rep.repeats);
	return EXIT_OK;
}

/* take() inside place p's namespace, with its snapshotter when it keeps one. */
static int take_in(const struct pv_request *req, const struct pv_query *q, const struct place *p,
		   unsigned keeps, bool quiet, struct pv_socklist *l)
{
	int saved = -1;
	if (p->ns.fd >= 0 && !p->ns.own) {
		int err = pv_netns_enter(&p->ns, &saved);
		if (err) {
			fprintf(stderr, "portview: cannot enter network namespace %s: %s\n",
				p->label, strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	int status = take(req, p->snap, q, &p->facts, keeps, quiet, l);
	if (saved >= 0 && pv_netns_leave(saved) < 0) {
		fprintf(stderr, "portview: cannot go back to portview's network namespace\n");
		return EXIT_RUNTIME;
	}
	return status;
}

/* PORTVIEW_OWNERS=bpf, and the iterator could not be used. */
static void owners_failed(int err)
{
	fprintf(stderr, "portview: PORTVIEW_OWNERS=bpf: cannot use the BPF iterator: %s%s\n",
		err == -EBADMSG ? "malformed records from the kernel" : strerror(-err),
		err == -EPERM	     ? " (it needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"
		: err == -EOPNOTSUPP ? " (built without it: meson -Dbpf)"
				     : "");
}

/* PORTVIEW_DEBUG's line for the owners: which path ran, and its time. */
static void debug_owners(const struct pv_scan *scan)
{
	struct pv_scan_report r;
	pv_scan_report(scan, &r);
	if (r.used == PV_OWNERS_BPF) {
		fprintf(stderr,
			"portview: debug: owners: bpf iterator: loaded in %.1f ms, all found at "
			"%.1f ms; %zu reads (%zu bytes), %zu task and %zu fd records, %zu "
			"repeats dropped, %zu processes\n",
			r.load_ms, r.ready_ms, r.reads, r.bytes, r.tasks, r.fds, r.repeats,
			r.processes);
		return;
	}
	fprintf(stderr, "portview: debug: owners: /proc walk: all found at %.1f ms; %zu processes",
		r.ready_ms, r.processes);
	if (r.bpf_tried)
		fprintf(stderr, " (bpf iterator failed: %s)\n",
			r.bpf_err == -EBADMSG ? "malformed records" : strerror(-r.bpf_err));
	else
		fputs(" (bpf iterator not tried)\n", stderr);
}

/*
 * The one line that says some owners are unknown, and why: other users'
 * processes that /proc hides or will not show, else processes outside the
 * PID namespace that /proc shows.
 */
static void note_unseen(uint8_t unseen)
{
	if (unseen & PV_UNSEEN_HIDEPID)
		fputs("portview: owners of other users' sockets could not be identified "
		      "(/proc is mounted with hidepid; run as root to see them all)\n",
		      stderr);
	else if (unseen & PV_UNSEEN_DENIED)
		fputs("portview: owners of other users' sockets could not be identified "
		      "(run as root to see them all)\n",
		      stderr);
	else if (unseen)
		fputs("portview: owners outside this PID namespace could not be identified "
		      "(its /proc shows only its own processes)\n",
		      stderr);
}

/* --pid and --command: whether one of the socket's owners is named. */
struct owner_filter {
	const struct pv_query *q;
	const struct pv_view *view;
};

static bool owner_named(const struct pv_sock *s, const void *arg)
{
	const struct owner_filter *f = arg;
	const struct pv_owner_table *t = &f->view->owners;
	uint32_t first, count;
	pv_owners_lookup(t, s->inode, &first, &count);
	for (uint32_t i = 0; i < count; i++) {
		const struct pv_owner *o = &t->owners[first + i];
		const struct pv_process *p = &t->procs[o->proc];
		if (pv_query_owner_matches(f->q, o->pid, p->comm, p->comm_len))
			return true;
	}
	return false;
}

int pv_places_open_snapshotters(struct places *P)
{
	for (size_t i = 0; i < P->n; i++) {
		struct place *p = &P->v[i];
		int saved = -1, status;
		if (p->ns.fd >= 0 && !p->ns.own && pv_netns_enter(&p->ns, &saved) < 0) {
			fprintf(stderr, "portview: cannot enter network namespace %s\n", p->label);
			return EXIT_RUNTIME;
		}
		/* a netlink socket stays in the namespace it was opened in */
		status = pv_open_snapshotter(&p->snap);
		if (saved >= 0 && pv_netns_leave(saved) < 0) {
			fprintf(stderr,
				"portview: cannot go back to portview's network namespace\n");
			return EXIT_RUNTIME;
		}
		if (status != EXIT_OK)
			return status;
	}
	return EXIT_OK;
}

int pv_gather(const struct pv_request *req, const struct pv_query *q, const struct pv_services *svc,
	      const struct places *P, bool quiet, struct pv_socklist *l, struct pv_view *view)
{
	bool want_owners = pv_request_wants_owners(req);
	struct pv_scan *scan = NULL;

	pv_view_init(view, l, svc, &P->v[0].facts.ephemeral);
	pv_view_set_netns(view, P->vn, P->n);
	if (req->table.unit || req->json)
		pv_view_want_units(view, req->proc_root);
	/*
	 * The /proc walk does not depend on the dump: start it on a second
	 * thread now, and let this thread join it once the dump is parsed.
	 */
	if (want_owners) {
		int err = pv_scan_start(&scan, req->proc_root, req->owners, true);
		if (err && req->owners == PV_OWNERS_BPF) {
			owners_failed(err);
			return EXIT_RUNTIME;
		}
		if (err) {
			fprintf(stderr, "portview: cannot read %s: %s\n", req->proc_root,
				strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	/* Queues, timers and the interface: only -e and JSON show them; tcp_info, -i. */
	int status = EXIT_OK;
	unsigned info = req->info ? PV_KEEP_INFO : 0;
	if (!P->multi) {
		status = take_in(
		    req, q, &P->v[0],
		    (req->table.extended || req->json || req->table.unit ? PV_KEEP_MORE : 0) | info,
		    quiet, l);
	} else {
		/* Each namespace's snapshot, its records marked with its index. */
		struct pv_socklist one;
		struct pv_sock s;
		l->keep_info = req->info;
		for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
			pv_socklist_init(&one);
			status = take_in(req, q, &P->v[i], PV_KEEP_MORE | info, quiet, &one);
			for (size_t r = 0; r < one.n && status == EXIT_OK; r++) {
				pv_socklist_get(&one, r, &s);
				s.netns = (uint32_t)i;
				pv_socklist_add(l, &s);
			}
			pv_socklist_free(&one);
		}
	}
	if (want_owners) {
		int err = pv_scan_finish(scan);
		if (req->debug)
			debug_owners(scan);
		if (err) {
			owners_failed(err);
			pv_scan_free(scan);
			return EXIT_RUNTIME;
		}
		size_t nparts;
		const struct pv_scan_part *parts = pv_scan_parts(scan, &nparts);
		if (status == EXIT_OK) {
			uint8_t unseen = pv_view_join_owners(view, parts, nparts);
			if (!quiet)
				note_unseen(unseen);
		}
		pv_scan_free(scan);
	}
	if (status == EXIT_OK && pv_query_by_owner(q)) {
		struct owner_filter f = {q, view};
		pv_socklist_filter(l, owner_named, &f);
	}
	return status;
}

static const char *plural(size_t n, const char *one, const char *more)
{
	return n == 1 ? one : more;
}

/*
 * An empty listing on a terminal: one line on stderr saying so, and what
 * the same filters find in the states the selection left out.
 */
static void say_empty(const struct pv_request *req, const struct pv_services *svc,
		      const struct places *P)
{
	const struct pv_query *q = &req->query;
	bool listening_only = q->states == (PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE));
	bool connections_only = q->states == PV_STATES_CONNECTED;
	const char *none = listening_only     ? "no listening sockets"
			   : connections_only ? "no connections"
					      : "no sockets in the states asked for";
	size_t listeners = 0, others = 0;
	struct pv_socklist l;
	struct pv_view view;
	pv_socklist_init(&l);
	if (q->states != PV_STATES_ALL &&
	    pv_gather(req, &req->wider, svc, P, true, &l, &view) == EXIT_OK) {
		for (size_t i = 0; i < l.n; i++) {
			const struct pv_rec *r = &l.v[i];
			bool listener = r->state == PV_TCP_LISTEN ||
					(r->proto == IPPROTO_UDP && r->state == PV_TCP_CLOSE);
			listeners += listener;
			others += !listener;
		}
	}
	if (q->states != PV_STATES_ALL)
		pv_view_free(&view);
	pv_socklist_free(&l);
	if (connections_only && listeners)
		fprintf(stderr, "portview: %s; %zu listening %s: add -a\n", none, listeners,
			plural(listeners, "socket matches", "sockets match"));
	else if (listening_only && others)
		fprintf(stderr, "portview: %s; %zu %s: add -a\n", none, others,
			plural(others, "connection matches", "connections match"));
	else if (!connections_only && !listening_only && listeners + others)
		fprintf(stderr, "portview: %s; %zu in other states %s: add --state all\n", none,
			listeners + others, plural(listeners + others, "matches", "match"));
	else
		fprintf(stderr, "portview: %s\n",
			q->states == PV_STATES_ALL ? "no sockets match" : none);
}

/* The listing: snapshot, view, order, render. */
static int list_sockets(const struct pv_request *req, const struct pv_services *svc,
			const struct places *P, struct pv_buf *out)
{
	struct pv_socklist l;
	struct pv_view view;
	pv_socklist_init(&l);
	int status = pv_gather(req, &req->query, svc, P, false, &l, &view);
	if (status == EXIT_OK) {
		if (!req->table.numeric && !req->json)
			pv_view_resolve_names(&view, PV_RESOLVE_TIMEOUT_MS);
		if (req->order.n)
			pv_socklist_sort_by(&l, &req->order, view.has_owners ? &view.owners : NULL,
					    NULL);
		if (req->json)
			pv_render_json(out, &view);
		else
			pv_render_table(out, &view, &req->table);
	}
	pv_view_free(&view);
	bool empty = status == EXIT_OK && l.n == 0;
	pv_socklist_free(&l);
	if (empty && req->mode == PV_MODE_LIST && !req->json && isatty(STDOUT_FILENO)) {
		/* the header first, then the line that says why it has no rows */
		if (out->fd >= 0)
			pv_buf_flush(out);
		say_empty(req, svc, P);
	}
	return status;
}

static int run_list(const struct pv_request *req, const struct pv_services *svc,
		    const struct places *P)
{
	struct pv_buf out;
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = list_sockets(req, svc, P, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}

/* --all-netns with --ranges or -s, text: which namespace the next table is of. */
static void place_heading(struct pv_buf *out, const struct place *p)
{
	pv_buf_puts(out, "\nNetwork namespace ");
	pv_escape_text(out, p->label, strlen(p->label));
	pv_buf_putc(out, '\n');
}

/* ... and JSON: each namespace's document as {"netns": ..., KEY: ...}. */
static void place_json_open(struct pv_buf *out, const struct places *P, size_t i, const char *key)
{
	const struct place *p = &P->v[i];
	pv_buf_puts(out, i ? ",\n{\"netns\": " : "[\n{\"netns\": ");
	pv_buf_printf(out, "{\"inode\": %llu, \"name\": ", (unsigned long long)p->ns.ino);
	if (p->ns.name[0])
		pv_json_string(out, p->ns.name, strlen(p->ns.name));
	else
		pv_buf_puts(out, "null");
	pv_buf_printf(out, "}, \"%s\": ", key);
}

static int ranges_in(const struct pv_request *req, const struct place *place, struct pv_buf *out)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	const struct pv_ephemeral *e = &place->facts.ephemeral;
	struct pv_socklist l;

	pv_socklist_init(&l);
	int status = take_in(req, &req->query, place, 0, false, &l);
	if (status != EXIT_OK) {
		pv_socklist_free(&l);
		return status;
	}
	struct pv_range_use rows[4];
	size_t n = 0;
	for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
		if (!pv_query_wants_proto(&req->query, protos[p]))
			continue;
		rows[n++] = (struct pv_range_use){
		    .proto = protos[p],
		    .known = e->known,
		    .start = e->lo,
		    .count = e->known ? (uint32_t)(e->hi - e->lo + 1) : 0,
		    .reserved = (int32_t)e->nreserved,
		    .in_use = e->known ? pv_ports_in_use(&l, protos[p], e->lo, e->hi, e) : 0,
		};
		rows[n++] = (struct pv_range_use){
		    .proto = protos[p],
		    .iana = true,
		    .known = true,
		    .start = PV_IANA_DYNAMIC_LO,
		    .count = PV_IANA_DYNAMIC_HI - PV_IANA_DYNAMIC_LO + 1,
		    .reserved = -1,
		    .in_use = pv_ports_in_use(&l, protos[p], PV_IANA_DYNAMIC_LO, PV_IANA_DYNAMIC_HI,
					      NULL),
		};
	}
	pv_socklist_free(&l);
	if (req->json)
		pv_render_ranges_json(out, rows, n);
	else
		pv_render_ranges(out, rows, n);
	return EXIT_OK;
}

static int run_ranges(const struct pv_request *req, const struct places *P)
{
	struct pv_buf out;
	pv_buf_init(&out);
	int status = EXIT_OK;
	for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
		if (P->multi && req->json)
			place_json_open(&out, P, i, "ranges");
		else if (P->multi)
			place_heading(&out, &P->v[i]);
		status = ranges_in(req, &P->v[i], &out);
		if (P->multi && req->json)
			pv_buf_puts(&out, i + 1 == P->n ? "}\n]\n" : "}");
	}
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Say which destination tripped --fail-on-pressure, for cron mail and logs. */
static void pressure_note(const struct pv_pressure_group *g, int pct, const char *where)
{
	char laddr[INET6_ADDRSTRLEN], remote[PV_ENDPOINT_MAX];
	struct pv_endpoint ep = {.port = g->rport};
	memcpy(ep.addr, g->raddr, sizeof(ep.addr));
	inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
	pv_format_endpoint(remote, g->family, &ep, 0, NULL);
	fprintf(stderr,
		"portview: %s%s%s %s -> %s uses %u of %u ephemeral ports, more than "
		"--fail-on-pressure %d%%\n",
		where ? where : "", where ? ": " : "", pv_proto_name(g->proto), laddr, remote,
		g->in_use, g->available, pct);
}

/*
 * -s: every socket of one snapshot with its owners, added up (summary.c),
 * then rendered as text, JSON or metrics; exit 3 when a destination is
 * above --fail-on-pressure.
 */
static int run_summary(const struct pv_request *req, const struct pv_services *svc,
		       const struct places *P)
{
	struct timespec t0;
	struct pv_buf out;
	int status = EXIT_OK, pressure = EXIT_OK;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pv_buf_init(&out);
	/* One summary per namespace: the pressure is a namespace's own. */
	for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
		struct places one = {.v = &P->v[i], .n = 1, .vn = &P->vn[i]};
		struct pv_socklist l;
		struct pv_view view;
		pv_socklist_init(&l);
		status = pv_gather(req, &req->query, svc, &one, false, &l, &view);
		if (status == EXIT_OK) {
			struct pv_summary sum;
			pv_summary_build(&sum, &view);
			if (P->multi && req->json)
				place_json_open(&out, P, i, "summary");
			else if (P->multi)
				place_heading(&out, &P->v[i]);
			if (req->metrics) {
				pv_render_summary_metrics(&out, &sum, seconds_since(&t0));
			} else if (req->json) {
				pv_render_summary_json(&out, &sum);
			} else {
				struct pv_summary_opts o = {.color = req->table.color};
				pv_render_summary(&out, &sum, &o);
			}
			if (P->multi && req->json)
				pv_buf_puts(&out, i + 1 == P->n ? "}\n]\n" : "}");
			const struct pv_pressure_group *g =
			    req->fail_on_pressure >= 0
				? pv_summary_over(&sum, (unsigned)req->fail_on_pressure)
				: NULL;
			if (g && pressure == EXIT_OK) {
				pressure_note(g, req->fail_on_pressure,
					      P->multi ? P->v[i].label : NULL);
				pressure = EXIT_PRESSURE;
			}
			pv_summary_free(&sum);
		}
		pv_view_free(&view);
		pv_socklist_free(&l);
	}
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status == EXIT_OK ? pressure : status;
}

/* --lookup: the registry's answer, then the sockets using the ports. */
static int run_lookup(const struct pv_request *req, const struct pv_services *svc,
		      const struct places *P)
{
	struct pv_buf out;
	pv_buf_init(&out);
	/* whether the port is ephemeral: in the first (portview's own) namespace */
	pv_render_lookup(&out, req->lookup.ports, req->lookup.nports, &P->v[0].facts.ephemeral);
	int status = EXIT_OK;
	if (req->lookup_sockets)
		status = list_sockets(req, svc, P, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}

/* A place's facts, read inside its namespace; false when it cannot be entered. */
static int load_place(const struct pv_request *req, struct place *p)
{
	int saved = -1, err = 0;
	if (p->ns.fd >= 0 && !p->ns.own && (err = pv_netns_enter(&p->ns, &saved)) < 0)
		return err;
	pv_netns_facts_load(&p->facts, req->sysctl_dir, req->proc_root);
	if (saved >= 0 && pv_netns_leave(saved) < 0)
		return -EIO;
	return 0;
}

static void label_place(struct place *p)
{
	pv_netns_label(&p->ns, p->label, sizeof(p->label));
}

/*
 * The namespaces of the run: -N's, entered now for the whole run (*saved:
 * the way back), every one for --all-netns, or portview's own.  Returns
 * -1 to go on, or an exit status.
 */
static int find_places(const struct pv_request *req, struct places *P, int *saved)
{
	memset(P, 0, sizeof(*P));
	if (req->all_netns) {
		struct pv_netns *all;
		size_t n = pv_netns_list(req->proc_root, req->run_netns, &all);
		bool refused = false;
		P->v = xcalloc(n ? n : 1, sizeof(*P->v));
		P->multi = true;
		for (size_t i = 0; i < n; i++) {
			struct place *p = &P->v[P->n];
			p->ns = all[i];
			all[i].fd = -1;
			int err = load_place(req, p);
			if (err) {
				/* gone meanwhile: quietly; not allowed: said once below */
				refused |= err == -EPERM;
				pv_netns_close(&p->ns);
				continue;
			}
			label_place(p);
			P->n++;
		}
		pv_netns_list_free(all, n);
		if (refused)
			fputs(
			    "portview: other network namespaces could not be entered (run as root "
			    "to see them all)\n",
			    stderr);
	} else {
		P->v = xcalloc(1, sizeof(*P->v));
		P->n = 1;
		struct place *p = &P->v[0];
		if (req->netns.fd >= 0) {
			int err = pv_netns_enter(&req->netns, saved);
			if (err) {
				fprintf(stderr,
					"portview: %s %s: cannot enter the network namespace: %s\n",
					req->netns_opt, req->netns_spec, strerror(-err));
				P->n = 0;
				return EXIT_USAGE;
			}
			p->ns = req->netns;
			p->ns.fd = -1; /* entered already; req keeps the file */
		} else {
			/* what JSON says of it: no need to open it */
			struct stat st;
			char self[64];
			snprintf(self, sizeof(self), "%s/self/ns/net", req->proc_root);
			p->ns = (struct pv_netns){.fd = -1, .own = true, .pid = (int32_t)getpid()};
			if (stat(self, &st) == 0) {
				p->ns.dev = st.st_dev;
				p->ns.ino = st.st_ino;
			}
		}
		pv_netns_facts_load(&p->facts, req->sysctl_dir, req->proc_root);
		label_place(p);
	}
	P->vn = xcalloc(P->n ? P->n : 1, sizeof(*P->vn));
	for (size_t i = 0; i < P->n; i++)
		P->vn[i] = (struct pv_view_netns){
		    .label = P->v[i].label,
		    .name = P->v[i].ns.name[0] ? P->v[i].ns.name : NULL,
		    .ino = (unsigned long long)P->v[i].ns.ino,
		    .own = P->v[i].ns.own || !P->multi,
		    .ephemeral = &P->v[i].facts.ephemeral,
		};
	return -1;
}

static void free_places(struct places *P)
{
	for (size_t i = 0; i < P->n; i++) {
		pv_snapshotter_close(P->v[i].snap);
		pv_netns_facts_free(&P->v[i].facts);
		pv_netns_close(&P->v[i].ns);
	}
	free(P->v);
	free(P->vn);
	memset(P, 0, sizeof(*P));
}

int main(int argc, char **argv)
{
	/*
	 * Keep glibc from raising its mmap threshold as blocks are freed: the
	 * record array grows by realloc, which moves an mmapped block with
	 * mremap; grown in the heap instead, it would be copied, and both
	 * copies would count in the peak.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	struct pv_request req;
	struct pv_services svc = {0};
	int status = pv_cli_parse(argc, argv, &svc, &req);
	if (status >= 0) {
		pv_services_free(&svc);
		if (status == EXIT_OK && fflush(stdout) != 0)
			return EXIT_RUNTIME;
		return status;
	}

	/* Let write() report EPIPE instead of the signal killing us mid-table. */
	signal(SIGPIPE, SIG_IGN);
	struct places P;
	int saved = -1;
	status = find_places(&req, &P, &saved);
	if (status < 0) {
		switch (req.mode) {
		case PV_MODE_RANGES:
			status = run_ranges(&req, &P);
			break;
		case PV_MODE_LOOKUP:
			status = run_lookup(&req, &svc, &P);
			break;
		case PV_MODE_SUMMARY:
			status = run_summary(&req, &svc, &P);
			break;
		case PV_MODE_WATCH:
			status = pv_run_watch(&req, &svc, &P);
			break;
		case PV_MODE_EVENTS:
			status = pv_run_events(&req, &svc, &P);
			break;
		default:
			status = run_list(&req, &svc, &P);
		}
	}
	free_places(&P);
	if (saved >= 0)
		pv_netns_leave(saved);
	pv_netns_close(&req.netns);
	pv_services_free(&svc);
	return status;
}
