/*
 * portview: who is talking on which port.
 *
 * main() runs the pipeline: request (cli.c) -> snapshot (the kernel's
 * dumps, snapshot.h) -> view (owners, names, annotations, view.h) ->
 * render (render.h), and turns failures into messages and exit codes.
 * Only the program (main.c, cli.c) prints diagnostics, and only main()
 * exits.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "portview/buf.h"
#include "portview/owners.h"
#include "portview/render.h"
#include "portview/snapshot.h"
#include "portview/sort.h"
#include "portview/view.h"

/* The whole name resolution of a run is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000

/* Write what is left of the output (a sink has written the rest). */
static int write_out(struct pv_buf *out)
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
		"checked %zu (%ld gone), second pass %s, %zu more, bind hash %s\n",
		pv_proto_name(r->proto), fam[r->family], r->sockets, r->datagrams, r->bytes,
		r->states, r->program_len, r->buckets, r->tail, r->needed, r->walks_again,
		r->slices, r->split, r->incomplete ? ", incomplete" : "", r->checked, r->gone,
		r->second, r->sockets - r->first, r->bound);
}

/*
 * Take a snapshot and say what the run should know of it: the debug
 * lines, a protocol the kernel cannot list (once each), a failure.
 * Returns an exit status.
 */
static int take(const struct pv_request *req, const struct pv_netns_facts *ns, bool keep_more,
		struct pv_socklist *l)
{
	struct pv_snapshotter *s;
	struct pv_snapshot_report rep;
	int err = pv_snapshotter_open(&s);
	if (err) {
		fprintf(stderr, "portview: cannot open a netlink sock_diag socket: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	err = pv_snapshot_take(s, &req->query, ns, &req->dump, keep_more, l, &rep);
	pv_snapshotter_close(s);
	bool warned[256] = {false};
	for (size_t i = 0; i < rep.ndumps; i++) {
		const struct pv_dump_report *r = &rep.dumps[i];
		if (req->debug)
			debug_dump(r);
		if (r->err && !warned[r->proto] && (!err || r->proto != rep.failed_proto)) {
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

/* The listing: snapshot, view, order, render. */
static int list_sockets(const struct pv_request *req, const struct pv_services *svc,
			const struct pv_netns_facts *ns, struct pv_buf *out)
{
	bool want_owners = pv_request_wants_owners(req);
	bool want_names = !req->table.numeric && !req->json;
	struct pv_socklist l;
	struct pv_scan *scan = NULL;

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
	pv_socklist_init(&l);
	/* Queues, timers and the interface: only -e and JSON show them. */
	int status = take(req, ns, req->table.extended || req->json, &l);
	struct pv_view view;
	pv_view_init(&view, &l, svc, &ns->ephemeral);
	if (want_owners) {
		pv_scan_finish(scan);
		size_t nparts;
		const struct pv_scan_part *parts = pv_scan_parts(scan, &nparts);
		if (status == EXIT_OK)
			note_unseen(pv_view_join_owners(&view, parts, nparts));
		pv_scan_free(scan);
	}
	if (status == EXIT_OK) {
		if (want_names)
			pv_view_resolve_names(&view, PV_RESOLVE_TIMEOUT_MS);
		if (req->order.key != PV_SORT_DEFAULT || req->order.reverse)
			pv_socklist_sort_by(&l, &req->order, view.has_owners ? &view.owners : NULL);
		if (req->json)
			pv_render_json(out, &view);
		else
			pv_render_table(out, &view, &req->table);
	}
	pv_view_free(&view);
	pv_socklist_free(&l);
	return status;
}

static int run_list(const struct pv_request *req, const struct pv_services *svc,
		    const struct pv_netns_facts *ns)
{
	struct pv_buf out;
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = list_sockets(req, svc, ns, &out);
	if (status == EXIT_OK)
		status = write_out(&out);
	pv_buf_free(&out);
	return status;
}

static int run_ranges(const struct pv_request *req, const struct pv_netns_facts *ns)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	const struct pv_ephemeral *e = &ns->ephemeral;
	struct pv_socklist l;

	pv_socklist_init(&l);
	int status = take(req, ns, false, &l);
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
	status = write_out(&out);
	pv_buf_free(&out);
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
		status = write_out(&out);
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
	default:
		status = run_list(&req, &svc, &ns);
	}
	pv_netns_facts_free(&ns);
	pv_services_free(&svc);
	return status;
}
