/* The command line: options, --help, usage errors. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/sort.h"
#include "portview/state.h"
#include "portview/util.h"

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
void app_put_escaped(FILE *f, const char *s, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	pv_escape_text(&b, s, n);
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	pv_buf_free(&b);
}

/*
 * A bad item in a comma-separated list option, as --port reports one: the
 * value, then the item when the value is a list ("--state estab,FOO: FOO:
 * unknown state"), or an empty item (badlen 0).
 */
static void bad_list_item(const char *option, const char *value, const char *bad, size_t badlen,
			  const char *noun, const char *valid)
{
	fprintf(stderr, "portview: %s ", option);
	if (value[0])
		app_put_escaped(stderr, value, strlen(value));
	else
		fputs("''", stderr);
	if (badlen && badlen != strlen(value)) {
		fputs(": ", stderr);
		app_put_escaped(stderr, bad, badlen);
	}
	fprintf(stderr, ": %s %s%s (valid: %s)\n", badlen ? "unknown" : "empty", noun,
		badlen ? "" : " name", valid);
}

int app_parse_args(int argc, char **argv, struct pv_options *o, enum color_mode *color)
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
					app_put_escaped(stderr, optarg, strlen(optarg));
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
				app_put_escaped(stderr, optarg, strlen(optarg));
				fputs(": expected auto, always or never\n", stderr);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATE: {
			const char *bad;
			size_t badlen;
			if (pv_state_parse_list(optarg, &o->states, &bad, &badlen) < 0) {
				bad_list_item("--state", optarg, bad, badlen, "state",
					      pv_state_valid_names());
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
			if (o->nport_args == ARRAY_SIZE(o->port_args)) {
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
				bad_list_item("--class", optarg, bad, badlen, "class",
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
				app_put_escaped(stderr, &ch, 1);
				fputs("'\n", stderr);
			} else {
				fputs("portview: unrecognized option '", stderr);
				app_put_escaped(stderr, argv[optind - 1], strlen(argv[optind - 1]));
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
		app_put_escaped(stderr, argv[optind], strlen(argv[optind]));
		fputs("'\n", stderr);
		usage_error();
		return EXIT_USAGE;
	}
	return -1;
}
