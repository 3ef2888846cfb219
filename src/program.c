/*
 * What the modes share (program.h): the places and the gather with their
 * words, and the output's last write.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "i18n.h"
#include "program.h"
#include "portview/format.h"
#include "portview/util.h"

int pv_places_start(const struct pv_request *req, struct pv_places *P)
{
	struct pv_places_opts o = {
	    .proc_root = req->proc_root,
	    .sysctl_dir = req->sysctl_dir,
	    .run_netns = req->run_netns,
	    .all = req->all_netns,
	    .netns = &req->netns,
	};
	bool refused;
	int err = pv_places_open(P, &o, &refused);
	if (err) {
		pv_err_errno(err, "%s %s: cannot enter the network namespace", req->netns_opt,
			     req->netns_spec);
		return EXIT_USAGE;
	}
	if (refused)
		pv_warn("other network namespaces could not be entered (run as root to see them "
			"all)");
	return PV_GO_ON;
}

/* What failed in a place, in words. */
static void say_failure(const struct pv_places *P, const struct pv_place_failure *f,
			const struct pv_snapshot_report *rep)
{
	switch (f->step) {
	case PV_STEP_ENTER:
		pv_err_errno(f->err, "cannot enter network namespace %s", P->v[f->place].label);
		break;
	case PV_STEP_LEAVE:
		pv_err("cannot go back to portview's network namespace");
		break;
	case PV_STEP_OPEN:
		pv_err_errno(f->err, "cannot open a netlink sock_diag socket");
		break;
	case PV_STEP_DUMP:
		pv_err("%s socket dump failed: %s", pv_proto_name(rep->failed_proto),
		       f->err == -EBADMSG ? "malformed reply from the kernel" : strerror(-f->err));
		break;
	default:
		break;
	}
}

int pv_open_snapshotters(struct pv_places *P)
{
	struct pv_place_failure f;
	if (pv_places_open_snapshotters(P, &f) == 0)
		return EXIT_OK;
	say_failure(P, &f, NULL);
	return EXIT_RUNTIME;
}

/* PORTVIEW_DEBUG's line for one dump. */
static void debug_dump(const struct pv_dump_report *r)
{
	static const char *const fam[] = {[AF_UNSPEC] = "", [AF_INET] = "v4", [AF_INET6] = "v6"};
	pv_warn("debug: %s%s dump: %zu sockets in %zu datagrams (%zu bytes), "
		"states 0x%x, filter program %zu bytes, hash buckets %u, tail %u of %u "
		"needed, walks again %zu, slices %zu (%zu split%s), boundary records "
		"checked %zu (%ld gone), second pass %s, %zu more, bind hash %s",
		pv_proto_name(r->proto), fam[r->family], r->sockets, r->datagrams, r->bytes,
		r->states, r->program_len, r->buckets, r->tail, r->needed, r->walks_again,
		r->slices, r->split, r->incomplete ? ", incomplete" : "", r->checked, r->gone,
		r->second, r->sockets - r->first, r->bound);
}

/*
 * What one place's snapshot says: the debug lines, a protocol the kernel
 * cannot list (once each, unless quiet), the dump that failed.
 */
static void say_snapshot(const struct pv_request *req, const struct pv_snapshot_report *rep,
			 bool failed, bool quiet)
{
	bool warned[256] = {false};
	for (size_t i = 0; i < rep->ndumps; i++) {
		const struct pv_dump_report *r = &rep->dumps[i];
		if (req->debug)
			debug_dump(r);
		if (r->err && !warned[r->proto] && !quiet &&
		    (!failed || r->proto != rep->failed_proto)) {
			pv_warn("warning: the kernel cannot list %s sockets (%s); skipped",
				pv_proto_name(r->proto), strerror(-r->err));
			warned[r->proto] = true;
		}
	}
	if (!failed && req->debug && rep->repeats)
		pv_warn("debug: %zu repeated sockets dropped", rep->repeats);
}

/* PORTVIEW_OWNERS=bpf, and the iterator could not be used. */
static void owners_failed(int err)
{
	pv_err("PORTVIEW_OWNERS=bpf: cannot use the BPF iterator: %s%s",
	       err == -EBADMSG ? "malformed records from the kernel" : strerror(-err),
	       err == -EPERM	    ? " (it needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN)"
	       : err == -EOPNOTSUPP ? " (built without it: meson -Dbpf)"
				    : "");
}

/* PORTVIEW_DEBUG's line for the owners: which path ran, and its time. */
static void debug_owners(const struct pv_scan_report *r)
{
	if (r->used == PV_OWNERS_BPF) {
		pv_warn("debug: owners: bpf iterator: loaded in %.1f ms, all found at "
			"%.1f ms; %zu reads (%zu bytes), %zu task and %zu fd records, %zu "
			"repeats dropped, %zu processes",
			r->load_ms, r->ready_ms, r->reads, r->bytes, r->tasks, r->fds, r->repeats,
			r->processes);
		return;
	}
	pv_msg_begin("debug: owners: /proc walk: all found at %.1f ms; %zu processes", r->ready_ms,
		     r->processes);
	if (r->bpf_tried)
		pv_msg_more(" (bpf iterator failed: %s)",
			    r->bpf_err == -EBADMSG ? "malformed records" : strerror(-r->bpf_err));
	else
		pv_msg_more(" (bpf iterator not tried)");
	pv_msg_end();
}

/*
 * The one line that says some owners are unknown, and why: other users'
 * processes that /proc hides or will not show, else processes outside the
 * PID namespace that /proc shows.
 */
static void note_unseen(uint8_t unseen)
{
	if (unseen & PV_UNSEEN_HIDEPID)
		pv_warn("owners of other users' sockets could not be identified "
			"(/proc is mounted with hidepid; run as root to see them all)");
	else if (unseen & PV_UNSEEN_DENIED)
		pv_warn("owners of other users' sockets could not be identified "
			"(run as root to see them all)");
	else if (unseen)
		pv_warn("owners outside this PID namespace could not be identified "
			"(its /proc shows only its own processes)");
}

/* A gather's report in words, in the order its steps ran. */
static void debug_follow(const struct pv_follow_report *r)
{
	if (r->full)
		pv_warn("debug: follow: a full dump (%s); %zu sockets followed", r->why,
			r->followed);
	else
		pv_warn("debug: follow: %zu changes applied, %zu sockets asked for again, %zu "
			"followed%s",
			r->changes, r->looked_up, r->followed,
			r->walked ? _("; the bind hash walked") : "");
}

static void say_gather(const struct pv_request *req, const struct pv_places *P,
		       const struct pv_gather_report *rep, bool quiet)
{
	const struct pv_place_failure *f = &rep->fail;
	if (f->step == PV_STEP_SCAN) {
		if (req->owners == PV_OWNERS_BPF)
			owners_failed(f->err);
		else
			pv_err_errno(f->err, "cannot read %s", req->proc_root);
		return;
	}
	for (size_t i = 0; i < rep->nsnaps; i++)
		say_snapshot(req, &rep->snaps[i], f->step == PV_STEP_DUMP && f->place == i, quiet);
	say_failure(P, f, rep->nsnaps ? &rep->snaps[rep->nsnaps - 1] : NULL);
	if (rep->followed && req->debug)
		debug_follow(&rep->follow);
	if (rep->scanned && req->debug)
		debug_owners(&rep->scan);
	if (rep->scan_err)
		owners_failed(rep->scan_err);
	else if (f->step == PV_STEP_NONE && !quiet)
		note_unseen(rep->unseen);
}

int pv_take_with(const struct pv_request *req, const struct pv_gather_opts *o,
		 const struct pv_services *svc, const struct pv_places *P, bool quiet,
		 struct pv_socklist *l, struct pv_view *view)
{
	struct pv_gather_report rep;
	int err = pv_gather(P, o, svc, l, view, &rep);
	say_gather(req, P, &rep, quiet);
	pv_gather_report_free(&rep);
	return err ? EXIT_RUNTIME : EXIT_OK;
}

void pv_gather_opts_of(const struct pv_request *req, const struct pv_query *q,
		       struct pv_gather_opts *o)
{
	/* Queues, timers and the interface: only -e and JSON show them; tcp_info, -i. */
	*o = (struct pv_gather_opts){
	    .query = q,
	    .dump = &req->dump,
	    .keeps = (req->table.extended || req->json || req->table.unit ? PV_KEEP_MORE : 0) |
		     (req->table.extended || req->json ? PV_KEEP_PROBES : 0) |
		     (req->info ? PV_KEEP_INFO : 0) |
		     /* with owners, the peak is the owner tables' (held against ss -tuanp's) */
		     (pv_request_wants_owners(req) ? PV_KEEP_BIG_PAGES : 0),
	    .owners = pv_request_wants_owners(req),
	    .source = req->owners,
	    .proc_root = req->proc_root,
	    .units = req->table.unit || req->json,
	};
}

int pv_take(const struct pv_request *req, const struct pv_query *q, const struct pv_services *svc,
	    const struct pv_places *P, bool quiet, struct pv_socklist *l, struct pv_view *view)
{
	struct pv_gather_opts o;
	pv_gather_opts_of(req, q, &o);
	return pv_take_with(req, &o, svc, P, quiet, l, view);
}

int pv_write_out(struct pv_buf *out, bool *gone)
{
	int err = out->fd >= 0 ? pv_buf_flush(out) : pv_buf_write(out, STDOUT_FILENO);
	out->len = 0;
	/* A reader that went away (| head) wanted no more: not an error. */
	if (err == -EPIPE && gone)
		*gone = true;
	if (err && err != -EPIPE) {
		pv_err_errno(err, "cannot write output");
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

void pv_place_heading(struct pv_buf *out, const struct pv_place *p)
{
	pv_buf_printf(out, "\n%s ", _("Network namespace"));
	pv_escape_text(out, p->label, strlen(p->label));
	pv_buf_putc(out, '\n');
}

void pv_place_json_open(struct pv_buf *out, const struct pv_places *P, size_t i, const char *key)
{
	const struct pv_place *p = &P->v[i];
	pv_buf_puts(out, i ? ",\n{\"netns\": " : "[\n{\"netns\": ");
	pv_buf_printf(out, "{\"inode\": %llu, \"name\": ", (unsigned long long)p->ns.ino);
	if (p->ns.name[0])
		pv_json_string(out, p->ns.name, strlen(p->ns.name));
	else
		pv_buf_puts(out, "null");
	pv_buf_printf(out, "}, \"%s\": ", key);
}
