/*
 * The command line and the environment, into one request (cli.h): a loop
 * over the table of options (cli_options.c), the conflicts between them,
 * and every usage error, each naming the input at fault (escaped: it is
 * user text) and why.
 */
#include "i18n.h"
#include "cli_int.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/state.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/*
 * Echo user input without letting it drive the terminal, and without a
 * 100 KB value filling it: escaped, cut after 64 characters with "...".
 */
#define ECHO_MAX 64
void pv_cli_echo(const char *s, size_t n)
{
	struct pv_buf b;
	pv_buf_init(&b);
	if (pv_escape_text_max(&b, s, n, ECHO_MAX) < n)
		pv_buf_puts(&b, "...");
	pv_msg_more("%.*s", (int)b.len, b.data ? b.data : "");
	pv_buf_free(&b);
}

/*
 * The item is named when it is part of a longer value (a list).  An empty
 * value shows as '' after a space ("--port ''"), as nothing after '='.
 * A near miss gets its likely meaning instead of the list of valid ones.
 */
void pv_cli_bad_value(const char *option, const char *sep, const char *value,
		      const struct pv_why *w)
{
	pv_msg_begin("%s%s", option, sep);
	if (value[0] || sep[0] != ' ')
		pv_cli_echo(value, strlen(value));
	else
		pv_msg_more("''");
	if (w->item && w->len && w->len != strlen(value)) {
		pv_msg_more(": ");
		pv_cli_echo(w->item, w->len);
	}
	pv_msg_more(": %s", _(w->why));
	if (w->suggest)
		pv_msg_more("; did you mean %s?", w->suggest);
	else if (w->hint)
		pv_msg_more("; %s", _(w->hint));
	else if (w->valid)
		pv_msg_more(" (valid: %s)", w->valid);
	pv_msg_end();
}

/*
 * The option as the user spelled it: "--colour", an abbreviation such as
 * "--stat", or "-a".  getopt_long accepts only a long option's full name
 * or a prefix of it, so the spelling fits.
 */
static void spell(struct cli_spelled *out, char **argv, int c, int longindex)
{
	out->value = optarg;
	if (longindex < 0) {
		snprintf(out->name, sizeof(out->name), "-%c", c);
		out->sep = " ";
		return;
	}
	/* A separate value is the element after the option's own. */
	const char *elt =
	    optarg && argv[optind - 1] == optarg ? argv[optind - 2] : argv[optind - 1];
	size_t n = strcspn(elt, "=");
	snprintf(out->name, sizeof(out->name), "%.*s", (int)n, elt);
	out->sep = elt[n] ? "=" : " ";
}

static bool was_given(const struct cli_given *g, int id)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->id[i] == id)
			return true;
	return false;
}

static void note_given(struct cli_given *g, int id, const char *name)
{
	if (was_given(g, id) || g->n == ARRAY_SIZE(g->id))
		return;
	g->id[g->n] = id;
	snprintf(g->name[g->n++], SPELLED_MAX, "%s", name);
}

static const struct cli_opt *opt_by_id(int id)
{
	for (size_t i = 0; i < pv_cli_nopts; i++)
		if (pv_cli_opts[i].id == id)
			return &pv_cli_opts[i];
	return NULL;
}

/*
 * The one check of what goes together: an option the table marks as
 * refused in a context (a mode, --metrics, --all-netns) is a usage error
 * naming both as the user spelled them.  --ranges counts every socket in
 * the port ranges, --lookup shows every socket on the port it names, and
 * the summary has no table to shape.  -n, --color, and -o, -p with
 * --lookup change nothing there either but are harmless habits; so are
 * -n, -o and -p with --events, which always shows numbers and owners.
 * An interval repeats the socket listing: the other modes refuse it.
 */
static int conflicts(const struct cli_given *g)
{
	static const struct {
		unsigned ctx;
		const char *why; /* what the context does, and what it takes */
	} ctxs[] = {
	    {CTX_RANGES, N_("it counts every socket in the ranges (only -t, -u and --json apply)")},
	    {CTX_LOOKUP,
	     N_("it lists every socket on the port (-t, -u, -4, -6, --src, --dst, --pid "
		"and --command narrow it)")},
	    {CTX_SUMMARY,
	     N_("it prints counts, not a table (the selection options narrow what it counts)")},
	    {CTX_EVENTS,
	     N_("it prints a line per change as it comes (the filters, -N, --all-netns, "
		"-H, --plain, -i, --json, --interval and --count apply)")},
	    {CTX_METRICS, N_("it prints OpenMetrics text, for Prometheus")},
	    {CTX_ALL_NETNS, NULL},
	    {CTX_TOP, N_("it draws a live screen on the terminal (the filters, -N, -n, --unit, "
			 "--interval and --highlight apply)")},
	};
	for (size_t m = 0; m < ARRAY_SIZE(ctxs); m++) {
		const char *chosen_by = NULL;
		for (size_t i = 0; i < g->n && !chosen_by; i++) {
			const struct cli_opt *o = opt_by_id(g->id[i]);
			if (o && (o->chooses & ctxs[m].ctx))
				chosen_by = g->name[i];
		}
		for (size_t i = 0; chosen_by && i < g->n; i++) {
			const struct cli_opt *o = opt_by_id(g->id[i]);
			if (!o || !(o->refused & ctxs[m].ctx))
				continue;
			pv_err("%s cannot be combined with %s%s%s", g->name[i], chosen_by,
			       ctxs[m].why ? ": " : "", ctxs[m].why ? _(ctxs[m].why) : "");
			return EXIT_USAGE;
		}
	}
	return PV_GO_ON;
}

/*
 * --kill closes what the filters select: it takes the selection (-u
 * aside: it closes TCP sockets alone), the namespaces, the owners'
 * columns it names anyway, and --dry-run; everything else shapes a table
 * or another mode.  --dry-run means nothing without it.
 */
static int kill_conflicts(const struct cli_given *g)
{
	static const int takes[] = {
	    'a',	 'l',	   't',		  '4',	     '6',
	    OPT_STATE,	 OPT_PORT, OPT_SPORT,	  OPT_DPORT, OPT_SRC,
	    OPT_DST,	 OPT_PID,  OPT_COMMAND,	  OPT_CLASS, OPT_NO_LOOPBACK,
	    OPT_DEV,	 'N',	   OPT_ALL_NETNS, 'o',	     OPT_PROGRAM,
	    'p',	 'n',	   OPT_UNIT,	  OPT_COLOR, OPT_KILL,
	    OPT_DRY_RUN,
	};
	const char *kill = NULL;
	for (size_t i = 0; i < g->n; i++)
		if (g->id[i] == OPT_KILL)
			kill = g->name[i];
	for (size_t i = 0; i < g->n && !kill; i++)
		if (g->id[i] == OPT_DRY_RUN) {
			pv_err("%s needs --kill (as in portview --kill --dport 443 %s)", g->name[i],
			       g->name[i]);
			return EXIT_USAGE;
		}
	for (size_t i = 0; i < g->n && kill; i++) {
		bool taken = false;
		for (size_t k = 0; k < ARRAY_SIZE(takes) && !taken; k++)
			taken = g->id[i] == takes[k];
		if (!taken) {
			pv_err(
			    "%s cannot be combined with %s: it closes the TCP sockets the filters "
			    "select (the filters, -t, -N, --all-netns and --dry-run apply)",
			    g->name[i], kill);
			return EXIT_USAGE;
		}
	}
	return PV_GO_ON;
}

/* --kill with nothing that narrows what it would close. */
static bool kill_unfiltered(const struct cli_state *st)
{
	const struct pv_query *q = &st->req->query;
	return st->req->mode == PV_MODE_KILL && !st->states_given && st->nports == 0 &&
	       q->naddrs == 0 && q->npids == 0 && q->nprograms == 0 && !q->classes &&
	       !q->no_loopback && !q->dev;
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
			*why = (struct pv_why){.why = N_("unknown value"),
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
		*why = (struct pv_why){.why = N_("unknown value"),
				       .item = value,
				       .len = strlen(value),
				       .valid = "bpf, proc"};
		return false;
	}
	return true;
}

/* PORTVIEW_REFRESH: log or dump (empty: the default, log where it can). */
static bool parse_refresh(const char *value, bool *dump_only, struct pv_why *why)
{
	if (strcmp(value, "dump") == 0)
		*dump_only = true;
	else if (value[0] && strcmp(value, "log") != 0) {
		*why = (struct pv_why){.why = N_("unknown value"),
				       .item = value,
				       .len = strlen(value),
				       .valid = "log, dump"};
		return false;
	}
	return true;
}

/*
 * A count of threads from the environment variable name, 1 to max, into
 * *out (0 when unset or empty); false, said, when it is not one.
 */
static bool env_threads(const char *name, unsigned max, unsigned *out)
{
	const char *v = getenv(name);
	uint64_t n = 0;
	if (v && *v && (pv_parse_uint_str(v, max, &n) < 0 || n == 0)) {
		char valid[32];
		snprintf(valid, sizeof(valid), "1 to %u", max);
		struct pv_why why = {.why = N_("not a number of threads"), .valid = valid};
		pv_cli_bad_value(name, "=", v, &why);
		return false;
	}
	*out = (unsigned)n;
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
		pv_cli_bad_value("PORTVIEW_DUMP", "=", dump, &why);
		return EXIT_USAGE;
	}
	if (!env_threads("PORTVIEW_DUMP_THREADS", PV_DUMP_THREADS_MAX, &req->dump.threads) ||
	    !env_threads("PORTVIEW_TABLE_THREADS", PV_TABLE_THREADS_MAX, &req->table.threads))
		return EXIT_USAGE;
	const char *owners = getenv("PORTVIEW_OWNERS");
	if (owners && !parse_owners(owners, &req->owners, &why)) {
		pv_cli_bad_value("PORTVIEW_OWNERS", "=", owners, &why);
		return EXIT_USAGE;
	}
	const char *refresh = getenv("PORTVIEW_REFRESH");
	if (refresh && !parse_refresh(refresh, &req->refresh_dump, &why)) {
		pv_cli_bad_value("PORTVIEW_REFRESH", "=", refresh, &why);
		return EXIT_USAGE;
	}
	/*
	 * https://no-color.org: a set, non-empty NO_COLOR turns auto off; so
	 * does a terminal that says it has no colour (TERM unset or dumb).
	 */
	const char *no_color = getenv("NO_COLOR"), *term = getenv("TERM");
	*color_auto_off = (no_color && *no_color) || !term || !*term || strcmp(term, "dumb") == 0;
	return PV_GO_ON;
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
			if (!pv_parse_port_spec(args[i].opt.value, svc, c, &why)) {
				pv_cli_bad_value(args[i].opt.name, args[i].opt.sep,
						 args[i].opt.value, &why);
				return EXIT_USAGE;
			}
		}
		if (c->nranges)
			q->nclauses++;
	}
	return PV_GO_ON;
}

/*
 * Whether a stray argument is meant as an interval: "5", "0.5", ".5"; not
 * an address ("10.0.0.1", "10.0.0.1:80": stray words, with a hint).
 */
static bool looks_like_seconds(const char *w)
{
	struct in_addr a;
	if (strchr(w, ':') || inet_pton(AF_INET, w, &a) == 1)
		return false;
	return (w[0] >= '0' && w[0] <= '9') || (w[0] == '.' && w[1] >= '0' && w[1] <= '9');
}

/*
 * The interval's options together: -c is every second, an interval is
 * given once, --count needs something to count.
 */
static int watch_conflict(const struct cli_state *st)
{
	const struct cli_spelled *iv = &st->interval;
	const char *c = st->continuous.name;
	if (c[0] && (st->seconds || iv->value)) {
		pv_err("%s cannot be combined with an interval (%s%s%s): %s is every second", c,
		       st->seconds ? "" : iv->name, st->seconds ? "" : iv->sep,
		       st->seconds ? st->seconds : iv->value, c);
		return EXIT_USAGE;
	}
	if (st->seconds && iv->value) {
		pv_err("the interval is given twice (%s and %s%s%s)", st->seconds, iv->name,
		       iv->sep, iv->value);
		return EXIT_USAGE;
	}
	if (st->count.name[0] && !st->seconds && !iv->value && !c[0] &&
	    st->req->mode != PV_MODE_EVENTS && st->req->mode != PV_MODE_TOP) {
		pv_err("%s needs an interval or --events (as in portview -no 2 --count 5)",
		       st->count.name);
		return EXIT_USAGE;
	}
	return PV_GO_ON;
}

bool pv_request_wants_owners(const struct pv_request *req)
{
	/* JSON and events always carry owners; sorting by them needs them too. */
	return req->mode == PV_MODE_SUMMARY || req->mode == PV_MODE_EVENTS ||
	       req->mode == PV_MODE_KILL || req->table.owner || req->table.program ||
	       req->table.unit || req->json || pv_order_needs_owners(&req->order) ||
	       pv_query_by_owner(&req->query);
}

/* getopt_long's tables, from the table of options. */
struct getopt_tables {
	struct option longopts[64];
	const struct cli_opt *row[64]; /* the row of each long option */
	char shortopts[64];
};

static void make_getopt(struct getopt_tables *t)
{
	size_t nl = 0, ns = 0;
	t->shortopts[ns++] = ':';
	for (size_t i = 0; i < pv_cli_nopts && nl + 1 < ARRAY_SIZE(t->longopts); i++) {
		const struct cli_opt *o = &pv_cli_opts[i];
		if (o->letter && ns + 2 < sizeof(t->shortopts)) {
			t->shortopts[ns++] = (char)o->id;
			if (o->arg == ARG_REQUIRED)
				t->shortopts[ns++] = ':';
		}
		if (!o->name)
			continue;
		t->row[nl] = o;
		t->longopts[nl++] = (struct option){o->name,
						    o->arg == ARG_REQUIRED   ? required_argument
						    : o->arg == ARG_OPTIONAL ? optional_argument
									     : no_argument,
						    NULL, o->id};
	}
	t->longopts[nl] = (struct option){NULL, 0, NULL, 0};
	t->shortopts[ns] = '\0';
}

/* What getopt refused: a missing value, an unknown option, a value too many. */
static int refused_option(const struct getopt_tables *t, char **argv, int c)
{
	if (c == ':') {
		pv_err("option '%s' requires an argument", argv[optind - 1]);
	} else if (optopt && (optopt >= 256 || strchr(t->shortopts + 1, optopt))) {
		/* A long option of ours, given a value it does not take. */
		const char *name = "?";
		for (const struct option *l = t->longopts; l->name; l++)
			if (l->val == optopt)
				name = l->name;
		pv_err("option '--%s' doesn't allow an argument", name);
	} else if (optopt) {
		const char *hint = pv_cli_letter_hint(optopt);
		char ch = (char)optopt;
		pv_msg_begin("invalid option -- '");
		pv_cli_echo(&ch, 1);
		pv_msg_more("'%s%s", hint ? "; " : "", hint ? _(hint) : "");
		pv_msg_end();
	} else {
		pv_cli_unknown_long(argv[optind - 1]);
	}
	pv_cli_usage_error();
	return EXIT_USAGE;
}

/* One option getopt has read: checked, noted, its value read by its row. */
static int read_option(struct cli_state *st, const struct getopt_tables *t, int argc, char **argv,
		       int c, int longindex)
{
	if (c == '?' || c == ':')
		return refused_option(t, argv, c);
	const struct cli_opt *o = longindex >= 0 ? t->row[longindex] : NULL;
	for (size_t i = 0; !o && i < pv_cli_nopts; i++)
		if (pv_cli_opts[i].letter && pv_cli_opts[i].id == c)
			o = &pv_cli_opts[i];
	if (!o)
		return EXIT_USAGE; /* getopt returned what the table lacks: cannot be */
	spell(&st->cur, argv, c, longindex);
	if ((c == 'p' || (c == OPT_PROGRAM && !optarg)) && optind < argc && argv[optind][0] != '-')
		st->after_p = argv[optind];
	if (o->once && was_given(&st->given, o->id)) {
		pv_err("%s: give it once", st->cur.name);
		return EXIT_USAGE;
	}
	st->note_as = o->id;
	int status = PV_GO_ON;
	if (o->flag)
		*(bool *)((char *)st->req + o->flag - 1) = true;
	if (o->parse)
		status = o->parse(st, optarg);
	note_given(&st->given, st->note_as, st->cur.name);
	return status;
}

/*
 * Whether a trailing whole number is a port some socket here uses (in
 * the namespace portview runs in): portview 80 means --port 80 more
 * likely than a refresh every 80 seconds.
 */
static bool port_in_use(const struct pv_request *req, unsigned port)
{
	struct pv_snapshotter *sn;
	if (pv_snapshotter_open(&sn) < 0)
		return false;
	struct pv_query q = {.states = PV_STATES_ALL, .nclauses = 1};
	q.clauses[0].sides = PV_SIDE_SRC;
	q.clauses[0].nranges = 1;
	q.clauses[0].ranges[0].lo = q.clauses[0].ranges[0].hi = (uint16_t)port;
	struct pv_netns_facts ns;
	pv_netns_facts_load(&ns, req->sysctl_dir, req->proc_root);
	struct pv_socklist l;
	pv_socklist_init(&l);
	struct pv_snapshot_report rep;
	bool used = pv_snapshot_take(sn, &q, &ns, &req->dump, 0, &l, &rep) == 0 && l.n > 0;
	pv_socklist_free(&l);
	pv_netns_facts_free(&ns);
	pv_snapshotter_close(sn);
	return used;
}

/*
 * A trailing number repeats the listing, as Windows netstat's.  One that
 * cannot be meant so (over 300 seconds, or a port in use) is a question
 * back to the user: a port, or an interval?
 */
static int read_seconds(struct cli_state *st, int argc, char **argv)
{
	if (optind >= argc || !looks_like_seconds(argv[optind]))
		return PV_GO_ON;
	const char *w = argv[optind++];
	uint64_t n;
	struct pv_why why;
	if (pv_parse_uint_str(w, 65535, &n) == 0 &&
	    (n > 300 || (n > 0 && !st->req->netns_spec && !st->req->all_netns &&
			 port_in_use(st->req, (unsigned)n)))) {
		pv_err(
		    "%s: a port or an interval? write --port %s for the sockets on that port, or "
		    "--interval %s to list them every %s seconds",
		    w, w, w, w);
		return EXIT_USAGE;
	}
	if (!pv_parse_seconds(w, &st->req->interval_ms, &why)) {
		pv_cli_bad_value("interval", " ", w, &why);
		return EXIT_USAGE;
	}
	st->seconds = w;
	char name[SPELLED_MAX];
	snprintf(name, sizeof(name), "interval %s", w);
	note_given(&st->given, OPT_SECONDS, name);
	return PV_GO_ON;
}

/* The command line read whole: what is left over, then the values read late. */
static int read_rest(struct cli_state *st, int argc, char **argv)
{
	struct pv_request *req = st->req;
	struct pv_why why;
	int status = read_seconds(st, argc, argv);
	if (status != PV_GO_ON)
		return status;
	if (optind < argc) {
		pv_msg_begin("unexpected argument '");
		pv_cli_echo(argv[optind], strlen(argv[optind]));
		pv_msg_more("'");
		pv_cli_stray_hint(argv, argc, optind, st->after_p);
		pv_msg_end();
		pv_cli_usage_error();
		return EXIT_USAGE;
	}
	/* A bad value first: it is the more precise complaint. */
	if (req->netns_spec &&
	    !pv_netns_open(req->netns_spec, req->proc_root, req->run_netns, &req->netns, &why)) {
		char near[128] = "";
		if (why.hint && !strchr(req->netns_spec, '/')) {
			pv_netns_nearest(req->run_netns, req->netns_spec, near, sizeof(near));
			if (near[0])
				why.suggest = near;
		}
		pv_cli_bad_value(st->netns.name, st->netns.sep, req->netns_spec, &why);
		return EXIT_USAGE;
	}
	const struct cli_spelled *lk = &st->lookup;
	if (lk->value && !pv_lookup_parse(lk->value, st->svc, &req->lookup, &why)) {
		pv_cli_bad_value(lk->name, lk->sep, lk->value, &why);
		return EXIT_USAGE;
	}
	if ((status = conflicts(&st->given)) != PV_GO_ON ||
	    (status = kill_conflicts(&st->given)) != PV_GO_ON ||
	    (status = watch_conflict(st)) != PV_GO_ON)
		return status;
	if (kill_unfiltered(st)) {
		pv_err("--kill needs a filter to say which sockets to close: --state, --port, "
		       "--sport, --dport, --src, --dst, --pid, --command, --class, --dev or "
		       "--no-loopback");
		return EXIT_USAGE;
	}
	if (pv_order_needs_rates(&req->order) &&
	    !(req->info && req->interval_ms && req->mode != PV_MODE_EVENTS)) {
		why = (struct pv_why){.why = N_("the rates need -i and an interval"),
				      .hint = N_("as in portview -no 2 -i --sort rate")};
		pv_cli_bad_value(st->sort.name, st->sort.sep, st->sort.value, &why);
		return EXIT_USAGE;
	}
	return compile_ports(st->ports, st->nports, st->svc, &req->query);
}

/*
 * The states and the mode, from what was given.  --state replaces the
 * default; -a is a superset of -l.  A filter that names a port, an
 * address or a process asks about every state, listeners included, as
 * lsof does.
 */
static void finish(struct cli_state *st, int color_auto_off)
{
	struct pv_request *req = st->req;
	struct pv_query *q = &req->query;
	req->table.color = st->color == COLOR_ALWAYS ||
			   (st->color == COLOR_AUTO && isatty(STDOUT_FILENO) && !color_auto_off);
	if (!req->table.wide)
		req->table.width = terminal_width();
	bool all = st->all, listening = st->listening;
	if (!st->states_given) {
		if (all || ((st->named || st->nports > 0) && !listening))
			q->states = PV_STATES_ALL;
		else if (listening)
			q->states = PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE);
		else /* like netstat and ss: connections, which for UDP means connected */
			q->states = PV_STATES_CONNECTED;
	}
	q->tcp_listen_only = listening && !all && !st->states_given;
	/* The user asked about processes: show them. */
	if (st->by_process && !req->table.program)
		req->table.owner = true;

	req->wider = *q;
	req->wider.states = PV_STATES_ALL;
	req->wider.tcp_listen_only = false;

	if (st->summary) {
		/* Every socket, as with -a, unless -l or --state narrow it. */
		req->mode = PV_MODE_SUMMARY;
		if (!st->states_given && !listening)
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
	if (st->lookup.value) {
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
	if (req->mode == PV_MODE_KILL) {
		/* it closes TCP sockets alone */
		q->tcp = true;
		q->udp = false;
	}
	if (st->continuous.name[0])
		req->interval_ms = 1000;
	if (req->mode == PV_MODE_TOP) {
		/* every socket, its owners and rates, refreshed every second */
		if (!st->states_given && !listening)
			q->states = PV_STATES_ALL;
		req->table.program = req->info = req->table.rates = true;
		req->interval_ms = req->interval_ms ? req->interval_ms : 1000;
	}
	req->highlight_ms = req->highlight_ms ? req->highlight_ms : 3000;
	if (req->mode == PV_MODE_EVENTS && !req->interval_ms)
		req->interval_ms = 1000;
	else if (req->mode == PV_MODE_LIST && req->interval_ms)
		req->mode = PV_MODE_WATCH;
	/* the refreshes follow the kernel's change log where it loads (follow.h) */
	req->follow =
	    (req->mode == PV_MODE_TOP || req->mode == PV_MODE_WATCH) && !req->refresh_dump;
	/* the rates are the interval's: each TCP connection's, over the last one */
	req->table.rates = req->info && req->mode == PV_MODE_WATCH;
}

int pv_cli_parse(int argc, char **argv, struct pv_services *svc, struct pv_request *req)
{
	struct cli_state st;
	struct getopt_tables t;
	int c, longindex, color_auto_off;

	make_getopt(&t);
	*req = (struct pv_request){
	    .proc_root = "/proc",
	    .sysctl_dir = "/proc/sys/net/ipv4",
	    .services_path = "/etc/services",
	    .fail_on_pressure = -1,
	    .run_netns = "/run/netns",
	    .netns = {.fd = -1},
	};
	st = (struct cli_state){.req = req, .svc = svc, .color = COLOR_AUTO};
	st.sort = (struct cli_spelled){.name = "--sort", .sep = " "};
	int status = read_env(req, &color_auto_off);
	if (status != PV_GO_ON)
		return status;
	pv_services_load(svc, req->services_path);

	opterr = 0;
	while (longindex = -1,
	       (c = getopt_long(argc, argv, t.shortopts, t.longopts, &longindex)) != -1) {
		if ((status = read_option(&st, &t, argc, argv, c, longindex)) != PV_GO_ON)
			return status;
	}
	if ((status = read_rest(&st, argc, argv)) != PV_GO_ON)
		return status;
	finish(&st, color_auto_off);
	return PV_GO_ON;
}

/* Whether a word of the screen's filter names a selection option (--port, -t). */
static bool filter_word_ok(const char *w, const char **bad)
{
	if (w[0] != '-' || w[1] == '\0')
		return true; /* a value */
	for (size_t i = 0; i < pv_cli_nopts; i++) {
		const struct cli_opt *o = &pv_cli_opts[i];
		bool which = o->group == G_WHICH && o->id != 'N' && o->id != OPT_ALL_NETNS;
		if (w[1] == '-' && o->name && which) {
			size_t n = strcspn(w + 2, "=");
			if (n && strncmp(o->name, w + 2, n) == 0)
				return true;
		}
	}
	for (const char *c = w + 1; w[1] != '-' && *c; c++) {
		const struct cli_opt *o = opt_by_id(*c);
		if (!o || !o->letter || o->group != G_WHICH || o->id == 'N') {
			*bad = w;
			return false;
		}
		if (o->arg == ARG_REQUIRED)
			break; /* the rest is its value */
	}
	if (w[1] == '-')
		*bad = w;
	return w[1] != '-';
}

bool pv_cli_parse_filter(const char *text, struct pv_request *out, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *copy = xmalloc(len + 1), *argv[64], *save = NULL;
	int argc = 0;
	memcpy(copy, text, len + 1);
	const char *bad = NULL;
	argv[argc++] = "portview";
	argv[argc++] = "--top";
	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (argc + 1 >= (int)ARRAY_SIZE(argv) || !filter_word_ok(w, &bad))
			break;
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (bad) {
		snprintf(err, errlen,
			 "%s: not a filter (the options that select sockets apply here)", bad);
		free(copy);
		return false;
	}
	/* The parser's message, from standard error kept aside in a file. */
	int saved = dup(STDERR_FILENO), fd = memfd_create("portview-filter", MFD_CLOEXEC);
	if (saved >= 0 && fd >= 0)
		dup2(fd, STDERR_FILENO);
	struct pv_services svc = {0};
	int old_optind = optind;
	optind = 0; /* glibc: start getopt afresh */
	/*
	 * Expressions into the bank the filter in use does not hold (its
	 * query points there until this one is applied); a filter that fails
	 * leaves the next the same bank.
	 */
	static unsigned in_use;
	unsigned bank = in_use == 1 ? 2 : 1;
	pv_cli_command_bank(bank);
	int status = pv_cli_parse(argc, argv, &svc, out);
	pv_cli_command_bank(0);
	optind = old_optind;
	pv_services_free(&svc);
	fflush(stderr);
	if (saved >= 0) {
		dup2(saved, STDERR_FILENO);
		close(saved);
	}
	err[0] = '\0';
	if (fd >= 0) {
		ssize_t n = pread(fd, err, errlen - 1, 0);
		err[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	err[strcspn(err, "\n")] = '\0';
	if (strncmp(err, "portview: ", 10) == 0)
		memmove(err, err + 10, strlen(err + 10) + 1);
	free(copy);
	if (status != PV_GO_ON) {
		pv_netns_close(&out->netns);
		if (!err[0])
			snprintf(err, errlen, "not a filter");
		return false;
	}
	in_use = bank;
	return true;
}
