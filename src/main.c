/*
 * portview: who is talking on which port.
 *
 * main() runs the pipeline: request (cli.c) -> snapshot (the kernel's
 * dumps, snapshot.h) -> view (owners, names, annotations, view.h) ->
 * render (render.h), with the summary (summary.h) between view and render
 * for -s, and turns failures into messages and exit codes.
 * Only the program (main.c, cli.c) prints diagnostics, and only main()
 * exits.
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
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/owners.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/state.h"
#include "portview/sort.h"
#include "portview/summary.h"
#include "portview/view.h"

/* Write what is left of the output (a sink has written the rest). */
int pv_write_out(struct pv_buf *out)
{
	int err = out->fd >= 0 ? pv_buf_flush(out) : pv_buf_write(out, STDOUT_FILENO);
	/* A reader that went away (| head) wanted no more: not an error. */
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
		"checked %zu (%ld gone), second pass %s, %zu more\n",
		pv_proto_name(r->proto), fam[r->family], r->sockets, r->datagrams, r->bytes,
		r->states, r->program_len, r->buckets, r->tail, r->needed, r->walks_again,
		r->slices, r->split, r->incomplete ? ", incomplete" : "", r->checked, r->gone,
		r->second, r->sockets - r->first);
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
 * Take a snapshot of q and say what the run should know of it: the debug
 * lines, a protocol the kernel cannot list (once each, unless quiet), a
 * failure.  Returns an exit status.
 */
static int take(const struct pv_request *req, struct pv_snapshotter *s, const struct pv_query *q,
		const struct pv_netns_facts *ns, unsigned keeps, bool quiet, struct pv_socklist *l)
{
	struct pv_snapshot_report rep;
	int err = pv_snapshot_take(s, q, ns, &req->dump, keeps, l, &rep);
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

int pv_gather(const struct pv_request *req, struct pv_snapshotter *s, const struct pv_query *q,
	      const struct pv_services *svc, const struct pv_netns_facts *ns, bool quiet,
	      struct pv_socklist *l, struct pv_view *view)
{
	bool want_owners = pv_request_wants_owners(req);
	struct pv_scan *scan = NULL;

	pv_view_init(view, l, svc, &ns->ephemeral);
	/*
	 * The /proc walk does not depend on the dump: start it on a second
	 * thread now, and let this thread join it once the dump is parsed.
	 */
	if (want_owners) {
		int err = pv_scan_start(&scan, req->proc_root, true);
		if (err) {
			fprintf(stderr, "portview: cannot read %s: %s\n", req->proc_root,
				strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	/* Queues, timers and the interface: only -e and JSON show them; tcp_info, -i. */
	unsigned keeps =
	    (req->table.extended || req->json ? PV_KEEP_MORE : 0) | (req->info ? PV_KEEP_INFO : 0);
	int status = take(req, s, q, ns, keeps, quiet, l);
	if (want_owners) {
		pv_scan_finish(scan);
		size_t nparts;
		const struct pv_scan_part *parts = pv_scan_parts(scan, &nparts);
		if (status == EXIT_OK && pv_view_join_owners(view, parts, nparts) && !quiet)
			fputs("portview: owners of other users' sockets could not be identified "
			      "(run as root to see them all)\n",
			      stderr);
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
static void say_empty(const struct pv_request *req, struct pv_snapshotter *s,
		      const struct pv_services *svc, const struct pv_netns_facts *ns)
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
	    pv_gather(req, s, &req->wider, svc, ns, true, &l, &view) == EXIT_OK) {
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
			const struct pv_netns_facts *ns, struct pv_buf *out)
{
	struct pv_snapshotter *s;
	struct pv_socklist l;
	struct pv_view view;
	int status = pv_open_snapshotter(&s);
	if (status != EXIT_OK)
		return status;
	pv_socklist_init(&l);
	status = pv_gather(req, s, &req->query, svc, ns, false, &l, &view);
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
		say_empty(req, s, svc, ns);
	}
	pv_snapshotter_close(s);
	return status;
}

static int run_list(const struct pv_request *req, const struct pv_services *svc,
		    const struct pv_netns_facts *ns)
{
	struct pv_buf out;
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = list_sockets(req, svc, ns, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out);
	pv_buf_free(&out);
	return status;
}

static int run_ranges(const struct pv_request *req, const struct pv_netns_facts *ns)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	const struct pv_ephemeral *e = &ns->ephemeral;
	struct pv_socklist l;
	struct pv_snapshotter *s;
	int status = pv_open_snapshotter(&s);
	if (status != EXIT_OK)
		return status;
	pv_socklist_init(&l);
	status = take(req, s, &req->query, ns, 0, false, &l);
	pv_snapshotter_close(s);
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

	struct pv_buf out;
	pv_buf_init(&out);
	if (req->json)
		pv_render_ranges_json(&out, rows, n);
	else
		pv_render_ranges(&out, rows, n);
	status = pv_write_out(&out);
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
static void pressure_note(const struct pv_pressure_group *g, int pct)
{
	char laddr[INET6_ADDRSTRLEN], remote[PV_ENDPOINT_MAX];
	struct pv_endpoint ep = {.port = g->rport};
	memcpy(ep.addr, g->raddr, sizeof(ep.addr));
	inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
	pv_format_endpoint(remote, g->family, &ep, 0, NULL);
	fprintf(stderr,
		"portview: %s %s -> %s uses %u of %u ephemeral ports, more than "
		"--fail-on-pressure %d%%\n",
		pv_proto_name(g->proto), laddr, remote, g->in_use, g->available, pct);
}

/*
 * -s: every socket of one snapshot with its owners, added up (summary.c),
 * then rendered as text, JSON or metrics; exit 3 when a destination is
 * above --fail-on-pressure.
 */
static int run_summary(const struct pv_request *req, const struct pv_services *svc,
		       const struct pv_netns_facts *ns)
{
	struct timespec t0;
	struct pv_socklist l;
	struct pv_view view;
	struct pv_snapshotter *s;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int status = pv_open_snapshotter(&s);
	if (status != EXIT_OK)
		return status;
	pv_socklist_init(&l);
	status = pv_gather(req, s, &req->query, svc, ns, false, &l, &view);
	pv_snapshotter_close(s);
	if (status == EXIT_OK) {
		struct pv_summary sum;
		struct pv_buf out;
		pv_summary_build(&sum, &view);
		pv_buf_init(&out);
		if (req->metrics) {
			pv_render_summary_metrics(&out, &sum, seconds_since(&t0));
		} else if (req->json) {
			pv_render_summary_json(&out, &sum);
		} else {
			struct pv_summary_opts o = {.color = req->table.color};
			pv_render_summary(&out, &sum, &o);
		}
		status = pv_write_out(&out);
		pv_buf_free(&out);
		const struct pv_pressure_group *g =
		    req->fail_on_pressure >= 0
			? pv_summary_over(&sum, (unsigned)req->fail_on_pressure)
			: NULL;
		if (status == EXIT_OK && g) {
			pressure_note(g, req->fail_on_pressure);
			status = EXIT_PRESSURE;
		}
		pv_summary_free(&sum);
	}
	pv_view_free(&view);
	pv_socklist_free(&l);
	return status;
}

/* --lookup: the registry's answer, then the sockets using the ports. */
static int run_lookup(const struct pv_request *req, const struct pv_services *svc,
		      const struct pv_netns_facts *ns)
{
	struct pv_buf out;
	pv_buf_init(&out);
	pv_render_lookup(&out, req->lookup.ports, req->lookup.nports, &ns->ephemeral);
	int status = EXIT_OK;
	if (req->lookup_sockets)
		status = list_sockets(req, svc, ns, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out);
	pv_buf_free(&out);
	return status;
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
	struct pv_netns_facts ns;
	pv_netns_facts_load(&ns, req.sysctl_dir, req.proc_root);
	switch (req.mode) {
	case PV_MODE_RANGES:
		status = run_ranges(&req, &ns);
		break;
	case PV_MODE_LOOKUP:
		status = run_lookup(&req, &svc, &ns);
		break;
	case PV_MODE_SUMMARY:
		status = run_summary(&req, &svc, &ns);
		break;
	case PV_MODE_WATCH:
		status = pv_run_watch(&req, &svc, &ns);
		break;
	case PV_MODE_EVENTS:
		status = pv_run_events(&req, &svc, &ns);
		break;
	default:
		status = run_list(&req, &svc, &ns);
	}
	pv_netns_facts_free(&ns);
	pv_services_free(&svc);
	return status;
}
