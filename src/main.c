/*
 * portview: who is talking on which port.
 *
 * main() parses the options, runs the pipeline (kernel dump -> records ->
 * owners -> filter -> sort -> render) and turns failures into messages and
 * exit codes.  It is the only place that prints diagnostics or exits.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "portview/buf.h"
#include "portview/filter.h"
#include "portview/format.h"
#include "portview/options.h"
#include "portview/owners.h"
#include "portview/render.h"
#include "portview/sock.h"
#include "portview/sock_diag.h"
#include "portview/state.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };
enum { OPT_STATE = 256 };

static const char usage_line[] = "usage: portview [-46alnoptuhV] [--state LIST]\n";

static void usage_error(void)
{
	fputs(usage_line, stderr);
	fputs("Try 'portview --help' for more information.\n", stderr);
}

static void print_help(void)
{
	printf("%s", usage_line);
	printf(
	    "\nList TCP and UDP sockets with the processes that own them, in the layout of\n"
	    "Windows 'netstat -no'.  By default: TCP connections that are not listening and\n"
	    "connected UDP sockets.\n\n"
	    "  -a, --all          also show listening TCP and unconnected UDP sockets\n"
	    "  -l, --listening    show only listening TCP and unconnected UDP sockets\n"
	    "  -t, --tcp          TCP sockets (with -u: both; neither: both)\n"
	    "  -u, --udp          UDP sockets\n"
	    "  -4, --ipv4         IPv4 sockets, including IPv6 sockets with v4-mapped addresses\n"
	    "  -6, --ipv6         IPv6 sockets\n"
	    "  -o, --owner        add the PID column (owning processes)\n"
	    "  -p, --program      add the PID/Program name column\n"
	    "  -n, --numeric      numeric addresses and ports\n"
	    "      --state LIST   only sockets in these states (comma-separated, repeatable,\n"
	    "                     case-insensitive); replaces the default selection\n"
	    "  -h, --help         show this help and exit\n"
	    "  -V, --version      show the version and exit\n\n"
	    "States and groups for --state:\n  %s\n\n"
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
	fwrite(b.data, 1, b.len, f);
	pv_buf_free(&b);
}

/* Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct pv_options *o)
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
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":46ahlnoptuV", longopts, NULL)) != -1) {
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
		case ':':
			fprintf(stderr, "portview: option '%s' requires an argument\n",
				argv[optind - 1]);
			usage_error();
			return EXIT_USAGE;
		default:
			if (optopt) {
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

struct dump_segment {
	struct pv_diag_query q;
	size_t off, len;
};

/*
 * Drain every dump first, parse after: the kernel's table walk is not a
 * snapshot, and the shorter each dump takes, the fewer sockets move under it.
 */
static int collect(const struct pv_options *o, struct pv_socklist *l)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	static const uint8_t families[] = {AF_INET, AF_INET6};
	struct dump_segment seg[4];
	size_t nseg = 0;
	struct mnl_socket *nl;
	struct pv_buf raw;
	int err;

	err = pv_diag_open(&nl);
	if (err) {
		fprintf(stderr, "portview: cannot open a netlink sock_diag socket: %s\n",
			strerror(-err));
		return EXIT_RUNTIME;
	}
	pv_buf_init(&raw);
	for (size_t p = 0; p < 2; p++) {
		if (!pv_filter_want_proto(o, protos[p]))
			continue;
		for (size_t f = 0; f < 2; f++) {
			if (!pv_filter_want_family(o, families[f]))
				continue;
			struct dump_segment *s = &seg[nseg++];
			s->q = (struct pv_diag_query){
			    .family = families[f],
			    .proto = protos[p],
			    .states = pv_filter_states(o),
			};
			s->off = raw.len;
			err = pv_diag_dump(nl, &s->q, &raw);
			if (err) {
				fprintf(stderr, "portview: %s%s socket dump failed: %s\n",
					proto_name(s->q.proto),
					families[f] == AF_INET ? "v4" : "v6", strerror(-err));
				pv_diag_close(nl);
				pv_buf_free(&raw);
				return EXIT_RUNTIME;
			}
			s->len = raw.len - s->off;
		}
	}
	pv_diag_close(nl);

	int status = EXIT_OK;
	uint8_t warned = 0;
	for (size_t i = 0; i < nseg && status == EXIT_OK; i++) {
		err = pv_diag_parse(raw.data + seg[i].off, seg[i].len, seg[i].q.proto, l);
		if (err == -ENOENT || err == -EOPNOTSUPP || err == -EPROTONOSUPPORT) {
			/* The protocol's diag module is missing: show what we can. */
			uint8_t bit = seg[i].q.proto == IPPROTO_TCP ? 1 : 2;
			if (!(warned & bit))
				fprintf(stderr,
					"portview: warning: the kernel cannot list %s sockets "
					"(%s); skipped\n",
					proto_name(seg[i].q.proto), strerror(-err));
			warned |= bit;
		} else if (err) {
			fprintf(stderr, "portview: %s socket dump failed: %s\n",
				proto_name(seg[i].q.proto),
				err == -EBADMSG ? "malformed reply from the kernel"
						: strerror(-err));
			status = EXIT_RUNTIME;
		}
	}
	pv_buf_free(&raw);
	return status;
}

static int attribute_owners(const struct pv_options *o, struct pv_socklist *l,
			    struct pv_owner_table *t)
{
	pv_owners_init(t, l->n);
	for (size_t i = 0; i < l->n; i++)
		pv_owners_want(t, l->v[i].inode);
	int err = pv_owners_walk(t, o->proc_root);
	if (err) {
		fprintf(stderr, "portview: cannot read %s: %s\n", o->proc_root, strerror(-err));
		return EXIT_RUNTIME;
	}
	pv_owners_finish(t);
	for (size_t i = 0; i < l->n; i++)
		pv_owners_lookup(t, l->v[i].inode, &l->v[i].owner_first, &l->v[i].owner_count);
	if (t->denied)
		fputs("portview: owners of other users' sockets could not be identified "
		      "(run as root to see them all)\n",
		      stderr);
	return EXIT_OK;
}

static int run(const struct pv_options *o)
{
	struct pv_socklist l;
	struct pv_owner_table owners;
	bool want_owners = o->owner || o->program;
	int status;

	pv_socklist_init(&l);
	status = collect(o, &l);
	if (status == EXIT_OK && pv_filter_needs_pass(o))
		pv_socklist_filter(&l, pv_filter_keep, o);
	if (status == EXIT_OK && want_owners)
		status = attribute_owners(o, &l, &owners);
	if (status != EXIT_OK) {
		pv_socklist_free(&l);
		return status;
	}
	pv_socklist_sort(&l);

	struct pv_buf out;
	pv_buf_init(&out);
	pv_render_table(&out, &l, want_owners ? &owners : NULL, o);
	int err = pv_buf_write(&out, STDOUT_FILENO);
	/* A reader that went away (| head) wanted no more: not an error. */
	if (err && err != -EPIPE) {
		fprintf(stderr, "portview: cannot write output: %s\n", strerror(-err));
		status = EXIT_RUNTIME;
	}
	pv_buf_free(&out);
	if (want_owners)
		pv_owners_free(&owners);
	pv_socklist_free(&l);
	return status;
}

int main(int argc, char **argv)
{
	struct pv_options o;
	pv_options_init(&o);

	int status = parse_args(argc, argv, &o);
	if (status >= 0) {
		if (status == EXIT_OK && fflush(stdout) != 0)
			return EXIT_RUNTIME;
		return status;
	}
	/* Let write() report EPIPE instead of the signal killing us mid-table. */
	signal(SIGPIPE, SIG_IGN);
	return run(&o);
}
