/*
 * portview: who is talking on which port.
 *
 * main() parses the options, runs the pipeline (kernel dump -> records ->
 * owners -> filter -> sort -> render) and turns failures into messages and
 * exit codes.  It is the only place that prints diagnostics or exits.
 */
#include <errno.h>
#include <getopt.h>
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
#include "portview/bytecode.h"
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
#include "portview/sock.h"
#include "portview/sock_diag.h"
#include "portview/state.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
/* internal: the both-families TCP request failed, use one per family */
enum { EXIT_RETRY_PER_FAMILY = -2 };

/* The whole name resolution of a run is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000
enum {
	OPT_STATE = 256,
	OPT_PLAIN,
	OPT_RANGES,
	OPT_LOOKUP,
	OPT_PORT,
	OPT_SPORT,
	OPT_DPORT,
	OPT_CLASS,
	OPT_SORT,
	OPT_PLAIN_JSON,
	OPT_COLOR,
};

static const char usage_line[] =
    "usage: portview [-46aehHlnoptuV] [--state LIST] [--port SPEC] [--sport SPEC]\n"
    "                [--dport SPEC] [--class LIST] [--sort KEY] [--plain] [--json]\n"
    "                [--color[=WHEN]]\n"
    "       portview --ranges [-tu] [--json]\n"
    "       portview --lookup PORT[/PROTO] | --lookup NAME\n";

static void usage_error(void)
{
	fputs(usage_line, stderr);
	fputs("Try 'portview --help' for more information.\n", stderr);
}

static void print_help(void)
{
	printf("%s", usage_line);
	printf(
	    "\nList TCP and UDP sockets with the processes that own them and what their ports\n"
	    "mean, in the layout of Windows 'netstat -no'.  By default: TCP connections that\n"
	    "are not listening and connected UDP sockets.\n\n"
	    "Selection:\n"
	    "  -a, --all          also show listening TCP and unconnected UDP sockets\n"
	    "  -l, --listening    show only listening TCP and unconnected UDP sockets\n"
	    "  -t, --tcp          TCP sockets (with -u: both; neither: both)\n"
	    "  -u, --udp          UDP sockets\n"
	    "  -4, --ipv4         IPv4 sockets, including IPv6 sockets with v4-mapped addresses\n"
	    "  -6, --ipv6         IPv6 sockets\n"
	    "      --state LIST   only sockets in these states (comma-separated, repeatable,\n"
	    "                     case-insensitive); replaces the default selection\n"
	    "      --port SPEC    only sockets whose local or foreign port matches SPEC:\n"
	    "                     a port, a range N-M, a service name, or a comma list\n"
	    "      --sport SPEC   only sockets whose local port matches SPEC\n"
	    "      --dport SPEC   only sockets whose foreign port matches SPEC\n"
	    "      --class LIST   only sockets whose local port is in these classes:\n"
	    "                     well-known, registered, dynamic, ephemeral\n"
	    "Output:\n"
	    "  -o, --owner        add the PID column (owning processes)\n"
	    "  -p, --program      add the PID/Program name column\n"
	    "  -e, --extended     add user, inode, receive and send queues and the TCP timer\n"
	    "  -n, --numeric      numeric addresses and ports; no name lookups at all\n"
	    "  -H, --no-header    leave out the title and the column header\n"
	    "      --sort KEY     sort by proto, local, foreign, state, pid, program or port;\n"
	    "                     a leading '-' reverses\n"
	    "      --plain        only the netstat columns, without the port annotations\n"
	    "      --json         one JSON document (schema in portview(8)); always numeric\n"
	    "      --color[=WHEN] colour states and port classes: auto (on a terminal, the\n"
	    "                     default), always or never; NO_COLOR turns auto off\n"
	    "Other views:\n"
	    "      --ranges       show this host's ephemeral port ranges and their use\n"
	    "      --lookup PORT[/PROTO], --lookup NAME\n"
	    "                     what a port or service is, and who uses it now\n"
	    "  -h, --help         show this help and exit\n"
	    "  -V, --version      show the version and exit\n\n"
	    "States and groups for --state:\n  %s\n\n"
	    "Environment: PORTVIEW_SERVICES replaces /etc/services; PORTVIEW_DEBUG=1\n"
	    "prints what each kernel dump returned; PORTVIEW_DUMP=per-family dumps TCP once\n"
	    "per address family, =once and =twice walk each dump once or twice (see\n"
	    "portview(8)); NO_COLOR disables --color=auto.\n\n"
	    "Exit status: 0 success, 1 runtime failure, 2 usage error.\n"
	    "See portview(8).\n",
	    pv_state_valid_names());
}

/* Echo user input in a message without letting it drive the terminal. */
static void put_escaped(FILE *f, const char *s, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	pv_escape_text(&b, s, n);
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	pv_buf_free(&b);
}

/* Returns -1 to go on, or the exit status to end with. */
enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

static int parse_args(int argc, char **argv, struct pv_options *o, enum color_mode *color)
{
	static const struct option longopts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"listening", no_argument, NULL, 'l'},
	    {"tcp", no_argument, NULL, 't'},
	    {"udp", no_argument, NULL, 'u'},
	    {"ipv4", no_argument, NULL, '4'},
	    {"ipv6", no_argument, NULL, '6'},
	    {"owner", no_argument, NULL, 'o'},
	    {"program", no_argument, NULL, 'p'},
	    {"numeric", no_argument, NULL, 'n'},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"plain", no_argument, NULL, OPT_PLAIN},
	    {"ranges", no_argument, NULL, OPT_RANGES},
	    {"lookup", required_argument, NULL, OPT_LOOKUP},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"sport", required_argument, NULL, OPT_SPORT},
	    {"dport", required_argument, NULL, OPT_DPORT},
	    {"class", required_argument, NULL, OPT_CLASS},
	    {"sort", required_argument, NULL, OPT_SORT},
	    {"json", no_argument, NULL, OPT_PLAIN_JSON},
	    {"color", optional_argument, NULL, OPT_COLOR},
	    {"colour", optional_argument, NULL, OPT_COLOR},
	    {"extended", no_argument, NULL, 'e'},
	    {"no-header", no_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	static const char shortopts[] = ":46aehHlnoptuV";
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case '4':
			o->ipv4 = true;
			break;
		case '6':
			o->ipv6 = true;
			break;
		case 'a':
			o->all = true;
			break;
		case 'h':
			print_help();
			return EXIT_OK;
		case 'l':
			o->listening = true;
			break;
		case 'n':
			o->numeric = true;
			break;
		case 'o':
			o->owner = true;
			break;
		case 'p':
			o->program = true;
			break;
		case 't':
			o->tcp = true;
			break;
		case 'u':
			o->udp = true;
			break;
		case 'V':
			printf("portview %s\n", PORTVIEW_VERSION);
			return EXIT_OK;
		case 'e':
			o->extended = true;
			break;
		case 'H':
			o->no_header = true;
			break;
		case OPT_PLAIN_JSON:
			o->json = true;
			break;
		case OPT_SORT:
			if (pv_parse_sort_key(optarg, &o->sort_key, &o->sort_reverse) < 0) {
				fputs("portview: --sort ", stderr);
				if (optarg[0])
					put_escaped(stderr, optarg, strlen(optarg));
				else
					fputs("''", stderr);
				fprintf(stderr, ": unknown sort key (valid: %s)\n",
					pv_sort_valid_keys());
				return EXIT_USAGE;
			}
			break;
		case OPT_COLOR:
			if (!optarg || strcmp(optarg, "always") == 0) {
				*color = COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				*color = COLOR_NEVER;
			} else if (strcmp(optarg, "auto") == 0) {
				*color = COLOR_AUTO;
			} else {
				fputs("portview: --color=", stderr);
				put_escaped(stderr, optarg, strlen(optarg));
				fputs(": expected auto, always or never\n", stderr);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATE: {
			const char *bad;
			size_t badlen;
			if (pv_state_parse_list(optarg, &o->states, &bad, &badlen) < 0) {
				fputs("portview: --state ", stderr);
				if (badlen == 0) {
					fputc('\'', stderr);
					put_escaped(stderr, optarg, strlen(optarg));
					fputs("': empty state name", stderr);
				} else {
					put_escaped(stderr, bad, badlen);
					fputs(": unknown state", stderr);
				}
				fprintf(stderr, " (valid: %s)\n", pv_state_valid_names());
				return EXIT_USAGE;
			}
			o->states_given = true;
			break;
		}
		case OPT_PLAIN:
			o->plain = true;
			break;
		case OPT_RANGES:
			o->ranges = true;
			break;
		case OPT_LOOKUP:
			if (o->lookup) {
				fputs("portview: --lookup: give it once\n", stderr);
				return EXIT_USAGE;
			}
			o->lookup = optarg;
			break;
		case OPT_PORT:
		case OPT_SPORT:
		case OPT_DPORT: {
			static const char *const names[] = {"--port", "--sport", "--dport"};
			static const uint8_t sides[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
			int k = c - OPT_PORT;
			if (o->nport_args == sizeof(o->port_args) / sizeof(o->port_args[0])) {
				fprintf(stderr,
					"portview: %s %s: too many port options (at most %d "
					"--port, --sport and --dport; use a list: 80,443)\n",
					names[k], optarg, PV_MAX_PORT_ARGS);
				return EXIT_USAGE;
			}
			o->port_args[o->nport_args++] = (struct pv_port_arg){
			    .option = names[k], .spec = optarg, .sides = sides[k]};
			break;
		}
		case OPT_CLASS: {
			const char *bad;
			size_t badlen;
			if (pv_parse_class_list(optarg, &o->classes, &bad, &badlen) < 0) {
				/* "--class foo: unknown", "--class a,,b: empty" */
				fputs("portview: --class ", stderr);
				if (optarg[0])
					put_escaped(stderr, optarg, strlen(optarg));
				else
					fputs("''", stderr);
				if (badlen && badlen != strlen(optarg)) {
					fputs(": ", stderr);
					put_escaped(stderr, bad, badlen);
				}
				fprintf(stderr, ": %s (valid: %s)\n",
					badlen ? "unknown class" : "empty class name",
					pv_class_valid_names());
				return EXIT_USAGE;
			}
			break;
		}
		case ':':
			fprintf(stderr, "portview: option '%s' requires an argument\n",
				argv[optind - 1]);
			usage_error();
			return EXIT_USAGE;
		default:
			if (optopt && (optopt >= 256 || strchr(shortopts + 1, optopt))) {
				/* A long option of ours, given a value it does not take. */
				const char *name = "?";
				for (const struct option *l = longopts; l->name; l++)
					if (l->val == optopt)
						name = l->name;
				fprintf(stderr,
					"portview: option '--%s' doesn't allow an argument\n",
					name);
			} else if (optopt) {
				fputs("portview: invalid option -- '", stderr);
				char ch = (char)optopt;
				put_escaped(stderr, &ch, 1);
				fputs("'\n", stderr);
			} else {
				fputs("portview: unrecognized option '", stderr);
				put_escaped(stderr, argv[optind - 1], strlen(argv[optind - 1]));
				fputs("'\n", stderr);
			}
			usage_error();
			return EXIT_USAGE;
		}
	}
	if (o->json && o->lookup) {
		fputs("portview: --json cannot be combined with --lookup\n", stderr);
		return EXIT_USAGE;
	}
	if (o->ranges && o->lookup) {
		fputs("portview: --ranges and --lookup cannot be combined\n", stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fputs("portview: unexpected argument '", stderr);
		put_escaped(stderr, argv[optind], strlen(argv[optind]));
		fputs("'\n", stderr);
		usage_error();
		return EXIT_USAGE;
	}
	return -1;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_TCP ? "TCP" : "UDP";
}

/* What a run needs besides the options: the port registry and ranges. */
struct context {
	struct pv_services services;
	struct pv_ephemeral ephemeral;
	bool debug;
	bool per_family;   /* PORTVIEW_DUMP=per-family: no AF_UNSPEC TCP dump */
	bool single_pass;  /* PORTVIEW_DUMP=once: no second walk */
	bool always_twice; /* PORTVIEW_DUMP=twice: a second walk, not the check */
};

/* What to dump: which states, and the port filter to push into the kernel. */
struct selection {
	uint32_t states;
	const struct pv_port_clause *clauses;
	size_t nclauses;
};

/* The states a TCP socket in the kernel's established hash can be in. */
#define EHASH_STATES (PV_STATES_ALL & ~(PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE)))

/*
 * Whether every socket a walk counts to find its resume point is also one
 * it reports, so that its datagram boundaries can be checked from the
 * records around them (sock_diag.h): TCP in both families, no filter
 * program, and all the established hash's states or none of them.  (UDP
 * is walked per family, and a family's walk counts the other's sockets.)
 */
static bool boundaries_checkable(const struct pv_diag_query *q)
{
	uint32_t ehash = q->states & EHASH_STATES;
	return q->proto == IPPROTO_TCP && q->family == AF_UNSPEC && !q->bytecode_len &&
	       (ehash == 0 || ehash == EHASH_STATES);
}

/*
 * A second walk for what the first may have skipped, keeping only the
 * records it did not report; states narrows the walk.  Returns 0 or a
 * negative errno.
 */
static int walk_again(struct mnl_socket *nl, const struct pv_diag_query *q, uint32_t states,
		      struct pv_socklist *l, size_t before, struct pv_diag_stats *stats)
{
	struct pv_diag_query again = *q;
	struct pv_diag_stats more;
	struct pv_cookies known;
	struct pv_socklist extra;
	again.states = states;
	pv_cookies_of(&known, l, before, states);
	pv_socklist_init(&extra);
	extra.keep_more = l->keep_more;
	int err = pv_diag_dump(nl, &again, &known, &extra, &more, NULL);
	if (!err)
		pv_socklist_add_missing(l, before, states, &extra);
	pv_socklist_free(&extra);
	pv_cookies_free(&known);
	stats->datagrams += more.datagrams;
	stats->bytes += more.bytes;
	return err;
}

/*
 * One kernel dump, parsed into l as it arrives.  A filter program the
 * kernel refuses (EINVAL) is compiled again without the EQ ops, then
 * dropped (user space filters anyway).  Returns an exit status.
 */
static int dump_one(struct mnl_socket *nl, const struct context *ctx, struct pv_diag_query *q,
		    const struct selection *sel, struct pv_buf *bytecode, bool *use_eq,
		    struct pv_socklist *l, uint8_t *warned)
{
	static const char *const fam[] = {[AF_UNSPEC] = "", [AF_INET] = "v4", [AF_INET6] = "v6"};
	struct pv_diag_stats stats;
	struct pv_diag_tails tails = {0};
	size_t before = l->n;
	int err;

	for (;;) {
		q->bytecode = bytecode->len ? bytecode->data : NULL;
		q->bytecode_len = bytecode->len;
		err = pv_diag_dump(nl, q, NULL, l, &stats, &tails);
		if (!bytecode->len || err != -EINVAL)
			break;
		bytecode->len = 0;
		if (*use_eq) {
			*use_eq = false;
			if (pv_bc_compile(sel->clauses, sel->nclauses, false, bytecode) < 0)
				bytecode->len = 0;
		}
	}

	if (err && q->family == AF_UNSPEC && l->n == before)
		return EXIT_RETRY_PER_FAMILY; /* no TCPDIAG_GETSOCK here: ask per family */
	size_t first = l->n - before;
	/*
	 * A dump whose records came in one datagram never resumed, so it
	 * skipped nothing.  Otherwise check the records before each boundary: if none
	 * has gone, the walk skipped nothing either (sock_diag.h); listeners
	 * are few and may share a bucket by the dozen (SO_REUSEPORT), so a
	 * boundary among them is settled by walking the listeners again.
	 * Where that cannot be checked, or something has gone, walk again.
	 */
	const char *second = "none";
	size_t checked = 0;
	long gone = 0;
	if (!err && !ctx->single_pass && tails.boundaries > 0) {
		bool again = true;
		if (!ctx->always_twice && boundaries_checkable(q)) {
			if (tails.listener_boundary && (q->states & PV_SF(PV_TCP_LISTEN))) {
				err = walk_again(nl, q, PV_SF(PV_TCP_LISTEN), l, before, &stats);
				second = "listeners";
			}
			size_t keep = 0;
			for (size_t i = 0; i < tails.n; i++)
				if (tails.v[i].state != PV_TCP_LISTEN)
					tails.v[keep++] = tails.v[i];
			checked = keep;
			if (!err)
				gone = pv_diag_count_gone(q->proto, tails.v, keep);
			again = gone != 0;
		}
		if (again && !err) {
			err = walk_again(nl, q, q->states, l, before, &stats);
			second = "all";
		}
	}
	pv_diag_tails_free(&tails);
	if (ctx->debug)
		fprintf(stderr,
			"portview: debug: %s%s dump: %zu sockets in %zu datagrams (%zu bytes), "
			"states 0x%x, filter program %zu bytes, boundary records checked %zu "
			"(%ld gone), second pass %s, %zu more\n",
			proto_name(q->proto), fam[q->family], l->n - before, stats.datagrams,
			stats.bytes, q->states, q->bytecode_len, checked, gone, second,
			l->n - before - first);
	if (err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT) {
		/* The protocol's diag module is missing: show what we can. */
		uint8_t bit = q->proto == IPPROTO_TCP ? 1 : 2;
		if (!(*warned & bit))
			fprintf(stderr,
				"portview: warning: the kernel cannot list %s sockets (%s); "
				"skipped\n",
				proto_name(q->proto), strerror(-err));
		*warned |= bit;
	} else if (err) {
		fprintf(stderr, "portview: %s socket dump failed: %s\n", proto_name(q->proto),
			err == -EBADMSG ? "malformed reply from the kernel" : strerror(-err));
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

static int collect(const struct pv_options *o, const struct context *ctx,
		   const struct selection *sel, struct pv_socklist *l)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	struct mnl_socket *nl;
	int err = pv_diag_open(&nl);
	if (err) {
		fprintf(stderr, "portview: cannot open a netlink sock_diag socket: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}

	/*
	 * Single ports use the exact-match ops where the kernel has them
	 * (Linux 4.17 and later); see dump_one for older kernels.
	 */
	struct pv_buf bytecode;
	pv_buf_init(&bytecode);
	bool use_eq = true;
	if (sel->nclauses && pv_bc_compile(sel->clauses, sel->nclauses, true, &bytecode) < 0)
		bytecode.len = 0; /* too big for the kernel: user space filters */

	int status = EXIT_OK;
	uint8_t warned = 0;
	for (size_t p = 0; p < 2 && status == EXIT_OK; p++) {
		if (!pv_filter_want_proto(o, protos[p]))
			continue;
		struct pv_diag_query q = {
		    .proto = protos[p],
		    .states = pv_filter_proto_states(o, sel->states, protos[p]),
		};
		bool v4 = pv_filter_want_family(o, AF_INET);
		bool v6 = pv_filter_want_family(o, AF_INET6);
		if (v4 && v6 && protos[p] == IPPROTO_TCP && !ctx->per_family) {
			/* One walk of the TCP hash for both families (see sock_diag.h). */
			q.family = AF_UNSPEC;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
			if (status != EXIT_RETRY_PER_FAMILY)
				continue;
			status = EXIT_OK;
		}
		if (v4) {
			q.family = AF_INET;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
		}
		if (v6 && status == EXIT_OK) {
			q.family = AF_INET6;
			status = dump_one(nl, ctx, &q, sel, &bytecode, &use_eq, l, &warned);
		}
	}
	pv_diag_close(nl);
	pv_buf_free(&bytecode);
	return status;
}

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
	int status = collect(o, ctx, sel, &l);
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
	int status = collect(&both, ctx, &sel, &l);
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

static int parse_proto(const char *s, uint8_t *proto)
{
	static const struct {
		const char *name;
		uint8_t proto;
	} names[] = {{"tcp", IPPROTO_TCP},
		     {"udp", IPPROTO_UDP},
		     {"sctp", PV_IPPROTO_SCTP},
		     {"dccp", PV_IPPROTO_DCCP}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0) {
			*proto = names[i].proto;
			return 0;
		}
	}
	return -EINVAL;
}

static void lookup_error(const char *arg, const char *why)
{
	fputs("portview: --lookup ", stderr);
	if (arg[0])
		put_escaped(stderr, arg, strlen(arg));
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
		char *end;
		errno = 0;
		unsigned long v = strtoul(arg, &end, 10);
		uint8_t proto = 0;
		if (errno == ERANGE || v > 65535) {
			lookup_error(arg, "port out of range (0-65535)");
			return EXIT_USAGE;
		}
		if (*end == '/') {
			if (parse_proto(end + 1, &proto) < 0) {
				lookup_error(arg, "unknown protocol (valid: tcp, udp, sctp, dccp)");
				return EXIT_USAGE;
			}
		} else if (*end) {
			lookup_error(arg, "not a port, PORT/PROTO or service name");
			return EXIT_USAGE;
		}
		struct pv_lookup_port *p = &ports[nports++];
		*p = (struct pv_lookup_port){.port = (uint16_t)v, .proto = proto};
		size_t total = pv_services_all_by_port(&ctx->services, p->port, proto, p->entries,
						       sizeof(p->entries) / sizeof(p->entries[0]));
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
				if (nports == sizeof(ports) / sizeof(ports[0]))
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
		put_escaped(stderr, a->spec, strlen(a->spec));
	else
		fputs("''", stderr);
	if (a->spec[0] && badlen == 0)
		why = "empty item in the list";
	else if (a->spec[0] && badlen != strlen(a->spec)) {
		fputs(": ", stderr);
		put_escaped(stderr, bad, badlen);
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
	int status = parse_args(argc, argv, &o, &color);
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
			      .single_pass = dump_mode && strstr(dump_mode, "once") != NULL,
			      .always_twice = dump_mode && strstr(dump_mode, "twice") != NULL};
	pv_services_load(&ctx.services, o.services_path);
	pv_ephemeral_load(&ctx.ephemeral, o.sysctl_dir);

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
