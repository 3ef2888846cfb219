#include "portview/resolve.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <ares.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

static size_t addr_hash(uint8_t family, const uint8_t *a, size_t mask)
{
	return (size_t)pv_hash_bytes(a, 16, family) & mask;
}

/*
 * The entry for an address, added when new.  v4-mapped IPv6 addresses are
 * looked up as the IPv4 address they carry.
 */
static struct pv_name_entry *entry_for(struct pv_names *t, uint8_t family, const uint8_t *addr,
				       bool *added)
{
	uint8_t key[16] = {0};
	if (family == AF_INET6 && pv_addr_is_v4mapped(addr)) {
		family = AF_INET;
		memcpy(key, addr + 12, 4);
	} else {
		memcpy(key, addr, family == AF_INET ? 4 : 16);
	}
	size_t mask = t->cap - 1;
	for (size_t i = addr_hash(family, key, mask);; i = (i + 1) & mask) {
		struct pv_name_entry *e = &t->v[i];
		if (e->family == 0) {
			if (!added)
				return NULL;
			e->family = family;
			memcpy(e->addr, key, sizeof(key));
			t->n++;
			*added = true;
			return e;
		}
		if (e->family == family && memcmp(e->addr, key, sizeof(key)) == 0) {
			if (added)
				*added = false;
			return e;
		}
	}
}

static bool is_wildcard(const uint8_t *addr)
{
	static const uint8_t zero[16];
	return memcmp(addr, zero, sizeof(zero)) == 0;
}

static void on_host(void *arg, int status, int timeouts, struct hostent *host)
{
	struct pv_name_entry *e = arg;
	(void)timeouts;
	if (status == ARES_SUCCESS && host && host->h_name && host->h_name[0])
		e->name = strdup(host->h_name);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drive c-ares until every query is answered or the deadline passes. */
static void run_queries(ares_channel ch, long long deadline)
{
	for (;;) {
		ares_socket_t socks[ARES_GETSOCK_MAXNUM];
		int bits = ares_getsock(ch, socks, ARES_GETSOCK_MAXNUM);
		struct pollfd pfd[ARES_GETSOCK_MAXNUM];
		nfds_t n = 0;
		/*
		 * c-ares' ARES_GETSOCK_WRITABLE shifts a signed 1 into the sign bit
		 * for the last socket; test the bits as unsigned instead.
		 */
		unsigned ubits = (unsigned)bits;
		for (int i = 0; i < ARES_GETSOCK_MAXNUM; i++) {
			short ev = 0;
			if (ubits & (1u << i))
				ev |= POLLIN;
			if (ubits & (1u << (i + ARES_GETSOCK_MAXNUM)))
				ev |= POLLOUT;
			if (ev)
				pfd[n++] = (struct pollfd){.fd = socks[i], .events = ev};
		}
		if (n == 0)
			return; /* nothing in flight: all answered */
		long long left = deadline - now_ms();
		if (left <= 0)
			return;
		struct timeval maxtv = {.tv_sec = left / 1000, .tv_usec = (left % 1000) * 1000};
		struct timeval tv, *tvp = ares_timeout(ch, &maxtv, &tv);
		int wait = (int)(tvp->tv_sec * 1000 + tvp->tv_usec / 1000);
		int r = poll(pfd, n, wait > 0 ? wait : 1);
		if (r <= 0) {
			ares_process_fd(ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
			continue;
		}
		for (nfds_t i = 0; i < n; i++) {
			ares_socket_t rfd = pfd[i].revents & (POLLIN | POLLERR | POLLHUP)
						? pfd[i].fd
						: ARES_SOCKET_BAD;
			ares_socket_t wfd = pfd[i].revents & POLLOUT ? pfd[i].fd : ARES_SOCKET_BAD;
			if (rfd != ARES_SOCKET_BAD || wfd != ARES_SOCKET_BAD)
				ares_process_fd(ch, rfd, wfd);
		}
	}
}

/* Twice the room, every entry placed again (no query holds an entry yet). */
static void grow(struct pv_names *t)
{
	struct pv_names old = *t;
	t->cap *= 2;
	t->n = 0;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	bool added;
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].family)
			entry_for(t, old.v[i].family, old.v[i].addr, &added);
	free(old.v);
}

/*
 * Every distinct address of the list once, the table kept at most half
 * full: sized by the addresses, not by the sockets (a busy host's
 * thousands of connections share a few addresses).
 */
static void collect(struct pv_names *t, const struct pv_socklist *l)
{
	memset(t, 0, sizeof(*t));
	t->cap = 64;
	t->v = xcalloc(t->cap, sizeof(*t->v));
	struct pv_sock s;
	for (size_t i = 0; i < l->n; i++) {
		pv_socklist_get(l, i, &s);
		const uint8_t *addrs[2] = {s.local.addr, s.remote.addr};
		for (int k = 0; k < 2; k++) {
			bool added;
			if (is_wildcard(addrs[k]))
				continue;
			entry_for(t, s.family, addrs[k], &added);
			if (added && t->n * 2 > t->cap)
				grow(t);
		}
	}
}

void pv_names_resolve(struct pv_names *t, const struct pv_socklist *l, unsigned timeout_ms)
{
	collect(t, l);

	if (ares_library_init(ARES_LIB_INIT_ALL) != ARES_SUCCESS)
		return;
	ares_channel ch;
	struct ares_options opts = {.timeout = (int)timeout_ms, .tries = 1};
	if (ares_init_options(&ch, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
		ares_library_cleanup();
		return;
	}

	long long deadline = now_ms() + timeout_ms;
	for (size_t i = 0; i < t->cap; i++) {
		struct pv_name_entry *e = &t->v[i];
		if (e->family)
			/* /etc/hosts answers call on_host before this returns */
			ares_gethostbyaddr(ch, e->addr, e->family == AF_INET ? 4 : 16, e->family,
					   on_host, e);
	}
	run_queries(ch, deadline);
	/* What is still pending is cancelled: its callback sees no host. */
	ares_destroy(ch);
	ares_library_cleanup();
}

const char *pv_names_host(const struct pv_names *t, uint8_t family, const uint8_t addr[16])
{
	if (!t->cap || is_wildcard(addr))
		return NULL;
	const struct pv_name_entry *e = entry_for((struct pv_names *)t, family, addr, NULL);
	return e ? e->name : NULL;
}

void pv_names_free(struct pv_names *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->v[i].name);
	free(t->v);
	memset(t, 0, sizeof(*t));
}
