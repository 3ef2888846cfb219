/* Everything the command line decides, in one place. */
#ifndef PORTVIEW_OPTIONS_H
#define PORTVIEW_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

struct pv_options {
	bool all;	 /* -a: add listening TCP and unconnected UDP */
	bool listening;	 /* -l: only those */
	bool tcp, udp;	 /* -t, -u: none means both */
	bool ipv4, ipv6; /* -4, -6: none means both */
	bool owner;	 /* -o: PID column */
	bool program;	 /* -p: PID/Program name column */
	bool numeric;	 /* -n */
	bool states_given;
	uint32_t states;       /* --state, OR of every list given */
	const char *proc_root; /* "/proc"; tests point it elsewhere */
};

void pv_options_init(struct pv_options *o);

#endif
