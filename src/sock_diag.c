#include "portview/sock_diag.h"

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

int pv_diag_dump(struct mnl_socket *nl, const struct pv_diag_query *q, struct pv_buf *raw,
		 struct pv_diag_stats *stats)
{
	static uint32_t seq_counter;
	const size_t start = raw->len;

	for (int attempt = 0; attempt < 4; attempt++) {
		uint32_t seq = (uint32_t)time(NULL) + ++seq_counter;
		int err = send_request(nl, q, seq);
		if (err)
			return err;

		bool done = false, interrupted = false;
		*stats = (struct pv_diag_stats){0};
		while (!done) {
			char *tail = pv_buf_reserve(raw, PV_DIAG_RCVBUF);
			ssize_t n = mnl_socket_recvfrom(nl, tail, PV_DIAG_RCVBUF);
			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			/* Only look for the end here; parsing comes later. */
			size_t whole = whole_messages((const uint8_t *)tail, (size_t)n);
			for (size_t off = 0; off < whole;) {
				const struct nlmsghdr *h = (const struct nlmsghdr *)(tail + off);
				if (h->nlmsg_flags & NLM_F_DUMP_INTR)
					interrupted = true;
				if (h->nlmsg_type == NLMSG_DONE ||
				    (h->nlmsg_type == NLMSG_ERROR && !is_ack(h)))
					done = true;
				off += NLMSG_ALIGN((size_t)h->nlmsg_len);
			}
			/* A datagram that is not whole messages cannot be parsed. */
			if (whole != (size_t)n)
				done = true;
			raw->len += (size_t)n;
			stats->datagrams++;
			stats->bytes += (size_t)n;
		}
		if (!interrupted)
			return 0;
		raw->len = start;
	}
	return -EINTR;
}

struct parse_ctx {
	uint8_t proto;
	struct pv_socklist *out;
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

int pv_diag_parse(const void *raw, size_t len, uint8_t proto, struct pv_socklist *out)
{
	static mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
	    [NLMSG_DONE] = on_done,
	    [NLMSG_ERROR] = on_error,
	};
	struct parse_ctx ctx = {.proto = proto, .out = out};

	/*
	 * Netlink messages are 4-byte aligned; a buffer that is not cannot
	 * have come from the kernel.
	 */
	if ((uintptr_t)raw % 4 != 0)
		return -EBADMSG;

	len = whole_messages(raw, len);
	if (len == 0)
		return -EBADMSG;
	int ret = mnl_cb_run2(raw, len, 0, 0, on_data, &ctx, ctl, NLMSG_MIN_TYPE);
	if (ret < 0 && ctx.err == 0)
		return errno == EINTR ? -EINTR : -EBADMSG;
	if (ctx.err)
		return ctx.err;
	if (!ctx.done)
		return -EBADMSG;
	return 0;
}
