/* Building socket records by hand for the unit tests. */
#ifndef PORTVIEW_TEST_RECORDS_H
#define PORTVIEW_TEST_RECORDS_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "helpers.h"
#include "portview/sock.h"

static inline struct pv_sock mksock(uint8_t proto, int af, const char *src, uint16_t sport,
				    const char *dst, uint16_t dport, uint8_t state)
{
	static uint64_t cookie = 1000;
	struct pv_sock s;
	memset(&s, 0, sizeof(s));
	s.proto = proto;
	s.family = (uint8_t)af;
	s.state = state;
	ck_assert_int_eq(inet_pton(af, src, s.local.addr), 1);
	ck_assert_int_eq(inet_pton(af, dst, s.remote.addr), 1);
	s.local.port = sport;
	s.remote.port = dport;
	s.cookie = ++cookie;
	s.v6only = -1; /* what the kernel says of connected and IPv4 sockets */
	return s;
}

/*
 * The documented display order, written out independently of src/sort.c:
 * protocol number, family, local address (as bytes, network order) and
 * port, foreign address and port, interface, state, cookie.
 */
static inline int ref_cmp(const struct pv_sock *a, const struct pv_sock *b)
{
#define REF_CMP(x, y)                                                                              \
	if ((x) != (y))                                                                            \
		return (x) < (y) ? -1 : 1;
	REF_CMP(a->proto, b->proto)
	REF_CMP(a->family, b->family)
	int c = memcmp(a->local.addr, b->local.addr, 16);
	if (c)
		return c;
	REF_CMP(a->local.port, b->local.port)
	c = memcmp(a->remote.addr, b->remote.addr, 16);
	if (c)
		return c;
	REF_CMP(a->remote.port, b->remote.port)
	REF_CMP(a->ifindex, b->ifindex)
	REF_CMP(a->state, b->state)
	REF_CMP(a->cookie, b->cookie)
#undef REF_CMP
	return 0;
}

#endif
