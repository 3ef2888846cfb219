/*
 * sock_diag: dump requests, their replies parsed datagram by datagram in
 * one walk each, and exact lookups for the boundary check.  libmnl opens,
 * binds and talks over the socket; the messages are walked here, because
 * mnl_nlmsg_ok() compares nlmsg_len as an int, so a length of 2^31 or more
 * would pass it and send a parser past the end of its buffer.
 */
#include "portview/sock_diag.h"
#include "portview/sort.h"
#include "portview/state.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
 * The next whole message of buf[*off, len): its header, copied out (a
 * message may sit at any 4-byte boundary).  False at the end, or when the
 * bytes left are not a whole message (*off is then below len).
 */
static bool next_message(const char *buf, size_t len, size_t *off, struct nlmsghdr *h, size_t *at)
{
	if (len - *off < sizeof(*h))
		return false;
	memcpy(h, buf + *off, sizeof(*h));
	if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - *off)
		return false;
	*at = *off;
	size_t step = NLMSG_ALIGN((size_t)h->nlmsg_len);
	*off += step < len - *off ? step : len - *off;
	return true;
}

/* The error an NLMSG_ERROR carries, always negative; 0 for an acknowledgement. */
static int error_of(const char *msg, const struct nlmsghdr *h)
{
	struct nlmsgerr e;
	if (h->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
		return -EBADMSG;
	memcpy(&e, msg + NLMSG_HDRLEN, sizeof(e));
	return e.error < 0 ? e.error : -e.error;
}

static bool is_record(const struct nlmsghdr *h)
{
	return (h->nlmsg_type == SOCK_DIAG_BY_FAMILY || h->nlmsg_type == TCPDIAG_GETSOCK) &&
	       h->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct inet_diag_msg);
}

uint8_t pv_diag_state(uint8_t proto, uint8_t kernel_state)
{
	/*
	 * TCP sockets in the kernel's CLOSE state are in no hash a dump walks
	 * but the bind hash, which is walked for PV_TCP_BOUND_INACTIVE: bound
	 * and inactive.  (A kernel may one day say so itself.)
	 */
	if (proto == IPPROTO_TCP &&
	    (kernel_state == PV_TCP_CLOSE || kernel_state == PV_TCP_BOUND_INACTIVE))
		return PV_TCP_BOUND_INACTIVE;
	return kernel_state;
}

/* The idiag_state of a record message. */
static uint8_t state_of(const char *msg)
{
	uint8_t state;
	memcpy(&state, msg + NLMSG_HDRLEN + offsetof(struct inet_diag_msg, idiag_state),
	       sizeof(state));
	return state;
}

void pv_diag_parse_init(struct pv_diag_parse *p, uint8_t proto, struct pv_socklist *out,
			const struct pv_idset *known)
{
	memset(p, 0, sizeof(*p));
	p->proto = proto;
	p->out = out;
	p->known = known;
}

/* The end of a field of struct tcp_info: a struct this long has it. */
#define TI_END(field) (offsetof(struct tcp_info, field) + sizeof(((struct tcp_info *)0)->field))

/*
 * One field of struct tcp_info, read where it lies in the payload (which
 * has it: see TI_END).  Only the fields kept are read: a copy of the whole
 * struct first was a tenth of -i's parse.
 */
#define TI_GET(payload, field)                                                                     \
	__extension__({                                                                            \
		__typeof__(((struct tcp_info *)0)->field) v_;                                      \
		memcpy(&v_, (payload) + offsetof(struct tcp_info, field), sizeof(v_));             \
		v_;                                                                                \
	})

/* The fields of a tcp_info of len bytes that it has (a shorter one is older). */
static void take_tcp_info(struct pv_tcp_info *out, const char *payload, size_t len)
{
	memset(out, 0, sizeof(*out));
	if (len < TI_END(tcpi_total_retrans))
		return; /* not even the first kernel's: nothing to trust */
	out->have = PV_TI_BASE;
	out->rtt_us = TI_GET(payload, tcpi_rtt);
	out->rttvar_us = TI_GET(payload, tcpi_rttvar);
	out->snd_cwnd = TI_GET(payload, tcpi_snd_cwnd);
	out->snd_mss = TI_GET(payload, tcpi_snd_mss);
	out->retrans = TI_GET(payload, tcpi_retrans);
	out->total_retrans = TI_GET(payload, tcpi_total_retrans);
	out->last_data_sent_ms = TI_GET(payload, tcpi_last_data_sent);
	out->last_data_recv_ms = TI_GET(payload, tcpi_last_data_recv);
	if (len >= TI_END(tcpi_bytes_received)) {
		out->have |= PV_TI_BYTES;
		out->bytes_acked = TI_GET(payload, tcpi_bytes_acked);
		out->bytes_received = TI_GET(payload, tcpi_bytes_received);
	}
	if (len >= TI_END(tcpi_segs_in)) {
		out->have |= PV_TI_SEGS;
		out->segs_out = TI_GET(payload, tcpi_segs_out);
		out->segs_in = TI_GET(payload, tcpi_segs_in);
	}
	if (len >= TI_END(tcpi_delivery_rate)) {
		out->have |= PV_TI_DELIVERY;
		out->delivery_rate = TI_GET(payload, tcpi_delivery_rate);
	}
	if (len >= TI_END(tcpi_bytes_sent)) {
		out->have |= PV_TI_SENT;
		out->bytes_sent = TI_GET(payload, tcpi_bytes_sent);
	}
}

/* What a record's attributes say, of what portview keeps. */
struct attrs {
	int8_t v6only;
	bool info; /* tcp_info came, with these two of its counters: */
	uint8_t retransmits, probes;
	const char *tcp_info; /* and all of it (-i), tcp_info_len bytes */
	size_t tcp_info_len;
	int proto;	 /* INET_DIAG_PROTOCOL (destroy messages name it); -1: none */
	uint64_t cgroup; /* INET_DIAG_CGROUP_ID (Linux 5.7+), 0: none */
};

/*
 * The attributes after a record message of len bytes, in one walk; one
 * that does not fit ends it (the kernel sends none such).
 */
static void read_attrs(const char *msg, size_t len, struct attrs *x)
{
	size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(struct inet_diag_msg));
	while (off + sizeof(struct nlattr) <= len) {
		struct nlattr a;
		memcpy(&a, msg + off, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > len - off)
			break;
		const uint8_t *payload = (const uint8_t *)msg + off + NLA_HDRLEN;
		size_t plen = a.nla_len - NLA_HDRLEN;
		switch (a.nla_type & NLA_TYPE_MASK) {
		case INET_DIAG_SKV6ONLY: /* sent for IPv6 listeners and unconnected sockets */
			if (plen == 1)	 /* a u8, as libmnl validated it: another size is not one */
				x->v6only = payload[0] ? 1 : 0;
			break;
		case INET_DIAG_INFO:
			/* struct tcp_info, when asked for: tcpi_retransmits, tcpi_probes */
			if (plen >= 4) {
				x->info = true;
				x->retransmits = payload[2];
				x->probes = payload[3];
			}
			x->tcp_info = (const char *)payload;
			x->tcp_info_len = plen;
			break;
		case INET_DIAG_PROTOCOL:
			if (plen >= 1)
				x->proto = payload[0];
			break;
		case INET_DIAG_CGROUP_ID: /* the socket's cgroup (Linux 5.7+) */
			if (plen >= sizeof(x->cgroup))
				memcpy(&x->cgroup, payload, sizeof(x->cgroup));
			break;
		default:
			break;
		}
		off += NLA_ALIGN(a.nla_len);
	}
}

/*
 * One record message (len bytes, a whole message) into the list; false
 * when it is malformed.  Attributes that do not fit end the walk of them
 * (the kernel sends none such).
 */
static bool add_record(struct pv_diag_parse *p, const char *msg, size_t len)
{
	struct inet_diag_msg m;
	memcpy(&m, msg + NLMSG_HDRLEN, sizeof(m));
	struct attrs attrs = {.v6only = -1, .proto = -1};
	read_attrs(msg, len, &attrs);
	if (m.idiag_family != AF_INET && m.idiag_family != AF_INET6)
		return false;
	struct pv_tcp_info info;
	uint8_t proto = p->proto;
	if (!proto) {
		/* a destroy message: it says which protocol, or it is not ours */
		if (attrs.proto != IPPROTO_TCP && attrs.proto != IPPROTO_UDP)
			return true;
		proto = (uint8_t)attrs.proto;
	}
	struct pv_sock s = {
	    .proto = proto,
	    .family = m.idiag_family,
	    .state = pv_diag_state(proto, m.idiag_state),
	    .timer = m.idiag_timer,
	    .retrans = m.idiag_retrans,
	    .local.port = ntohs(m.id.idiag_sport),
	    .remote.port = ntohs(m.id.idiag_dport),
	    .ifindex = m.id.idiag_if,
	    .cookie = (uint64_t)m.id.idiag_cookie[0] | (uint64_t)m.id.idiag_cookie[1] << 32,
	    .expires = m.idiag_expires,
	    .rqueue = m.idiag_rqueue,
	    .wqueue = m.idiag_wqueue,
	    .uid = m.idiag_uid,
	    .inode = m.idiag_inode,
	    .v6only = attrs.v6only,
	    .cgroup = attrs.cgroup,
	};
	/*
	 * netstat -o shows both the retransmissions and the probes sent
	 * (/proc/net/tcp's "retrnsmt" and "timeout").  The message carries one
	 * of them in idiag_retrans, by timer: the probes for the keepalive (2)
	 * and zero-window probe (4) timers, the retransmissions (SYN-ACKs for
	 * a request socket) otherwise.  tcp_info, when asked for, has both.
	 */
	if (attrs.info) {
		s.retrans = attrs.retransmits;
		s.probes = attrs.probes;
	} else if (m.idiag_timer == 2 || m.idiag_timer == 4) {
		s.retrans = 0;
		s.probes = m.idiag_retrans;
	}
	size_t alen = m.idiag_family == AF_INET ? 4 : 16;
	memcpy(s.local.addr, m.id.idiag_src, alen);
	memcpy(s.remote.addr, m.id.idiag_dst, alen);
	if (s.cookie == ~(uint64_t)0) /* INET_DIAG_NOCOOKIE: nothing to dedupe on */
		s.cookie = 0;
	if (p->out->keep_info && proto == IPPROTO_TCP && attrs.tcp_info) {
		take_tcp_info(&info, attrs.tcp_info, attrs.tcp_info_len);
		if (info.have)
			s.info = &info;
	}
	if (!(p->known && pv_idset_has(p->known, s.cookie))) { /* a first walk has it */
		pv_socklist_add(p->out, &s);
		p->kept[s.state % PV_DIAG_STATES]++;
	}
	return true;
}

bool pv_diag_parse_datagram(struct pv_diag_parse *p, const void *buf, size_t len)
{
	const char *base = buf;
	size_t off = 0, at;
	struct nlmsghdr h;

	p->records = 0;
	/* Netlink messages are 4-byte aligned: other bytes cannot be the kernel's. */
	if ((uintptr_t)buf % 4 != 0) {
		p->err = p->err ? p->err : -EBADMSG;
		p->ended = true;
		return false;
	}
	while (!p->ended && next_message(base, len, &off, &h, &at)) {
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			p->err = p->err ? p->err : -EINTR;
		if (h.nlmsg_type == NLMSG_DONE) {
			/* A negative status: the dump failed (-ENOENT: no diag module). */
			int status = 0;
			if (h.nlmsg_len >= NLMSG_HDRLEN + sizeof(status))
				memcpy(&status, base + at + NLMSG_HDRLEN, sizeof(status));
			if (status < 0 && !p->err)
				p->err = status;
			p->ended = true;
		} else if (h.nlmsg_type == NLMSG_ERROR) {
			/*
			 * An error of 0 is an acknowledgement, not the end of the dump:
			 * the dump is complete only at NLMSG_DONE (found by fuzzing: an
			 * ack alone used to pass as a whole, empty dump).
			 */
			int e = error_of(base + at, &h);
			if (e) {
				p->err = p->err ? p->err : e;
				p->ended = true;
			}
		} else if (h.nlmsg_type == SOCK_DIAG_BY_FAMILY || h.nlmsg_type == TCPDIAG_GETSOCK) {
			if (!is_record(&h)) {
				p->err = p->err ? p->err : -EBADMSG;
				continue;
			}
			if (p->records == 0)
				p->first_state = state_of(base + at);
			p->last[p->records++ % PV_DIAG_TAIL_MAX] = at;
			if (!p->err && !add_record(p, base + at, h.nlmsg_len))
				p->err = -EBADMSG;
		}
	}
	/* Bytes that are not a whole message: nothing after them can be read. */
	if (!p->ended && off != len) {
		p->err = p->err ? p->err : -EBADMSG;
		p->ended = true;
	}
	return !p->ended;
}

int pv_diag_parse_result(const struct pv_diag_parse *p)
{
	if (p->err)
		return p->err;
	return p->ended ? 0 : -EBADMSG;
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
		req->idiag_ext = q->ext;
	} else {
		nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
		struct inet_diag_req_v2 *req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
		req->sdiag_family = q->family;
		req->sdiag_protocol = q->proto;
		req->idiag_states = q->states;
		req->idiag_ext = q->ext;
	}
	if (q->bytecode_len)
		mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, q->bytecode_len, q->bytecode);

	int err = 0;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	free(buf);
	return err;
}

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

/*
 * Whether a record of this kernel state lies in the established hash, the
 * only one that exact lookups can vouch for: not a listener (an exact
 * lookup of an SO_REUSEPORT listener may answer with another of its group)
 * and not a bound, inactive socket (no lookup finds those).
 */
static bool looked_up(uint8_t proto, uint8_t state)
{
	return state != PV_TCP_LISTEN && pv_diag_state(proto, state) != PV_TCP_BOUND_INACTIVE;
}

static void take_tail(struct tail *tail, size_t len, const char *base,
		      const struct pv_diag_parse *p)
{
	size_t seen = p->records;
	tail->n = seen < len ? seen : len;
	for (size_t i = 0; i < tail->n; i++) {
		struct inet_diag_msg m;
		size_t at = p->last[(seen - tail->n + i) % PV_DIAG_TAIL_MAX];
		memcpy(&m, base + at + NLMSG_HDRLEN, sizeof(m));
		tail->v[i] = (struct pv_diag_id){
		    .id = m.id, .family = m.idiag_family, .state = m.idiag_state};
	}
}

/* Look up the tail of a datagram known to be a boundary. */
static void check_tail(struct pv_diag_tails *t, struct tail *tail, uint8_t proto)
{
	/* Once something has gone the dump is walked again: stop asking. */
	if (tail->n && t->check && t->gone == 0) {
		struct pv_diag_id ids[PV_DIAG_TAIL_MAX];
		size_t k = 0;
		for (size_t i = 0; i < tail->n; i++)
			if (looked_up(proto, tail->v[i].state))
				ids[k++] = tail->v[i];
		t->gone = pv_diag_count_gone(t->lookup, proto, ids, k);
		t->checked += k;
	}
	tail->n = 0;
}

/*
 * A boundary between a record in kernel state last and the next one's
 * (next < 0: the dump ended there).  A TCP dump walks the listening hash,
 * then the bind hash (for bound, inactive sockets), then the established
 * hash: a boundary after a listener may have cut the listeners' walk, and
 * one after a listener or a bound socket, unless a listener follows it,
 * the bind hash's walk.
 */
static void note_boundary(struct pv_diag_tails *t, uint8_t proto, uint8_t last, int next)
{
	t->boundaries++;
	if (proto != IPPROTO_TCP)
		return;
	if (last == PV_TCP_LISTEN)
		t->listener_boundary = true;
	if (pv_diag_state(proto, last) == PV_TCP_BOUND_INACTIVE ||
	    (last == PV_TCP_LISTEN && next != PV_TCP_LISTEN))
		t->bound_boundary = true;
}

/* One walk of a dump: its parse and where its boundaries are. */
struct walk {
	const struct pv_diag_query *q;
	struct pv_diag_tails *tails;
	size_t tail_len;
	struct pv_diag_parse p;
	struct tail tail;
	int prev_last; /* the previous datagram's last record's state, or -1 */
	bool prev_full;
	struct pv_sort_grow grow; /* the records sorted between datagrams, where parsed apart */
};

/*
 * A datagram of n bytes, in order: its records parsed, the boundary before
 * it noted and checked, its own tail kept (or checked at once when it is
 * full).  Returns whether the dump goes on after it.
 */
static bool take_datagram(struct walk *w, const void *dgram, size_t n)
{
	struct pv_diag_tails *tails = w->tails;
	uint8_t proto = w->q->proto;
	bool more = pv_diag_parse_datagram(&w->p, dgram, n);
	if (!tails)
		return more;
	/* The previous datagram was a boundary: records follow it, or it was full. */
	if (w->prev_last >= 0 && (w->p.records || w->prev_full)) {
		note_boundary(tails, proto, (uint8_t)w->prev_last,
			      w->p.records ? w->p.first_state : -1);
		check_tail(tails, &w->tail, proto);
	}
	w->tail.n = 0;
	w->prev_last = -1;
	if (more && w->p.records) {
		const char *base = dgram;
		size_t at = w->p.last[(w->p.records - 1) % PV_DIAG_TAIL_MAX];
		w->prev_last = state_of(base + at);
		take_tail(&w->tail, w->tail_len, base, &w->p);
	}
	/* A full datagram is a boundary: look its tail up at once. */
	w->prev_full = n >= FULLISH;
	if (w->prev_full)
		check_tail(tails, &w->tail, proto);
	return more;
}

/*
 * Whether a dump goes on after this datagram, as its parse will find
 * (pv_diag_parse_datagram ends at NLMSG_DONE, an NLMSG_ERROR that is not an
 * acknowledgement, or bytes that are not a whole message): the reader of a
 * piped dump knows when to stop without parsing.
 */
static bool goes_on(const char *buf, size_t len)
{
	size_t off = 0, at;
	struct nlmsghdr h;
	while (next_message(buf, len, &off, &h, &at)) {
		if (h.nlmsg_type == NLMSG_DONE)
			return false;
		if (h.nlmsg_type == NLMSG_ERROR && error_of(buf + at, &h))
			return false;
	}
	return off == len;
}

/* Datagrams read and not yet parsed: a piped dump's reader waits when all are. */
#define PIPE_SLOTS 4

/*
 * A piped dump: datagrams handed from the reader to the parsing thread in
 * order (a thread of its own, or a relay's helper).
 */
struct pv_diag_pipe {
	struct walk *w;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t *buf[PIPE_SLOTS]; /* 8-byte aligned room for one datagram each */
	size_t len[PIPE_SLOTS];
	size_t read, parsed; /* datagrams handed over, and taken (under mu) */
	bool closed;	     /* the reader is done: nothing more comes */
	bool more;	     /* what the last take_datagram said */
	bool joined;	     /* a relay's helper parses from now on (atomic) */
	bool helped;	     /* ... and has parsed the last (under mu) */
};

static void pipe_init(struct pv_diag_pipe *pp, struct walk *w)
{
	memset(pp, 0, sizeof(*pp));
	pp->w = w;
	pp->more = true;
	pthread_mutex_init(&pp->mu, NULL);
	pthread_cond_init(&pp->cv, NULL);
	for (size_t i = 0; i < PIPE_SLOTS; i++)
		pp->buf[i] = xmalloc(PV_DIAG_RCVBUF);
}

static void pipe_destroy(struct pv_diag_pipe *pp)
{
	for (size_t i = 0; i < PIPE_SLOTS; i++)
		free(pp->buf[i]);
	pthread_mutex_destroy(&pp->mu);
	pthread_cond_destroy(&pp->cv);
}

static void *parse_piped(void *arg)
{
	struct pv_diag_pipe *pp = arg;
	pthread_mutex_lock(&pp->mu);
	for (;;) {
		while (pp->parsed == pp->read && !pp->closed) {
			/* no datagram to parse: sort some of the records meanwhile */
			pthread_mutex_unlock(&pp->mu);
			bool sorted = pv_sort_grow_step(&pp->w->grow);
			pthread_mutex_lock(&pp->mu);
			if (!sorted && pp->parsed == pp->read && !pp->closed)
				pthread_cond_wait(&pp->cv, &pp->mu);
		}
		if (pp->parsed == pp->read)
			break;
		size_t k = pp->parsed % PIPE_SLOTS;
		pthread_mutex_unlock(&pp->mu);
		/* after the end, datagrams are read (and dropped) but not parsed */
		if (pp->more)
			pp->more = take_datagram(pp->w, pp->buf[k], pp->len[k]);
		pthread_mutex_lock(&pp->mu);
		pp->parsed++;
		pthread_cond_broadcast(&pp->cv);
	}
	pthread_mutex_unlock(&pp->mu);
	/* the rest sorted here too, where the records are in this CPU's cache */
	if (pv_diag_parse_result(&pp->w->p) == 0)
		pv_sort_grow_finish(&pp->w->grow);
	return NULL;
}

/*
 * The next datagram of a dump into buf (PV_DIAG_RCVBUF bytes, 8-byte
 * aligned), counted in stats.  Returns its length or a negative errno.
 */
static ssize_t read_datagram(struct mnl_socket *nl, void *buf, struct pv_diag_stats *stats)
{
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, PV_DIAG_RCVBUF);
		if (n >= 0) {
			stats->datagrams++;
			stats->bytes += (size_t)n;
			return n;
		}
		if (errno != EINTR)
			return -errno;
	}
}

/* Nothing more comes down the pipe. */
static void close_pipe(struct pv_diag_pipe *pp)
{
	pthread_mutex_lock(&pp->mu);
	pp->closed = true;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
}

/*
 * The rest of a walk read and handed to the pipe's parser, then the pipe
 * closed.  Returns 0 or the read's negative errno.
 */
static int feed(struct mnl_socket *nl, struct pv_diag_pipe *pp, struct pv_diag_stats *stats)
{
	int ret = 0;
	for (bool on = true; on;) {
		pthread_mutex_lock(&pp->mu);
		while (pp->read - pp->parsed == PIPE_SLOTS)
			pthread_cond_wait(&pp->cv, &pp->mu);
		pthread_mutex_unlock(&pp->mu);
		size_t k = pp->read % PIPE_SLOTS;
		ssize_t n = read_datagram(nl, pp->buf[k], stats);
		if (n < 0) {
			ret = (int)n;
			break;
		}
		on = goes_on((const char *)pp->buf[k], (size_t)n);
		pp->len[k] = (size_t)n;
		pthread_mutex_lock(&pp->mu);
		pp->read++;
		pthread_cond_broadcast(&pp->cv);
		pthread_mutex_unlock(&pp->mu);
	}
	close_pipe(pp);
	return ret;
}

/* One walk, each datagram parsed as it is read.  Returns 0 or the read's negative errno. */
static int read_walk(struct mnl_socket *nl, struct walk *w, struct pv_diag_stats *stats)
{
	/* 8-byte aligned room for one datagram */
	uint64_t *dgram = xmalloc(PV_DIAG_RCVBUF);
	ssize_t n = 0;
	/*
	 * The parse stops keeping records at an error or an interrupted dump;
	 * the rest of the dump is still read, so that none of it is left for
	 * the next request to find.
	 */
	for (bool more = true; more && n >= 0;)
		if ((n = read_datagram(nl, dgram, stats)) >= 0)
			more = take_datagram(w, dgram, (size_t)n);
	free(dgram);
	return n < 0 ? (int)n : 0;
}

/*
 * One walk read here and parsed on a thread of its own; where that thread
 * cannot start, read_walk's.  Returns 0 or the read's negative errno.
 */
static int read_piped(struct mnl_socket *nl, struct walk *w, struct pv_diag_stats *stats)
{
	struct pv_diag_pipe pp;
	pipe_init(&pp, w);
	pthread_t parser;
	int ret;
	if (pthread_create(&parser, NULL, parse_piped, &pp) != 0) {
		ret = read_walk(nl, w, stats);
	} else {
		ret = feed(nl, &pp, stats);
		pthread_join(parser, NULL);
	}
	pipe_destroy(&pp);
	return ret;
}

void pv_diag_relay_init(struct pv_diag_relay *r)
{
	pthread_mutex_init(&r->mu, NULL);
	r->open = NULL;
}

void pv_diag_relay_destroy(struct pv_diag_relay *r)
{
	pthread_mutex_destroy(&r->mu);
}

bool pv_diag_relay_open(struct pv_diag_relay *r)
{
	pthread_mutex_lock(&r->mu);
	bool open = r->open != NULL;
	pthread_mutex_unlock(&r->mu);
	return open;
}

bool pv_diag_relay_help(struct pv_diag_relay *r)
{
	pthread_mutex_lock(&r->mu);
	struct pv_diag_pipe *pp = r->open;
	if (pp) {
		r->open = NULL; /* one helper a walk */
		__atomic_store_n(&pp->joined, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&r->mu);
	if (!pp)
		return false;
	parse_piped(pp);
	pthread_mutex_lock(&pp->mu);
	pp->helped = true;
	pthread_cond_broadcast(&pp->cv);
	pthread_mutex_unlock(&pp->mu);
	return true;
}

/*
 * One walk parsed here, as read_walk's, until a helper joins on the relay;
 * from the next datagram on, read here and parsed by the helper, as a
 * piped walk's.  Returns 0 or the read's negative errno.
 */
static int read_relayed(struct mnl_socket *nl, struct walk *w, struct pv_diag_stats *stats,
			struct pv_diag_relay *r)
{
	struct pv_diag_pipe pp;
	pipe_init(&pp, w);
	pthread_mutex_lock(&r->mu);
	r->open = &pp;
	pthread_mutex_unlock(&r->mu);
	ssize_t n = 0;
	bool more = true;
	while (more && !__atomic_load_n(&pp.joined, __ATOMIC_ACQUIRE)) {
		if ((n = read_datagram(nl, pp.buf[0], stats)) < 0)
			break;
		more = take_datagram(w, pp.buf[0], (size_t)n);
	}
	/* From here no helper joins: it has, or it comes too late. */
	pthread_mutex_lock(&r->mu);
	if (r->open == &pp)
		r->open = NULL;
	bool joined = __atomic_load_n(&pp.joined, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&r->mu);
	int ret = n < 0 ? (int)n : 0;
	if (joined) {
		pp.more = more;
		if (more && n >= 0)
			ret = feed(nl, &pp, stats);
		else
			close_pipe(&pp);
		pthread_mutex_lock(&pp.mu);
		while (!pp.helped)
			pthread_cond_wait(&pp.cv, &pp.mu);
		pthread_mutex_unlock(&pp.mu);
	}
	pipe_destroy(&pp);
	return ret;
}

int pv_diag_dump(struct mnl_socket *nl, const struct pv_diag_query *q, const struct pv_idset *known,
		 struct pv_socklist *out, struct pv_diag_stats *stats, struct pv_diag_tails *tails)
{
	static uint32_t seq_counter; /* atomic: dumps go out on several threads */
	struct pv_socklist_mark mark = pv_socklist_mark(out);
	size_t tail_len = 0;
	int ret = -EINTR;

	if (tails) {
		tail_len = tails->tail_len < PV_DIAG_TAIL_MAX ? tails->tail_len : PV_DIAG_TAIL_MAX;
		if (!tails->lookup)
			tails->check = false;
	}
	for (int attempt = 0; attempt < 4; attempt++) {
		uint32_t seq =
		    (uint32_t)time(NULL) + __atomic_add_fetch(&seq_counter, 1, __ATOMIC_RELAXED);
		pv_socklist_rollback(out, mark);
		if (tails) {
			tails->boundaries = tails->checked = 0;
			tails->listener_boundary = tails->bound_boundary = false;
			tails->gone = 0;
		}
		*stats = (struct pv_diag_stats){0};
		int err = send_request(nl, q, seq);
		if (err) {
			ret = err;
			break;
		}
		struct walk w = {.q = q, .tails = tails, .tail_len = tail_len, .prev_last = -1};
		pv_diag_parse_init(&w.p, q->proto, out, known);
		if (q->piped || q->relay)
			pv_sort_grow_start(&w.grow, out);
		err = q->piped	 ? read_piped(nl, &w, stats)
		      : q->relay ? read_relayed(nl, &w, stats, q->relay)
				 : read_walk(nl, &w, stats);
		pv_sort_grow_free(&w.grow);
		if (err) {
			ret = err;
			break;
		}
		ret = pv_diag_parse_result(&w.p);
		memcpy(stats->kept, w.p.kept, sizeof(stats->kept));
		if (ret != -EINTR)
			break;
	}
	if (ret)
		pv_socklist_rollback(out, mark);
	return ret;
}

/*
 * An exact UDP lookup (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP) reads the
 * request's source as the socket's foreign end and its destination as its
 * local one, the other way from TCP's and from the records' (the kernel's
 * udp_dump_one passes them to its receive-path lookup as a packet's
 * addresses); SOCK_DESTROY reads them as TCP does.
 */
static void swap_ends(struct inet_diag_sockid *id)
{
	struct inet_diag_sockid was = *id;
	id->idiag_sport = was.idiag_dport;
	id->idiag_dport = was.idiag_sport;
	memcpy(id->idiag_src, was.idiag_dst, sizeof(id->idiag_src));
	memcpy(id->idiag_dst, was.idiag_src, sizeof(id->idiag_dst));
}

/*
 * A datagram of len bytes read for a batch of k lookups numbered from
 * seq0: its replies counted in *replies; those that say the socket is gone
 * counted in gone, which is returned (or a negative errno); the records
 * found parsed into keep.
 */
static long take_replies(const char *base, size_t len, uint32_t seq0, size_t k,
			 struct pv_diag_parse *keep, size_t *replies, long gone)
{
	size_t off = 0, msg;
	struct nlmsghdr h;
	while (gone >= 0 && next_message(base, len, &off, &h, &msg)) {
		if (h.nlmsg_seq - seq0 >= k)
			continue; /* not a reply to this batch */
		(*replies)++;
		if (h.nlmsg_type == NLMSG_ERROR) {
			int e = error_of(base + msg, &h);
			if (e == -ENOENT)
				gone++;
			else
				gone = e ? e : -EBADMSG;
		} else if (!is_record(&h)) {
			gone = -EBADMSG;
		} else if (keep && !add_record(keep, base + msg, h.nlmsg_len)) {
			gone = -EBADMSG;
		}
	}
	return gone;
}

/*
 * Exact lookups of ids in batches: how many are gone, or a negative errno.
 * With keep, the records found are parsed into keep's list (ext: the
 * extensions asked for, tcp_info's).
 */
static long lookup_batches(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			   size_t n, uint8_t ext, struct pv_diag_parse *keep)
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
	static uint32_t counter; /* atomic: lookups go out on several threads */
	if (n == 0)
		return 0;
	/* on the stack: this runs at every boundary of a large dump */
	struct request req[BATCH];
	/*
	 * The replies are queued by the time sendto returns (the kernel
	 * answers in the sender's call), one datagram each: read up to SLOTS
	 * of them in one recvmmsg.  A reply is well under a slot, tcp_info and
	 * all; one that does not fit is cut (MSG_TRUNC), and an error.
	 */
	enum { SLOTS = 16, SLOT = PV_DIAG_RCVBUF / SLOTS };
	uint64_t dgram[SLOTS][SLOT / sizeof(uint64_t)]; /* 8-byte aligned */
	struct iovec iov[SLOTS];
	struct mmsghdr mm[SLOTS];
	struct sockaddr_nl from[SLOTS];
	int fd = mnl_socket_get_fd(nl);
	long gone = 0;

	for (size_t at = 0; at < n && gone >= 0; at += BATCH) {
		size_t k = n - at < BATCH ? n - at : BATCH;
		uint32_t seq0 = ((uint32_t)time(NULL) << 8) +
				__atomic_add_fetch(&counter, BATCH, __ATOMIC_RELAXED);
		for (size_t i = 0; i < k; i++) {
			const struct pv_diag_id *id = &ids[at + i];
			req[i] = (struct request){
			    .h = {.nlmsg_len = sizeof(struct request),
				  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
				  .nlmsg_flags = NLM_F_REQUEST,
				  .nlmsg_seq = seq0 + (uint32_t)i},
			    .r = {.sdiag_family = id->family,
				  .sdiag_protocol = proto,
				  .idiag_ext = ext,
				  .idiag_states = ~0u,
				  .id = id->id},
			};
		}
		if (mnl_socket_sendto(nl, req, k * sizeof(*req)) < 0) {
			gone = -errno;
			break;
		}
		for (size_t replies = 0; replies < k && gone >= 0;) {
			unsigned want = k - replies < SLOTS ? (unsigned)(k - replies) : SLOTS;
			for (unsigned i = 0; i < want; i++) {
				iov[i] = (struct iovec){dgram[i], SLOT};
				mm[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &from[i],
								     .msg_namelen = sizeof(from[i]),
								     .msg_iov = &iov[i],
								     .msg_iovlen = 1}};
			}
			/* the first waited for, the rest taken as they are */
			int got = recvmmsg(fd, mm, want, MSG_WAITFORONE, NULL);
			if (got < 0) {
				if (errno != EINTR)
					gone = -errno;
				continue;
			}
			for (int d = 0; d < got && gone >= 0; d++) {
				if (mm[d].msg_hdr.msg_flags & MSG_TRUNC) {
					gone = -ENOSPC;
					break;
				}
				gone = take_replies((const char *)dgram[d], mm[d].msg_len, seq0, k,
						    keep, &replies, gone);
			}
		}
	}
	return gone;
}

long pv_diag_count_gone(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			size_t n)
{
	return lookup_batches(nl, proto, ids, n, 0, NULL);
}

long pv_diag_lookup_many(struct mnl_socket *nl, uint8_t proto, const struct pv_diag_id *ids,
			 size_t n, bool info, struct pv_socklist *out)
{
	struct pv_diag_parse p;
	pv_diag_parse_init(&p, proto, out, NULL);
	return lookup_batches(nl, proto, ids, n, info ? 1u << (INET_DIAG_INFO - 1) : 0, &p);
}

void pv_diag_request_for(const struct pv_sock *s, struct inet_diag_req_v2 *r)
{
	size_t alen = s->family == AF_INET ? 4 : 16;
	memset(r, 0, sizeof(*r));
	r->sdiag_family = s->family;
	r->sdiag_protocol = s->proto;
	r->idiag_states = ~0u;
	r->id.idiag_sport = htons(s->local.port);
	r->id.idiag_dport = htons(s->remote.port);
	memcpy(r->id.idiag_src, s->local.addr, alen);
	memcpy(r->id.idiag_dst, s->remote.addr, alen);
	r->id.idiag_if = s->ifindex;
	r->id.idiag_cookie[0] = (uint32_t)s->cookie;
	r->id.idiag_cookie[1] = (uint32_t)(s->cookie >> 32);
}

int pv_diag_lookup_state(struct mnl_socket *nl, const struct pv_sock *s, uint8_t *state)
{
	uint32_t inode;
	return pv_diag_lookup(nl, s, state, &inode);
}

int pv_diag_lookup(struct mnl_socket *nl, const struct pv_sock *s, uint8_t *state, uint32_t *inode)
{
	static uint32_t counter; /* atomic: as pv_diag_count_gone's */
	uint32_t seq = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
	    .h = {.nlmsg_len = sizeof(req),
		  .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		  .nlmsg_flags = NLM_F_REQUEST,
		  .nlmsg_seq = seq ? seq : 1},
	};
	pv_diag_request_for(s, &req.r);
	if (s->proto == IPPROTO_UDP)
		swap_ends(&req.r.id);
	if (mnl_socket_sendto(nl, &req, sizeof(req)) < 0)
		return -errno;
	uint64_t dgram[PV_DIAG_RCVBUF / sizeof(uint64_t)]; /* 8-byte aligned */
	for (;;) {
		ssize_t got = mnl_socket_recvfrom(nl, dgram, sizeof(dgram));
		if (got < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		const char *base = (const char *)dgram;
		size_t off = 0, msg;
		struct nlmsghdr h;
		while (next_message(base, (size_t)got, &off, &h, &msg)) {
			if (h.nlmsg_seq != req.h.nlmsg_seq)
				continue; /* a late reply to an earlier request */
			if (h.nlmsg_type == NLMSG_ERROR) {
				int e = error_of(base + msg, &h);
				/* no socket there, or another one (another cookie): gone */
				return e == -ESTALE ? -ENOENT : e ? e : -EBADMSG;
			}
			if (!is_record(&h))
				return -EBADMSG;
			struct inet_diag_msg m;
			memcpy(&m, base + msg + NLMSG_HDRLEN, sizeof(m));
			*state = pv_diag_state(s->proto, m.idiag_state);
			*inode = m.idiag_inode;
			return 0;
		}
	}
}

int pv_diag_open_destroyed(struct mnl_socket **out)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	if (!nl)
		return -errno;
	unsigned groups =
	    1u << (SKNLGRP_INET_TCP_DESTROY - 1) | 1u << (SKNLGRP_INET_UDP_DESTROY - 1) |
	    1u << (SKNLGRP_INET6_TCP_DESTROY - 1) | 1u << (SKNLGRP_INET6_UDP_DESTROY - 1);
	int fd = mnl_socket_get_fd(nl);
	/* room for a burst of closes (the kernel caps it at net.core.rmem_max) */
	int rcvbuf = 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;
		mnl_socket_close(nl);
		return err;
	}
	*out = nl;
	return 0;
}

int pv_diag_fd(struct mnl_socket *nl)
{
	return mnl_socket_get_fd(nl);
}

int pv_diag_read_destroyed(struct mnl_socket *nl, struct pv_socklist *out)
{
	uint64_t dgram[PV_DIAG_RCVBUF / sizeof(uint64_t)]; /* 8-byte aligned */
	int ret = 0;
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(mnl_socket_get_fd(nl), dgram, PV_DIAG_RCVBUF, MSG_TRUNC,
				     (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/*
			 * Messages were dropped.  Read on to the end of the queue:
			 * while anything is left in it, the kernel drops what comes
			 * next without another ENOBUFS, so the dump the caller takes
			 * now must start from an empty queue.
			 */
			if (errno == ENOBUFS) {
				ret = -ENOBUFS;
				continue;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				ret = -errno;
			break;
		}
		/* only the kernel's, and whole: a destroy message is well under 1 KiB */
		if (from.nl_pid != 0 || (size_t)n > PV_DIAG_RCVBUF)
			continue;
		struct pv_diag_parse p;
		pv_diag_parse_init(&p, 0, out, NULL);
		pv_diag_parse_datagram(&p, dgram, (size_t)n);
	}
	return ret;
}
