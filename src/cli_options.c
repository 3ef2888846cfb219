/*
 * The table of options: each one described once, with how its value is
 * read.  getopt's tables, --help, --list-options and the conflicts
 * between modes are all made from it (cli.c), as git's parse-options and
 * curl's tool_getparam make theirs.
 */
#include "cli_int.h"
#include "portview/state.h"
#include "portview/summary.h"
#include "portview/util.h"

#include <errno.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#define FLAG(field) (offsetof(struct pv_request, field) + 1)

static int bad(const struct cli_state *st, const char *arg, const struct pv_why *why)
{
	pv_cli_bad_value(st->cur.name, st->cur.sep, arg, why);
	return EXIT_USAGE;
}

static int opt_all(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->all = true;
	return PV_GO_ON;
}

static int opt_listening(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->listening = true;
	return PV_GO_ON;
}

static int opt_state(struct cli_state *st, const char *arg)
{
	struct pv_why why;
	if (strcmp(arg, "help") == 0) {
		printf("%s\n", pv_state_names_text());
		return EXIT_OK;
	}
	if (!pv_state_parse_list(arg, &st->req->query.states, &why)) {
		return bad(st, arg, &why);
	}
	st->states_given = true;
	return PV_GO_ON;
}

static int opt_port(struct cli_state *st, const char *arg)
{
	static const uint8_t sides[] = {PV_SIDE_ANY, PV_SIDE_SRC, PV_SIDE_DST};
	int k = st->note_as - OPT_PORT;
	if (st->nports == ARRAY_SIZE(st->ports)) {
		struct pv_why why = {.why =
					 "too many port options (at most 128 --port, --sport and "
					 "--dport; use a list: 80,443)"};
		return bad(st, arg, &why);
	}
	int status = pv_cli_value_hint(st, st->note_as, arg);
	if (status != PV_GO_ON)
		return status;
	st->ports[st->nports].opt = st->cur;
	st->ports[st->nports].opt.value = arg;
	st->ports[st->nports++].sides = sides[k];
	return PV_GO_ON;
}

static int opt_addr(struct cli_state *st, const char *arg)
{
	uint8_t side = st->note_as == OPT_SRC ? PV_SIDE_SRC : PV_SIDE_DST;
	struct pv_query *q = &st->req->query;
	struct pv_addr_clause *a = NULL;
	for (size_t i = 0; i < q->naddrs; i++)
		if (q->addrs[i].side == side)
			a = &q->addrs[i];
	if (!a) {
		a = &q->addrs[q->naddrs++];
		*a = (struct pv_addr_clause){.side = side};
	}
	struct pv_why why;
	if (!pv_parse_addr_list(arg, a, &why)) {
		int status = pv_cli_value_hint(st, st->note_as, arg);
		return status != PV_GO_ON ? status : bad(st, arg, &why);
	}
	st->named = true;
	return PV_GO_ON;
}

static int opt_pid(struct cli_state *st, const char *arg)
{
	struct pv_query *q = &st->req->query;
	size_t from = q->npids;
	struct pv_why why;
	if (!pv_parse_pid_list(arg, q, &why)) {
		int status = pv_cli_value_hint(st, OPT_PID, arg);
		return status != PV_GO_ON ? status : bad(st, arg, &why);
	}
	/* A process that has ended owns nothing: say so rather than list nothing. */
	for (size_t i = from; i < q->npids; i++) {
		char path[64], item[16];
		struct stat sb;
		snprintf(path, sizeof(path), "%s/%d", st->req->proc_root, (int)q->pids[i]);
		if (stat(path, &sb) == 0)
			continue;
		snprintf(item, sizeof(item), "%d", (int)q->pids[i]);
		why = (struct pv_why){
		    .why = "no such process", .item = strstr(arg, item), .len = strlen(item)};
		return bad(st, arg, &why);
	}
	st->named = st->by_process = true;
	return PV_GO_ON;
}

static int opt_command(struct cli_state *st, const char *arg)
{
	/* Compiled once for the run; the query points at them. */
	static regex_t command_re[ARRAY_SIZE(((struct pv_query *)0)->programs)];
	struct pv_query *q = &st->req->query;
	struct pv_why why;
	if (!pv_parse_command(arg, q, &command_re[q->nprograms % ARRAY_SIZE(command_re)], &why))
		return bad(st, arg, &why);
	st->named = st->by_process = true;
	return PV_GO_ON;
}

static int opt_program(struct cli_state *st, const char *arg)
{
	/* --program is netstat's -p; --program=NAME is --command NAME */
	if (arg) {
		st->note_as = OPT_COMMAND;
		return opt_command(st, arg);
	}
	st->note_as = 'p';
	st->req->table.program = true;
	return PV_GO_ON;
}

static int opt_class(struct cli_state *st, const char *arg)
{
	struct pv_why why;
	if (!pv_parse_class_list(arg, &st->req->query.classes, &why))
		return bad(st, arg, &why);
	return PV_GO_ON;
}

static int opt_dev(struct cli_state *st, const char *arg)
{
	struct pv_why why;
	if (!pv_parse_dev(arg, &st->req->query.dev, &why))
		return bad(st, arg, &why);
	return PV_GO_ON;
}

static int opt_keep(struct cli_state *st, struct cli_spelled *keep, const char *arg)
{
	*keep = st->cur;
	keep->value = arg;
	return PV_GO_ON;
}

static int opt_netns(struct cli_state *st, const char *arg)
{
	st->req->netns_spec = arg;
	memcpy(st->req->netns_opt, st->cur.name, sizeof(st->req->netns_opt));
	return opt_keep(st, &st->netns, arg);
}

static int opt_all_netns(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->req->all_netns = st->req->table.netns = st->req->table.unit = true;
	return PV_GO_ON;
}

static int opt_lookup(struct cli_state *st, const char *arg)
{
	return opt_keep(st, &st->lookup, arg);
}

static int opt_sort(struct cli_state *st, const char *arg)
{
	struct pv_why why;
	if (!pv_parse_sort_keys(arg, &st->req->order, &why))
		return bad(st, arg, &why);
	return opt_keep(st, &st->sort, arg);
}

static int opt_color(struct cli_state *st, const char *arg)
{
	if (!arg || strcmp(arg, "always") == 0) {
		st->color = COLOR_ALWAYS;
	} else if (strcmp(arg, "never") == 0) {
		st->color = COLOR_NEVER;
	} else if (strcmp(arg, "auto") == 0) {
		st->color = COLOR_AUTO;
	} else {
		struct pv_why why = {.why = "expected auto, always or never"};
		return bad(st, arg, &why);
	}
	return PV_GO_ON;
}

static int opt_info(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->req->info = st->req->table.info = true;
	return PV_GO_ON;
}

static int opt_continuous(struct cli_state *st, const char *arg)
{
	return opt_keep(st, &st->continuous, arg);
}

static int opt_interval(struct cli_state *st, const char *arg)
{
	struct pv_why why;
	if (!pv_parse_seconds(arg, &st->req->interval_ms, &why))
		return bad(st, arg, &why);
	return opt_keep(st, &st->interval, arg);
}

static int opt_count(struct cli_state *st, const char *arg)
{
	uint64_t n;
	int err = pv_parse_uint_str(arg, UINT32_MAX, &n);
	if (err || n == 0) {
		struct pv_why why = {.why = err == -ERANGE
						? "too many (at most 4294967295)"
						: "not a count (a whole number, 1 or more)"};
		return bad(st, arg, &why);
	}
	st->req->count = n;
	return opt_keep(st, &st->count, arg);
}

static int opt_events(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->req->mode = PV_MODE_EVENTS;
	return PV_GO_ON;
}

static int opt_ranges(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->req->mode = PV_MODE_RANGES;
	return PV_GO_ON;
}

static int opt_summary(struct cli_state *st, const char *arg)
{
	(void)arg;
	st->summary = true;
	return PV_GO_ON;
}

static int opt_metrics(struct cli_state *st, const char *arg)
{
	st->req->metrics = true;
	return opt_summary(st, arg);
}

static int opt_fail_on_pressure(struct cli_state *st, const char *arg)
{
	unsigned pct;
	struct pv_why why;
	if (!pv_parse_percent(arg, &pct, &why))
		return bad(st, arg, &why);
	st->req->fail_on_pressure = (int)pct;
	return opt_summary(st, arg);
}

static int opt_help(struct cli_state *st, const char *arg)
{
	(void)st, (void)arg;
	pv_cli_print_help();
	return EXIT_OK;
}

static int opt_version(struct cli_state *st, const char *arg)
{
	(void)st, (void)arg;
	printf("portview %s\n", PORTVIEW_VERSION);
	return EXIT_OK;
}

static int opt_complete(struct cli_state *st, const char *arg)
{
	return pv_cli_complete(st, arg);
}

static int opt_list_options(struct cli_state *st, const char *arg)
{
	(void)st, (void)arg;
	pv_cli_list_options();
	return EXIT_OK;
}

/* What each mode refuses: options that would do nothing there. */
#define SELECT_NO (CTX_RANGES)
#define ALL_NO	  (CTX_RANGES | CTX_LOOKUP)
#define TABLE_NO  (CTX_RANGES | CTX_SUMMARY)
#define WATCH_NO  (CTX_RANGES | CTX_LOOKUP | CTX_SUMMARY)
#define MODE_NO	  (CTX_RANGES | CTX_LOOKUP)

/* In --help's order: a group's rows, then its note. */
const struct cli_opt pv_cli_opts[] = {
    {"all", 'a', true, ARG_NONE, NULL, G_WHICH, NULL,
     "listening and bound TCP, unconnected UDP sockets too", 0, ALL_NO, .parse = opt_all},
    {"listening", 'l', true, ARG_NONE, NULL, G_WHICH, NULL,
     "only listening TCP and unconnected UDP sockets", 0, ALL_NO, .parse = opt_listening},
    {"tcp", 't', true, ARG_NONE, NULL, G_WHICH, NULL, "TCP sockets (with -u: both; neither: both)",
     0, 0, .flag = FLAG(query.tcp)},
    {"udp", 'u', true, ARG_NONE, NULL, G_WHICH, NULL, "UDP sockets", 0, 0, .flag = FLAG(query.udp)},
    {"ipv4", '4', true, ARG_NONE, NULL, G_WHICH, NULL,
     "IPv4, and IPv6 sockets taking IPv4 (v4-mapped, *:PORT)", 0, SELECT_NO,
     .flag = FLAG(query.ipv4)},
    {"ipv6", '6', true, ARG_NONE, NULL, G_WHICH, NULL, "IPv6", 0, SELECT_NO,
     .flag = FLAG(query.ipv6)},
    {"state", OPT_STATE, false, ARG_REQUIRED, "LIST", G_WHICH, NULL,
     "in these states (below); replaces -a and -l", 0, ALL_NO, .parse = opt_state,
     .values = "state"},
    {"port", OPT_PORT, false, ARG_REQUIRED, "SPEC", G_WHICH, NULL,
     "local or foreign port: 80, 8000-8100, https, lists", 0, ALL_NO, .parse = opt_port,
     .values = "service"},
    {"sport", OPT_SPORT, false, ARG_REQUIRED, "SPEC", G_WHICH, NULL, "local port", 0, ALL_NO,
     .parse = opt_port, .values = "service"},
    {"dport", OPT_DPORT, false, ARG_REQUIRED, "SPEC", G_WHICH, NULL, "foreign port", 0, ALL_NO,
     .parse = opt_port, .values = "service"},
    {"src", OPT_SRC, false, ARG_REQUIRED, "ADDR[/N]", G_WHICH, NULL,
     "local address or network, IPv4 or IPv6; lists", 0, SELECT_NO, .parse = opt_addr},
    {"dst", OPT_DST, false, ARG_REQUIRED, "ADDR[/N]", G_WHICH, NULL, "foreign address or network",
     0, SELECT_NO, .parse = opt_addr},
    {"pid", OPT_PID, false, ARG_REQUIRED, "LIST", G_WHICH, NULL, "held by these processes", 0,
     SELECT_NO, .parse = opt_pid, .values = "pid"},
    {"command", OPT_COMMAND, false, ARG_REQUIRED, "NAME", G_WHICH, NULL,
     "held by a process whose name starts with NAME\n(/REGEX/: matching it; --program=NAME)", 0,
     SELECT_NO, .parse = opt_command, .values = "command"},
    {"class", OPT_CLASS, false, ARG_REQUIRED, "LIST", G_WHICH, NULL,
     "local port in: well-known, registered, dynamic,\nephemeral", 0, ALL_NO, .parse = opt_class,
     .values = "class"},
    {"no-loopback", OPT_NO_LOOPBACK, false, ARG_NONE, NULL, G_WHICH, NULL,
     "no sockets on loopback addresses", 0, SELECT_NO, .flag = FLAG(query.no_loopback)},
    {"dev", OPT_DEV, false, ARG_REQUIRED, "IFACE", G_WHICH, NULL,
     "bound to interface IFACE (a name or an index)", 0, SELECT_NO, .parse = opt_dev,
     .values = "dev"},
    {"netns", 'N', true, ARG_REQUIRED, "NS", G_WHICH, NULL,
     "in network namespace NS: its name (ip netns), a path\nto it, or pid:PID", 0, CTX_ALL_NETNS,
     .once = true, .parse = opt_netns, .values = "netns"},
    {"all-netns", OPT_ALL_NETNS, false, ARG_NONE, NULL, G_WHICH, NULL,
     "in every network namespace, with Netns and Unit\ncolumns", CTX_ALL_NETNS, CTX_EVENTS,
     .parse = opt_all_netns},

    {"owner", 'o', true, ARG_NONE, NULL, G_COLUMNS, NULL, "PID", 0, TABLE_NO,
     .flag = FLAG(table.owner)},
    {"program", OPT_PROGRAM, false, ARG_OPTIONAL, "NAME", G_COLUMNS, "-p, --program",
     "PID/Program name", 0, TABLE_NO, .parse = opt_program},
    {NULL, 'p', true, ARG_NONE, NULL, G_COLUMNS, NULL, NULL, 0, TABLE_NO,
     .flag = FLAG(table.program)},
    {"extended", 'e', true, ARG_NONE, NULL, G_COLUMNS, NULL,
     "user, inode, queues and the TCP timer", 0, TABLE_NO | CTX_EVENTS,
     .flag = FLAG(table.extended)},
    {"info", 'i', true, ARG_NONE, NULL, G_COLUMNS, NULL,
     "TCP internals: rtt, cwnd, bytes, segments, retransmits,\ndelivery rate, idle time; with "
     "an interval, the rates",
     0, WATCH_NO, .parse = opt_info},
    {"unit", OPT_UNIT, false, ARG_NONE, NULL, G_COLUMNS, NULL,
     "the systemd unit, container or pod of the owner", 0, 0, .flag = FLAG(table.unit)},
    {"plain", OPT_PLAIN, false, ARG_NONE, NULL, G_COLUMNS, NULL,
     "only the netstat columns: no port annotations", 0, TABLE_NO, .flag = FLAG(table.plain)},

    {"numeric", 'n', true, ARG_NONE, NULL, G_OUTPUT, NULL,
     "numbers: no host or service names, no lookups", 0, 0, .flag = FLAG(table.numeric)},
    {"no-header", 'H', true, ARG_NONE, NULL, G_OUTPUT, NULL, "the rows only", 0, TABLE_NO,
     .flag = FLAG(table.no_header)},
    {"wide", 'W', true, ARG_NONE, NULL, G_OUTPUT, NULL,
     "no fitting to the terminal: every owner of a socket\nand every column asked for, even "
     "wider than the terminal",
     0, TABLE_NO | CTX_EVENTS, .flag = FLAG(table.wide)},
    {"sort", OPT_SORT, false, ARG_REQUIRED, "KEYS", G_OUTPUT, NULL,
     "by proto, local, foreign, state, pid, program, port\nor rate (the fastest first: -i and "
     "an interval), a\ncomma list; '-' before a key reverses it",
     0, TABLE_NO | CTX_EVENTS, .parse = opt_sort, .values = "sort"},
    {"json", OPT_JSON, false, ARG_NONE, NULL, G_OUTPUT, NULL,
     "one JSON document (portview(8) has its schema)", 0, CTX_LOOKUP | CTX_METRICS,
     .flag = FLAG(json)},
    {"color", OPT_COLOR, false, ARG_OPTIONAL, "WHEN", G_OUTPUT, NULL,
     "colour: auto (on a terminal; the default), always,\nnever; NO_COLOR or TERM=dumb turn "
     "auto off",
     0, 0, .parse = opt_color, .values = "color"},
    {"colour", OPT_COLOR, false, ARG_OPTIONAL, "WHEN", G_OUTPUT, NULL, NULL, 0, 0, .hidden = true,
     .parse = opt_color, .values = "color"},

    {NULL, OPT_SECONDS, false, ARG_NONE, NULL, G_WATCH, "SECONDS",
     "a trailing number: the listing again every SECONDS\n(0.1 to 300), as Windows netstat 5; "
     "on a terminal\nredrawn in place, what changed marked",
     0, WATCH_NO | CTX_EVENTS, .once = false},
    {"continuous", 'c', true, ARG_NONE, NULL, G_WATCH, NULL,
     "the same every second, as Linux netstat -c", 0, WATCH_NO | CTX_EVENTS,
     .parse = opt_continuous},
    {"interval", OPT_INTERVAL, false, ARG_REQUIRED, "SECS", G_WATCH, NULL,
     "the same as a trailing SECS; with --events, how often\nto look for opened and changed "
     "sockets (default 1)",
     0, WATCH_NO, .parse = opt_interval},
    {"count", OPT_COUNT, false, ARG_REQUIRED, "N", G_WATCH, NULL,
     "stop after N listings, or with --events N events", 0, WATCH_NO, .parse = opt_count},
    {"events", OPT_EVENTS, false, ARG_NONE, NULL, G_WATCH, NULL,
     "a line per socket opened, changed or closed (closes\nat once, from the kernel); --json: "
     "NDJSON",
     CTX_EVENTS, WATCH_NO, .parse = opt_events},

    {"ranges", OPT_RANGES, false, ARG_NONE, NULL, G_OTHER, NULL,
     "this host's ephemeral port ranges and their use", CTX_RANGES, 0, .parse = opt_ranges},
    {"lookup", OPT_LOOKUP, false, ARG_REQUIRED, "PORT", G_OTHER,
     "    --lookup PORT[/PROTO], --lookup NAME", "what a port or service is, and who uses it now",
     CTX_LOOKUP, CTX_RANGES, .once = true, .parse = opt_lookup, .values = "service"},
    {"summary", 's', true, ARG_NONE, NULL, G_OTHER, NULL,
     "counts by state, port class and program, and the\nephemeral port pressure toward each "
     "destination",
     CTX_SUMMARY, MODE_NO, .parse = opt_summary},
    {"metrics", OPT_METRICS, false, ARG_NONE, NULL, G_OTHER, NULL,
     "the summary as OpenMetrics text, for Prometheus", CTX_SUMMARY | CTX_METRICS, MODE_NO,
     .parse = opt_metrics},
    {"fail-on-pressure", OPT_FAIL_ON_PRESSURE, false, ARG_REQUIRED, "PCT", G_OTHER, NULL,
     "with the summary: exit 3 when a destination uses\nmore than PCT% of the ephemeral ports",
     CTX_SUMMARY, MODE_NO, .parse = opt_fail_on_pressure},
    {"help", 'h', true, ARG_NONE, NULL, G_OTHER, NULL, "this help", 0, 0, .parse = opt_help},
    {"version", 'V', true, ARG_NONE, NULL, G_OTHER, NULL, "the version", 0, 0,
     .parse = opt_version},
    {"list-options", OPT_LIST_OPTIONS, false, ARG_NONE, NULL, G_OTHER, NULL,
     "every option, a line each, for tools", 0, 0, .hidden = true, .parse = opt_list_options},
    {"complete", OPT_COMPLETE, false, ARG_REQUIRED, "WHAT", G_OTHER, NULL,
     "the words a shell completion offers, a line each", 0, 0, .hidden = true,
     .parse = opt_complete},
};
const size_t pv_cli_nopts = ARRAY_SIZE(pv_cli_opts);

static const struct {
	const char *title, *name, *note;
} groups[G_COUNT] = {
    [G_WHICH] = {"Which sockets (default: connections, without listening sockets):", "selection",
		 "  A filter that names a port, an address or a process selects every\n"
		 "  state, unless -a, -l or --state says otherwise.\n"},
    [G_COLUMNS] = {"Columns:", "columns", NULL},
    [G_OUTPUT] = {"Output:", "output", NULL},
    [G_WATCH] = {"Watching:", "watching", NULL},
    [G_OTHER] = {"Other modes:", "modes", NULL},
};

const char pv_cli_color_words[] = "auto, always, never";

const char pv_cli_usage_line[] =
    "usage: portview [OPTION]... [SECONDS]    the sockets, as Windows netstat -no\n"
    "       portview --events [OPTION]...     sockets as they open, change and close\n"
    "       portview --ranges [-tu] [--json]  how full the local port ranges are\n"
    "       portview --lookup PORT[/PROTO]    what a port is, who uses it now\n"
    "       portview --lookup NAME            the same for a service name\n"
    "       portview -s [--json | --metrics]  counts, and the ephemeral port pressure\n";

void pv_cli_usage_error(void)
{
	fputs(pv_cli_usage_line, stderr);
	fputs("Try 'portview --help' for more information.\n", stderr);
}

/*
 * A row of --help: the option at column 3 (a long one alone at column 7,
 * under the long names of the others), its text at column 23, or on the
 * next line when the option reaches column 22.
 */
static void help_row(const struct cli_opt *o)
{
	char left[64];
	const char *arg = o->arg == ARG_NONE ? "" : o->argname;
	const char *open = o->arg == ARG_REQUIRED ? " " : o->arg == ARG_OPTIONAL ? "[=" : "";
	if (o->left)
		snprintf(left, sizeof(left), "%s", o->left);
	else if (o->letter)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", o->id, o->name, open, arg);
	else
		snprintf(left, sizeof(left), "    --%s%s%s%s", o->name, open, arg,
			 o->arg == ARG_OPTIONAL ? "]" : "");
	int used = printf("  %s", left);
	if (used > 21) {
		putchar('\n');
		used = 0;
	}
	const char *text = o->help;
	printf("%*s", 23 - used, "");
	for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1)
		printf("%.*s\n%23s", (int)(nl - text), text, "");
	printf("%s\n", text);
}

void pv_cli_print_help(void)
{
	fputs(pv_cli_usage_line, stdout);
	for (int g = 0; g < G_COUNT; g++) {
		printf("\n%s\n", groups[g].title);
		for (size_t i = 0; i < pv_cli_nopts; i++)
			if (pv_cli_opts[i].group == (enum cli_group)g && pv_cli_opts[i].help &&
			    !pv_cli_opts[i].hidden)
				help_row(&pv_cli_opts[i]);
		if (groups[g].note)
			fputs(groups[g].note, stdout);
	}
	printf("\nStates: %s\n", "established, syn-sent, syn-recv, fin-wait-1, fin-wait-2,");
	fputs("  time-wait, close, close-wait, last-ack, listening, closing, bound;\n"
	      "  groups: all, connected, synchronized, bucket, big; and ss's spellings\n"
	      "  (estab, unconn, listen, bound-inactive...).\n"
	      "\n"
	      "Exit status: 0 success, 1 runtime failure, 2 usage error, 3 ephemeral port\n"
	      "pressure above --fail-on-pressure.\n"
	      "The manual: man portview.\n",
	      stdout);
}

/*
 * For completions and the consistency test: a line per option, tab
 * separated: --long, -letter or -, the argument (NAME, [=NAME] when
 * optional, or -), the group, and whether --help shows it (help or
 * hidden).
 */
void pv_cli_list_options(void)
{
	for (size_t i = 0; i < pv_cli_nopts; i++) {
		const struct cli_opt *o = &pv_cli_opts[i];
		if (!o->name)
			continue;
		char letter[3] = "-";
		if (o->letter || o->id == OPT_PROGRAM) /* -p has a row of its own */
			letter[1] = o->letter ? (char)o->id : 'p';
		printf("--%s\t%s\t%s%s%s\t%s\t%s\n", o->name, letter,
		       o->arg == ARG_OPTIONAL ? "[=" : "", o->arg == ARG_NONE ? "-" : o->argname,
		       o->arg == ARG_OPTIONAL ? "]" : "", groups[o->group].name,
		       o->hidden ? "hidden" : "help");
	}
}
