/*
 * What a listing selects: protocols, families, states, port filters and
 * port classes.  Built once from the command line (cli.c), read by the
 * snapshot, which pushes what it can into the kernel's request (the state
 * mask, a filter program compiled by bytecode.c) and checks the rest in
 * user space.
 */
#ifndef PORTVIEW_QUERY_H
#define PORTVIEW_QUERY_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/bytecode.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/sock.h"
#include "portview/util.h"

#define PV_CLASS_EPHEMERAL_BIT (1u << 7)

struct pv_query {
	bool tcp, udp;	 /* neither: both */
	bool ipv4, ipv6; /* neither: both */
	uint32_t states; /* the idiag_states mask: bit 1 << TCP_* */
	/*
	 * TCP asks for LISTEN only (-l): CLOSE, which -l means for UDP, is in
	 * no table of the TCP dump, but asking for it walks every connection.
	 */
	bool tcp_listen_only;
	/* The port filter: the AND of --port, --sport and --dport clauses. */
	struct pv_port_clause clauses[3];
	size_t nclauses;
	/* The address filter: the AND of --src and --dst clauses. */
	struct pv_addr_clause addrs[2];
	size_t naddrs;
	uint8_t classes;  /* --class: bits 1 << enum pv_port_class, PV_CLASS_EPHEMERAL_BIT */
	bool no_loopback; /* --no-loopback: no socket with a loopback local address */
	/* --pid and --program: checked against the owners, once they are known */
	int32_t pids[64];
	size_t npids;
	/*
	 * --command, as lsof's -c: a prefix of the command name, or where
	 * program_re[i] is set, the regular expression it points to
	 * (programs[i] then empty).
	 */
	char programs[8][16]; /* NUL-terminated prefixes */
	const regex_t *program_re[8];
	size_t nprograms;
	uint32_t dev; /* --dev: only sockets bound to this interface index; 0: any */
};

/* The states to ask for with one protocol. */
uint32_t pv_query_proto_states(const struct pv_query *q, uint8_t proto);
bool pv_query_wants_proto(const struct pv_query *q, uint8_t proto);
/*
 * Whether to dump a family.  An IPv4-only listing still dumps AF_INET6,
 * because v4-mapped IPv6 sockets carry IPv4 traffic, and so do IPv6
 * sockets bound to :: without IPV6_V6ONLY.
 */
bool pv_query_wants_family(const struct pv_query *q, uint8_t family);

/*
 * The check in user space of one record: the family rule above, the port
 * clauses and the classes of the local port (against the network
 * namespace's ephemeral range).  The kernel already applied what it
 * could; checking again costs little and covers what it could not
 * (reserved ports).
 */
bool pv_query_keep(const struct pv_query *q, const struct pv_ephemeral *eph,
		   const struct pv_sock *s);
/* Whether pv_query_keep can reject anything, so that the pass is needed. */
bool pv_query_needs_check(const struct pv_query *q);

/* Whether the query selects by owner (--pid, --program). */
bool pv_query_by_owner(const struct pv_query *q);
/*
 * The owner check: whether one of a socket's owners (pid, command name of
 * comm_len bytes) is one the query names.  Call it for each owner; a
 * socket without owners never passes it.
 */
bool pv_query_owner_matches(const struct pv_query *q, int32_t pid, const char *comm,
			    size_t comm_len);
/*
 * The --class selection as a clause on the local port for the kernel, in
 * the network namespace whose range eph is.  False when there is no
 * class filter.
 */
bool pv_query_class_clause(const struct pv_query *q, const struct pv_ephemeral *eph,
			   struct pv_port_clause *c);

/*
 * Parse a port SPEC: comma-separated numbers, ranges N-M and service names
 * (their TCP and UDP ports), added to c's ranges.  Returns false with why
 * filled when the spec is bad.
 */
bool pv_parse_port_spec(const char *spec, const struct pv_services *svc, struct pv_port_clause *c,
			struct pv_why *why);

/*
 * Parse a --dev IFACE: an interface's name (in this network namespace) or
 * its index.  Returns false with why filled.
 */
bool pv_parse_dev(const char *text, uint32_t *ifindex, struct pv_why *why);

/* Parse a --class list into *mask's bits.  Returns false with why filled. */
bool pv_parse_class_list(const char *list, uint8_t *mask, struct pv_why *why);

/*
 * Parse an address list (--src, --dst): comma-separated IPv4 or IPv6
 * addresses (IPv6 may be in brackets), each with an optional /PREFIX;
 * host bits past the prefix are cleared.  Added to c's prefixes.
 */
bool pv_parse_addr_list(const char *list, struct pv_addr_clause *c, struct pv_why *why);
/*
 * Parse a --command NAME into q's next program: a prefix of at most 15
 * bytes, or /REGEX/ (POSIX extended), compiled into *re, which must
 * outlive q.  Returns false with why filled.
 */
bool pv_parse_command(const char *text, struct pv_query *q, regex_t *re, struct pv_why *why);
/* Parse a --pid list into q->pids. */
bool pv_parse_pid_list(const char *list, struct pv_query *q, struct pv_why *why);

#endif
