/*
 * The command line and the environment, read once into a request that is
 * complete and read-only afterwards: which mode, what to select, how to
 * show it.  The program's files include this (cli*.c, main.c, program.h and
 * so the mode files); the library never does.
 */
#ifndef PORTVIEW_CLI_H
#define PORTVIEW_CLI_H

#include <stdbool.h>

#include "msg.h"
#include "portview/lookup.h"
#include "portview/netns.h"
#include "portview/owners.h"
#include "portview/query.h"
#include "portview/services.h"
#include "portview/snapshot.h"
#include "portview/sort.h"
#include "portview/table_opts.h"

enum pv_mode {
	PV_MODE_LIST,	 /* the socket table or its JSON */
	PV_MODE_RANGES,	 /* --ranges */
	PV_MODE_LOOKUP,	 /* --lookup: the registry's answer, then the table */
	PV_MODE_SUMMARY, /* -s, --metrics: the summary and the port pressure */
	PV_MODE_WATCH,	 /* the listing again every interval (SECONDS, -c, --interval) */
	PV_MODE_EVENTS,	 /* --events: a line per socket opened, changed or closed */
	PV_MODE_KILL,	 /* --kill: close the TCP sockets the filters select */
	PV_MODE_TOP,	 /* --top: the live screen (mode_top.c) */
};

struct pv_request {
	enum pv_mode mode;
	struct pv_query query; /* what to select (for --lookup, its ports) */
	/*
	 * The same filters in every state: what an empty listing on a terminal
	 * asks, to say which states would have matched.
	 */
	struct pv_query wider;
	struct pv_table_opts table;
	struct pv_order order; /* --sort */
	bool json;
	struct pv_lookup lookup;     /* --lookup's ports and registry entries */
	bool lookup_sockets;	     /* --lookup asks about TCP or UDP: list the sockets */
	struct pv_dump_policy dump;  /* PORTVIEW_DUMP */
	enum pv_owner_source owners; /* PORTVIEW_OWNERS */
	bool refresh_dump;	     /* PORTVIEW_REFRESH=dump: never the change log */
	bool follow;		     /* refreshes follow the change log (--top) */
	bool debug;		     /* PORTVIEW_DEBUG */
	const char *proc_root;	     /* "/proc" */
	const char *sysctl_dir;	     /* "/proc/sys/net/ipv4" */
	const char *services_path;   /* "/etc/services", or $PORTVIEW_SERVICES */
	/* The summary (-s) */
	bool metrics;	      /* --metrics: as OpenMetrics text */
	int fail_on_pressure; /* --fail-on-pressure PCT: exit 3 above it; -1: not given */
	/* Network namespaces */
	struct pv_netns netns;	/* -N: the one to list, opened; fd -1: this one */
	char netns_opt[24];	/* -N as the user spelled it, for messages */
	const char *netns_spec; /* -N's value */
	bool all_netns;		/* --all-netns */
	const char *run_netns;	/* "/run/netns" */
	/* Watching (PV_MODE_WATCH, PV_MODE_EVENTS) */
	uint32_t interval_ms; /* how often to dump; --events: 1000 unless --interval */
	uint64_t count;	      /* --count: stop after so many snapshots (events); 0: never */
	bool info;	      /* -i: each TCP socket's tcp_info (table.info shows it) */
	bool dry_run;	      /* --kill --dry-run: say what would be closed, close nothing */
	/* The live screen (PV_MODE_TOP) */
	bool by_process;       /* --by-process: the per-process view first */
	uint32_t highlight_ms; /* --highlight: how long new and closed rows stay marked */
};

/*
 * Read argv and the environment into req, loading into svc the service
 * registry that port names are looked up in (free it with
 * pv_services_free).  Prints --help, --version or the usage error.
 * Returns -1 to go on, or the exit status to end with.
 */
int pv_cli_parse(int argc, char **argv, struct pv_services *svc, struct pv_request *req);

/*
 * The screen's filter (its '/' key): text in the selection options'
 * syntax ("--dport 443 --command curl"), read by the same parser as the
 * command line into out's query, every state unless -l or --state say
 * otherwise.  Returns true, or false with the message (without
 * "portview: ") in err.  Prints nothing.
 */
bool pv_cli_parse_filter(const char *text, struct pv_request *out, char *err, size_t errlen);

/* Whether the listing needs the owners of its sockets. */
bool pv_request_wants_owners(const struct pv_request *req);

#endif
