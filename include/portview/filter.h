/* What to ask the kernel for, and what user space must still check. */
#ifndef PORTVIEW_FILTER_H
#define PORTVIEW_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/bytecode.h"
#include "portview/options.h"
#include "portview/ports.h"
#include "portview/services.h"
#include "portview/sock.h"

/* The idiag_states mask the options select (for TCP and UDP alike). */
uint32_t pv_filter_states(const struct pv_options *o);
/* The mask to send for one protocol (-l needs no CLOSE for TCP). */
uint32_t pv_filter_proto_states(const struct pv_options *o, uint32_t states, uint8_t proto);
bool pv_filter_want_proto(const struct pv_options *o, uint8_t proto);
/*
 * Which families to dump.  An IPv4-only listing still dumps AF_INET6,
 * because v4-mapped IPv6 sockets carry IPv4 traffic.
 */
bool pv_filter_want_family(const struct pv_options *o, uint8_t family);
/*
 * The per-record check, run after annotation: the family rule above, the
 * port clauses and the classes.  The kernel already applied what it could;
 * checking again costs little and covers what it could not (reserved ports).
 */
bool pv_filter_keep(const struct pv_sock *s, const void *options);
/* True when pv_filter_keep can reject anything, so the pass is needed. */
bool pv_filter_needs_pass(const struct pv_options *o);

/*
 * Parse a port SPEC: comma-separated numbers, ranges N-M and service names,
 * added to c's ranges.  Returns 0, or with *bad and *badlen naming the item:
 * -EINVAL (not a number, range or name), -ERANGE (above 65535), -EDOM (range
 * start above its end), -ENOENT (unknown service name), -E2BIG (too many).
 */
int pv_parse_port_spec(const char *spec, const struct pv_services *svc, struct pv_port_clause *c,
		       const char **bad, size_t *badlen);
/* Compile o->port_args into o->clauses; on error *bad_arg indexes port_args. */
int pv_filter_compile_ports(struct pv_options *o, const struct pv_services *svc, size_t *bad_arg,
			    const char **bad, size_t *badlen);

/* Parse --class names into o->classes bits.  Returns 0 or -EINVAL. */
int pv_parse_class_list(const char *list, uint8_t *mask, const char **bad, size_t *badlen);
const char *pv_class_valid_names(void);
/*
 * The --class selection as a clause on the local port for the kernel.
 * Returns false when there is no class filter.
 */
bool pv_filter_class_clause(const struct pv_options *o, const struct pv_ephemeral *eph,
			    struct pv_port_clause *c);

#endif
