/*
 * Small helpers, one of each: array length, decimal numbers, comma lists,
 * sets of ports, hashing and protocol names.
 */
#ifndef PORTVIEW_UTIL_H
#define PORTVIEW_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/hashmap.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A decimal number spelled by exactly the n bytes at s: digits only (no
 * sign, space or prefix), at most max.  Returns 0, -EINVAL (empty or not
 * all digits) or -ERANGE (above max; leading zeros are fine).
 */
int pv_parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out);
/* The same for a NUL-terminated string. */
int pv_parse_uint_str(const char *s, uint64_t max, uint64_t *out);
/* The number of decimal digits s starts with, at most n. */
size_t pv_digits(const char *s, size_t n);

/*
 * The items of a list separated by sep: "a,,b" gives "a", "" and "b"; ""
 * gives one empty item.
 *
 *   struct pv_split it = pv_split_start(list, ',');
 *   while (pv_split_next(&it, &item, &len)) ...
 */
struct pv_split {
	const char *p; /* the rest of the list; NULL when done */
	char sep;
};
struct pv_split pv_split_start(const char *list, char sep);
bool pv_split_next(struct pv_split *it, const char **item, size_t *len);

/* A set of port numbers, one bit each (8 KiB). */
struct pv_portset {
	uint8_t bits[65536 / 8];
};

static inline void pv_portset_add(struct pv_portset *s, uint16_t port)
{
	s->bits[port >> 3] |= (uint8_t)(1u << (port & 7));
}

static inline bool pv_portset_has(const struct pv_portset *s, uint16_t port)
{
	return (s->bits[port >> 3] >> (port & 7)) & 1;
}

/* A new, empty set (free() it). */
struct pv_portset *pv_portset_new(void);

/* A set of non-zero 64-bit ids (socket cookies), open-addressed. */
struct pv_idset {
	uint64_t *v; /* 0: an empty slot */
	size_t cap, n;
};
/* An empty set with room for about expected ids before it grows. */
void pv_idset_init(struct pv_idset *s, size_t expected);
void pv_idset_add(struct pv_idset *s, uint64_t id); /* 0 is ignored */
bool pv_idset_has(const struct pv_idset *s, uint64_t id);
void pv_idset_free(struct pv_idset *s);

/*
 * A map from non-zero 64-bit ids (socket cookies) to 32-bit values: where
 * each cookie of a snapshot is.  The hash map (hashmap.h), cookie 0 ignored.
 */
struct pv_idmap {
	struct pv_hashmap map;
};
/* An empty map with room for about expected ids before it grows. */
void pv_idmap_init(struct pv_idmap *m, size_t expected);
/* Map id to val, replacing what it had (0 is ignored). */
void pv_idmap_put(struct pv_idmap *m, uint64_t id, uint32_t val);
/* Whether id is mapped, and to what. */
bool pv_idmap_get(const struct pv_idmap *m, uint64_t id, uint32_t *val);
void pv_idmap_free(struct pv_idmap *m);

/* Hash n bytes, starting from seed (FNV-1a, then mixed). */
uint64_t pv_hash_bytes(const void *p, size_t n, uint64_t seed);

/*
 * Why a parser of user input refused it: what was wrong and, for a list,
 * the item at fault.  Parsers fill it and return false; the message is
 * made where the option is known (cli.c):
 *   portview: --state estab,FOO: FOO: unknown state (valid: ...)
 */
struct pv_why {
	const char *why;     /* "unknown state" */
	const char *item;    /* the item at fault, inside the input; NULL: the whole */
	size_t len;	     /* its length */
	const char *valid;   /* what would be accepted, or NULL */
	const char *suggest; /* a near miss's likely meaning ("did you mean"), or NULL */
	const char *hint;    /* what to do instead, when no suggestion is near, or NULL */
};

/*
 * A time in seconds as a user writes it: "5", "0.5", ".25", at most three
 * decimals, from 0.1 to 86400 (a day).  Returns false with why filled;
 * else *ms holds it in milliseconds.
 */
bool pv_parse_seconds(const char *s, uint32_t *ms, struct pv_why *why);

/*
 * The candidate a mistyped word most likely meant: the nearest by edit
 * distance (insertions, deletions, substitutions and swaps of neighbours,
 * ignoring case), if within 1 for words of up to 4 characters, 2 for
 * longer ones; NULL when none is that near.  cands holds n strings;
 * stride is the distance in bytes between two of them (for a table of
 * structs whose first member is the name), or sizeof(char *).
 */
const char *pv_nearest(const char *word, size_t len, const void *cands, size_t n, size_t stride);
/* The edit distance above, capped at limit + 1. */
unsigned pv_edit_distance(const char *a, size_t an, const char *b, size_t bn, unsigned limit);

#define PV_IPPROTO_DCCP 33
#define PV_IPPROTO_SCTP 132

/* "TCP", "UDP", "SCTP", "DCCP", or "?" for another protocol. */
const char *pv_proto_name(uint8_t proto);
/* The same in lower case, as /etc/services writes it. */
const char *pv_proto_lname(uint8_t proto);
/*
 * The protocol a name of n bytes stands for ("tcp", ...; any case when
 * ignore_case, else lower case only, as /etc/services has it).  Returns 0
 * and the protocol number, or -EINVAL.
 */
int pv_proto_parse(const char *s, size_t n, bool ignore_case, uint8_t *proto);
/* The names pv_proto_parse knows, for messages. */
#define PV_PROTO_NAMES "tcp, udp, sctp, dccp"

#endif
