/*
 * pv_diag_parse_datagram() (the parser every dump's datagrams go through)
 * on arbitrary bytes, for TCP and UDP, checked against a model of its
 * documented contract (include/portview/sock_diag.h):
 *
 *   - netlink messages are walked by nlmsg_len (4-byte aligned); the walk
 *     stops at the first message that does not fit (nlmsg_len < 16 or past
 *     the end, which covers lengths of 2^31 and more);
 *   - a message flagged NLM_F_DUMP_INTR gives -EINTR;
 *   - SOCK_DIAG_BY_FAMILY messages, and TCPDIAG_GETSOCK ones (the replies
 *     to the both-families TCP request), become records (a payload shorter
 *     than inet_diag_msg, or a family other than AF_INET/AF_INET6, is
 *     -EBADMSG); other data types and other control messages are skipped;
 *   - NLMSG_DONE ends the dump with its int when negative, else 0;
 *   - NLMSG_ERROR ends it with its error (negated when positive), -EBADMSG
 *     when too short to hold struct nlmsgerr; an error of 0 is an
 *     acknowledgement and does not end the dump;
 *   - bytes that end before NLMSG_DONE (or an error) give -EBADMSG;
 *   - every record comes out, in order (INET_DIAG_NOCOOKIE becomes cookie
 *     0); repeats are dropped later by pv_socklist_dedupe(), which drops a
 *     record when one with the same addresses, ports and (non-zero) cookie
 *     is already kept;
 *   - a record's attributes (after its 72 bytes) are walked by nla_len,
 *     4-byte aligned, until one does not fit: the last INET_DIAG_PROTOCOL
 *     and INET_DIAG_INFO count.  A parse given no protocol (the destroy
 *     groups') takes the record's from INET_DIAG_PROTOCOL and skips a
 *     record that has none or names neither TCP nor UDP; a list that keeps
 *     tcp_info gets, for a TCP record, the fields its INET_DIAG_INFO's
 *     length covers (none below the first kernel's 104 bytes).
 *
 * The model says which records come out, field by field, and the return
 * value.  On top of that: the input is not written to; a buffer at a 4-byte
 * but not 8-byte boundary gives the same answer; a buffer that is not
 * 4-byte aligned is -EBADMSG with no records; parsing the same bytes again
 * into the same list and de-duplicating keeps the first parse's distinct
 * sockets plus both copies of the cookie-0 ones.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz_util.h"
#include "portview/sock.h"
#include "portview/sock_diag.h"
#include "portview/sort.h"

#define HDR	    16u /* struct nlmsghdr */
#define ATTR_INFO   2u	/* INET_DIAG_INFO */
#define ATTR_PROTO  10u /* INET_DIAG_PROTOCOL */
#define DIAG_MSG    72u /* struct inet_diag_msg */
#define NLMSGERR    20u /* struct nlmsgerr: int + nlmsghdr */
#define MAX_RECORDS 4096

_Static_assert(sizeof(struct nlmsghdr) == HDR, "nlmsghdr");
_Static_assert(sizeof(struct inet_diag_msg) == DIAG_MSG, "inet_diag_msg");
_Static_assert(sizeof(struct nlmsgerr) == NLMSGERR, "nlmsgerr");

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return v;
}

struct model {
	int ret;
	bool saw_done;	  /* an NLMSG_DONE was reached */
	size_t n;	  /* records expected */
	size_t nzero;	  /* of which cookie 0 */
	size_t ndistinct; /* distinct (addresses, ports, cookie) among the others */
	struct pv_sock v[MAX_RECORDS];
	struct pv_tcp_info info[MAX_RECORDS]; /* have 0: none */
};

static struct model model; /* big: not on the stack */

static bool same_socket(const struct pv_sock *a, const struct pv_sock *b)
{
	return a->cookie == b->cookie && a->proto == b->proto && a->family == b->family &&
	       a->local.port == b->local.port && a->remote.port == b->remote.port &&
	       memcmp(a->local.addr, b->local.addr, 16) == 0 &&
	       memcmp(a->remote.addr, b->remote.addr, 16) == 0;
}

static bool model_seen(const struct model *m, const struct pv_sock *s)
{
	for (size_t i = 0; i < m->n; i++)
		if (same_socket(&m->v[i], s))
			return true;
	return false;
}

/*
 * The attributes after inet_diag_msg (plen bytes of payload in all), as
 * netlink lays them out: 16-bit length (header included), 16-bit type
 * (the top two bits are flags), payload, padding to 4 bytes; the walk
 * stops at one that does not fit.  SKV6ONLY counts with a 1-byte payload,
 * INFO (tcp_info) with 4 or more; the last of each wins.
 */
static void model_attrs(const uint8_t *p, size_t plen, struct pv_sock *s, bool *info)
{
	size_t off = DIAG_MSG;
	while (plen - off >= 4 && off < plen) {
		size_t len = get16(p + off);
		unsigned type = get16(p + off + 2) & 0x3fff;
		if (len < 4 || len > plen - off)
			break;
		const uint8_t *a = p + off + 4;
		if (type == INET_DIAG_SKV6ONLY && len - 4 == 1)
			s->v6only = a[0] ? 1 : 0;
		if (type == INET_DIAG_INFO && len - 4 >= 4) {
			*info = true;
			s->retrans = a[2];
			s->probes = a[3];
		}
		off += (len + 3) & ~(size_t)3;
	}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/*
 * tcp_info of len bytes, by the kernel's offsets (include/uapi/linux/tcp.h)
 * written out: a field is there when the struct reaches its end.
 */
static void model_info(struct pv_tcp_info *t, const uint8_t *p, size_t len)
{
	memset(t, 0, sizeof(*t));
	if (len < 104)
		return;
	t->have = PV_TI_BASE;
	t->snd_mss = get32(p + 16);
	t->retrans = get32(p + 36);
	t->last_data_sent_ms = get32(p + 44);
	t->last_data_recv_ms = get32(p + 52);
	t->rtt_us = get32(p + 68);
	t->rttvar_us = get32(p + 72);
	t->snd_cwnd = get32(p + 80);
	t->total_retrans = get32(p + 100);
	if (len >= 136) {
		t->have |= PV_TI_BYTES;
		t->bytes_acked = get64(p + 120);
		t->bytes_received = get64(p + 128);
	}
	if (len >= 144) {
		t->have |= PV_TI_SEGS;
		t->segs_out = get32(p + 136);
		t->segs_in = get32(p + 140);
	}
	if (len >= 168) {
		t->have |= PV_TI_DELIVERY;
		t->delivery_rate = get64(p + 160);
	}
	if (len >= 208) {
		t->have |= PV_TI_SENT;
		t->bytes_sent = get64(p + 200);
	}
}

/*
 * One record: p its inet_diag_msg, plen the message's payload.  proto 0:
 * the record's own (skipped without one); keep_info: its tcp_info.
 */
static void model_record(struct model *m, const uint8_t *p, size_t plen, uint8_t proto,
			 bool keep_info)
{
	int attr_proto = -1;
	const uint8_t *tinfo = NULL;
	size_t tinfo_len = 0;
	for (size_t off = DIAG_MSG; off < plen && plen - off >= 4;) {
		uint16_t alen = get16(p + off), type = get16(p + off + 2) & 0x3fff;
		if (alen < 4 || alen > plen - off)
			break;
		if (type == ATTR_PROTO && alen >= 5)
			attr_proto = p[off + 4];
		else if (type == ATTR_INFO) {
			tinfo = p + off + 4;
			tinfo_len = alen - 4u;
		}
		off += ((size_t)alen + 3) & ~(size_t)3;
	}
	if (!proto) {
		if (attr_proto != IPPROTO_TCP && attr_proto != IPPROTO_UDP)
			return;
		proto = (uint8_t)attr_proto;
	}
	struct pv_sock s;
	memset(&s, 0, sizeof(s));
	s.proto = proto;
	s.family = p[0];
	/* TCP's closed state is what the bind hash lists: bound, inactive */
	s.state = proto == IPPROTO_TCP && (p[1] == 7 || p[1] == 13) ? 13 : p[1];
	s.timer = p[2];
	s.v6only = -1;
	bool info = false;
	model_attrs(p, plen, &s, &info);
	if (!info) {
		/* idiag_retrans holds the probes for the keepalive and probe timers */
		bool probes = s.timer == 2 || s.timer == 4;
		s.retrans = probes ? 0 : p[3];
		s.probes = probes ? p[3] : 0;
	}
	s.local.port = ntohs(get16(p + 4));
	s.remote.port = ntohs(get16(p + 6));
	size_t alen = s.family == AF_INET ? 4 : 16;
	memcpy(s.local.addr, p + 8, alen);
	memcpy(s.remote.addr, p + 24, alen);
	s.ifindex = get32(p + 40);
	s.cookie = (uint64_t)get32(p + 44) | (uint64_t)get32(p + 48) << 32;
	if (s.cookie == UINT64_MAX)
		s.cookie = 0;
	s.expires = get32(p + 52);
	s.rqueue = get32(p + 56);
	s.wqueue = get32(p + 60);
	s.uid = get32(p + 64);
	s.inode = get32(p + 68);
	FUZZ_CHECK(m->n < MAX_RECORDS, "input too large for the model");
	memset(&m->info[m->n], 0, sizeof(m->info[m->n]));
	if (keep_info && proto == IPPROTO_TCP && tinfo)
		model_info(&m->info[m->n], tinfo, tinfo_len);
	if (s.cookie == 0)
		m->nzero++;
	else if (!model_seen(m, &s))
		m->ndistinct++;
	m->v[m->n++] = s;
}

static void run_model(struct model *m, const uint8_t *buf, size_t len, uint8_t proto,
		      bool keep_info)
{
	m->n = m->nzero = m->ndistinct = 0;
	m->saw_done = false;
	size_t off = 0;
	while (len - off >= HDR) {
		const uint8_t *h = buf + off;
		uint32_t mlen = get32(h);
		uint16_t type = get16(h + 4), flags = get16(h + 6);
		if (mlen < HDR || mlen > len - off)
			break; /* truncated or lying: the bytes end here */
		const uint8_t *payload = h + HDR;
		uint32_t plen = mlen - HDR;

		if (flags & NLM_F_DUMP_INTR) {
			m->ret = -EINTR;
			return;
		}
		if (type == SOCK_DIAG_BY_FAMILY || type == TCPDIAG_GETSOCK) {
			if (plen < DIAG_MSG || (payload[0] != AF_INET && payload[0] != AF_INET6)) {
				m->ret = -EBADMSG;
				return;
			}
			model_record(m, payload, plen, proto, keep_info);
		} else if (type == NLMSG_DONE) {
			int status = 0;
			if (plen >= sizeof(int))
				memcpy(&status, payload, sizeof(int));
			m->saw_done = true;
			m->ret = status < 0 ? status : 0;
			return;
		} else if (type == NLMSG_ERROR) {
			if (plen < NLMSGERR) {
				m->ret = -EBADMSG;
				return;
			}
			int error;
			memcpy(&error, payload, sizeof(int));
			if (error != 0) {
				m->ret = error < 0 ? error : -error;
				return;
			}
		}
		off += ((size_t)mlen + 3) & ~(size_t)3;
		if (off > len)
			off = len;
	}
	m->ret = m->saw_done ? 0 : -EBADMSG;
}

static void check_info(const struct pv_tcp_info *got, const struct pv_tcp_info *want, size_t i)
{
	if (!want->have) {
		FUZZ_CHECK(got == NULL, "record %zu: tcp_info where there is none", i);
		return;
	}
	FUZZ_CHECK(got != NULL, "record %zu: no tcp_info", i);
#define SAME(f) FUZZ_CHECK(got->f == want->f, "record %zu: tcp_info " #f, i)
	SAME(have);
	SAME(rtt_us);
	SAME(rttvar_us);
	SAME(snd_cwnd);
	SAME(snd_mss);
	SAME(retrans);
	SAME(total_retrans);
	SAME(last_data_sent_ms);
	SAME(last_data_recv_ms);
	SAME(bytes_acked);
	SAME(bytes_received);
	SAME(segs_out);
	SAME(segs_in);
	SAME(delivery_rate);
	SAME(bytes_sent);
#undef SAME
}

static void check_record(const struct pv_sock *got, const struct pv_sock *want, size_t i)
{
#define SAME(f) FUZZ_CHECK(got->f == want->f, "record %zu: field " #f, i)
	SAME(proto);
	SAME(family);
	SAME(state);
	SAME(timer);
	SAME(retrans);
	SAME(probes);
	SAME(v6only);
	SAME(local.port);
	SAME(remote.port);
	SAME(ifindex);
	SAME(cookie);
	SAME(expires);
	SAME(rqueue);
	SAME(wqueue);
	SAME(uid);
	SAME(inode);
#undef SAME
	FUZZ_CHECK(memcmp(got->local.addr, want->local.addr, 16) == 0, "record %zu: local addr", i);
	FUZZ_CHECK(memcmp(got->remote.addr, want->remote.addr, 16) == 0, "record %zu: remote addr",
		   i);
}

/*
 * The documented display order (portview(8)), written out here: protocol,
 * family, local address (bytes, network order) and port, foreign address
 * and port, state, cookie.
 */
static int display_cmp(const struct pv_sock *a, const struct pv_sock *b)
{
	int c;
	if (a->proto != b->proto)
		return a->proto < b->proto ? -1 : 1;
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	if ((c = memcmp(a->local.addr, b->local.addr, 16)))
		return c;
	if (a->local.port != b->local.port)
		return a->local.port < b->local.port ? -1 : 1;
	if ((c = memcmp(a->remote.addr, b->remote.addr, 16)))
		return c;
	if (a->remote.port != b->remote.port)
		return a->remote.port < b->remote.port ? -1 : 1;
	if (a->ifindex != b->ifindex) /* one address and port on two devices */
		return a->ifindex < b->ifindex ? -1 : 1;
	if (a->state != b->state)
		return a->state < b->state ? -1 : 1;
	return (a->cookie > b->cookie) - (a->cookie < b->cookie);
}

/* The bytes as one run, through the parser the dump uses. */
static int pv_diag_parse(const void *buf, size_t size, uint8_t proto, struct pv_socklist *l)
{
	struct pv_diag_parse p;
	pv_diag_parse_init(&p, proto, l, NULL);
	pv_diag_parse_datagram(&p, buf, size);
	return pv_diag_parse_result(&p);
}

static bool ret_is_documented(int ret, const struct model *m)
{
	/* 0, -EINTR, -EBADMSG, or what the kernel put in DONE/ERROR */
	return ret == 0 || ret == -EINTR || ret == -EBADMSG || (ret < 0 && ret == m->ret);
}

/* proto 0: each record's own, as the destroy groups are parsed. */
static void parse_and_check(const uint8_t *buf, size_t size, uint8_t proto, bool keep_info)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	l.keep_info = keep_info;
	int ret = pv_diag_parse(buf, size, proto, &l);
	run_model(&model, buf, size, proto, keep_info);

	FUZZ_CHECK(ret <= 0, "positive return %d", ret);
	FUZZ_CHECK(ret_is_documented(ret, &model), "undocumented return %d", ret);
	for (size_t i = 0; i < l.n; i++) {
		FUZZ_CHECK(l.v[i].family == AF_INET || l.v[i].family == AF_INET6,
			   "record %zu has family %u", i, l.v[i].family);
		FUZZ_CHECK(l.v[i].proto == (proto ? proto : model.v[i].proto) &&
			       (l.v[i].proto == IPPROTO_TCP || l.v[i].proto == IPPROTO_UDP),
			   "record %zu has proto %u", i, l.v[i].proto);
	}
	FUZZ_CHECK(ret != 0 || model.saw_done,
		   "returned 0 but the bytes hold no NLMSG_DONE before they end or go bad");
	FUZZ_CHECK(ret == model.ret, "returned %d, the contract says %d", ret, model.ret);
	FUZZ_CHECK(l.n == model.n, "%zu records, the contract says %zu", l.n, model.n);
	for (size_t i = 0; i < l.n; i++) {
		struct pv_sock got;
		pv_socklist_get(&l, i, &got);
		check_record(&got, &model.v[i], i);
		check_info(got.info, &model.info[i], i);
	}

	/* Again into the same list, then without repeats. */
	size_t before = l.n;
	int again = pv_diag_parse(buf, size, proto, &l);
	FUZZ_CHECK(again == ret, "second parse returned %d, first %d", again, ret);
	FUZZ_CHECK(l.n == 2 * before, "second parse: %zu records, want %zu", l.n, 2 * before);
	pv_socklist_sort(&l);
	for (size_t i = 1; i < l.n; i++) {
		struct pv_sock a, b;
		pv_socklist_get(&l, i - 1, &a);
		pv_socklist_get(&l, i, &b);
		FUZZ_CHECK(display_cmp(&a, &b) <= 0, "records %zu, %zu out of order", i - 1, i);
	}
	pv_socklist_dedupe(&l);
	FUZZ_CHECK(l.n == model.ndistinct + 2 * model.nzero,
		   "de-duplicated: %zu records, want %zu distinct and twice %zu without cookie",
		   l.n, model.ndistinct, model.nzero);
	pv_socklist_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* malloc'ed storage is 16-byte aligned, and ASan guards its end exactly. */
	uint8_t *buf = malloc(size ? size : 1);
	uint8_t *orig = malloc(size ? size : 1);
	FUZZ_CHECK(buf && orig, "out of memory");
	memcpy(buf, data, size);
	memcpy(orig, data, size);

	parse_and_check(buf, size, IPPROTO_TCP, false);
	parse_and_check(buf, size, IPPROTO_UDP, false);
	parse_and_check(buf, size, IPPROTO_TCP, true);
	parse_and_check(buf, size, 0, true);
	FUZZ_CHECK(memcmp(buf, orig, size) == 0, "pv_diag_parse wrote to its input");

	/* At a 4-byte but not 8-byte boundary: the same answer. */
	uint8_t *odd = malloc(size + 8);
	FUZZ_CHECK(odd != NULL, "out of memory");
	memcpy(odd + 4, data, size);
	{
		struct pv_socklist a, b;
		pv_socklist_init(&a);
		pv_socklist_init(&b);
		int ra = pv_diag_parse(buf, size, IPPROTO_TCP, &a);
		int rb = pv_diag_parse(odd + 4, size, IPPROTO_TCP, &b);
		FUZZ_CHECK(ra == rb && a.n == b.n, "4-byte aligned copy: %d/%zu vs %d/%zu", rb, b.n,
			   ra, a.n);
		pv_socklist_free(&a);
		pv_socklist_free(&b);
	}
	/* Not 4-byte aligned: cannot be from the kernel, rejected untouched. */
	for (size_t shift = 1; shift < 4; shift++) {
		memmove(odd + shift, data, size);
		struct pv_socklist l;
		pv_socklist_init(&l);
		int r = pv_diag_parse(odd + shift, size, IPPROTO_TCP, &l);
		FUZZ_CHECK(r == -EBADMSG && l.n == 0, "misaligned by %zu: %d, %zu records", shift,
			   r, l.n);
		pv_socklist_free(&l);
	}
	free(odd);

	free(orig);
	free(buf);
	return 0;
}
