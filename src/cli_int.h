/*
 * What the cli*.c files share: the table of options (cli_options.c), the
 * state of one parse, and the reporters of bad input.  The program's
 * private header; only cli*.c include it.
 */
#ifndef PORTVIEW_CLI_INT_H
#define PORTVIEW_CLI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* The options without a letter; the ones with one are known by it. */
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
	OPT_KILL,
	OPT_DRY_RUN,
	OPT_LIST_OPTIONS,
	OPT_TOP,
	OPT_BY_PROCESS,
	OPT_HIGHLIGHT,
	OPT_COMPLETE,
	OPT_SECONDS, /* not an option: the trailing number, for the conflicts */
};

/*
 * The contexts an option can choose and others can be refused in: the
 * modes that do not list sockets, and two options that change what a
 * run is.  Their order is the order the conflicts are looked for in.
 */
enum cli_ctx {
	CTX_RANGES = 1u << 0,
	CTX_LOOKUP = 1u << 1,
	CTX_SUMMARY = 1u << 2,
	CTX_EVENTS = 1u << 3,
	CTX_METRICS = 1u << 4,
	CTX_ALL_NETNS = 1u << 5,
	CTX_TOP = 1u << 6,
};

enum cli_group { G_WHICH, G_COLUMNS, G_OUTPUT, G_WATCH, G_OTHER, G_COUNT };

enum cli_arg { ARG_NONE, ARG_REQUIRED, ARG_OPTIONAL };

/* The spelling of an option, kept for a message made later. */
#define SPELLED_MAX 24
struct cli_spelled {
	char name[SPELLED_MAX]; /* "--stat", "-N" */
	const char *sep;	/* what joined the value: " " or "=" */
	const char *value;
};

struct cli_state;

/*
 * One option, described once: getopt's tables, --help, --list-options
 * and the conflicts all come from these rows.
 */
struct cli_opt {
	const char *name; /* the long name; NULL: a --help row only */
	int id;		  /* the letter, or an OPT_ code */
	bool letter;	  /* id is also a short option */
	enum cli_arg arg;
	const char *argname; /* "LIST" */
	enum cli_group group;
	const char *left; /* --help's left column, when not made from the above */
	const char *help; /* --help's text, '\n' between its lines */
	unsigned chooses; /* the context it asks for (enum cli_ctx) */
	unsigned refused; /* the contexts it does nothing in */
	bool once;	  /* given twice is an error */
	bool hidden;	  /* not in --help (an alias, a listing for tools) */
	/* Where a plain switch is kept in the request: offsetof + 1; 0 none. */
	size_t flag;
	/* How its value is read: PV_GO_ON, or the exit status to end with. */
	int (*parse)(struct cli_state *st, const char *arg);
	/* The words a completion offers for its value: a --complete WHAT; NULL none. */
	const char *values;
};

extern const struct cli_opt pv_cli_opts[];
extern const size_t pv_cli_nopts;

/* The options given, each once, as first spelled: for the conflicts. */
struct cli_given {
	int id[64];
	char name[64][SPELLED_MAX];
	size_t n;
};

/* The port options, kept as given until the end of the command line. */
#define MAX_PORT_ARGS 128
struct port_arg {
	struct cli_spelled opt;
	uint8_t sides; /* enum pv_port_side */
};

enum cli_color { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/* One parse: the request being filled and what is known only until its end. */
struct cli_state {
	struct pv_request *req;
	struct pv_services *svc;
	struct cli_spelled cur; /* the option being read */
	int note_as;		/* the option it counts as (--program=NAME: --command) */
	enum cli_color color;
	struct port_arg ports[MAX_PORT_ARGS];
	size_t nports;
	bool all, listening, states_given, summary;
	bool named;	 /* a filter names an address or a process */
	bool by_process; /* --pid or --command: show the owners */
	/* options whose spelling a later message names; name[0] == 0: not given */
	struct cli_spelled lookup, netns, interval, sort, continuous, count;
	const char *after_p; /* the word after a bare -p: netstat -p tcp? */
	const char *seconds; /* the trailing number */
	struct cli_given given;
};

/*
 * Which bank of compiled --command expressions the parses that follow
 * fill: 0 for the command line (the default), 1 or 2 for --top's filters
 * (cli_options.c).
 */
void pv_cli_command_bank(unsigned bank);

/* --help, and the table for tools (cli_options.c). */
void pv_cli_print_help(void);
void pv_cli_list_options(void);
/* --complete WHAT: the words for a shell's completion (cli_complete.c). */
int pv_cli_complete(const struct cli_state *st, const char *what);
/* --color's words, for its message and the completions. */
extern const char pv_cli_color_words[];
extern const char pv_cli_usage_line[];
/* The usage lines and "Try 'portview --help'", on standard error. */
void pv_cli_usage_error(void);

/*
 * The one report of a bad value:
 *   portview: OPTION VALUE[: ITEM]: why[; did you mean X?][ (valid: ...)]
 */
void pv_cli_bad_value(const char *option, const char *sep, const char *value,
		      const struct pv_why *w);
/* Echo user text, escaped and cut after 64 characters, as a message's piece. */
void pv_cli_echo(const char *s, size_t n);

/* cli_hints.c: what another tool's habit means here. */
void pv_cli_stray_hint(char **argv, int argc, int at, const char *after_p);
void pv_cli_unknown_long(const char *arg);
/*
 * A value that looks like another tool's syntax (lsof's -i TCP:22, ss's
 * ":80", an address with a port): a usage error with the hint, or
 * PV_GO_ON.
 */
int pv_cli_value_hint(const struct cli_state *st, int id, const char *arg);
/* A short option other tools have and this one lacks: its hint or NULL. */
const char *pv_cli_letter_hint(int letter);

#endif
