/*
 * The command line and the environment, into one request (cli.h): the
 * options, --help, and every usage error, each naming the input at fault
 * (escaped: it is user text) and why.
 */
#include "cli.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/state.h"
#include "portview/summary.h"
#include "portview/util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
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
	OPT_SRC,
	OPT_DST,
	OPT_PID,
	OPT_PROGRAM,
	OPT_COMMAND,
	OPT_NO_LOOPBACK,
	OPT_METRICS,
	OPT_FAIL_ON_PRESSURE,
	OPT_ALL_NETNS,
	OPT_UNIT,
	OPT_DEV,
	OPT_COUNT,
	OPT_INTERVAL,
	OPT_EVENTS,
	OPT_SECONDS, /* not an option: the trailing number, for mode_conflict */
};

static const char usage_line[] =
    "usage: portview [OPTION]... [SECONDS]    the sockets, as Windows netstat -no\n"
    "       portview --events [OPTION]...     sockets as they open, change and close\n"
    "       portview --ranges [-tu] [--json]  how full the local port ranges are\n"
    "       portview --lookup PORT[/PROTO]    what a port is, who uses it now\n"
    "       portview --lookup NAME            the same for a service name\n"
    "       portview -s [--json | --metrics]  counts, and the ephemeral port pressure\n";

static void usage_error(void)
{
	fputs(usage_line, stderr);
	fputs("Try 'portview --help' for more information.\n", stderr);
}

static void print_help(void)
{
	fputs(usage_line, stdout);
	fputs("\n"
	      "Which sockets (default: connections, without listening sockets):\n"
	      "  -a, --all            listening and bound TCP, unconnected UDP sockets too\n"
	      "  -l, --listening      only listening TCP and unconnected UDP sockets\n"
	      "  -t, --tcp            TCP sockets (with -u: both; neither: both)\n"
	      "  -u, --udp            UDP sockets\n"
	      "  -4, --ipv4           IPv4, and IPv6 sockets taking IPv4 (v4-mapped, *:PORT)\n"
	      "  -6, --ipv6           IPv6\n"
	      "      --state LIST     in these states (below); replaces -a and -l\n"
	      "      --port SPEC      local or foreign port: 80, 8000-8100, https, lists\n"
	      "      --sport SPEC     local port\n"
	      "      --dport SPEC     foreign port\n"
	      "      --src ADDR[/N]   local address or network, IPv4 or IPv6; lists\n"
	      "      --dst ADDR[/N]   foreign address or network\n"
	      "      --pid LIST       held by these processes\n"
	      "      --command NAME   held by a process of this name (--program=NAME)\n"
	      "      --class LIST     local port in: well-known, registered, dynamic,\n"
	      "                       ephemeral\n"
	      "      --no-loopback    no sockets on loopback addresses\n"
	      "      --dev IFACE      bound to interface IFACE (a name or an index)\n"
	      "  -N, --netns NS       in network namespace NS: its name (ip netns), a path\n"
	      "                       to it, or pid:PID\n"
	      "      --all-netns      in every network namespace, with Netns and Unit\n"
	      "                       columns\n"
	      "  A filter that names a port, an address or a process selects every\n"
	      "  state, unless -a, -l or --state says otherwise.\n"
	      "\n"
	      "Columns:\n"
	      "  -o, --owner          PID\n"
	      "  -p, --program        PID/Program name\n"
	      "  -e, --extended       user, inode, queues and the TCP timer\n"
	      "  -i, --info           TCP internals: rtt, cwnd, bytes, segments, retransmits,\n"
	      "                       delivery rate, idle time; with an interval, the rates\n"
	      "      --unit           the systemd unit, container or pod of the owner\n"
	      "      --plain          only the netstat columns: no port annotations\n"
	      "\n"
	      "Output:\n"
	      "  -n, --numeric        numbers: no host or service names, no lookups\n"
	      "  -H, --no-header      the rows only\n"
	      "  -W, --wide           everything: every owner, every column, even wider\n"
	      "                       than the terminal\n"
	      "      --sort KEYS      by proto, local, foreign, state, pid, program, port\n"
	      "                       or rate (the fastest first: -i and an interval), a\n"
	      "                       comma list; '-' before a key reverses it\n"
	      "      --json           one JSON document (portview(8) has its schema)\n"
	      "      --color[=WHEN]   colour: auto (on a terminal; the default), always,\n"
	      "                       never; NO_COLOR or TERM=dumb turn auto off\n"
	      "\n"
	      "Watching:\n"
	      "  SECONDS              a trailing number: the listing again every SECONDS\n"
	      "                       (0.1 or more), as Windows netstat 5; on a terminal\n"
	      "                       redrawn in place, what changed marked\n"
	      "  -c, --continuous     the same every second, as Linux netstat -c\n"
	      "      --interval SECS  the same as a trailing SECS; with --events, how often\n"
	      "                       to look for opened and changed sockets (default 1)\n"
	      "      --count N        stop after N listings, or with --events N events\n"
	      "      --events         a line per socket opened, changed or closed (closes\n"
	      "                       at once, from the kernel); --json: NDJSON\n"
	      "\n"
	      "Other modes:\n"
	      "      --ranges         this host's ephemeral port ranges and their use\n"
	      "      --lookup PORT[/PROTO], --lookup NAME\n"
	      "                       what a port or service is, and who uses it now\n"
	      "  -s, --summary        counts by state, port class and program, and the\n"
	      "                       ephemeral port pressure toward each destination\n"
	      "      --metrics        the summary as OpenMetrics text, for Prometheus\n"
	      "      --fail-on-pressure PCT\n"
	      "                       with the summary: exit 3 when a destination uses\n"
	      "                       more than PCT% of the ephemeral ports\n"
	      "  -h, --help           this help\n"
	      "  -V, --version        the version\n"
	      "\n"
	      "States: established, syn-sent, syn-recv, fin-wait-1, fin-wait-2,\n"
	      "  time-wait, close, close-wait, last-ack, listening, closing, bound;\n"
	      "  groups: all, connected, synchronized, bucket, big; and ss's spellings\n"
	      "  (estab, unconn, listen, bound-inactive...).\n"
	      "\n"
	      "Exit status: 0 success, 1 runtime failure, 2 usage error, 3 ephemeral port\n"
	      "pressure above --fail-on-pressure.\n"
	      "The manual: man portview.\n",
	      stdout);
}

/*
 * Echo user input without letting it drive the terminal, and without a
 * 100 KB value filling it: escaped, cut after 64 characters with "...".
 */
#define ECHO_MAX 64
static void put_escaped(const char *s, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	if (pv_escape_text_max(&b, s, n, ECHO_MAX) < n)
		pv_buf_puts(&b, "...");
	if (b.len)
		fwrite(b.data, 1, b.len, stderr);
	pv_buf_free(&b);
}

/*
 * The one report of a bad value:
 *   portview: OPTION VALUE[: ITEM]: why[; did you mean X?][ (valid: ...)]
 * The item is named when it is part of a longer value (a list).  An empty
 * value shows as '' after a space ("--port ''"), as nothing after '='.
 * A near miss gets its likely meaning instead of the list of valid ones.
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
	if (w->suggest)
		fprintf(stderr, "; did you mean %s?", w->suggest);
	else if (w->hint)
		fprintf(stderr, "; %s", w->hint);
	else if (w->valid)
		fprintf(stderr, " (valid: %s)", w->valid);
	fputc('\n', stderr);
}

/*
 * The option as the user spelled it: "--colour", an abbreviation such as
 * "--stat", or "-a".  getopt_long accepts only a long option's full name
 * or a prefix of it, so the spelling fits.  Returns what joined the value
 * to it: "=" or " ".
 */
#define SPELLED_MAX 24
static const char *spell(char out[SPELLED_MAX], char **argv, int c, int longindex)
{
	if (longindex < 0) {
		out[0] = '-';
		out[1] = (char)c;
		out[2] = '\0';
		return " ";
	}
	/* A separate value is the element after the option's own. */
	const char *elt =
	    optarg && argv[optind - 1] == optarg ? argv[optind - 2] : argv[optind - 1];
	size_t n = strcspn(elt, "=");
	if (n >= SPELLED_MAX)
		n = SPELLED_MAX - 1;
	memcpy(out, elt, n);
	out[n] = '\0';
	return elt[strcspn(elt, "=")] ? "=" : " ";
}

/* The options given, each once, as first spelled: for mode conflicts. */
struct given {
	int code[48];
	char name[48][SPELLED_MAX];
	size_t n;
};

static void note_given(struct given *g, int code, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->code[i] == code)
			return;
	if (g->n < ARRAY_SIZE(g->code)) {
		g->code[g->n] = code;
		memcpy(g->name[g->n++], name, SPELLED_MAX);
	}
}

/*
 * An option that would do nothing in a mode is a usage error naming both:
 * --ranges counts every socket in the port ranges, --lookup shows every
 * socket on the port it names, and the summary has no table to shape.
 * The message says what the mode does take.  -n, --color, and -o, -p
 * with --lookup, change nothing there either but are harmless habits; so
 * are -n, -o and -p with --events, which always shows numbers and owners.
 * An interval repeats the socket listing: the other modes refuse it.
 */
static int mode_conflict(const struct given *g)
{
	static const int ranges_no[] = {
	    'a',       'l',	'4',	 '6',	      OPT_STATE,    OPT_PORT,  OPT_SPORT,
	    OPT_DPORT, OPT_SRC, OPT_DST, OPT_PID,     OPT_COMMAND,  OPT_CLASS, OPT_NO_LOOPBACK,
	    OPT_SORT,  'o',	'p',	 'e',	      OPT_PLAIN,    'H',       'W',
	    OPT_DEV,   'i',	'c',	 OPT_SECONDS, OPT_INTERVAL, OPT_COUNT, OPT_EVENTS,
	    0};
	static const int lookup_no[] = {'a',	      'l',	 OPT_STATE,  OPT_PORT, OPT_SPORT,
					OPT_DPORT,    OPT_CLASS, 'i',	     'c',      OPT_SECONDS,
					OPT_INTERVAL, OPT_COUNT, OPT_EVENTS, 0};
	static const int summary_no[] = {'o',	     'p', 'e', OPT_PLAIN,   'H',	  'W',
					 OPT_SORT,   'i', 'c', OPT_SECONDS, OPT_INTERVAL, OPT_COUNT,
					 OPT_EVENTS, 0};
	static const int events_no[] = {'W', OPT_SORT, 'e', 'c', OPT_SECONDS, OPT_ALL_NETNS, 0};
	static const struct {
		int modes[3]; /* the options that choose the mode */
		const int *no;
		const char *why;
	} modes[] = {
	    {{OPT_RANGES},
	     ranges_no,
	     "it counts every socket in the ranges (only -t, -u and --json apply)"},
	    {{OPT_LOOKUP},
	     lookup_no,
	     "it lists every socket on the port (-t, -u, -4, -6, --src, --dst, --pid and "
	     "--command narrow it)"},
	    {{'s', OPT_METRICS, OPT_FAIL_ON_PRESSURE},
	     summary_no,
	     "it prints counts, not a table (the selection options narrow what it counts)"},
	    {{OPT_EVENTS},
	     events_no,
	     "it prints a line per change as it comes, in one network namespace (the filters, "
	     "-N, -H, --plain, -i, --json, --interval and --count apply)"},
	};
	for (size_t m = 0; m < ARRAY_SIZE(modes); m++) {
		const char *mode_name = NULL;
		for (size_t i = 0; i < g->n && !mode_name; i++)
			for (size_t k = 0; k < ARRAY_SIZE(modes[m].modes); k++)
				if (modes[m].modes[k] && g->code[i] == modes[m].modes[k])
					mode_name = g->name[i];
		if (!mode_name)
			continue;
		for (size_t i = 0; i < g->n; i++) {
			for (const int *no = modes[m].no; *no; no++) {
				if (g->code[i] != *no)
					continue;
				fprintf(stderr, "portview: %s cannot be combined with %s: %s\n",
					g->name[i], mode_name, modes[m].why);
				return EXIT_USAGE;
			}
		}
	}
	return -1;
}

/* What an ss or Windows netstat habit means here, for a stray argument. */
static bool protocol_word(const char *w)
{
	static const char *const words[] = {"tcp", "udp", "tcpv6", "udpv6", "tcp6", "udp6"};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(w, words[i]) == 0)
			return true;
	return false;
}

static void stray_hint(char **argv, int argc, int at, const char *after_p)
{
	static const char *const ss_words[] = {"state", "sport", "dport", "src", "dst"};
	const char *w = argv[at];
	const char *next = at + 1 < argc ? argv[at + 1] : NULL;
	if (next && strcmp(next, "=") == 0)
		next = at + 2 < argc ? argv[at + 2] : NULL;
	if (w == after_p) {
		if (protocol_word(w)) {
			fprintf(stderr, "; for %s sockets write %s (-p shows programs here)",
				strncasecmp(w, "tcp", 3) == 0 ? "TCP" : "UDP",
				strncasecmp(w, "tcp", 3) == 0 ? "-t" : "-u");
			return;
		}
		fputs("; to keep one program's sockets write --command ", stderr);
		put_escaped(w, strlen(w));
		return;
	}
	if (protocol_word(w)) {
		fprintf(stderr, "; for %s sockets write %s",
			strncasecmp(w, "tcp", 3) == 0 ? "TCP" : "UDP",
			strncasecmp(w, "tcp", 3) == 0 ? "-t" : "-u");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ss_words); i++) {
		if (strcmp(w, ss_words[i]) != 0)
			continue;
		fprintf(stderr, "; ss's '%s' is --%s here: write --%s ", w, w, w);
		if (next) {
			/* ss writes ports as ":80" */
			put_escaped(next + (next[0] == ':' && i > 0 && i < 3),
				    strlen(next + (next[0] == ':' && i > 0 && i < 3)));
		} else {
			fputs(i == 0 ? "STATE" : i < 3 ? "PORT" : "ADDR", stderr);
		}
		return;
	}
	uint32_t mask;
	struct pv_why why;
	if (pv_state_parse_list(w, &mask, &why)) {
		fputs("; to list sockets in that state write --state ", stderr);
		put_escaped(w, strlen(w));
	}
}

/* A long option nobody has: its likely meaning, or the ones it could be. */
static void unknown_long(const char *arg, const struct option *longopts)
{
	const char *name = arg + 2;
	size_t n = strcspn(name, "=");
	fputs("portview: unrecognized option '", stderr);
	put_escaped(arg, strlen(arg));
	fputc('\'', stderr);
	size_t prefixed = 0;
	for (const struct option *l = longopts; l->name; l++)
		prefixed += n && strncmp(l->name, name, n) == 0;
	if (prefixed > 1) {
		fputs("; it could be", stderr);
		const char *sep = " ";
		for (const struct option *l = longopts; l->name; l++) {
			if (n && strncmp(l->name, name, n) == 0) {
				fprintf(stderr, "%s--%s", sep, l->name);
				sep = ", ";
			}
		}
	} else {
		size_t count = 0;
		while (longopts[count].name)
			count++;
		const char *near = pv_nearest(name, n, longopts, count, sizeof(*longopts));
		if (near)
			fprintf(stderr, "; did you mean --%s?", near);
	}
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

/* PORTVIEW_OWNERS: bpf or proc (empty: the default, either). */
static bool parse_owners(const char *value, enum pv_owner_source *src, struct pv_why *why)
{
	if (strcmp(value, "bpf") == 0)
		*src = PV_OWNERS_BPF;
	else if (strcmp(value, "proc") == 0)
		*src = PV_OWNERS_PROC;
	else if (value[0]) {
		*why = (struct pv_why){.why = "unknown value",
				       .item = value,
				       .len = strlen(value),
				       .valid = "bpf, proc"};
		return false;
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
	const char *owners = getenv("PORTVIEW_OWNERS");
	if (owners && !parse_owners(owners, &req->owners, &why)) {
		bad_value("PORTVIEW_OWNERS", "=", owners, &why);
		return EXIT_USAGE;
	}
	/*
	 * https://no-color.org: a set, non-empty NO_COLOR turns auto off; so
	 * does a terminal that says it has no colour (TERM unset or dumb).
	 */
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	*color_auto_off = (no_color && *no_color) || !term || !*term || strcmp(term, "dumb") == 0;
	return -1;
}

/*
 * The width of the terminal standard output is, or 0 when it is not one:
 * TIOCGWINSZ, else COLUMNS.  A pipe or a file gets everything.
 */
static unsigned terminal_width(void)
{
	if (!isatty(STDOUT_FILENO))
		return 0;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *cols = getenv("COLUMNS");
	uint64_t v;
	if (cols && pv_parse_uint_str(cols, 100000, &v) == 0 && v > 0)
		return (unsigned)v;
	return 0;
}

/* The port options, kept as given until the end of the command line. */
#define MAX_PORT_ARGS 128
struct port_arg {
	char option[SPELLED_MAX]; /* "--port", as spelled */
	const char *sep;
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
				bad_value(args[i].option, args[i].sep, args[i].spec, &why);
				return EXIT_USAGE;
			}
		}
		if (c->nranges)
			q->nclauses++;
	}
	return -1;
}

/* Whether a stray argument is meant as an interval: "5", "0.5", ".5". */
static bool looks_like_seconds(const char *w)
{
	return (w[0] >= '0' && w[0] <= '9') || (w[0] == '.' && w[1] >= '0' && w[1] <= '9');
}

/*
 * The interval's options together: -c is every second, an interval is
 * given once, --count needs something to count.
 */
static int watch_conflict(const struct pv_request *req, const char *seconds, bool continuous,
			  const char *interval, const char *interval_opt, const char *interval_sep,
			  bool count_given)
{
	if (continuous && (seconds || interval)) {
		fprintf(stderr,
			"portview: -c cannot be combined with an interval (%s%s%s): -c is "
			"every second\n",
			seconds ? "" : interval_opt, seconds ? "" : interval_sep,
			seconds ? seconds : interval);
		return EXIT_USAGE;
	}
	if (seconds && interval) {
		fprintf(stderr, "portview: the interval is given twice (%s and %s%s%s)\n", seconds,
			interval_opt, interval_sep, interval);
		return EXIT_USAGE;
	}
	if (count_given && !seconds && !interval && !continuous && req->mode != PV_MODE_EVENTS) {
		fputs("portview: --count needs an interval or --events (as in portview -no 2 "
		      "--count 5)\n",
		      stderr);
		return EXIT_USAGE;
	}
	return -1;
}

bool pv_request_wants_owners(const struct pv_request *req)
{
	/* JSON and events always carry owners; sorting by them needs them too. */
	return req->mode == PV_MODE_SUMMARY || req->mode == PV_MODE_EVENTS || req->table.owner ||
	       req->table.program || req->table.unit || req->json ||
	       pv_order_needs_owners(&req->order) || pv_query_by_owner(&req->query);
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
	    {"program", optional_argument, NULL, OPT_PROGRAM},
	    {"numeric", no_argument, NULL, 'n'},
	    {"state", required_argument, NULL, OPT_STATE},
	    {"plain", no_argument, NULL, OPT_PLAIN},
	    {"ranges", no_argument, NULL, OPT_RANGES},
	    {"lookup", required_argument, NULL, OPT_LOOKUP},
	    {"port", required_argument, NULL, OPT_PORT},
	    {"sport", required_argument, NULL, OPT_SPORT},
	    {"dport", required_argument, NULL, OPT_DPORT},
	    {"class", required_argument, NULL, OPT_CLASS},
	    {"src", required_argument, NULL, OPT_SRC},
	    {"dst", required_argument, NULL, OPT_DST},
	    {"pid", required_argument, NULL, OPT_PID},
	    {"command", required_argument, NULL, OPT_COMMAND},
	    {"no-loopback", no_argument, NULL, OPT_NO_LOOPBACK},
	    {"dev", required_argument, NULL, OPT_DEV},
	    {"sort", required_argument, NULL, OPT_SORT},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"color", optional_argument, NULL, OPT_COLOR},
	    {"colour", optional_argument, NULL, OPT_COLOR},
	    {"extended", no_argument, NULL, 'e'},
	    {"no-header", no_argument, NULL, 'H'},
	    {"wide", no_argument, NULL, 'W'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"summary", no_argument, NULL, 's'},
	    {"netns", required_argument, NULL, 'N'},
	    {"all-netns", no_argument, NULL, OPT_ALL_NETNS},
	    {"unit", no_argument, NULL, OPT_UNIT},
	    {"metrics", no_argument, NULL, OPT_METRICS},
	    {"fail-on-pressure", required_argument, NULL, OPT_FAIL_ON_PRESSURE},
	    {"continuous", no_argument, NULL, 'c'},
	    {"interval", required_argument, NULL, OPT_INTERVAL},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"events", no_argument, NULL, OPT_EVENTS},
	    {"info", no_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0},
	};
	static const char shortopts[] = ":46acehHilN:nopstuVW";
	enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color = COLOR_AUTO;
	struct port_arg ports[MAX_PORT_ARGS];
	size_t nports = 0;
	bool all = false, listening = false, states_given = false;
	bool named = false; /* a filter names an address, a process */
	const char *lookup = NULL;
	const char *summary = NULL; /* the option that asked for the summary */
	struct pv_query *q = &req->query;
	struct pv_why why;
	int c, color_auto_off, longindex;
	struct given given = {.n = 0};
	char opt[SPELLED_MAX]; /* the option being read, as spelled */
	const char *sep = " "; /* and what joined its value to it */
	char lookup_opt[SPELLED_MAX];
	const char *netns_sep = " ";
	const char *lookup_sep = " ";
	const char *after_p = NULL;  /* the word after a bare -p: netstat -p tcp? */
	const char *interval = NULL; /* --interval's value */
	char interval_opt[SPELLED_MAX];
	const char *interval_sep = " ";
	bool continuous = false, count_given = false;
	char sort_opt[SPELLED_MAX] = "--sort";
	const char *sort_sep = " ", *sort_value = NULL;

	*req = (struct pv_request){
	    .proc_root = "/proc",
	    .sysctl_dir = "/proc/sys/net/ipv4",
	    .services_path = "/etc/services",
	    .fail_on_pressure = -1,
	    .run_netns = "/run/netns",
	    .netns = {.fd = -1},
	};
	int status = read_env(req, &color_auto_off);
	if (status >= 0)
		return status;
	pv_services_load(svc, req->services_path);

	opterr = 0;
	while (longindex = -1,
	       (c = getopt_long(argc, argv, shortopts, longopts, &longindex)) != -1) {
		if (c != '?' && c != ':') {
			sep = spell(opt, argv, c, longindex);
			note_given(&given, c == OPT_PROGRAM ? (optarg ? OPT_COMMAND : 'p') : c,
				   opt);
		}
		if ((c == 'p' || (c == OPT_PROGRAM && !optarg)) && optind < argc &&
		    argv[optind][0] != '-')
			after_p = argv[optind];
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
		case 'W':
			req->table.wide = true;
			break;
		case OPT_JSON:
			req->json = true;
			break;
		case OPT_SORT:
			if (!pv_parse_sort_keys(optarg, &req->order, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			memcpy(sort_opt, opt, SPELLED_MAX);
			sort_sep = sep;
			sort_value = optarg;
			break;
		case 'c':
			continuous = true;
			break;
		case 'i':
			req->info = req->table.info = true;
			break;
		case OPT_EVENTS:
			req->mode = PV_MODE_EVENTS;
			break;
		case OPT_INTERVAL:
			if (!pv_parse_seconds(optarg, &req->interval_ms, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			interval = optarg;
			memcpy(interval_opt, opt, SPELLED_MAX);
			interval_sep = sep;
			break;
		case OPT_COUNT: {
			uint64_t n;
			int err = pv_parse_uint_str(optarg, UINT32_MAX, &n);
			if (err || n == 0) {
				why = (struct pv_why){
				    .why = err == -ERANGE
					       ? "too many (at most 4294967295)"
					       : "not a count (a whole number, 1 or more)"};
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			req->count = n;
			count_given = true;
			break;
		}
		case OPT_COLOR:
			if (!optarg || strcmp(optarg, "always") == 0) {
				color = COLOR_ALWAYS;
			} else if (strcmp(optarg, "never") == 0) {
				color = COLOR_NEVER;
			} else if (strcmp(optarg, "auto") == 0) {
				color = COLOR_AUTO;
			} else {
				why = (struct pv_why){.why = "expected auto, always or never"};
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			break;
		case OPT_STATE:
			if (!pv_state_parse_list(optarg, &q->states, &why)) {
				bad_value(opt, sep, optarg, &why);
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
			memcpy(lookup_opt, opt, SPELLED_MAX);
			lookup_sep = sep;
			break;
		case OPT_PORT:
		case OPT_SPORT:
		case OPT_DPORT: {
			static const uint8_t sides[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
			int k = c - OPT_PORT;
			if (nports == ARRAY_SIZE(ports)) {
				why = (struct pv_why){
				    .why = "too many port options (at most 128 --port, --sport and "
					   "--dport; use a list: 80,443)"};
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			ports[nports] =
			    (struct port_arg){.sep = sep, .spec = optarg, .sides = sides[k]};
			memcpy(ports[nports++].option, opt, SPELLED_MAX);
			break;
		}
		case OPT_SRC:
		case OPT_DST: {
			uint8_t side = c == OPT_SRC ? PV_SIDE_SRC : PV_SIDE_DST;
			struct pv_addr_clause *a = NULL;
			for (size_t i = 0; i < q->naddrs; i++)
				if (q->addrs[i].side == side)
					a = &q->addrs[i];
			if (!a) {
				a = &q->addrs[q->naddrs++];
				*a = (struct pv_addr_clause){.side = side};
			}
			if (!pv_parse_addr_list(optarg, a, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			named = true;
			break;
		}
		case OPT_PID:
			if (!pv_parse_pid_list(optarg, q, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			named = true;
			break;
		case OPT_PROGRAM:
			/* --program is netstat's -p; --program=NAME is --command NAME */
			if (!optarg) {
				req->table.program = true;
				break;
			}
			/* fall through */
		case OPT_COMMAND: {
			size_t n = strlen(optarg);
			const char *bad = !n ? "empty program name"
					  : n >= sizeof(q->programs[0])
					      ? "longer than a command name "
						"can be (15 bytes)"
					  : q->nprograms == ARRAY_SIZE(q->programs)
					      ? "too many --command options (at most 8)"
					      : NULL;
			if (bad) {
				why = (struct pv_why){.why = bad};
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			memcpy(q->programs[q->nprograms++], optarg, n + 1);
			named = true;
			break;
		}
		case OPT_NO_LOOPBACK:
			q->no_loopback = true;
			break;
		case 'N':
			if (req->netns_spec) {
				fprintf(stderr, "portview: %s: give it once\n", opt);
				return EXIT_USAGE;
			}
			req->netns_spec = optarg;
			memcpy(req->netns_opt, opt, sizeof(req->netns_opt));
			netns_sep = sep;
			break;
		case OPT_ALL_NETNS:
			req->all_netns = true;
			req->table.netns = true;
			req->table.unit = true;
			break;
		case OPT_UNIT:
			req->table.unit = true;
			break;
		case OPT_CLASS:
			if (!pv_parse_class_list(optarg, &q->classes, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			break;
		case 's': /* the summary: -s, --metrics, --fail-on-pressure */
			summary = longindex < 0 ? "-s" : "--summary";
			break;
		case OPT_METRICS:
			req->metrics = true;
			summary = "--metrics";
			break;
		case OPT_FAIL_ON_PRESSURE: {
			unsigned pct;
			if (!pv_parse_percent(optarg, &pct, &why)) {
				bad_value(opt, sep, optarg, &why);
				return EXIT_USAGE;
			}
			req->fail_on_pressure = (int)pct;
			summary = summary ? summary : "--fail-on-pressure";
			break;
		}
		case OPT_DEV:
			if (!pv_parse_dev(optarg, &q->dev, &why)) {
				bad_value(opt, sep, optarg, &why);
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
				unknown_long(argv[optind - 1], longopts);
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
	if (summary && (req->mode == PV_MODE_RANGES || lookup)) {
		fprintf(stderr, "portview: %s and %s cannot be combined\n", summary,
			lookup ? "--lookup" : "--ranges");
		return EXIT_USAGE;
	}
	if (req->metrics && req->all_netns) {
		fputs("portview: --metrics cannot be combined with --all-netns: one namespace "
		      "per scrape (-N NS)\n",
		      stderr);
		return EXIT_USAGE;
	}
	if (req->metrics && req->json) {
		fputs("portview: --json and --metrics cannot be combined\n", stderr);
		return EXIT_USAGE;
	}
	/* A trailing number repeats the listing, as Windows netstat's. */
	const char *seconds = NULL;
	if (optind < argc && looks_like_seconds(argv[optind])) {
		seconds = argv[optind++];
		if (!pv_parse_seconds(seconds, &req->interval_ms, &why)) {
			bad_value("interval", " ", seconds, &why);
			return EXIT_USAGE;
		}
		char name[SPELLED_MAX];
		snprintf(name, sizeof(name), "interval %s", seconds);
		note_given(&given, OPT_SECONDS, name);
	}
	if (optind < argc) {
		fputs("portview: unexpected argument '", stderr);
		put_escaped(argv[optind], strlen(argv[optind]));
		fputc('\'', stderr);
		stray_hint(argv, argc, optind, after_p);
		fputc('\n', stderr);
		usage_error();
		return EXIT_USAGE;
	}
	if (req->netns_spec && req->all_netns) {
		fprintf(stderr, "portview: %s cannot be combined with --all-netns\n",
			req->netns_opt);
		return EXIT_USAGE;
	}
	/* A bad value first: it is the more precise complaint. */
	if (req->netns_spec &&
	    !pv_netns_open(req->netns_spec, req->proc_root, req->run_netns, &req->netns, &why)) {
		bad_value(req->netns_opt, netns_sep, req->netns_spec, &why);
		return EXIT_USAGE;
	}
	if (lookup && !pv_lookup_parse(lookup, svc, &req->lookup, &why)) {
		bad_value(lookup_opt, lookup_sep, lookup, &why);
		return EXIT_USAGE;
	}
	if ((status = mode_conflict(&given)) >= 0)
		return status;
	if ((status = watch_conflict(req, seconds, continuous, interval, interval_opt, interval_sep,
				     count_given)) >= 0)
		return status;
	if (pv_order_needs_rates(&req->order) &&
	    !(req->info && req->interval_ms && req->mode != PV_MODE_EVENTS)) {
		why = (struct pv_why){.why = "the rates need -i and an interval",
				      .hint = "as in portview -no 2 -i --sort rate"};
		bad_value(sort_opt, sort_sep, sort_value, &why);
		return EXIT_USAGE;
	}
	if ((status = compile_ports(ports, nports, svc, q)) >= 0)
		return status;

	req->table.color = color == COLOR_ALWAYS ||
			   (color == COLOR_AUTO && isatty(STDOUT_FILENO) && !color_auto_off);
	if (!req->table.wide)
		req->table.width = terminal_width();

	/*
	 * The states: --state replaces the default; -a is a superset of -l.  A
	 * filter that names a port, an address or a process asks about every
	 * state, listeners included, as lsof does.
	 */
	named |= nports > 0;
	if (!states_given) {
		if (all || (named && !listening))
			q->states = PV_STATES_ALL;
		else if (listening)
			q->states = PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE);
		else /* like netstat and ss: connections, which for UDP means connected */
			q->states = PV_STATES_CONNECTED;
	}
	q->tcp_listen_only = listening && !all && !states_given;

	req->wider = *q;
	req->wider.states = PV_STATES_ALL;
	req->wider.tcp_listen_only = false;

	if (summary) {
		/* Every socket, as with -a, unless -l or --state narrow it. */
		req->mode = PV_MODE_SUMMARY;
		if (!states_given && !listening)
			q->states = PV_STATES_ALL;
	}

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
	if (continuous)
		req->interval_ms = 1000;
	if (req->mode == PV_MODE_EVENTS && !req->interval_ms)
		req->interval_ms = 1000;
	else if (req->mode == PV_MODE_LIST && req->interval_ms)
		req->mode = PV_MODE_WATCH;
	/* the rates are the interval's: each TCP connection's, over the last one */
	req->table.rates = req->info && req->mode == PV_MODE_WATCH;
	return -1;
}
