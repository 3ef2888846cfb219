/*
 * The command line and the environment, into one request (cli.h): the
 * options, --help, and every usage error, each naming the input at fault
 * (escaped: it is user text) and why.
 */
#include "cli.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/state.h"
#include "portview/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	OPT_JSON,
	OPT_COLOR,
	OPT_DEV,
};

static const char usage_line[] =
    "usage: portview [-46aehHlnoptuV] [--state LIST] [--port SPEC] [--sport SPEC]\n"
    "                [--dport SPEC] [--class LIST] [--dev IFACE] [--sort KEY]\n"
    "                [--plain] [--json] [--color[=WHEN]]\n"
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
	printf("\nList TCP and UDP sockets with the processes that own them and what their ports\n"
	       "mean, in the layout of Windows 'netstat -no'.  By default: TCP connections that\n"
	       "are not listening and connected UDP sockets.\n\n"
	       "Selection:\n"
	       "  -a, --all          also show listening and bound TCP and unconnected UDP\n"
	       "                     sockets\n"
	       "  -l, --listening    show only listening TCP and unconnected UDP sockets\n"
	       "  -t, --tcp          TCP sockets (with -u: both; neither: both)\n"
	       "  -u, --udp          UDP sockets\n"
	       "  -4, --ipv4         IPv4 sockets, and IPv6 ones taking IPv4 (v4-mapped, *:PORT)\n"
	       "  -6, --ipv6         IPv6 sockets\n"
	       "      --state LIST   only sockets in these states (comma-separated, repeatable,\n"
	       "                     case-insensitive); replaces the default selection\n"
	       "      --port SPEC    only sockets whose local or foreign port matches SPEC:\n"
	       "                     a port, a range N-M, a service name, or a comma list\n"
	       "      --sport SPEC   only sockets whose local port matches SPEC\n"
	       "      --dport SPEC   only sockets whose foreign port matches SPEC\n"
	       "      --class LIST   only sockets whose local port is in these classes:\n"
	       "                     well-known, registered, dynamic, ephemeral\n"
	       "      --dev IFACE    only sockets bound to interface IFACE (name or index)\n"
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

/* Echo user input without letting it drive the terminal. */
static void put_escaped(const char *s, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	pv_escape_text(&b, s, n);
	if (b.len)
		fwrite(b.data, 1, b.len, stderr);
	pv_buf_free(&b);
}

/*
 * The one report of a bad value:
 *   portview: OPTION VALUE[: ITEM]: why[ (valid: ...)]
 * The item is named when it is part of a longer value (a list).  An empty
 * value shows as '' after a space ("--port ''"), as nothing after '='.
 */
static void bad_value(const char *option, const char *sep, const char *value,
		      const struct pv_why *w)
{
	fprintf(stderr, "portview: %s%s", option, sep);
	if (value[0] || sep[0] != ' ')
		put_escaped(value, strlen(value));
	else
		fputs("''", stderr);
	if (w->item && w->len && w->len != strlen(value)) {
		fputs(": ", stderr);
		put_escaped(w->item, w->len);
	}
	fprintf(stderr, ": %s", w->why);
	if (w->valid)
		fprintf(stderr, " (valid: %s)", w->valid);
	fputc('\n', stderr);
}

/* PORTVIEW_DUMP: a comma list of per-family, once, twice. */
static bool parse_dump(const char *value, struct pv_dump_policy *d, struct pv_why *why)
{
	struct pv_split it = pv_split_start(value, ',');
	const char *item;
	size_t n;
	while (pv_split_next(&it, &item, &n)) {
		if (n == 10 && memcmp(item, "per-family", 10) == 0)
			d->per_family = true;
		else if (n == 4 && memcmp(item, "once", 4) == 0)
			d->check = PV_DUMP_ONCE;
		else if (n == 5 && memcmp(item, "twice", 5) == 0)
			d->check = PV_DUMP_TWICE;
		else if (n || value[0]) {
			*why = (struct pv_why){.why = "unknown value",
					       .item = item,
					       .len = n,
					       .valid = "per-family, once, twice"};
			return false;
		}
	}
	return true;
}

/* The environment's part of the request. */
static int read_env(struct pv_request *req, int *color_auto_off)
{
	const char *services = getenv("PORTVIEW_SERVICES");
	if (services)
		req->services_path = services;
	const char *debug = getenv("PORTVIEW_DEBUG");
	req->debug = debug && *debug && strcmp(debug, "0") != 0;
	const char *dump = getenv("PORTVIEW_DUMP");
	struct pv_why why;
	if (dump && !parse_dump(dump, &req->dump, &why)) {
		bad_value("PORTVIEW_DUMP", "=", dump, &why);
		return EXIT_USAGE;
	}
	/* https://no-color.org: a set, non-empty NO_COLOR turns auto off */
	const char *no_color = getenv("NO_COLOR");
	*color_auto_off = no_color && *no_color;
	return -1;
}

/* The port options, kept as given until the end of the command line. */
#define MAX_PORT_ARGS 128
struct port_arg {
	const char *option; /* "--port" */
	const char *spec;
	uint8_t sides; /* enum pv_port_side */
};

/* Compile the port options into the query's clauses, one per kind, ANDed. */
static int compile_ports(const struct port_arg *args, size_t n, const struct pv_services *svc,
			 struct pv_query *q)
{
	static const uint8_t kinds[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
	q->nclauses = 0;
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		struct pv_port_clause *c = &q->clauses[q->nclauses];
		memset(c, 0, sizeof(*c));
		c->sides = kinds[k];
		for (size_t i = 0; i < n; i++) {
			struct pv_why why;
			if (args[i].sides != kinds[k])
				continue;
			if (!pv_parse_port_spec(args[i].spec, svc, c, &why)) {
				bad_value(args[i].option, " ", args[i].spec, &why);
				return EXIT_USAGE;
			}
		}
		if (c->nranges)
			q->nclauses++;
	}
	return -1;
}

bool pv_request_wants_owners(const struct pv_request *req)
{
	/* JSON always carries owners; sorting by them needs them too. */
	return req->table.owner || req->table.program || req->json ||
	       req->order.key == PV_SORT_PID || req->order.key == PV_SORT_PROGRAM;
}

int pv_cli_parse(int argc, char **argv, struct pv_services *svc, struct pv_request *req)
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
	    {"dev", required_argument, NULL, OPT_DEV},
	    {"sort", required_argument, NULL, OPT_SORT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"color", optional_argument, NULL, OPT_COLOR},
	    {"colour", optional_argument, NULL, OPT_COLOR},
	    {"extended", no_argument, NULL, 'e'},
	    {"no-header", no_argument, NULL, 'H'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	static const char shortopts[] = ":46aehHlnoptuV";
	enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color = COLOR_AUTO;
	struct port_arg ports[MAX_PORT_ARGS];
	size_t nports = 0;
	bool all = false, listening = false, states_given = false;
	const char *lookup = NULL;
	struct pv_query *q = &req->query;
	struct pv_why why;
	int c, color_auto_off;

	*req = (struct pv_request){
	    .proc_root = "/proc",
	    .sysctl_dir = "/proc/sys/net/ipv4",
	    .services_path = "/etc/services",
	};
	int status = read_env(req, &color_auto_off);
	if (status >= 0)
		return status;
	pv_services_load(svc, req->services_path);

	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case '4':
			q->ipv4 = true;
			break;
		case '6':
			q->ipv6 = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			print_help();
			return EXIT_OK;
		case 'l':
			listening = true;
			break;
		case 'n':
			req->table.numeric = true;
			break;
		case 'o':
			req->table.owner = true;
			break;
		case 'p':
			req->table.program = true;
			break;
		case 't':
			q->tcp = true;
			break;
		case 'u':
			q->udp = true;
			break;
		case 'V':
			printf("portview %s\n", PORTVIEW_VERSION);
			return EXIT_OK;
		case 'e':
			req->table.extended = true;
			break;
		case 'H':
			req->table.no_header = true;
			break;
		case OPT_JSON:
			req->json = true;
			break;
		case OPT_SORT:
			if (!pv_parse_sort_key(optarg, &req->order, &why)) {
				bad_value("--sort", " ", optarg, &why);
				return EXIT_USAGE;
			}
			break;
		case OPT_COLOR:
			if (!optarg || strcmp(optarg, "always") == 0) {
				color = COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				color = COLOR_NEVER;
			} else if (strcmp(optarg, "auto") == 0) {
				color = COLOR_AUTO;
			} else {
				why = (struct pv_why){.why = "expected auto, always or never"};
				bad_value("--color", "=", optarg, &why);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATE:
			if (!pv_state_parse_list(optarg, &q->states, &why)) {
				bad_value("--state", " ", optarg, &why);
				return EXIT_USAGE;
			}
			states_given = true;
			break;
		case OPT_PLAIN:
			req->table.plain = true;
			break;
		case OPT_RANGES:
			req->mode = PV_MODE_RANGES;
			break;
		case OPT_LOOKUP:
			if (lookup) {
				fputs("portview: --lookup: give it once\n", stderr);
				return EXIT_USAGE;
			}
			lookup = optarg;
			break;
		case OPT_PORT:
		case OPT_SPORT:
		case OPT_DPORT: {
			static const char *const names[] = {"--port", "--sport", "--dport"};
			static const uint8_t sides[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
			int k = c - OPT_PORT;
			if (nports == ARRAY_SIZE(ports)) {
				why = (struct pv_why){
				    .why = "too many port options (at most 128 --port, --sport and "
					   "--dport; use a list: 80,443)"};
				bad_value(names[k], " ", optarg, &why);
				return EXIT_USAGE;
			}
			ports[nports++] = (struct port_arg){
			    .option = names[k], .spec = optarg, .sides = sides[k]};
			break;
		}
		case OPT_CLASS:
			if (!pv_parse_class_list(optarg, &q->classes, &why)) {
				bad_value("--class", " ", optarg, &why);
				return EXIT_USAGE;
			}
			break;
		case OPT_DEV:
			if (!pv_parse_dev(optarg, &q->dev, &why)) {
				bad_value("--dev", " ", optarg, &why);
				return EXIT_USAGE;
			}
			break;
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
				put_escaped(&ch, 1);
				fputs("'\n", stderr);
			} else {
				fputs("portview: unrecognized option '", stderr);
				put_escaped(argv[optind - 1], strlen(argv[optind - 1]));
				fputs("'\n", stderr);
			}
			usage_error();
			return EXIT_USAGE;
		}
	}
	if (req->json && lookup) {
		fputs("portview: --json cannot be combined with --lookup\n", stderr);
		return EXIT_USAGE;
	}
	if (req->mode == PV_MODE_RANGES && lookup) {
		fputs("portview: --ranges and --lookup cannot be combined\n", stderr);
		return EXIT_USAGE;
	}
	if (optind < argc) {
		fputs("portview: unexpected argument '", stderr);
		put_escaped(argv[optind], strlen(argv[optind]));
		fputs("'\n", stderr);
		usage_error();
		return EXIT_USAGE;
	}
	if ((status = compile_ports(ports, nports, svc, q)) >= 0)
		return status;

	req->table.color = color == COLOR_ALWAYS ||
			   (color == COLOR_AUTO && isatty(STDOUT_FILENO) && !color_auto_off);

	/* The states: --state replaces the default; -a is a superset of -l. */
	if (!states_given) {
		if (all)
			q->states = PV_STATES_ALL;
		else if (listening)
			q->states = PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE);
		else /* like netstat and ss: connections, which for UDP means connected */
			q->states = PV_STATES_CONNECTED;
	}
	q->tcp_listen_only = listening && !all && !states_given;

	if (req->mode == PV_MODE_RANGES) {
		/* Every socket in the ranges, IPv4 and IPv6 drawing on one port space. */
		q->states = PV_STATES_ALL;
		q->tcp_listen_only = false;
		q->ipv4 = q->ipv6 = false;
		q->nclauses = 0;
		q->classes = 0;
		q->dev = 0;
	}
	if (lookup) {
		/* Who uses the ports now: every state, either side, with owners. */
		if (!pv_lookup_parse(lookup, svc, &req->lookup, &why)) {
			bad_value("--lookup", " ", lookup, &why);
			return EXIT_USAGE;
		}
		bool tcp, udp;
		req->mode = PV_MODE_LOOKUP;
		pv_lookup_clause(&req->lookup, &q->clauses[0], &tcp, &udp);
		q->nclauses = 1;
		q->states = PV_STATES_ALL;
		q->tcp_listen_only = false;
		req->lookup_sockets = tcp || udp;
		if (!q->tcp && !q->udp) {
			q->tcp = tcp;
			q->udp = udp;
		}
		req->table.program = true;
	}
	return -1;
}
