/* What to ask the kernel for, and what user space must still check. */
#ifndef PORTVIEW_FILTER_H
#define PORTVIEW_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "portview/options.h"
#include "portview/sock.h"

/* The idiag_states mask the options select (for TCP and UDP alike). */
uint32_t pv_filter_states(const struct pv_options *o);
bool pv_filter_want_proto(const struct pv_options *o, uint8_t proto);
/*
 * Which families to dump.  An IPv4-only listing still dumps AF_INET6,
 * because v4-mapped IPv6 sockets carry IPv4 traffic.
 */
bool pv_filter_want_family(const struct pv_options *o, uint8_t family);
/* The per-record check for what the kernel request cannot express. */
bool pv_filter_keep(const struct pv_sock *s, const void *options);
/* True when pv_filter_keep can reject anything, so the pass is needed. */
bool pv_filter_needs_pass(const struct pv_options *o);

#endif
