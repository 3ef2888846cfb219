/*
 * The portview program around the core library: option parsing (cli.c),
 * the kernel dumps of a run (collect.c) and the pipeline (main.c).  These
 * print the diagnostics; the library never prints, and only main() exits.
 */
#ifndef PORTVIEW_APP_H
#define PORTVIEW_APP_H

#include <stdbool.h>
#include <stdio.h>

#include "portview/options.h"
#include "portview/filter.h"
#include "portview/hashwalk.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/sock.h"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* The whole name resolution of a run is bounded by this. */
#define PV_RESOLVE_TIMEOUT_MS 1000

enum color_mode { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER };

/*
 * Parse the command line into o and *color; print --help, --version or a
 * usage error.  Returns -1 to go on, or the exit status to end with.
 */
int app_parse_args(int argc, char **argv, struct pv_options *o, enum color_mode *color);

/* Echo user input in a message without letting it drive the terminal. */
void app_put_escaped(FILE *f, const char *s, size_t n);

/* How a dump is made sure of (hashwalk.h), from PORTVIEW_DUMP. */
enum pv_dump_policy {
	PV_DUMP_CHECK = 0, /* check the boundaries, walk again in slices where needed */
	PV_DUMP_ONCE,	   /* =once: no second walk */
	PV_DUMP_TWICE,	   /* =twice: a second walk of everything, not the check */
};

/* What a run needs besides the options: the port registry and ranges. */
struct context {
	struct pv_services services;
	struct pv_ephemeral ephemeral;
	struct pv_hash_geometry geometry;
	bool debug;
	bool per_family; /* PORTVIEW_DUMP=per-family: no AF_UNSPEC TCP dump */
	enum pv_dump_policy dump;
};

/* What to dump: which states, and the port filter to push into the kernel. */
struct selection {
	uint32_t states;
	const struct pv_port_clause *clauses;
	size_t nclauses;
};

/*
 * Dump the sockets sel asks for into l (TCP then UDP, each family), with
 * the port filter pushed into the kernel and each dump checked for what a
 * resumed walk may have skipped.  Prints what failed.  Returns an exit
 * status.
 */
int app_collect(const struct pv_options *o, const struct context *ctx, const struct selection *sel,
		struct pv_socklist *l);

#endif
