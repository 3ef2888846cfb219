/* Everything the command line decides, in one place. */
#ifndef PORTVIEW_OPTIONS_H
#define PORTVIEW_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "portview/bytecode.h"

/* --port, --sport and --dport options, all together */
#define PV_MAX_PORT_ARGS 128

struct pv_options {
	bool all;	 /* -a: add listening TCP and unconnected UDP */
	bool listening;	 /* -l: only those */
	bool tcp, udp;	 /* -t, -u: none means both */
	bool ipv4, ipv6; /* -4, -6: none means both */
	bool owner;	 /* -o: PID column */
	bool program;	 /* -p: PID/Program name column */
	bool numeric;	 /* -n */
	bool states_given;
	uint32_t states; /* --state, OR of every list given */
	bool plain;	 /* --plain: no port annotation columns */
	bool ranges;	 /* --ranges: show the local port ranges instead */
	bool json;	 /* --json: one JSON document instead of the table */
	bool extended;	 /* -e: user, inode, queues, timer */
	bool no_header;	 /* -H */
	bool color;	 /* from --color, NO_COLOR and the terminal */
	enum pv_sort_key {
		PV_SORT_DEFAULT = 0, /* proto, local, foreign */
		PV_SORT_PROTO,
		PV_SORT_LOCAL,
		PV_SORT_FOREIGN,
		PV_SORT_STATE,
		PV_SORT_PID,
		PV_SORT_PROGRAM,
		PV_SORT_PORT,
	} sort_key;
	bool sort_reverse;
	const char *lookup; /* --lookup PORT[/PROTO] or NAME */
	/* --port, --sport, --dport as given; compiled into clauses */
	struct pv_port_arg {
		const char *option; /* "--port" */
		const char *spec;
		uint8_t sides; /* enum pv_port_side */
	} port_args[PV_MAX_PORT_ARGS];
	size_t nport_args;
	uint8_t classes; /* --class: bits 1 << enum pv_port_class, PV_CLASS_EPHEMERAL_BIT */
	/* The port filter: one clause per option kind, ANDed. */
	struct pv_port_clause clauses[3];
	size_t nclauses;
	const char *proc_root;	   /* "/proc"; tests point it elsewhere */
	const char *sysctl_dir;	   /* "/proc/sys/net/ipv4" */
	const char *services_path; /* "/etc/services", or $PORTVIEW_SERVICES */
};

#define PV_CLASS_EPHEMERAL_BIT (1u << 7)

void pv_options_init(struct pv_options *o);

#endif
