/* Turning record fields into the text users read. */
#ifndef PORTVIEW_FORMAT_H
#define PORTVIEW_FORMAT_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/buf.h"
#include "portview/sock.h"

/* "[" address "%" interface "]:" port, with room to spare. */
#define PV_ENDPOINT_MAX 96

/* Interface names by index, looked up once each per run. */
struct pv_ifcache {
	uint32_t index[16];
	char name[16][IF_NAMESIZE];
	unsigned n;
	bool numeric; /* indexes of another namespace's interfaces: numbers only */
};

void pv_ifcache_init(struct pv_ifcache *c);
/* The interface's name, or its number when it has none. */
const char *pv_ifcache_name(struct pv_ifcache *c, uint32_t ifindex, char tmp[IF_NAMESIZE]);

/* Whether an endpoint's address is link-local IPv6, which shows the interface as its scope. */
bool pv_endpoint_is_scoped(uint8_t family, const struct pv_endpoint *ep);

/* Decimal digits of v at out (at most 10, no NUL); returns how many. */
size_t pv_format_uint(char *out, uint32_t v);
/* How many characters pv_format_uint writes for v. */
size_t pv_uint_width(uint32_t v);

/*
 * A count in a few characters: as it is below 10,000, else three
 * significant digits and a decimal prefix (k, M, G, T, P, E): 9999,
 * 12.3k, 456k, 1.20M.  Writes a NUL-terminated string of at most 7
 * characters into out (8 bytes); returns its length.
 */
#define PV_SI_MAX 8
size_t pv_format_si(char *out, uint64_t v);
/* How many characters pv_format_si writes for v (SIZE_MAX: format it to know). */
size_t pv_si_width(uint64_t v);

/*
 * A moment of the realtime clock as RFC 3339 text, NUL-terminated:
 * 2026-11-25T10:00:01.234+01:00 in local time, or with utc
 * 2026-11-25T09:00:01.234Z; with ms false, no fraction.  Returns its
 * length.
 */
#define PV_TIME_MAX 40
struct timespec;
size_t pv_format_time(char *out, const struct timespec *t, bool utc, bool ms);

/*
 * Format an endpoint the way Windows netstat does: 127.0.0.1:80,
 * [::1]:80, [fe80::1%eth0]:22 (the scope only on link-local addresses, from
 * ifindex), [::ffff:10.0.0.1]:80.  ifc may be NULL (scope shown as a
 * number).  Returns the length written to out (PV_ENDPOINT_MAX bytes).
 */
size_t pv_format_endpoint(char *out, uint8_t family, const struct pv_endpoint *ep, uint32_t ifindex,
			  struct pv_ifcache *ifc);

/*
 * Append untrusted text (process names and the like) so that it cannot
 * drive a terminal: control bytes, invalid UTF-8 and backslash become
 * \xNN (backslash: \\).  Valid UTF-8 passes through.
 */
void pv_escape_text(struct pv_buf *out, const char *s, size_t n);

/*
 * The same, but at most max bytes of output, whole characters and escapes
 * only.  Returns how many bytes of s it took (n when all of it fitted).
 */
size_t pv_escape_text_max(struct pv_buf *out, const char *s, size_t n, size_t max);

/*
 * Append text as a JSON string (RFC 8259), quotes included: '"', '\\' and
 * control characters (C0, DEL, C1) escaped, invalid UTF-8 replaced by
 * U+FFFD, so any bytes give a valid document.
 */
void pv_json_string(struct pv_buf *out, const char *s, size_t n);

/*
 * Append text as a label value of the Prometheus and OpenMetrics text
 * formats, quotes included: '"', '\\' and newline escaped; invalid UTF-8,
 * other control characters (C0, DEL, C1) each become U+FFFD.
 */
void pv_metrics_label(struct pv_buf *out, const char *s, size_t n);

/*
 * Columns the text occupies on a terminal: wcwidth's in the current
 * locale (a kana or kanji takes two, a combining mark none), and where
 * the locale cannot say (C, POSIX) the East Asian widths all the same, so
 * that UTF-8 let through by the escaping lines up in any locale.
 */
size_t pv_text_width(const char *s, size_t n);

/* The columns of the character at s (n > 0 bytes left), its length in *len (1 if it does not
 * decode). */
size_t pv_char_width(const char *s, size_t n, size_t *len);

#endif
