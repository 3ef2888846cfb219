/* The dump parser against dumps recorded from a real kernel (tests/data). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include "helpers.h"
#include "portview/sock_diag.h"
#include "portview/sort.h"
#include "portview/state.h"

/*
 * A recorded dump, fed to the parser the dump uses as one run of bytes;
 * what it says it kept, by state, is what it added to l.
 */
static int parse(const void *raw, size_t len, uint8_t proto, struct pv_socklist *l)
{
	struct pv_diag_parse p;
	size_t before = l->n, added[PV_DIAG_STATES] = {0};
	pv_diag_parse_init(&p, proto, l, NULL);
	pv_diag_parse_datagram(&p, raw, len);
	for (size_t i = before; i < l->n; i++)
		added[l->v[i].state % PV_DIAG_STATES]++;
	for (size_t st = 0; st < PV_DIAG_STATES; st++)
		ck_assert_msg(p.kept[st] == added[st], "state %zu: %zu kept, %zu added", st,
			      p.kept[st], added[st]);
	return pv_diag_parse_result(&p);
}

/* One line of a .expected file: "family state sport dport src dst ifindex". */
static void format_record(const struct pv_sock *s, char *out, size_t n)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = s->family;
	inet_ntop(af, s->local.addr, src, sizeof(src));
	inet_ntop(af, s->remote.addr, dst, sizeof(dst));
	snprintf(out, n, "%d %u %u %u %s %s %u", af == AF_INET ? 4 : 6, s->state, s->local.port,
		 s->remote.port, src, dst, s->ifindex);
}

/*
 * Parse NAME.bin and compare, record by record, with NAME.expected, which
 * an independent parser (tests/data/record.py) wrote.  Returns the parse
 * result and the number of records.
 */
static int check_against_expected(const char *name, uint8_t proto, size_t *count)
{
	char file[256];
	size_t len, elen;
	snprintf(file, sizeof(file), "%s.bin", name);
	void *raw = read_data_file(file, &len);
	snprintf(file, sizeof(file), "%s.expected", name);
	char *expected = read_data_file(file, &elen);

	struct pv_socklist l;
	pv_socklist_init(&l);
	int ret = parse(raw, len, proto, &l);

	char *save = NULL, *line = strtok_r(expected, "\n", &save);
	for (size_t i = 0; i < l.n; i++) {
		char got[256];
		ck_assert_msg(line != NULL, "%s: more records than expected", name);
		struct pv_sock s;
		pv_socklist_get(&l, i, &s);
		format_record(&s, got, sizeof(got));
		ck_assert_str_eq(got, line);
		ck_assert_int_eq(l.v[i].proto, proto);
		ck_assert_msg(l.v[i].cookie != 0, "%s: record %zu has no cookie", name, i);
		line = strtok_r(NULL, "\n", &save);
	}
	/* What is left is the trailer: "done N", "error N" or "truncated". */
	ck_assert_msg(line != NULL, "%s: fewer records than expected", name);
	if (strncmp(line, "done ", 5) == 0 || strncmp(line, "error ", 6) == 0) {
		int code = atoi(strchr(line, ' ') + 1);
		ck_assert_int_eq(ret, code);
	} else {
		ck_assert_str_eq(line, "truncated");
		ck_assert_int_eq(ret, -EBADMSG);
	}
	*count = l.n;
	pv_socklist_free(&l);
	free(raw);
	free(expected);
	return ret;
}

START_TEST(tcp4_listen_established_time_wait)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("tcp4", IPPROTO_TCP, &n), 0);
	ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(tcp6_v4mapped_and_link_local)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("tcp6", IPPROTO_TCP, &n), 0);
	ck_assert_uint_eq(n, 9);
}
END_TEST

START_TEST(udp4_bound_and_connected)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("udp4", IPPROTO_UDP, &n), 0);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(udp6_bound_connected_v4mapped)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("udp6", IPPROTO_UDP, &n), 0);
	ck_assert_uint_eq(n, 3);
}
END_TEST

START_TEST(done_carries_error)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("done-error", IPPROTO_TCP, &n), -ENOENT);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(nlmsg_error_reported)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("nlmsg-error", IPPROTO_TCP, &n), -EINVAL);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(truncated_is_malformed)
{
	size_t n;
	ck_assert_int_eq(check_against_expected("truncated", IPPROTO_TCP, &n), -EBADMSG);
	ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(duplicates_dropped_by_cookie)
{
	size_t len;
	void *raw = read_data_file("tcp6.bin", &len);
	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(raw, len, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(l.n, 9);
	/* The same dump again, as a resumed dump might repeat sockets. */
	ck_assert_int_eq(parse(raw, len, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(l.n, 18);
	pv_socklist_sort(&l);
	ck_assert_uint_eq(pv_socklist_dedupe(&l), 9);
	ck_assert_uint_eq(l.n, 9);
	for (size_t i = 1; i < l.n; i++)
		ck_assert(l.v[i].cookie != l.v[i - 1].cookie);
	pv_socklist_free(&l);
	free(raw);
}
END_TEST

START_TEST(empty_and_junk_input)
{
	struct pv_socklist l;
	pv_socklist_init(&l);
	uint32_t junk[16];
	memset(junk, 0xab, sizeof(junk));
	ck_assert_int_eq(parse(junk, 0, IPPROTO_TCP, &l), -EBADMSG);
	ck_assert_int_eq(parse(junk, sizeof(junk), IPPROTO_TCP, &l), -EBADMSG);
	ck_assert_uint_eq(l.n, 0);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(short_payload_is_malformed)
{
	/* A SOCK_DIAG_BY_FAMILY message too short to hold inet_diag_msg. */
	size_t len;
	uint8_t *raw = read_data_file("tcp4.bin", &len);
	uint32_t first_len;
	memcpy(&first_len, raw, 4);
	uint32_t short_len = 16 + 8;
	memcpy(raw, &short_len, 4);
	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(raw, len, IPPROTO_TCP, &l), -EBADMSG);
	pv_socklist_free(&l);
	free(raw);
	(void)first_len;
}
END_TEST

START_TEST(ack_is_not_the_end_of_a_dump)
{
	/* NLMSG_ERROR with error 0 (an ack), and nothing after it */
	struct {
		struct nlmsghdr h;
		struct nlmsgerr e;
	} ack;
	memset(&ack, 0, sizeof(ack));
	ack.h.nlmsg_len = sizeof(ack);
	ack.h.nlmsg_type = NLMSG_ERROR;
	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(&ack, sizeof(ack), IPPROTO_TCP, &l), -EBADMSG);
	pv_socklist_free(&l);
}
END_TEST

/* Records built by hand, with attributes, in one 8-byte aligned run of messages. */
struct run {
	uint64_t buf[1024];
	size_t len;
};

static struct nlmsghdr *record(struct run *r, uint8_t family, uint8_t state, uint8_t timer,
			       uint8_t retrans, uint16_t sport)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header((char *)r->buf + r->len);
	h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	h->nlmsg_flags = NLM_F_MULTI;
	struct inet_diag_msg *m = mnl_nlmsg_put_extra_header(h, sizeof(*m));
	m->idiag_family = family;
	m->idiag_state = state;
	m->idiag_timer = timer;
	m->idiag_retrans = retrans;
	m->idiag_expires = 7197190;
	m->id.idiag_sport = htons(sport);
	m->id.idiag_cookie[0] = sport;
	return h;
}

static void end(struct run *r, struct nlmsghdr *h)
{
	r->len += NLMSG_ALIGN(h->nlmsg_len);
}

static void done(struct run *r)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header((char *)r->buf + r->len);
	h->nlmsg_type = NLMSG_DONE;
	int status = 0;
	mnl_nlmsg_put_extra_header(h, sizeof(status));
	end(r, h);
}

static struct pv_sock by_port(const struct pv_socklist *l, uint16_t port)
{
	struct pv_sock s;
	for (size_t i = 0; i < l->n; i++) {
		pv_socklist_get(l, i, &s);
		if (s.local.port == port)
			return s;
	}
	ck_abort_msg("no record on port %u", port);
	return s;
}

/*
 * INET_DIAG_SKV6ONLY (sent for IPv6 listeners and unconnected sockets) and
 * tcp_info's retransmission and probe counters; without tcp_info, the one
 * counter the message carries in idiag_retrans, which is the probes for
 * the keepalive (2) and zero-window probe (4) timers.
 */
START_TEST(attributes_and_timer_counters)
{
	static struct run r;
	memset(&r, 0, sizeof(r));
	struct nlmsghdr *h = record(&r, AF_INET6, PV_TCP_LISTEN, 0, 0, 1);
	mnl_attr_put_u8(h, INET_DIAG_SHUTDOWN, 0);
	mnl_attr_put_u8(h, INET_DIAG_SKV6ONLY, 0);
	end(&r, h);
	h = record(&r, AF_INET6, PV_TCP_LISTEN, 0, 0, 2);
	mnl_attr_put_u8(h, INET_DIAG_SKV6ONLY, 1);
	end(&r, h);
	end(&r, record(&r, AF_INET6, PV_TCP_ESTABLISHED, 1, 3, 3)); /* on: retransmits */
	end(&r, record(&r, AF_INET, PV_TCP_ESTABLISHED, 2, 4, 4));  /* keepalive: probes */
	end(&r, record(&r, AF_INET, PV_TCP_ESTABLISHED, 4, 5, 5));  /* probe: probes */
	end(&r, record(&r, AF_INET, PV_TCP_SYN_RECV, 1, 6, 6));	    /* SYN-ACKs sent again */
	h = record(&r, AF_INET, PV_TCP_ESTABLISHED, 1, 7, 7);
	uint8_t info[8] = {PV_TCP_ESTABLISHED, 0, 7, 2}; /* tcpi_retransmits 7, tcpi_probes 2 */
	mnl_attr_put(h, INET_DIAG_INFO, sizeof(info), info);
	end(&r, h);
	h = record(&r, AF_INET, PV_TCP_ESTABLISHED, 2, 3, 8);
	uint8_t info2[4] = {PV_TCP_ESTABLISHED, 0, 0, 3};
	mnl_attr_put(h, INET_DIAG_INFO, sizeof(info2), info2);
	end(&r, h);
	h = record(&r, AF_INET, PV_TCP_ESTABLISHED, 1, 9, 9);
	uint8_t shorter[3] = {1, 0, 5}; /* too short to hold the counters: not read */
	mnl_attr_put(h, INET_DIAG_INFO, sizeof(shorter), shorter);
	end(&r, h);
	done(&r);

	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(r.buf, r.len, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(l.n, 9);
	ck_assert_int_eq(by_port(&l, 1).v6only, 0);
	ck_assert_int_eq(by_port(&l, 2).v6only, 1);
	ck_assert_int_eq(by_port(&l, 3).v6only, -1);
	ck_assert_int_eq(by_port(&l, 4).v6only, -1);
	static const struct {
		uint16_t port;
		uint8_t timer, retrans, probes;
	} want[] = {{3, 1, 3, 0}, {4, 2, 0, 4}, {5, 4, 0, 5}, {6, 1, 6, 0},
		    {7, 1, 7, 2}, {8, 2, 0, 3}, {9, 1, 9, 0}};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		struct pv_sock s = by_port(&l, want[i].port);
		ck_assert_msg(s.timer == want[i].timer && s.retrans == want[i].retrans &&
				  s.probes == want[i].probes && s.expires == 7197190,
			      "port %u: timer %u (%u/%u), want %u (%u/%u)", want[i].port, s.timer,
			      s.retrans, s.probes, want[i].timer, want[i].retrans, want[i].probes);
	}
	pv_socklist_free(&l);
}
END_TEST

/* The kernel lists TCP sockets of its bind hash in state CLOSE: BOUND. UDP's stays. */
START_TEST(tcp_close_records_are_bound)
{
	static struct run r;
	memset(&r, 0, sizeof(r));
	end(&r, record(&r, AF_INET, PV_TCP_CLOSE, 0, 0, 7200));
	end(&r, record(&r, AF_INET6, PV_TCP_BOUND_INACTIVE, 0, 0, 7201));
	done(&r);
	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(r.buf, r.len, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(by_port(&l, 7200).state, PV_TCP_BOUND_INACTIVE);
	ck_assert_uint_eq(by_port(&l, 7201).state, PV_TCP_BOUND_INACTIVE);
	pv_socklist_free(&l);
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(r.buf, r.len, IPPROTO_UDP, &l), 0);
	ck_assert_uint_eq(by_port(&l, 7200).state, PV_TCP_CLOSE);
	pv_socklist_free(&l);
}
END_TEST

/* An NLMSG_ERROR carrying error, as the kernel would send it. */
struct error_msg {
	struct nlmsghdr h;
	struct nlmsgerr e;
};

static struct error_msg error_msg(int error)
{
	struct error_msg m;
	memset(&m, 0, sizeof(m));
	m.h.nlmsg_len = sizeof(m);
	m.h.nlmsg_type = NLMSG_ERROR;
	m.e.error = error;
	return m;
}

/*
 * The kernel sends a negative errno; the parser takes a positive one too
 * (it negates it, as the exact lookups of the boundary check do).  Either way the result is
 * the negative errno: a positive return would pass for success, or for a
 * count of sockets gone.
 */
START_TEST(error_code_of_either_sign_is_negative)
{
	static const int codes[] = {EINVAL, ENOENT, EPERM};
	struct pv_socklist l;
	pv_socklist_init(&l);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		int code = codes[i];
		struct error_msg pos = error_msg(code), neg = error_msg(-code);
		ck_assert_int_eq(parse(&pos, sizeof(pos), IPPROTO_TCP, &l), -code);
		ck_assert_int_eq(parse(&neg, sizeof(neg), IPPROTO_TCP, &l), -code);
	}
	ck_assert_uint_eq(l.n, 0);
	pv_socklist_free(&l);
}
END_TEST

/* An error after records: the records are parsed, the error is returned. */
START_TEST(error_after_records)
{
	size_t len;
	uint8_t *raw = read_data_file("tcp4.bin", &len);
	uint32_t first;
	memcpy(&first, raw, sizeof(first));
	ck_assert_uint_lt(first + sizeof(struct error_msg), len);
	struct error_msg e = error_msg(EINVAL);
	size_t n = NLMSG_ALIGN(first);
	memcpy(raw + n, &e, sizeof(e));
	n += sizeof(e);
	struct pv_socklist l;
	pv_socklist_init(&l);
	ck_assert_int_eq(parse(raw, n, IPPROTO_TCP, &l), -EINVAL);
	ck_assert_uint_eq(l.n, 1);
	/* the reply's first message is a record: no error to report */
	pv_socklist_free(&l);
	free(raw);
}
END_TEST

/* ---- attributes: tcp_info and the protocol --------------------------------------------- */

/* A message under construction: a record and the attributes after it. */
struct msgbuf {
	uint64_t align[256];
	size_t len;
};

static void put_record(struct msgbuf *m, uint16_t sport, uint64_t cookie)
{
	memset(m, 0, sizeof(*m));
	struct nlmsghdr h = {.nlmsg_type = SOCK_DIAG_BY_FAMILY};
	struct inet_diag_msg d = {.idiag_family = AF_INET, .idiag_state = 1};
	d.id.idiag_sport = htons(sport);
	d.id.idiag_dport = htons(5000);
	d.id.idiag_cookie[0] = (uint32_t)cookie;
	d.id.idiag_cookie[1] = (uint32_t)(cookie >> 32);
	memcpy((char *)m->align + sizeof(h), &d, sizeof(d));
	m->len = sizeof(h) + sizeof(d);
	h.nlmsg_len = (uint32_t)m->len;
	memcpy(m->align, &h, sizeof(h));
}

/* An attribute of len bytes of payload (the length field says nla_len). */
static void put_attr(struct msgbuf *m, uint16_t type, const void *payload, size_t len,
		     uint16_t nla_len)
{
	char *p = (char *)m->align + m->len;
	struct nlattr a = {.nla_len = nla_len, .nla_type = type};
	memcpy(p, &a, sizeof(a));
	memcpy(p + sizeof(a), payload, len);
	m->len += NLA_ALIGN(sizeof(a) + len);
	struct nlmsghdr h;
	memcpy(&h, m->align, sizeof(h));
	h.nlmsg_len = (uint32_t)m->len;
	memcpy(m->align, &h, sizeof(h));
}

/* The message, then NLMSG_DONE, through the parser: the records into l. */
static int parse_msg(struct msgbuf *m, uint8_t proto, struct pv_socklist *l)
{
	struct nlmsghdr done = {.nlmsg_len = NLMSG_HDRLEN + 4, .nlmsg_type = NLMSG_DONE};
	memcpy((char *)m->align + m->len, &done, sizeof(done));
	memset((char *)m->align + m->len + NLMSG_HDRLEN, 0, 4);
	return parse(m->align, m->len + NLMSG_HDRLEN + 4, proto, l);
}

/* The kernel's struct tcp_info as bytes: the fields tests look at, at their offsets. */
struct ti_bytes {
	uint8_t b[300];
};

static void ti_put32(struct ti_bytes *t, size_t at, uint32_t v)
{
	memcpy(t->b + at, &v, 4);
}

static void ti_put64(struct ti_bytes *t, size_t at, uint64_t v)
{
	memcpy(t->b + at, &v, 8);
}

/*
 * Offsets in the kernel's struct tcp_info (include/uapi/linux/tcp.h),
 * written out here rather than taken from the header the parser uses.
 */
enum {
	TI_SND_MSS = 16,
	TI_RETRANS32 = 36,
	TI_LAST_SENT = 44,
	TI_LAST_RECV = 52,
	TI_RTT = 68,
	TI_RTTVAR = 72,
	TI_CWND = 80,
	TI_TOTAL_RETRANS = 100, /* the first kernel's struct ends after it: 104 bytes */
	TI_BYTES_ACKED = 120,
	TI_BYTES_RECEIVED = 128,
	TI_SEGS_OUT = 136,
	TI_SEGS_IN = 140,
	TI_DELIVERY = 160,
	TI_BYTES_SENT = 200,
};

static struct ti_bytes sample_info(void)
{
	struct ti_bytes t;
	memset(&t, 0, sizeof(t));
	ti_put32(&t, TI_SND_MSS, 1448);
	ti_put32(&t, TI_RETRANS32, 2);
	ti_put32(&t, TI_LAST_SENT, 120);
	ti_put32(&t, TI_LAST_RECV, 3400);
	ti_put32(&t, TI_RTT, 42000);
	ti_put32(&t, TI_RTTVAR, 21000);
	ti_put32(&t, TI_CWND, 10);
	ti_put32(&t, TI_TOTAL_RETRANS, 7);
	ti_put64(&t, TI_BYTES_ACKED, 1000001);
	ti_put64(&t, TI_BYTES_RECEIVED, 2000000);
	ti_put32(&t, TI_SEGS_OUT, 900);
	ti_put32(&t, TI_SEGS_IN, 800);
	ti_put64(&t, TI_DELIVERY, 125000000);
	ti_put64(&t, TI_BYTES_SENT, 1000500);
	return t;
}

/* The record parsed from a message with a tcp_info of len bytes, kept or not. */
static struct pv_sock with_info(size_t len, bool keep, struct pv_socklist *l)
{
	struct msgbuf m;
	struct ti_bytes t = sample_info();
	put_record(&m, 40000, 77);
	put_attr(&m, INET_DIAG_INFO, t.b, len, (uint16_t)(4 + len));
	pv_socklist_init(l);
	l->keep_info = keep;
	ck_assert_int_eq(parse_msg(&m, IPPROTO_TCP, l), 0);
	ck_assert_uint_eq(l->n, 1);
	struct pv_sock s;
	pv_socklist_get(l, 0, &s);
	return s;
}

START_TEST(tcp_info_every_field)
{
	struct pv_socklist l;
	struct pv_sock s = with_info(232, true, &l);
	ck_assert_ptr_nonnull(s.info);
	const struct pv_tcp_info *i = s.info;
	ck_assert_uint_eq(i->have,
			  PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY | PV_TI_SENT);
	ck_assert_uint_eq(i->rtt_us, 42000);
	ck_assert_uint_eq(i->rttvar_us, 21000);
	ck_assert_uint_eq(i->snd_cwnd, 10);
	ck_assert_uint_eq(i->snd_mss, 1448);
	ck_assert_uint_eq(i->retrans, 2);
	ck_assert_uint_eq(i->total_retrans, 7);
	ck_assert_uint_eq(i->last_data_sent_ms, 120);
	ck_assert_uint_eq(i->last_data_recv_ms, 3400);
	ck_assert_uint_eq(i->bytes_acked, 1000001);
	ck_assert_uint_eq(i->bytes_received, 2000000);
	ck_assert_uint_eq(i->segs_out, 900);
	ck_assert_uint_eq(i->segs_in, 800);
	ck_assert_uint_eq(i->delivery_rate, 125000000);
	ck_assert_uint_eq(i->bytes_sent, 1000500);
	pv_socklist_free(&l);
	/* a newer kernel's longer struct: the same */
	s = with_info(280, true, &l);
	ck_assert_uint_eq(s.info->bytes_sent, 1000500);
	pv_socklist_free(&l);
}
END_TEST

/* An older kernel's shorter struct: only the fields it covers. */
START_TEST(tcp_info_as_long_as_the_kernel_sent)
{
	static const struct {
		size_t len;
		uint8_t have;
	} cases[] = {
	    {103, 0}, /* shorter than any kernel's: none */
	    {104, PV_TI_BASE},
	    {135, PV_TI_BASE},
	    {136, PV_TI_BASE | PV_TI_BYTES},
	    {144, PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS},
	    {168, PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY},
	    {207, PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY},
	    {208, PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY | PV_TI_SENT},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct pv_socklist l;
		struct pv_sock s = with_info(cases[k].len, true, &l);
		if (!cases[k].have) {
			ck_assert_ptr_null(s.info);
		} else {
			ck_assert_msg(s.info && s.info->have == cases[k].have,
				      "%zu bytes: have %d, want %d", cases[k].len,
				      s.info ? s.info->have : -1, cases[k].have);
			ck_assert_uint_eq(s.info->rtt_us, 42000);
			ck_assert_uint_eq(s.info->bytes_acked,
					  cases[k].have & PV_TI_BYTES ? 1000001 : 0);
		}
		pv_socklist_free(&l);
	}
}
END_TEST

/* Not kept unless asked for; not read from a UDP record or a bad attribute. */
START_TEST(tcp_info_only_when_kept)
{
	struct pv_socklist l;
	struct pv_sock s = with_info(232, false, &l);
	ck_assert_ptr_null(s.info);
	ck_assert_ptr_null(l.info);
	pv_socklist_free(&l);

	struct msgbuf m;
	struct ti_bytes t = sample_info();
	put_record(&m, 40000, 77);
	put_attr(&m, INET_DIAG_INFO, t.b, 232, 236);
	pv_socklist_init(&l);
	l.keep_info = true;
	ck_assert_int_eq(parse_msg(&m, IPPROTO_UDP, &l), 0);
	pv_socklist_get(&l, 0, &s);
	ck_assert_ptr_null(s.info);
	pv_socklist_free(&l);

	/* an attribute longer than the message: the walk stops, the record stays */
	put_record(&m, 40000, 77);
	put_attr(&m, INET_DIAG_INFO, t.b, 232, 2000);
	pv_socklist_init(&l);
	l.keep_info = true;
	ck_assert_int_eq(parse_msg(&m, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(l.n, 1);
	pv_socklist_get(&l, 0, &s);
	ck_assert_ptr_null(s.info);
	ck_assert_uint_eq(s.local.port, 40000);
	pv_socklist_free(&l);
}
END_TEST

/*
 * A parse given no protocol (the destroy groups') takes each message's
 * INET_DIAG_PROTOCOL, after a padding attribute too; a message without
 * one, or naming another protocol, is skipped.
 */
START_TEST(protocol_from_the_message)
{
	static const struct {
		int proto; /* -1: no attribute */
		int want;  /* 0: skipped */
	} cases[] = {
	    {IPPROTO_TCP, IPPROTO_TCP}, {IPPROTO_UDP, IPPROTO_UDP}, {-1, 0}, {132, 0}, {0, 0}};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct msgbuf m;
		struct pv_socklist l;
		uint8_t pad[4] = {0};
		put_record(&m, 41000, 88);
		put_attr(&m, INET_DIAG_PAD, pad, 0, 4);
		if (cases[k].proto >= 0) {
			uint8_t p = (uint8_t)cases[k].proto;
			put_attr(&m, INET_DIAG_PROTOCOL, &p, 1, 5);
		}
		pv_socklist_init(&l);
		ck_assert_int_eq(parse_msg(&m, 0, &l), 0);
		ck_assert_uint_eq(l.n, cases[k].want ? 1 : 0);
		if (cases[k].want)
			ck_assert_uint_eq(l.v[0].proto, cases[k].want);
		pv_socklist_free(&l);
	}
	/* a dump's parse keeps its own protocol whatever a message says */
	struct msgbuf m;
	struct pv_socklist l;
	uint8_t p = IPPROTO_UDP;
	put_record(&m, 41000, 88);
	put_attr(&m, INET_DIAG_PROTOCOL, &p, 1, 5);
	pv_socklist_init(&l);
	ck_assert_int_eq(parse_msg(&m, IPPROTO_TCP, &l), 0);
	ck_assert_uint_eq(l.v[0].proto, IPPROTO_TCP);
	pv_socklist_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sock_diag");
	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, tcp4_listen_established_time_wait);
	tcase_add_test(tc, tcp6_v4mapped_and_link_local);
	tcase_add_test(tc, udp4_bound_and_connected);
	tcase_add_test(tc, udp6_bound_connected_v4mapped);
	tcase_add_test(tc, done_carries_error);
	tcase_add_test(tc, nlmsg_error_reported);
	tcase_add_test(tc, truncated_is_malformed);
	tcase_add_test(tc, duplicates_dropped_by_cookie);
	tcase_add_test(tc, empty_and_junk_input);
	tcase_add_test(tc, short_payload_is_malformed);
	tcase_add_test(tc, ack_is_not_the_end_of_a_dump);
	tcase_add_test(tc, error_code_of_either_sign_is_negative);
	tcase_add_test(tc, error_after_records);
	tcase_add_test(tc, attributes_and_timer_counters);
	tcase_add_test(tc, tcp_close_records_are_bound);
	tcase_add_test(tc, tcp_info_every_field);
	tcase_add_test(tc, tcp_info_as_long_as_the_kernel_sent);
	tcase_add_test(tc, tcp_info_only_when_kept);
	tcase_add_test(tc, protocol_from_the_message);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
