#include "portview/sock_diag.h"
#include "portview/state.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

int pv_diag_open(struct mnl_socket **out)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

void pv_diag_close(struct mnl_socket *nl)
{
	if (nl)
		mnl_socket_close(nl);
}

/*
 * The length of the prefix of buf made of whole netlink messages.
 * mnl_nlmsg_ok() compares nlmsg_len as an int, so a length of 2^31 or more
 * would pass it and send the parser past the end of the buffer.
 */
static size_t whole_messages(const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (len - off >= sizeof(struct nlmsghdr)) {
		uint32_t mlen;
		memcpy(&mlen, buf + off, sizeof(mlen));
		if (mlen < sizeof(struct nlmsghdr) || mlen > len - off)
			break;
		size_t step = NLMSG_ALIGN((size_t)mlen);
		off += step < len - off ? step : len - off;
	}
	return off;
}

/* An NLMSG_ERROR carrying 0: an acknowledgement, which does not end a dump. */
static bool is_ack(const struct nlmsghdr *h)
{
	struct nlmsgerr e;
	if (h->nlmsg_len < sizeof(*h) + sizeof(e))
		return false;
	memcpy(&e, (const char *)h + sizeof(*h), sizeof(e));
	return e.error == 0;
}

static int send_request(struct mnl_socket *nl, const struct pv_diag_query *q, uint32_t seq)
{
	size_t size = MNL_SOCKET_BUFFER_SIZE + MNL_ALIGN(q->bytecode_len);
	/* 8-byte aligned storage for the message */
	uint64_t *buf = xcalloc(size / 8 + 1, 8);
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;

	if (q->family == AF_UNSPEC && q->proto == IPPROTO_TCP) {
		nlh->nlmsg_type = TCPDIAG_GETSOCK;
		struct inet_diag_req *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		req->idiag_states = q->states;
	} else {
		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		req->sdiag_family = q->family;
		req->sdiag_protocol = q->proto;
		req->idiag_states = q->states;
	}
	if (q->bytecode_len)
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, q->bytecode_len, q->bytecode);

	int err = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	free(buf);
	return err;
}

static bool is_record(const struct nlmsghdr *h)
{
	return (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK) &&
	       h->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct inet_diag_msg);
}

void pv_diag_tails_free(struct pv_diag_tails *t)
{
	bool check = t->check;
	size_t tail_len = t->tail_len;
	pv_diag_close(t->lookup);
	memset(t, 0, sizeof(*t));
	t->check = check;
	t->tail_len = tail_len;
}

static long count_gone_on(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			  size_t n);

/*
 * The kernel stops filling a dump datagram when the next record does not
 * fit (the walk goes on in the next datagram, from a saved position) or
 * when the walk is over (NLMSG_DONE then comes in a datagram of its own).
 * A datagram is taken to have stopped mid-walk when records follow it, or
 * when it is this full (a record is well under 1 KiB).
 */
#define FULLISH (PV_DIAG_RCVBUF - 2048u)

/* The last records of one datagram, until it is known to be a boundary. */
struct tail {
	struct pv_diag_id v[PV_DIAG_TAIL_MAX];
	size_t n;
};

static void take_tail(struct tail *tail, size_t len, const char *base, const size_t *ring,
		      size_t seen)
{
	tail->n = seen < len ? seen : len;
	for (size_t i = 0; i < tail->n; i++) {
		struct inet_diag_msg m;
		memcpy(&m, base + ring[(seen - tail->n + i) % PV_DIAG_TAIL_MAX] + NLMSG_HDRLEN,
		       sizeof(m));
		tail->v[i] = (struct pv_diag_id){
		    .id = m.id, .family = m.idiag_family, .state = m.idiag_state};
	}
}

static void commit_tail(struct pv_diag_tails *t, struct tail *tail, uint8_t proto)
{
	if (tail->n == 0)
		return;
	t->boundaries++;
	if (tail->v[tail->n - 1].state == PV_TCP_LISTEN)
		t->listener_boundary = true;
	/* Once something has gone the dump is walked again: stop asking. */
	if (t->check && t->gone == 0) {
		struct pv_diag_id ids[PV_DIAG_TAIL_MAX];
		size_t k = 0;
		for (size_t i = 0; i < tail->n; i++)
			if (tail->v[i].state != PV_TCP_LISTEN)
				ids[k++] = tail->v[i];
		int err = k && !t->lookup ? pv_diag_open(&t->lookup) : 0;
		long gone = err ? err : count_gone_on(t->lookup, proto, ids, k);
		t->gone = gone;
		t->checked += k;
	}
	tail->n = 0;
}

struct parse_ctx {
	uint8_t proto;
	struct pv_socklist *out;
	const struct pv_cookies *known; /* leave these out; may be NULL */
	int err;
	bool done;
};

static int on_data(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;

	/* TCPDIAG_GETSOCK replies to the both-families TCP request */
	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY && nlh->nlmsg_type != TCPDIAG_GETSOCK)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct inet_diag_msg)) {
		ctx->err = -EBADMSG;
		return MNL_CB_ERROR;
	}
	/* The payload may sit at any 4-byte boundary; copy it out. */
	struct inet_diag_msg m;
	memcpy(&m, mnl_nlmsg_get_payload(nlh), sizeof(m));
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6) {
		ctx->err = -EBADMSG;
		return MNL_CB_ERROR;
	}

	struct pv_sock s;
	memset(&s, 0, sizeof(s));
	s.proto = ctx->proto;
	s.family = m.idiag_family;
	s.state = m.idiag_state;
	s.timer = m.idiag_timer;
	s.retrans = m.idiag_retrans;
	size_t alen = m.idiag_family == AF_INET ? 4 : 16;
	memcpy(s.local.addr, m.id.idiag_src, alen);
	memcpy(s.remote.addr, m.id.idiag_dst, alen);
	s.local.port = ntohs(m.id.idiag_sport);
	s.remote.port = ntohs(m.id.idiag_dport);
	s.ifindex = m.id.idiag_if;
	s.cookie = (uint64_t)m.id.idiag_cookie[0] | (uint64_t)m.id.idiag_cookie[1] << 32;
	if (s.cookie == ~(uint64_t)0) /* INET_DIAG_NOCOOKIE: nothing to dedupe on */
		s.cookie = 0;
	s.expires = m.idiag_expires;
	s.rqueue = m.idiag_rqueue;
	s.wqueue = m.idiag_wqueue;
	s.uid = m.idiag_uid;
	s.inode = m.idiag_inode;
	if (ctx->known && pv_cookies_has(ctx->known, s.cookie))
		return MNL_CB_OK; /* the first walk has it */
	pv_socklist_add(ctx->out, &s);
	return MNL_CB_OK;
}

/*
 * libmnl's own NLMSG_DONE handling stops without looking at the payload, so
 * a dump the kernel failed (for example -ENOENT when the protocol's diag
 * module is missing) would look like an empty success.
 */
static int on_done(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	ctx->done = true;
	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(int)) {
		int status;
		memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
		if (status < 0)
			ctx->err = status;
	}
	return MNL_CB_STOP;
}

static int on_error(const struct nlmsghdr *nlh, void *data)
{
	struct parse_ctx *ctx = data;
	struct nlmsgerr e;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e)) {
		ctx->done = true;
		ctx->err = -EBADMSG;
		return MNL_CB_STOP;
	}
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	/*
	 * An error of 0 is an acknowledgement, not the end of the dump: the
	 * dump is complete only at NLMSG_DONE (found by fuzzing: an ack alone
	 * used to pass as a whole, empty dump).
	 */
	if (e.error == 0)
		return MNL_CB_OK;
	ctx->done = true;
	ctx->err = e.error < 0 ? e.error : -e.error;
	return MNL_CB_STOP;
}

int pv_diag_reply_error(const void *raw, size_t len)
{
	struct nlmsghdr h;
	struct nlmsgerr e;
	if (len < sizeof(h) + sizeof(e))
		return 0;
	memcpy(&h, raw, sizeof(h));
	if (h.nlmsg_type != NLMSG_ERROR || h.nlmsg_len < sizeof(h) + sizeof(e) || h.nlmsg_len > len)
		return 0;
	memcpy(&e, (const char *)raw + sizeof(h), sizeof(e));
	return e.error < 0 ? e.error : -e.error;
}

/* Run the callbacks over the whole messages of buf; false to stop. */
static bool parse_bytes(const void *buf, size_t len, struct parse_ctx *ctx)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
	    [NLMSG_DONE] = on_done,
	    [NLMSG_ERROR] = on_error,
	};
	size_t whole = whole_messages(buf, len);
	if (whole == 0)
		return false;
	int ret = mnl_cb_run2(buf, whole, 0, 0, on_data, ctx, ctl, NLMSG_MIN_TYPE);
	if (ret < 0 && ctx->err == 0)
		ctx->err = errno == EINTR ? -EINTR : -EBADMSG;
	/* trailing bytes that are not a message end the stream */
	return ret > 0 && !ctx->err && !ctx->done && whole == len;
}

static int parse_result(const struct parse_ctx *ctx)
{
	if (ctx->err)
		return ctx->err;
	return ctx->done ? 0 : -EBADMSG;
}

int pv_diag_parse(const void *raw, size_t len, uint8_t proto, struct pv_socklist *out)
{
	struct parse_ctx ctx = {.proto = proto, .out = out};
	/*
	 * Netlink messages are 4-byte aligned; a buffer that is not cannot
	 * have come from the kernel.
	 */
	if ((uintptr_t)raw % 4 != 0)
		return -EBADMSG;
	parse_bytes(raw, len, &ctx);
	return parse_result(&ctx);
}

int pv_diag_dump(struct mnl_socket *nl, const struct pv_diag_query *q,
		 const struct pv_cookies *known, struct pv_socklist *out,
		 struct pv_diag_stats *stats, struct pv_diag_tails *tails)
{
	static uint32_t seq_counter;
	/* 8-byte aligned room for one datagram */
	uint64_t *dgram = xmalloc(PV_DIAG_RCVBUF);
	struct pv_socklist_mark mark = pv_socklist_mark(out);
	int ret = -EINTR;

	for (int attempt = 0; attempt < 4; attempt++) {
		uint32_t seq = (uint32_t)time(NULL) + ++seq_counter;
		pv_socklist_rollback(out, mark);
		if (tails)
			pv_diag_tails_free(tails);
		int err = send_request(nl, q, seq);
		if (err) {
			ret = err;
			break;
		}

		struct parse_ctx ctx = {.proto = q->proto, .out = out, .known = known};
		struct tail tail = {.n = 0};
		bool done = false, parsing = true, interrupted = false;
		*stats = (struct pv_diag_stats){0};
		while (!done) {
			ssize_t n = mnl_socket_recvfrom(nl, dgram, PV_DIAG_RCVBUF);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				ret = -errno;
				goto out;
			}
			stats->datagrams++;
			stats->bytes += (size_t)n;
			const char *base = (const char *)dgram;
			size_t whole = whole_messages((const uint8_t *)base, (size_t)n);
			size_t ring[PV_DIAG_TAIL_MAX],
			    records = 0; /* offsets of the last records */
			for (size_t off = 0; off < whole;) {
				const struct nlmsghdr *h = (const struct nlmsghdr *)(base + off);
				size_t step = NLMSG_ALIGN((size_t)h->nlmsg_len);
				if (h->nlmsg_flags & NLM_F_DUMP_INTR)
					interrupted = true;
				if (h->nlmsg_type == NLMSG_DONE ||
				    (h->nlmsg_type == NLMSG_ERROR && !is_ack(h)))
					done = true;
				if (is_record(h))
					ring[records++ % PV_DIAG_TAIL_MAX] = off;
				off += step < whole - off ? step : whole - off;
			}
			/* Bytes that are not whole messages: nothing after them counts. */
			if (whole != (size_t)n)
				done = true;
			/*
			 * The parse stops at the end, at an error or at an interrupted
			 * dump; the rest of the dump is still read, so that none of it
			 * is left for the next request to find.
			 */
			if (parsing)
				parsing = parse_bytes(base, (size_t)n, &ctx);
			if (tails) {
				if (records)
					commit_tail(tails, &tail,
						    q->proto); /* the previous one's */
				tail.n = 0;
				if (!done)
					take_tail(&tail,
						  tails->tail_len < PV_DIAG_TAIL_MAX
						      ? tails->tail_len
						      : PV_DIAG_TAIL_MAX,
						  base, ring, records);
				if ((size_t)n >= FULLISH)
					commit_tail(tails, &tail, q->proto);
			}
		}
		if (!interrupted) {
			ret = parse_result(&ctx);
			break;
		}
	}
out:
	free(dgram);
	if (ret) {
		pv_socklist_rollback(out, mark);
		if (tails)
			pv_diag_tails_free(tails);
	}
	return ret;
}

long pv_diag_count_gone(uint8_t proto, const struct pv_diag_id *ids, size_t n)
{
	if (n == 0)
		return 0;
	struct mnl_socket *nl;
	int err = pv_diag_open(&nl);
	if (err)
		return err;
	long gone = count_gone_on(nl, proto, ids, n);
	pv_diag_close(nl);
	return gone;
}

static long count_gone_on(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			  size_t n)
{
	/*
	 * Each request gets one reply: the socket's record, or an NLMSG_ERROR.
	 * A batch's replies must fit the receive buffer (the kernel drops a
	 * reply to a full socket), about 2 KiB each with the skb overhead.
	 */
	enum { BATCH = 32 };
	struct request {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	};
	static uint32_t seq0;
	if (n == 0)
		return 0;
	if (seq0 == 0)
		seq0 = (uint32_t)time(NULL) << 8;
	/* on the stack: this runs at every boundary of a large dump */
	struct request req[BATCH];
	uint64_t dgram[PV_DIAG_RCVBUF / sizeof(uint64_t)]; /* 8-byte aligned */
	long gone = 0;

	for (size_t at = 0; at < n && gone >= 0; at += BATCH) {
		size_t k = n - at < BATCH ? n - at : BATCH;
		seq0 += BATCH;
		for (size_t i = 0; i < k; i++) {
			const struct pv_diag_id *id = &ids[at + i];
			req[i] = (struct request){
			    .h = {.nlmsg_len = sizeof(struct request),
				  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
				  .nlmsg_flags = NLM_F_REQUEST,
				  .nlmsg_seq = seq0 + (uint32_t)i},
			    .r = {.sdiag_family = id->family,
				  .sdiag_protocol = proto,
				  .idiag_states = ~0u,
				  .id = id->id},
			};
		}
		if (mnl_socket_sendto(nl, req, k * sizeof(*req)) < 0) {
			gone = -errno;
			break;
		}
		for (size_t replies = 0; replies < k && gone >= 0;) {
			ssize_t got = mnl_socket_recvfrom(nl, dgram, sizeof(dgram));
			if (got < 0) {
				if (errno != EINTR)
					gone = -errno;
				continue;
			}
			const char *base = (const char *)dgram;
			size_t whole = whole_messages((const uint8_t *)base, (size_t)got);
			for (size_t off = 0; off < whole && gone >= 0;) {
				const struct nlmsghdr *h = (const struct nlmsghdr *)(base + off);
				size_t step = NLMSG_ALIGN((size_t)h->nlmsg_len);
				off += step < whole - off ? step : whole - off;
				if (h->nlmsg_seq - seq0 >= k)
					continue; /* not a reply to this batch */
				replies++;
				if (h->nlmsg_type == NLMSG_ERROR) {
					int e = pv_diag_reply_error(h, h->nlmsg_len);
					if (e == -ENOENT)
						gone++;
					else
						gone = e ? e : -EBADMSG;
				} else if (!is_record(h)) {
					gone = -EBADMSG;
				}
			}
		}
	}
	return gone;
}

void pv_diag_id_of(const struct pv_sock *s, struct pv_diag_id *out)
{
	memset(out, 0, sizeof(*out));
	out->family = s->family;
	out->state = s->state;
	out->id.idiag_sport = htons(s->local.port);
	out->id.idiag_dport = htons(s->remote.port);
	memcpy(out->id.idiag_src, s->local.addr, sizeof(out->id.idiag_src));
	memcpy(out->id.idiag_dst, s->remote.addr, sizeof(out->id.idiag_dst));
	out->id.idiag_if = s->ifindex;
	out->id.idiag_cookie[0] = (uint32_t)s->cookie;
	out->id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
}
