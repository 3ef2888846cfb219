/*
 * portview: who is talking on which port.
 *
 * main() runs the pipeline (kernel dump -> records -> filter -> owners ->
 * sort -> render) and turns failures into messages and exit codes; the
 * options are parsed in cli.c and the dumps made in collect.c (app.h).
 * Only this front end prints diagnostics, and only main() exits.
 */
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portview/annotate.h"
#include "portview/buf.h"
#include "portview/filter.h"
#include "portview/format.h"
#include "portview/options.h"
#include "portview/owners.h"
#include "portview/ports.h"
#include "portview/render.h"
#include "portview/resolve.h"
#include "portview/services.h"
#include "portview/sort.h"
#include "portview/users.h"
#include "portview/util.h"
#include "portview/sock.h"
#include "portview/state.h"

#include "app.h"

/* Join the finished /proc walk with the sockets the dump returned. */
static void attribute_owners(struct pv_socklist *l, struct pv_scan *scan, struct pv_owner_table *t)
{
	pv_owners_init(t, l->n);
	for (size_t i = 0; i < l->n; i++)
		pv_owners_want(t, l->v[i].inode);
	pv_owners_join(t, scan);
	if (t->denied)
		fputs("portview: owners of other users' sockets could not be identified "
		      "(run as root to see them all)\n",
		      stderr);
}

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

/* A filter that reads the annotations (--class) needs them worked out. */
struct keep_arg {
	const struct pv_options *o;
	const struct context *ctx;
};

static bool keep_annotated(const struct pv_sock *s, const void *arg)
{
	const struct keep_arg *k = arg;
	struct pv_sock a = *s;
	pv_annotate_sock(&a, &k->ctx->services, &k->ctx->ephemeral);
	return pv_filter_keep(&a, k->o);
}

/* The listing pipeline: dump, sort, drop repeats, filter, owners, render. */
static int list_sockets(const struct pv_options *o, const struct context *ctx,
			const struct selection *sel, struct pv_buf *out)
{
	struct pv_socklist l;
	struct pv_owner_table owners;
	struct pv_names names = {0};
	struct pv_users users;
	/* JSON always carries owners; sorting by them needs them too. */
	bool want_owners = o->owner || o->program || o->json || o->sort_key == PV_SORT_PID ||
			   o->sort_key == PV_SORT_PROGRAM;
	bool want_names = !o->numeric && !o->json;

	/*
	 * The /proc walk does not depend on the dump: start it on a second
	 * thread now, and let this thread join it once the dump is parsed.
	 */
	struct pv_scan scan;
	if (want_owners) {
		int err = pv_scan_start(&scan, o->proc_root, true);
		if (err) {
			fprintf(stderr, "portview: cannot read %s: %s\n", o->proc_root,
				strerror(-err));
			return EXIT_RUNTIME;
		}
	}
	pv_socklist_init(&l);
	/* Queues, timers and the interface: only -e and JSON show them. */
	l.keep_more = o->extended || o->json;
	pv_users_init(&users);
	int status = app_collect(o, ctx, sel, &l);
	if (status == EXIT_OK) {
		/* Repeats sit next to each other in display order. */
		pv_socklist_sort(&l);
		size_t repeats = pv_socklist_dedupe(&l);
		if (ctx->debug && repeats)
			fprintf(stderr, "portview: debug: %zu repeated sockets dropped\n", repeats);
		if (pv_filter_needs_pass(o)) {
			struct keep_arg k = {o, ctx};
			pv_socklist_filter(&l, keep_annotated, &k);
		}
	}
	if (want_owners) {
		pv_scan_finish(&scan);
		if (status == EXIT_OK)
			attribute_owners(&l, &scan, &owners);
		pv_scan_free(&scan);
	}
	if (status == EXIT_OK) {
		if (want_names)
			pv_names_resolve(&names, &l, PV_RESOLVE_TIMEOUT_MS);
		if (o->sort_key != PV_SORT_DEFAULT || o->sort_reverse)
			pv_socklist_sort_by(&l, o->sort_key, o->sort_reverse,
					    want_owners ? &owners : NULL);
		struct pv_view view = {
		    .l = &l,
		    .services = &ctx->services,
		    .ephemeral = &ctx->ephemeral,
		    .owners = want_owners ? &owners : NULL,
		    .names = want_names ? &names : NULL,
		};
		if (o->json)
			pv_render_json(out, &view, &users);
		else
			pv_render_table(out, &view, &users, o);
		if (want_owners)
			pv_owners_free(&owners);
		if (want_names)
			pv_names_free(&names);
	}
	pv_users_free(&users);
	pv_socklist_free(&l);
	return status;
}

static int run_list(const struct pv_options *o, const struct context *ctx)
{
	struct pv_port_clause clauses[4];
	size_t n = 0;
	for (size_t i = 0; i < o->nclauses; i++)
		clauses[n++] = o->clauses[i];
	if (pv_filter_class_clause(o, &ctx->ephemeral, &clauses[n]))
		n++;
	struct selection sel = {.states = pv_filter_states(o), .clauses = clauses, .nclauses = n};

	struct pv_buf out;
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = list_sockets(o, ctx, &sel, &out);
	if (status == EXIT_OK)
		status = write_out(&out);
	pv_buf_free(&out);
	return status;
}

static int run_ranges(const struct pv_options *o, const struct context *ctx)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	const struct pv_ephemeral *e = &ctx->ephemeral;
	struct selection sel = {.states = PV_STATES_ALL};
	struct pv_socklist l;
	/* IPv4 and IPv6 sockets draw on one port space per protocol. */
	struct pv_options both = *o;
	both.ipv4 = both.ipv6 = false;

	pv_socklist_init(&l);
	int status = app_collect(&both, ctx, &sel, &l);
	if (status != EXIT_OK) {
		pv_socklist_free(&l);
		return status;
	}
	struct pv_range_use rows[4];
	size_t n = 0;
	for (size_t p = 0; p < 2; p++) {
		if (!pv_filter_want_proto(o, protos[p]))
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
	if (o->json)
		pv_render_ranges_json(&out, rows, n);
	else
		pv_render_ranges(&out, rows, n);
	status = write_out(&out);
	pv_buf_free(&out);
	return status;
}

static void lookup_error(const char *arg, const char *why)
{
	fputs("portview: --lookup ", stderr);
	if (arg[0])
		app_put_escaped(stderr, arg, strlen(arg));
	else
		fputs("''", stderr);
	fprintf(stderr, ": %s\n", why);
}

/* --lookup PORT[/PROTO] or NAME: the registry's answer, then the sockets. */
static int run_lookup(struct pv_options *o, const struct context *ctx)
{
	const char *arg = o->lookup;
	struct pv_lookup_port ports[16];
	size_t nports = 0;

	if (arg[0] == '\0') {
		lookup_error(arg, "empty port or service name");
		return EXIT_USAGE;
	}
	if (arg[0] >= '0' && arg[0] <= '9') {
		size_t digits = pv_digits(arg, strlen(arg));
		const char *end = arg + digits;
		uint64_t v;
		uint8_t proto = 0;
		if (pv_parse_uint(arg, digits, 65535, &v) < 0) {
			lookup_error(arg, "port out of range (0-65535)");
			return EXIT_USAGE;
		}
		if (*end == '/') {
			if (pv_proto_parse(end + 1, strlen(end + 1), true, &proto) < 0) {
				lookup_error(arg, "unknown protocol (valid: " PV_PROTO_NAMES ")");
				return EXIT_USAGE;
			}
		} else if (*end) {
			lookup_error(arg, "not a port, PORT/PROTO or service name");
			return EXIT_USAGE;
		}
		struct pv_lookup_port *p = &ports[nports++];
		*p = (struct pv_lookup_port){.port = (uint16_t)v, .proto = proto};
		size_t total = pv_services_all_by_port(&ctx->services, p->port, proto, p->entries,
						       ARRAY_SIZE(p->entries));
		p->nentries = total < 32 ? total : 32;
	} else {
		const struct pv_service *found[64];
		size_t total = pv_services_all_by_name(&ctx->services, arg, found, 64);
		if (total == 0) {
			lookup_error(arg, "unknown service name");
			return EXIT_USAGE;
		}
		if (total > 64)
			total = 64;
		/* One block per distinct port, in the order found. */
		for (size_t i = 0; i < total; i++) {
			struct pv_lookup_port *p = NULL;
			for (size_t j = 0; j < nports; j++)
				if (ports[j].port == found[i]->port)
					p = &ports[j];
			if (!p) {
				if (nports == ARRAY_SIZE(ports))
					continue;
				p = &ports[nports++];
				*p = (struct pv_lookup_port){.port = found[i]->port,
							     .by_name = true};
			}
			if (p->nentries < 32)
				p->entries[p->nentries++] = found[i];
		}
	}

	/* Who uses those ports now: every state, either side, with owners. */
	struct pv_port_clause clause = {.sides = PV_SIDE_ANY};
	/* Every listener has foreign port 0; port 0 means the local side. */
	for (size_t i = 0; i < nports; i++)
		if (ports[i].port == 0)
			clause.sides = PV_SIDE_SRC;
	bool tcp = false, udp = false;
	for (size_t i = 0; i < nports; i++) {
		clause.ranges[clause.nranges++] =
		    (struct pv_port_range){ports[i].port, ports[i].port};
		tcp |= ports[i].proto == 0 || ports[i].proto == IPPROTO_TCP;
		udp |= ports[i].proto == 0 || ports[i].proto == IPPROTO_UDP;
	}
	struct pv_options lo = *o;
	lo.all = true;
	lo.program = true;
	if (!lo.tcp && !lo.udp) {
		lo.tcp = tcp;
		lo.udp = udp;
	}
	lo.clauses[0] = clause;
	lo.nclauses = 1;
	struct selection sel = {.states = PV_STATES_ALL, .clauses = &clause, .nclauses = 1};

	struct pv_buf out;
	pv_buf_init(&out);
	pv_render_lookup(&out, ports, nports, &ctx->ephemeral);
	int status = EXIT_OK;
	if (tcp || udp)
		status = list_sockets(&lo, ctx, &sel, &out);
	if (status == EXIT_OK)
		status = write_out(&out);
	pv_buf_free(&out);
	return status;
}

static int compile_filters(struct pv_options *o, const struct context *ctx)
{
	size_t bad_arg = 0, badlen = 0;
	const char *bad = NULL;
	int err = pv_filter_compile_ports(o, &ctx->services, &bad_arg, &bad, &badlen);
	if (!err)
		return EXIT_OK;

	const struct pv_port_arg *a = &o->port_args[bad_arg];
	const char *why;
	switch (err) {
	case -ERANGE:
		why = "port out of range (0-65535)";
		break;
	case -EDOM:
		why = "range start is above its end";
		break;
	case -ENOENT:
		why = "unknown service name";
		break;
	case -E2BIG:
		why = "too many ports and ranges (at most 64 per option)";
		break;
	default:
		why = badlen ? "not a port, range N-M or service name" : "empty port";
	}
	/* "--port SPEC: why", or "--port SPEC: ITEM: why" for one item of a list */
	fprintf(stderr, "portview: %s ", a->option);
	if (a->spec[0])
		app_put_escaped(stderr, a->spec, strlen(a->spec));
	else
		fputs("''", stderr);
	if (a->spec[0] && badlen == 0)
		why = "empty item in the list";
	else if (a->spec[0] && badlen != strlen(a->spec)) {
		fputs(": ", stderr);
		app_put_escaped(stderr, bad, badlen);
	}
	fprintf(stderr, ": %s\n", why);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct pv_options o;
	pv_options_init(&o);

	/*
	 * Keep glibc from raising its mmap threshold as blocks are freed: the
	 * record array grows by realloc, which moves an mmapped block with
	 * mremap; grown in the heap instead, it would be copied, and both
	 * copies would count in the peak.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	enum color_mode color = COLOR_AUTO;
	int status = app_parse_args(argc, argv, &o, &color);
	if (status >= 0) {
		if (status == EXIT_OK && fflush(stdout) != 0)
			return EXIT_RUNTIME;
		return status;
	}

	/* https://no-color.org: a set, non-empty NO_COLOR turns auto off */
	const char *no_color = getenv("NO_COLOR");
	o.color = color == COLOR_ALWAYS ||
		  (color == COLOR_AUTO && isatty(STDOUT_FILENO) && !(no_color && *no_color));

	const char *env = getenv("PORTVIEW_SERVICES");
	if (env)
		o.services_path = env;
	const char *debug = getenv("PORTVIEW_DEBUG");
	const char *dump_mode = getenv("PORTVIEW_DUMP");
	struct context ctx = {.debug = debug && *debug && strcmp(debug, "0") != 0,
			      .per_family = dump_mode && strstr(dump_mode, "per-family") != NULL,
			      .dump = dump_mode && strstr(dump_mode, "once")	? PV_DUMP_ONCE
				      : dump_mode && strstr(dump_mode, "twice") ? PV_DUMP_TWICE
										: PV_DUMP_CHECK};
	pv_services_load(&ctx.services, o.services_path);
	pv_ephemeral_load(&ctx.ephemeral, o.sysctl_dir);
	pv_hash_geometry_load(&ctx.geometry, o.sysctl_dir, o.proc_root);

	/* Let write() report EPIPE instead of the signal killing us mid-table. */
	signal(SIGPIPE, SIG_IGN);
	status = compile_filters(&o, &ctx);
	if (status == EXIT_OK) {
		if (o.ranges)
			status = run_ranges(&o, &ctx);
		else if (o.lookup)
			status = run_lookup(&o, &ctx);
		else
			status = run_list(&o, &ctx);
	}
	pv_ephemeral_free(&ctx.ephemeral);
	pv_services_free(&ctx.services);
	return status;
}
