/* The table renderer: the layout of Windows `netstat -no`, plus columns. */
#include "i18n.h"
#include "portview/format.h"
#include "portview/parallel.h"
#include "portview/render_table.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum col {
	COL_NETNS,
	COL_PROTO,
	COL_LOCAL,
	COL_FOREIGN,
	COL_STATE,
	COL_PID,
	COL_PROGRAM,
	COL_UNIT,
	COL_USER,
	COL_INODE,
	COL_RECVQ,
	COL_SENDQ,
	COL_TIMER,
	COL_SEND_RATE, /* interval mode with -i */
	COL_RECV_RATE,
	COL_RTT, /* -i */
	COL_CWND,
	COL_SENT,
	COL_ACKED,
	COL_RCVD,
	COL_SEGS,
	COL_RETRANS,
	COL_DELIVERY,
	COL_IDLE,
	COL_LOCAL_PORT,
	COL_FOREIGN_PORT,
	NCOLS
};

/* Which port a column annotates (struct column's note). */
enum { NOTE_NONE, NOTE_LOCAL, NOTE_FOREIGN };

static void add_uint(struct pv_buf *b, uint32_t v)
{
	char *p = pv_buf_reserve(b, 10);
	b->len += pv_format_uint(p, v);
}

/* One owner: its PID, and with program its name. */
static void owner_text(struct pv_buf *arena, const struct pv_owner_table *t,
		       const struct pv_owner *o, bool program)
{
	add_uint(arena, (uint32_t)o->pid); /* a PID is positive */
	if (program) {
		const struct pv_process *p = &t->procs[o->proc];
		pv_buf_putc(arena, '/');
		pv_escape_text(arena, p->comm, p->comm_len);
	}
}

/*
 * Distinct owner PIDs (owners of one socket are sorted by pid), or with
 * condense the lowest and how many more: "5323 (+5)".  '-' for none, '?'
 * for an owner that could not be seen.
 */
static void owner_cell(struct pv_buf *arena, const struct pv_row *s, const struct pv_owner_table *t,
		       bool program, bool condense)
{
	if (!t || s->owner_count == 0) {
		pv_buf_putc(arena, s->owners_unknown ? '?' : '-');
		return;
	}
	int32_t last = -1;
	uint32_t more = 0;
	for (uint32_t i = 0; i < s->owner_count; i++) {
		const struct pv_owner *o = &t->owners[s->owner_first + i];
		if (o->pid == last)
			continue;
		if (last != -1 && condense) {
			more++;
			last = o->pid;
			continue;
		}
		if (last != -1)
			pv_buf_putc(arena, ',');
		last = o->pid;
		owner_text(arena, t, o, program);
	}
	if (more) {
		pv_buf_puts(arena, " (+");
		add_uint(arena, more);
		pv_buf_putc(arena, ')');
	}
}

/*
 * An address cell.  Numeric: 127.0.0.1:443, [::1]:443.  With names, the
 * way netstat shows them: localhost:https, the host name when one resolved
 * and the service name unless the port is in the ephemeral range (a client
 * port that only happens to share a number with a service).  A local end
 * bound to a device has it after the address, as ss shows it:
 * 0.0.0.0%eth0:53 (a link-local address has it as its scope instead).
 */
static void endpoint_cell(struct pv_buf *arena, const struct pv_row *s, bool local,
			  const struct pv_table_opts *o, struct pv_ifcache *ifc)
{
	const struct pv_endpoint *ep = local ? &s->s.local : &s->s.remote;
	if (!local && s->s.proto == IPPROTO_UDP && s->s.state == PV_TCP_CLOSE) {
		pv_buf_puts(arena, "*:*");
		return;
	}
	const char *dev = NULL;
	char tmp[IF_NAMESIZE];
	if (local && s->s.ifindex && !pv_endpoint_is_scoped(s->s.family, ep))
		dev = pv_ifcache_name(ifc, s->s.ifindex, tmp);
	char *p = pv_buf_reserve(arena, PV_ENDPOINT_MAX);
	size_t n;
	if (local && pv_sock_is_dual_stack(&s->s))
		/* :: taking IPv4 as well, as ss shows it; [::] takes IPv6 only */
		n = (size_t)snprintf(p, PV_ENDPOINT_MAX, "*:%u", ep->port);
	else
		n = pv_format_endpoint(p, s->s.family, ep, s->s.ifindex, ifc);
	if (o->numeric && !dev) {
		arena->len += n;
		return;
	}
	const char *host = o->numeric ? NULL : local ? s->local_host : s->remote_host;
	const struct pv_service *svc = o->numeric ? NULL : local ? s->local_name : s->remote_name;
	bool in_range = local ? s->local_ephemeral : s->remote_in_range;
	size_t colon = n;
	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (host)
		pv_escape_text(arena, host, strlen(host));
	else
		arena->len += colon - 1; /* the numeric address */
	if (dev) {
		/* interface names are the administrator's, but still untrusted text */
		pv_buf_putc(arena, '%');
		pv_escape_text(arena, dev, strlen(dev));
	}
	pv_buf_putc(arena, ':');
	if (svc && !in_range) {
		pv_escape_text(arena, svc->name, strlen(svc->name));
	} else {
		char port[8];
		int len = snprintf(port, sizeof(port), "%u", ep->port);
		pv_buf_add(arena, port, (size_t)len);
	}
}

static void add_si(struct pv_buf *b, uint64_t v)
{
	char *p = pv_buf_reserve(b, PV_SI_MAX);
	b->len += pv_format_si(p, v);
}

/* What a cell's function reads: the row, its view, the options. */
struct cell {
	const struct pv_row *r;
	const struct pv_view *v;
	const struct pv_table_opts *o;
	bool condense;		/* owner lists as the lowest PID and a count */
	struct pv_ifcache *ifc; /* interface names (or numbers) of the row's namespace */
};

static void cell_local(struct pv_buf *b, const struct cell *x)
{
	endpoint_cell(b, x->r, true, x->o, x->ifc);
}

static void cell_foreign(struct pv_buf *b, const struct cell *x)
{
	endpoint_cell(b, x->r, false, x->o, x->ifc);
}

static void cell_pid(struct pv_buf *b, const struct cell *x)
{
	owner_cell(b, x->r, x->v->has_owners ? &x->v->owners : NULL, false, x->condense);
}

static void cell_program(struct pv_buf *b, const struct cell *x)
{
	owner_cell(b, x->r, x->v->has_owners ? &x->v->owners : NULL, true, x->condense);
}

static void cell_netns(struct pv_buf *b, const struct cell *x)
{
	if (x->r->netns)
		pv_escape_text(b, x->r->netns->label, strlen(x->r->netns->label));
	else
		pv_buf_putc(b, '-');
}

static void cell_unit(struct pv_buf *b, const struct cell *x)
{
	char label[PV_UNIT_NAME_MAX + 16];
	if (!x->r->unit) {
		pv_buf_putc(b, '-');
		return;
	}
	pv_unit_label(x->r->unit, label, sizeof(label));
	pv_escape_text(b, label, strlen(label));
}

static void cell_user(struct pv_buf *b, const struct cell *x)
{
	const char *name = pv_view_user(x->v, x->r->s.uid);
	if (name)
		pv_escape_text(b, name, strlen(name));
	else
		add_uint(b, x->r->s.uid);
}

static void cell_inode(struct pv_buf *b, const struct cell *x)
{
	add_uint(b, x->r->s.inode);
}

static void cell_recvq(struct pv_buf *b, const struct cell *x)
{
	const struct pv_sock *s = &x->r->s;
	add_uint(b, s->rqueue);
}

static void cell_sendq(struct pv_buf *b, const struct cell *x)
{
	const struct pv_sock *s = &x->r->s;
	add_uint(b, s->wqueue);
}

/* like netstat -o: the timer, seconds left, retransmissions, probes */
static void cell_timer(struct pv_buf *b, const struct cell *x)
{
	const struct pv_sock *s = &x->r->s;
	pv_buf_printf(b, "%s (%u.%02u/%u/%u)", pv_timer_name(s->timer), s->expires / 1000,
		      s->expires % 1000 / 10, s->retrans, s->probes);
}

static void cell_local_port(struct pv_buf *b, const struct cell *x)
{
	pv_annotation_text(b, x->r->local_service, x->r->local_class, x->r->local_ephemeral);
}

static void cell_foreign_port(struct pv_buf *b, const struct cell *x)
{
	pv_annotation_text(b, x->r->remote_service, x->r->remote_class, false);
}

static void cell_send_rate(struct pv_buf *b, const struct cell *x)
{
	if (x->r->rate.known)
		add_si(b, x->r->rate.sent);
	else
		pv_buf_putc(b, '-');
}

static void cell_recv_rate(struct pv_buf *b, const struct cell *x)
{
	if (x->r->rate.known)
		add_si(b, x->r->rate.received);
	else
		pv_buf_putc(b, '-');
}

/*
 * The TCP internals' cells, in ss -i's units written short: milliseconds,
 * segments, bytes (12.3k), bits per second.  Each is written where the
 * kernel gave the fields its column needs, else '-' (put_info); a row's
 * are written in one go, straight into it (format_row_into).
 */
#define INFO_CELL_MAX 40 /* "%g/%g" of two rtts at most */

static char *put_uint(char *p, uint32_t v)
{
	return p + pv_format_uint(p, v);
}

/* "a/b", as printf's "%u/%u" */
static char *put_pair(char *p, uint32_t a, uint32_t b)
{
	p = put_uint(p, a);
	*p++ = '/';
	return put_uint(p, b);
}

static char *put_si(char *p, uint64_t v)
{
	return p + pv_format_si(p, v);
}

/*
 * Microseconds as milliseconds, as printf's "%g" writes us / 1000.0: below
 * 1,000 s the value has at most six significant digits, which "%g" keeps
 * exactly, its trailing zeros dropped; above, printf itself.
 */
static char *put_ms(char *p, uint32_t us)
{
	if (us >= 1000000)
		return p + snprintf(p, INFO_CELL_MAX / 2, "%g", us / 1000.0);
	p = put_uint(p, us / 1000);
	uint32_t frac = us % 1000;
	if (!frac)
		return p;
	char d[4] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
		     (char)('0' + frac % 10)};
	size_t n = 4;
	while (d[n - 1] == '0')
		n--;
	memcpy(p, d, 4);
	return p + n;
}

/* The PV_TI_* fields each column needs. */
static uint8_t info_needs(int col)
{
	switch (col) {
	case COL_SENT:
		return PV_TI_SENT;
	case COL_ACKED:
	case COL_RCVD:
		return PV_TI_BYTES;
	case COL_SEGS:
		return PV_TI_SEGS;
	case COL_DELIVERY:
		return PV_TI_DELIVERY;
	default:
		return PV_TI_BASE;
	}
}

/* Column col's cell (COL_RTT to COL_IDLE) of tcp_info t at p: at most INFO_CELL_MAX bytes. */
static char *put_info(char *p, int col, const struct pv_tcp_info *t)
{
	if (!t || !(t->have & info_needs(col))) {
		*p++ = '-';
		return p;
	}
	switch (col) {
	case COL_RTT: /* as ss: rtt/rttvar */
		p = put_ms(p, t->rtt_us);
		*p++ = '/';
		return put_ms(p, t->rttvar_us);
	case COL_CWND:
		return put_uint(p, t->snd_cwnd);
	case COL_SENT:
		return put_si(p, t->bytes_sent);
	case COL_ACKED:
		return put_si(p, t->bytes_acked);
	case COL_RCVD:
		return put_si(p, t->bytes_received);
	case COL_SEGS:
		return put_pair(p, t->segs_out, t->segs_in);
	case COL_RETRANS: /* as ss: unacknowledged now/over the connection's life */
		return put_pair(p, t->retrans, t->total_retrans);
	case COL_DELIVERY:
		p = put_si(p, t->delivery_rate * 8);
		memcpy(p, "bps", 3);
		return p + 3;
	default: /* COL_IDLE */
		return put_pair(p, t->last_data_sent_ms, t->last_data_recv_ms);
	}
}

static void info_cell(struct pv_buf *b, int col, const struct cell *x)
{
	char *p = pv_buf_reserve(b, INFO_CELL_MAX);
	b->len = (size_t)(put_info(p, col, x->r->s.info) - b->data);
}

#define INFO_CELL(name, col)                                                                       \
	static void name(struct pv_buf *b, const struct cell *x)                                   \
	{                                                                                          \
		info_cell(b, col, x);                                                              \
	}
INFO_CELL(cell_rtt, COL_RTT)
INFO_CELL(cell_cwnd, COL_CWND)
INFO_CELL(cell_sent, COL_SENT)
INFO_CELL(cell_acked, COL_ACKED)
INFO_CELL(cell_rcvd, COL_RCVD)
INFO_CELL(cell_segs, COL_SEGS)
INFO_CELL(cell_retrans, COL_RETRANS)
INFO_CELL(cell_delivery, COL_DELIVERY)
INFO_CELL(cell_idle, COL_IDLE)

/*
 * The TCP internals' cells' widths, as put_info writes them (no cell
 * formatted to measure it), into w[col - COL_RTT]: SIZE_MAX where printf's
 * "%g" writes an rtt of 1,000 s or more.
 */
static size_t ms_width(uint32_t us)
{
	if (us >= 1000000)
		return SIZE_MAX; /* printf's "%g" */
	uint32_t frac = us % 1000;
	size_t n = pv_uint_width(us / 1000);
	return !frac ? n : frac % 10 ? n + 4 : frac % 100 ? n + 3 : n + 2;
}

static size_t pair_width(uint32_t a, uint32_t b)
{
	return pv_uint_width(a) + 1 + pv_uint_width(b);
}

#define NINFO (COL_IDLE - COL_RTT + 1)

static void info_widths(const struct pv_tcp_info *t, size_t w[NINFO])
{
	uint8_t have = t ? t->have : 0;
	for (int c = COL_RTT; c <= COL_IDLE; c++)
		w[c - COL_RTT] = 1; /* '-' */
	if (have & PV_TI_BASE) {
		size_t a = ms_width(t->rtt_us), b = ms_width(t->rttvar_us);
		w[COL_RTT - COL_RTT] = a == SIZE_MAX || b == SIZE_MAX ? SIZE_MAX : a + 1 + b;
		w[COL_CWND - COL_RTT] = pv_uint_width(t->snd_cwnd);
		w[COL_RETRANS - COL_RTT] = pair_width(t->retrans, t->total_retrans);
		w[COL_IDLE - COL_RTT] = pair_width(t->last_data_sent_ms, t->last_data_recv_ms);
	}
	if (have & PV_TI_SENT)
		w[COL_SENT - COL_RTT] = pv_si_width(t->bytes_sent);
	if (have & PV_TI_BYTES) {
		w[COL_ACKED - COL_RTT] = pv_si_width(t->bytes_acked);
		w[COL_RCVD - COL_RTT] = pv_si_width(t->bytes_received);
	}
	if (have & PV_TI_SEGS)
		w[COL_SEGS - COL_RTT] = pair_width(t->segs_out, t->segs_in);
	if (have & PV_TI_DELIVERY) {
		size_t d = pv_si_width(t->delivery_rate * 8);
		w[COL_DELIVERY - COL_RTT] = d == SIZE_MAX ? SIZE_MAX : d + 3;
	}
}

static const char *proto_text(const struct pv_row *r)
{
	return pv_proto_name(r->s.proto);
}

static const char *state_text(const struct pv_row *r)
{
	return pv_state_display(r->s.proto, r->s.state);
}

/*
 * A numeric IPv4 endpoint is at most 21 characters (255.255.255.255:65535),
 * inside the column's minimum width, so it cannot widen it; unless the
 * table may be fitted to a terminal, where the columns may shrink to their
 * content.  0: known not to widen; SIZE_MAX: format the cell to know.
 */
static size_t endpoint_width(const struct pv_row *r, const struct pv_table_opts *o)
{
	return o->numeric && r->s.family == AF_INET && !r->s.ifindex && !o->width ? 0 : SIZE_MAX;
}

/* SGR colours: the state, and the class of each annotated port. */
static const char *state_color(const struct pv_sock *s)
{
	switch (s->state) {
	case PV_TCP_ESTABLISHED:
		return "\033[32m"; /* green */
	case PV_TCP_TIME_WAIT:
	case PV_TCP_CLOSE_WAIT:
		return "\033[33m"; /* yellow */
	case PV_TCP_LISTEN:
		return "\033[34m"; /* blue */
	case PV_TCP_SYN_SENT:
	case PV_TCP_SYN_RECV:
	case PV_TCP_NEW_SYN_RECV:
		return "\033[36m"; /* cyan */
	default:
		return NULL;
	}
}

static const char *class_color(uint8_t cls, bool ephemeral)
{
	if (ephemeral)
		return "\033[2m"; /* dim: a port the kernel picked */
	switch (cls) {
	case PV_CLASS_WELL_KNOWN:
		return "\033[1m"; /* bold */
	case PV_CLASS_DYNAMIC:
		return "\033[35m"; /* magenta */
	default:
		return NULL;
	}
}

static const char *state_row_color(const struct pv_row *r)
{
	return state_color(&r->s);
}

static const char *local_port_color(const struct pv_row *r)
{
	return class_color(r->local_class, r->local_ephemeral);
}

static const char *foreign_port_color(const struct pv_row *r)
{
	return class_color(r->remote_class, false);
}

/* Which option shows a column. */
enum show {
	ALWAYS,
	IF_NETNS,     /* --all-netns */
	IF_OWNER,     /* -o */
	IF_PROGRAM,   /* -p */
	IF_UNIT,      /* --unit */
	IF_EXTENDED,  /* -e */
	IF_RATES,     /* the interval mode with -i */
	IF_INFO,      /* -i */
	IF_ANNOTATED, /* not --plain */
};

static bool shown(enum show when, const struct pv_table_opts *o)
{
	switch (when) {
	case IF_NETNS:
		return o->netns;
	case IF_OWNER:
		return o->owner;
	case IF_PROGRAM:
		return o->program;
	case IF_UNIT:
		return o->unit;
	case IF_EXTENDED:
		return o->extended;
	case IF_RATES:
		return o->rates;
	case IF_INFO:
		return o->info;
	case IF_ANNOTATED:
		return !o->plain;
	default:
		return true;
	}
}

/*
 * The columns, in the order shown.  A column's text is fixed (text: Proto,
 * State) or formatted (cell); a TCP internals' column shows '-' where the
 * kernel did not give the fields it needs (not TCP, TIME_WAIT, an older
 * kernel).  min_width: Windows netstat's column starts, for the first
 * ones.  quick_width: the cell's width when known without formatting it
 * (else SIZE_MAX; the TCP internals' columns have info_widths).  color: the cell's SGR colour, or
 * NULL.  ascii: every cell is digits and ASCII signs, a column a byte (no width to work out).
 */
static const struct column {
	const char *title;
	size_t min_width;
	enum show show;
	const char *(*text)(const struct pv_row *r);
	void (*cell)(struct pv_buf *b, const struct cell *x);
	size_t (*quick_width)(const struct pv_row *r, const struct pv_table_opts *o);
	const char *(*color)(const struct pv_row *r);
	bool ascii;
	uint8_t note; /* a port's annotation, formatted once per table (note_text) */
} columns[NCOLS] = {
    [COL_NETNS] = {N_("Netns"), 0, IF_NETNS, .cell = cell_netns},
    [COL_PROTO] = {N_("Proto"), 7, ALWAYS, .text = proto_text},
    [COL_LOCAL] = {N_("Local Address"), 23, ALWAYS, .cell = cell_local,
		   .quick_width = endpoint_width},
    [COL_FOREIGN] = {N_("Foreign Address"), 23, ALWAYS, .cell = cell_foreign,
		     .quick_width = endpoint_width},
    [COL_STATE] = {N_("State"), 16, ALWAYS, .text = state_text, .color = state_row_color},
    [COL_PID] = {N_("PID"), 8, IF_OWNER, .cell = cell_pid},
    [COL_PROGRAM] = {N_("PID/Program name"), 0, IF_PROGRAM, .cell = cell_program},
    [COL_UNIT] = {N_("Unit"), 0, IF_UNIT, .cell = cell_unit},
    [COL_USER] = {N_("User"), 0, IF_EXTENDED, .cell = cell_user},
    [COL_INODE] = {N_("Inode"), 0, IF_EXTENDED, .cell = cell_inode, .ascii = true},
    [COL_RECVQ] = {N_("Recv-Q"), 0, IF_EXTENDED, .cell = cell_recvq, .ascii = true},
    [COL_SENDQ] = {N_("Send-Q"), 0, IF_EXTENDED, .cell = cell_sendq, .ascii = true},
    [COL_TIMER] = {N_("Timer"), 0, IF_EXTENDED, .cell = cell_timer},
    [COL_SEND_RATE] = {N_("Send/s"), 0, IF_RATES, .cell = cell_send_rate, .ascii = true},
    [COL_RECV_RATE] = {N_("Recv/s"), 0, IF_RATES, .cell = cell_recv_rate, .ascii = true},
    [COL_RTT] = {N_("RTT ms"), 0, IF_INFO, .cell = cell_rtt, .ascii = true},
    [COL_CWND] = {N_("Cwnd"), 0, IF_INFO, .cell = cell_cwnd, .ascii = true},
    [COL_SENT] = {N_("Sent"), 0, IF_INFO, .cell = cell_sent, .ascii = true},
    [COL_ACKED] = {N_("Acked"), 0, IF_INFO, .cell = cell_acked, .ascii = true},
    [COL_RCVD] = {N_("Rcvd"), 0, IF_INFO, .cell = cell_rcvd, .ascii = true},
    [COL_SEGS] = {N_("Segs out/in"), 0, IF_INFO, .cell = cell_segs, .ascii = true},
    [COL_RETRANS] = {N_("Retrans"), 0, IF_INFO, .cell = cell_retrans, .ascii = true},
    [COL_DELIVERY] = {N_("Delivery"), 0, IF_INFO, .cell = cell_delivery, .ascii = true},
    [COL_IDLE] = {N_("Idle ms"), 0, IF_INFO, .cell = cell_idle, .ascii = true},
    [COL_LOCAL_PORT] = {N_("Local Port"), 0, IF_ANNOTATED, .cell = cell_local_port,
			.color = local_port_color, .note = NOTE_LOCAL},
    [COL_FOREIGN_PORT] = {N_("Foreign Port"), 0, IF_ANNOTATED, .cell = cell_foreign_port,
			  .color = foreign_port_color, .note = NOTE_FOREIGN},
};

/* The layout of a table: which columns, how wide. */
struct layout {
	bool on[NCOLS];
	size_t width[NCOLS];
	size_t indent;
	bool condense;	  /* owner lists as the lowest PID and a count */
	bool marks;	  /* the indent holds the '+', '~', '-' marks: it stays */
	size_t title_gap; /* the spaces after a netstat column's title, at least */
};

/* The widest cell of each column (titles included), both ways for owners. */
struct measure {
	size_t content[NCOLS];
	size_t title[NCOLS];	    /* the titles' own widths */
	size_t owners_condensed[2]; /* COL_PID, COL_PROGRAM condensed, for fit() */
};

static size_t row_width(const struct layout *lay, const struct measure *m)
{
	size_t w = lay->indent;
	int last = NCOLS - 1;
	while (last > 0 && !lay->on[last])
		last--;
	for (int c = 0; c <= last; c++)
		if (lay->on[c])
			w += c == last ? m->content[c] : lay->width[c];
	return w;
}

/*
 * Column widths: the content and a space, at least Windows netstat's
 * unless compact; there, a title and its gap (two spaces, one when
 * fitting: a translated title may be wider, プロトコル, as Japanese
 * Windows prints it).
 */
static void set_widths(struct layout *lay, const struct measure *m, bool compact)
{
	for (int c = 0; c < NCOLS; c++) {
		size_t w = m->content[c] + 1;
		size_t min = columns[c].min_width;
		if (min && m->title[c] + lay->title_gap > min)
			min = m->title[c] + lay->title_gap;
		if (!compact && w < min)
			w = min;
		lay->width[c] = w;
	}
}

/*
 * Fit a table to the terminal's width (o->width): leave out the Foreign
 * Port annotations, then the Local Port ones, then condense owner lists,
 * then a space less after a wide (translated) title, then drop the
 * netstat columns' padding to their content, then the TCP
 * internals' columns (-i) but the rates, then the indent (unless it holds
 * the marks of what changed).  Never a netstat column and never an
 * address: a table whose addresses alone are wider stays wider.
 */
static void fit(struct layout *lay, struct measure *m, const struct pv_table_opts *o)
{
	if (!o->width)
		return;
	if (row_width(lay, m) > o->width)
		lay->on[COL_FOREIGN_PORT] = false;
	if (row_width(lay, m) > o->width)
		lay->on[COL_LOCAL_PORT] = false;
	if (row_width(lay, m) > o->width && !lay->condense &&
	    (lay->on[COL_PID] || lay->on[COL_PROGRAM])) {
		lay->condense = true;
		m->content[COL_PID] = m->owners_condensed[0];
		m->content[COL_PROGRAM] = m->owners_condensed[1];
		set_widths(lay, m, false);
	}
	if (row_width(lay, m) > o->width) {
		lay->title_gap = 1;
		set_widths(lay, m, false);
	}
	if (row_width(lay, m) > o->width)
		set_widths(lay, m, true);
	/* Then the TCP internals, the least telling first; the rates stay. */
	static const int drop[] = {COL_SEGS,  COL_DELIVERY, COL_IDLE, COL_RETRANS, COL_CWND,
				   COL_ACKED, COL_SENT,	    COL_RCVD, COL_RTT};
	for (size_t i = 0; i < ARRAY_SIZE(drop) && row_width(lay, m) > o->width; i++)
		lay->on[drop[i]] = false;
	if (row_width(lay, m) > o->width && !lay->marks)
		lay->indent = 0;
}

/* Row k of what a frame shows, and the view it is a row of. */
static const struct pv_view *frame_row(const struct pv_frame *f, size_t k, struct pv_row *r,
				       uint8_t *change)
{
	if (!f->rows) {
		pv_view_row(f->cur, k, r);
		*change = PV_CHANGE_NONE;
		return f->cur;
	}
	const struct pv_watch_row *w = &f->rows[k];
	const struct pv_view *v = w->change == PV_CHANGE_CLOSED ? f->prev : f->cur;
	pv_view_row(v, w->index, r);
	if (w->change == PV_CHANGE_CLOSED)
		r->rate = (struct pv_rate){0}; /* gone: no rate now, not the last one */
	*change = w->change;
	return v;
}

/* A whole row's colour for what changed (TCPView's), and its mark without colour. */
static const char *const change_color[] = {
    [PV_CHANGE_NEW] = "\033[30;42m",	/* black on green */
    [PV_CHANGE_STATE] = "\033[30;43m",	/* black on yellow */
    [PV_CHANGE_CLOSED] = "\033[97;41m", /* white on red */
};
static const char change_mark[] = {[PV_CHANGE_NONE] = ' ',
				   [PV_CHANGE_NEW] = '+',
				   [PV_CHANGE_STATE] = '~',
				   [PV_CHANGE_CLOSED] = '-'};

/*
 * A port's annotation ("https well-known", "- dynamic ephemeral") as
 * formatted, with its width: the same few dozen for a busy host's 100,000
 * rows, so each table formats one once and then copies it.
 */
#define NOTES	 32
#define NOTE_MAX 64
struct note {
	const struct pv_service *svc;
	uint8_t cls;
	bool ephemeral;
	bool used;
	uint8_t len, width;
	char text[NOTE_MAX];
};

/* A table being rendered: its layout, its widths, its scratch buffers. */
struct table {
	const struct pv_table_opts *o;
	struct layout lay;
	struct measure m;
	int last; /* the last column shown: no padding after it */
	struct pv_buf cell, row;
	struct pv_ifcache ifc;	 /* portview's namespace's interface names */
	struct pv_ifcache other; /* another namespace's interfaces: their numbers */
	struct note notes[NOTES];
} __attribute__((aligned(64))); /* threads' tables side by side share no cache line */

static void table_init(struct table *t, const struct pv_table_opts *o)
{
	*t = (struct table){
	    .o = o,
	    .lay =
		{
		    .indent = 2,
		    /* -W and -e list every owner; a terminal may condense them still (fit) */
		    .condense = !o->wide && !o->extended,
		    .marks = o->changes && !o->color,
		    .title_gap = 2,
		},
	};
	for (int c = 0; c < NCOLS; c++) {
		t->lay.on[c] = shown(columns[c].show, o);
		const char *title = _(columns[c].title);
		t->m.content[c] = t->m.title[c] = pv_text_width(title, strlen(title));
	}
	t->m.owners_condensed[0] = t->m.content[COL_PID];
	t->m.owners_condensed[1] = t->m.content[COL_PROGRAM];
	pv_buf_init(&t->cell);
	pv_buf_init(&t->row);
	pv_ifcache_init(&t->ifc);
	pv_ifcache_init(&t->other);
	t->other.numeric = true;
}

static void table_free(struct table *t)
{
	pv_buf_free(&t->cell);
	pv_buf_free(&t->row);
}

/* The cells' context for row r of view v. */
static struct cell row_cells(struct table *t, const struct pv_row *r, const struct pv_view *v)
{
	/* interface names in portview's namespace, numbers in another */
	struct pv_ifcache *ifc = r->netns && !r->netns->own ? &t->other : &t->ifc;
	return (struct cell){r, v, t->o, t->lay.condense, ifc};
}

/* Column c of a row: its text and length (a formatted cell's in t->cell). */
static const char *cell_text(struct table *t, int c, const struct cell *x, size_t *len)
{
	if (columns[c].text) {
		const char *text = columns[c].text(x->r);
		*len = strlen(text);
		return text;
	}
	t->cell.len = 0;
	columns[c].cell(&t->cell, x);
	*len = t->cell.len;
	return t->cell.data;
}

/*
 * Row r's annotation of its local (NOTE_LOCAL) or foreign port: its text,
 * length and width, from the table's notes where it fits one, else
 * formatted in t->cell.
 */
static const char *note_text(struct table *t, const struct pv_row *r, uint8_t which, size_t *len,
			     size_t *width)
{
	bool local = which == NOTE_LOCAL;
	const struct pv_service *svc = local ? r->local_service : r->remote_service;
	uint8_t cls = local ? r->local_class : r->remote_class;
	bool ephemeral = local && r->local_ephemeral;
	struct note *n =
	    &t->notes[((uintptr_t)svc / sizeof(*svc) * 7 + cls * 2u + ephemeral) % NOTES];
	if (!n->used || n->svc != svc || n->cls != cls || n->ephemeral != ephemeral) {
		t->cell.len = 0;
		pv_annotation_text(&t->cell, svc, cls, ephemeral);
		size_t w = pv_text_width(t->cell.data, t->cell.len);
		if (t->cell.len > NOTE_MAX || w > UINT8_MAX) {
			*len = t->cell.len;
			*width = w;
			return t->cell.data;
		}
		*n =
		    (struct note){svc, cls, ephemeral, true, (uint8_t)t->cell.len, (uint8_t)w, {0}};
		memcpy(n->text, t->cell.data, t->cell.len);
	}
	*len = n->len;
	*width = n->width;
	return n->text;
}

/*
 * Widen the columns shown to row r's cells (owner cells both ways if the
 * table may be fitted); with w, each shown column's cell width into it, in
 * column order.
 */
static void measure_row(struct table *t, const struct pv_row *r, const struct pv_view *v,
			uint16_t *w_out)
{
	bool may_condense = t->o->width && !t->lay.condense;
	struct cell x = row_cells(t, r, v);
	size_t info[NINFO];
	if (t->o->info)
		info_widths(r->s.info, info);
	for (int c = 0; c < NCOLS; c++) {
		if (!t->lay.on[c])
			continue;
		size_t len, w = c >= COL_RTT && c <= COL_IDLE ? info[c - COL_RTT]
				: columns[c].quick_width      ? columns[c].quick_width(r, t->o)
							      : SIZE_MAX;
		if (columns[c].note) {
			note_text(t, r, columns[c].note, &len, &w);
		} else if (w == SIZE_MAX) {
			const char *text = cell_text(t, c, &x, &len);
			w = columns[c].text || columns[c].ascii ? len : pv_text_width(text, len);
		}
		if (w > t->m.content[c])
			t->m.content[c] = w;
		if (w_out)
			*w_out++ = w > UINT16_MAX ? UINT16_MAX : (uint16_t)w;
		if (may_condense && (c == COL_PID || c == COL_PROGRAM)) {
			struct cell condensed = x;
			condensed.condense = true;
			const char *text = cell_text(t, c, &condensed, &len);
			w = pv_text_width(text, len);
			size_t *full = &t->m.owners_condensed[c - COL_PID];
			if (w > *full)
				*full = w;
		}
	}
}

/*
 * Two passes, formatting each cell twice: once to measure the column
 * widths, once to print.  Formatting is cheaper than holding every cell
 * of a 100,000-row table in memory.
 */
static void measure(struct table *t, const struct pv_frame *f, size_t nrows)
{
	struct pv_row r;
	uint8_t change;
	for (size_t k = 0; k < nrows; k++) {
		const struct pv_view *v = frame_row(f, k, &r, &change);
		measure_row(t, &r, v, NULL);
	}
	set_widths(&t->lay, &t->m, false);
	fit(&t->lay, &t->m, t->o);
	t->last = NCOLS - 1;
	while (!t->lay.on[t->last])
		t->last--;
}

static void put_header(struct pv_buf *out, const struct table *t)
{
	if (t->o->no_header)
		return;
	if (!t->o->no_title)
		pv_buf_printf(out, "\n%s\n\n", _("Active Connections"));
	pv_buf_pad(out, ' ', t->lay.indent);
	for (int c = 0; c <= t->last; c++) {
		if (!t->lay.on[c])
			continue;
		const char *title = _(columns[c].title);
		size_t n = strlen(title);
		pv_buf_add(out, title, n);
		if (c != t->last)
			pv_buf_pad(out, ' ', t->lay.width[c] - pv_text_width(title, n));
	}
	pv_buf_putc(out, '\n');
}

/*
 * Row r's line, its newline included, appended to row: a buffer that is
 * not a sink (a sink may write out part of the line, padding that is
 * then trimmed included).
 */
/*
 * A row's TCP internals' cells shown (uncoloured, ASCII), each padded to
 * its column unless the last, written straight into row in one go.
 * Returns the last column written.
 */
static int info_cells(const struct table *t, const struct pv_tcp_info *info, struct pv_buf *row)
{
	int end = t->last < COL_IDLE ? t->last : COL_IDLE;
	size_t room = 0;
	for (int c = COL_RTT; c <= end; c++)
		room += INFO_CELL_MAX + t->lay.width[c];
	char *start = pv_buf_reserve(row, room), *p = start;
	for (int c = COL_RTT; c <= end; c++) {
		if (!t->lay.on[c])
			continue;
		char *cell = p;
		p = put_info(p, c, info);
		if (c != t->last) {
			size_t pad = t->lay.width[c] - (size_t)(p - cell);
			memset(p, ' ', pad);
			p += pad;
		}
	}
	row->len += (size_t)(p - start);
	return end;
}

static void format_row_into(struct table *t, const struct pv_row *r, const struct pv_view *v,
			    uint8_t change, struct pv_buf *row)
{
	const struct pv_table_opts *o = t->o;
	/* a changed row is coloured whole, its cells' own colours left out */
	bool whole = o->changes && o->color && change != PV_CHANGE_NONE;
	size_t start = row->len;
	if (whole)
		pv_buf_puts(row, change_color[change]);
	pv_buf_pad(row, ' ', t->lay.indent);
	if (t->lay.marks)
		row->data[row->len - t->lay.indent] = change_mark[change];
	struct cell x = row_cells(t, r, v);
	for (int c = 0; c <= t->last; c++) {
		if (!t->lay.on[c])
			continue;
		if (c == COL_RTT) {
			c = info_cells(t, r->s.info, row);
			continue;
		}
		size_t len, width = 0;
		const char *color = columns[c].color ? columns[c].color(r) : NULL;
		bool colored = o->color && color && !whole;
		if (!columns[c].note && !columns[c].text && !colored) {
			/* formatted straight into the row: no copy from t->cell */
			size_t at = row->len;
			columns[c].cell(row, &x);
			len = row->len - at;
			width = columns[c].ascii ? len : pv_text_width(row->data + at, len);
		} else {
			const char *text = columns[c].note
					       ? note_text(t, r, columns[c].note, &len, &width)
					       : cell_text(t, c, &x, &len);
			if (!columns[c].note)
				width = columns[c].text || columns[c].ascii
					    ? len
					    : pv_text_width(text, len);
			if (colored && len) {
				pv_buf_puts(row, color);
				pv_buf_add(row, text, len);
				pv_buf_puts(row, "\033[0m");
			} else {
				pv_buf_add(row, text, len);
			}
		}
		if (c != t->last)
			pv_buf_pad(row, ' ', t->lay.width[c] - width);
	}
	/* An empty last cell (unconnected UDP's state) leaves padding. */
	while (row->len > start && row->data[row->len - 1] == ' ')
		row->len--;
	if (whole)
		pv_buf_puts(row, "\033[0m");
	pv_buf_putc(row, '\n');
}

/* Row r's line, its newline included, into t->row. */
static void format_row(struct table *t, const struct pv_row *r, const struct pv_view *v,
		       uint8_t change)
{
	t->row.len = 0;
	format_row_into(t, r, v, change, &t->row);
}

static void put_row(struct pv_buf *out, struct table *t, const struct pv_row *r,
		    const struct pv_view *v, uint8_t change)
{
	if (out->fd < 0) {
		/* straight into out: the line is not copied */
		format_row_into(t, r, v, change, out);
		return;
	}
	format_row(t, r, v, change);
	pv_buf_add(out, t->row.data, t->row.len);
}

void pv_render_table(struct pv_buf *out, const struct pv_view *v, const struct pv_table_opts *o)
{
	struct pv_frame f = {.cur = v};
	pv_render_frame(out, &f, o);
}

/* ---- a large table on several threads ---- */

/*
 * Rows go to the threads in chunks: measured in any order, formatted into
 * slots that the calling thread writes out in order.  A chunk's text is
 * some 17 KB at 130 bytes a row; a slot is reused once written, so a table
 * never has more than SLOTS_PER_THREAD chunks per thread in memory (with
 * 512 rows a chunk, they were a quarter of a megabyte of -an's peak RSS).
 */
#define CHUNK_ROWS	 128
#define SLOTS_PER_THREAD 2
#define MAX_SLOTS	 (SLOTS_PER_THREAD * PV_TABLE_THREADS_MAX)

/*
 * Slot c % nslots holds chunk c, from when it is taken until written out;
 * each on a cache line of its own, as each thread's table is: the length
 * of the buffer a thread writes into changes with every cell (the struct
 * is allocated on a line's boundary: render_parallel).
 */
struct slot {
	struct pv_buf text;
	bool ready; /* formatted */
} __attribute__((aligned(64)));

struct par {
	const struct pv_frame *f;
	size_t nrows, nchunks;
	struct table t[PV_TABLE_THREADS_MAX]; /* each thread's: t[0] the caller's */
	size_t next_measure;		      /* the next chunk to measure (atomic) */
	struct pv_buf *out;
	pthread_mutex_t mu; /* the rest */
	pthread_cond_t cv;
	size_t next;	/* the next chunk to format */
	size_t written; /* chunks written out */
	size_t nslots;
	struct slot slots[MAX_SLOTS];
};

static void format_chunk(struct table *t, const struct pv_frame *f, size_t chunk, size_t nrows,
			 struct pv_buf *into)
{
	size_t to = (chunk + 1) * CHUNK_ROWS < nrows ? (chunk + 1) * CHUNK_ROWS : nrows;
	struct pv_row r;
	uint8_t change;
	for (size_t k = chunk * CHUNK_ROWS; k < to; k++) {
		const struct pv_view *v = frame_row(f, k, &r, &change);
		put_row(into, t, &r, v, change);
	}
}

/* Worker w: chunks of rows measured into its own table's widths. */
static void measure_worker(void *arg, unsigned w)
{
	struct par *p = arg;
	struct pv_row r;
	uint8_t change;
	for (;;) {
		size_t c = __atomic_fetch_add(&p->next_measure, 1, __ATOMIC_RELAXED);
		if (c >= p->nchunks)
			break;
		size_t to = (c + 1) * CHUNK_ROWS < p->nrows ? (c + 1) * CHUNK_ROWS : p->nrows;
		for (size_t k = c * CHUNK_ROWS; k < to; k++) {
			const struct pv_view *v = frame_row(p->f, k, &r, &change);
			measure_row(&p->t[w], &r, v, NULL);
		}
	}
}

/*
 * The caller's part: the chunks written out in order, each formatted
 * straight into out when it is the next one, else into its slot (a chunk
 * is taken only while its slot is free, so it never waits on itself).
 * Threads that could not start leave it all to this one.
 */
static void write_chunks(struct par *p)
{
	pthread_mutex_lock(&p->mu);
	while (p->written < p->nchunks) {
		struct slot *s = &p->slots[p->written % p->nslots];
		if (s->ready) {
			pthread_mutex_unlock(&p->mu);
			pv_buf_add(p->out, s->text.data, s->text.len);
			pthread_mutex_lock(&p->mu);
			s->ready = false;
			p->written++;
			pthread_cond_broadcast(&p->cv);
		} else if (p->next < p->nchunks && p->next < p->written + p->nslots) {
			size_t c = p->next++;
			struct slot *to = &p->slots[c % p->nslots];
			pthread_mutex_unlock(&p->mu);
			if (c == p->written) {
				format_chunk(&p->t[0], p->f, c, p->nrows, p->out);
			} else {
				to->text.len = 0;
				format_chunk(&p->t[0], p->f, c, p->nrows, &to->text);
			}
			pthread_mutex_lock(&p->mu);
			if (c == p->written) {
				p->written++;
				pthread_cond_broadcast(&p->cv);
			} else {
				to->ready = true;
			}
		} else {
			pthread_cond_wait(&p->cv, &p->mu);
		}
	}
	pthread_mutex_unlock(&p->mu);
}

/* Worker w > 0: the next chunk whose slot is free, formatted into it. */
static void text_worker(void *arg, unsigned w)
{
	struct par *p = arg;
	if (w == 0) {
		write_chunks(p);
		return;
	}
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->next < p->nchunks && p->next >= p->written + p->nslots)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->next >= p->nchunks)
			break;
		size_t c = p->next++;
		struct slot *s = &p->slots[c % p->nslots];
		pthread_mutex_unlock(&p->mu);
		s->text.len = 0;
		format_chunk(&p->t[w], p->f, c, p->nrows, &s->text);
		pthread_mutex_lock(&p->mu);
		s->ready = true;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
}

/*
 * Whether rows can be formatted side by side: not where a cell fills a
 * cache of the view's as it is read (user names, -e; units and cgroups,
 * --unit).
 */
static bool parallel_fits(const struct pv_table_opts *o)
{
	return !o->extended && !o->unit;
}

static unsigned table_threads(const struct pv_table_opts *o, size_t nrows)
{
	if (!parallel_fits(o) || nrows <= CHUNK_ROWS)
		return 1;
	if (o->threads)
		return o->threads < PV_TABLE_THREADS_MAX ? o->threads : PV_TABLE_THREADS_MAX;
	if (nrows < PV_TABLE_PARALLEL_ROWS)
		return 1;
	/*
	 * The CPUs online, not those free this instant (/proc/loadavg counts
	 * whatever runs then): a thread that has not begun leaves its chunks to
	 * the others, so one kept waiting for a CPU costs a chunk at most.
	 */
	unsigned n = pv_cpus_online();
	return n < PV_TABLE_THREADS_MAX ? n : PV_TABLE_THREADS_MAX;
}

/* The table of n threads: the same text as one thread's, in the same order. */
static void render_parallel(struct pv_buf *out, const struct pv_frame *f,
			    const struct pv_table_opts *o, size_t nrows, unsigned n)
{
	/* on a cache line's boundary, so that its slots and tables keep to their own */
	struct par *p = xzalloc_aligned(64, sizeof(*p));
	p->f = f;
	p->nrows = nrows;
	p->nchunks = (nrows + CHUNK_ROWS - 1) / CHUNK_ROWS;
	p->out = out;
	p->nslots = (size_t)n * SLOTS_PER_THREAD;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (unsigned w = 0; w < n; w++)
		table_init(&p->t[w], o);
	for (size_t i = 0; i < p->nslots; i++)
		pv_buf_init(&p->slots[i].text);

	pv_parallel_run(n, measure_worker, p);
	struct table *t = &p->t[0];
	for (unsigned w = 1; w < n; w++) {
		for (int c = 0; c < NCOLS; c++)
			if (p->t[w].m.content[c] > t->m.content[c])
				t->m.content[c] = p->t[w].m.content[c];
		for (int i = 0; i < 2; i++)
			if (p->t[w].m.owners_condensed[i] > t->m.owners_condensed[i])
				t->m.owners_condensed[i] = p->t[w].m.owners_condensed[i];
	}
	set_widths(&t->lay, &t->m, false);
	fit(&t->lay, &t->m, o);
	t->last = NCOLS - 1;
	while (!t->lay.on[t->last])
		t->last--;
	for (unsigned w = 1; w < n; w++) {
		p->t[w].lay = t->lay;
		p->t[w].m = t->m;
		p->t[w].last = t->last;
	}
	put_header(out, t);
	pv_parallel_run(n, text_worker, p);

	for (unsigned w = 0; w < n; w++)
		table_free(&p->t[w]);
	for (size_t i = 0; i < p->nslots; i++)
		pv_buf_free(&p->slots[i].text);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

void pv_render_frame(struct pv_buf *out, const struct pv_frame *f, const struct pv_table_opts *o)
{
	size_t nrows = f->rows ? f->n : f->cur->l->n;
	unsigned n = table_threads(o, nrows);
	if (n > 1) {
		render_parallel(out, f, o, nrows, n);
		return;
	}
	struct table t;
	table_init(&t, o);
	measure(&t, f, nrows);
	put_header(out, &t);
	struct pv_row r;
	uint8_t change;
	for (size_t k = 0; k < nrows; k++) {
		const struct pv_view *v = frame_row(f, k, &r, &change);
		put_row(out, &t, &r, v, change);
	}
	table_free(&t);
}

/* ---- an interval display's table kept for the next refresh ---------------------------------- */

/* What the memo keeps of each row: what its text was made of, and where the text is. */
struct memo_row {
	uint64_t key; /* row_key; 0: not kept */
	uint32_t off, len;
};

struct pv_table_memo {
	bool valid;
	struct layout lay; /* the table's, whose widths every kept row's text has */
	size_t n, ncols;   /* its rows, and the columns shown */
	struct memo_row *rows;
	uint16_t *widths; /* ncols per row: each shown cell's width */
	struct pv_buf text;
	/* the table being rendered: its memo, swapped in at the end */
	struct memo_row *next_rows;
	uint16_t *next_widths;
	struct pv_buf next_text;
	size_t cap;
	size_t reused; /* rows the last table copied */
};

struct pv_table_memo *pv_table_memo_new(void)
{
	struct pv_table_memo *m = xcalloc(1, sizeof(*m));
	pv_buf_init(&m->text);
	pv_buf_init(&m->next_text);
	return m;
}

size_t pv_table_memo_reused(const struct pv_table_memo *m)
{
	return m->reused;
}

void pv_table_memo_free(struct pv_table_memo *m)
{
	if (!m)
		return;
	free(m->rows);
	free(m->widths);
	free(m->next_rows);
	free(m->next_widths);
	pv_buf_free(&m->text);
	pv_buf_free(&m->next_text);
	free(m);
}

/*
 * The tables whose rows' text depends on the row alone and the layout: no
 * terminal to fit, no colours or marks, no counters or rates that move by
 * themselves (-i, -e), numbers rather than names (which resolve late), one
 * namespace's interfaces.
 */
static bool memo_fits(const struct pv_table_opts *o)
{
	return !o->width && !o->color && !o->changes && !o->info && !o->rates && !o->extended &&
	       !o->unit && !o->netns && o->numeric;
}

static bool layout_same(const struct layout *a, const struct layout *b)
{
	for (int c = 0; c < NCOLS; c++)
		if (a->on[c] != b->on[c] || (a->on[c] && a->width[c] != b->width[c]))
			return false;
	return a->indent == b->indent && a->condense == b->condense && a->marks == b->marks &&
	       a->title_gap == b->title_gap;
}

/*
 * Everything a row's text is made of but the layout, as a hash: the
 * kernel's facts the cells show, the owners (PIDs, and program names when
 * shown), the annotations.  A row bound to a device (its interface's name
 * may change) is never kept: 0.
 */
static uint64_t row_key(const struct pv_row *r, const struct pv_view *v, bool program)
{
	if (r->s.ifindex)
		return 0;
	struct {
		uint8_t proto, family, state, lclass, rclass, leph, unknown;
		int8_t v6only;
		uint16_t lport, rport;
		uint32_t netns, owners;
		uint8_t laddr[16], raddr[16];
		const struct pv_service *lsvc, *rsvc;
	} k;
	memset(&k, 0, sizeof(k));
	k.proto = r->s.proto;
	k.family = r->s.family;
	k.state = r->s.state;
	k.lclass = r->local_class;
	k.rclass = r->remote_class;
	k.leph = r->local_ephemeral;
	k.unknown = r->owners_unknown;
	k.v6only = r->s.v6only;
	k.lport = r->s.local.port;
	k.rport = r->s.remote.port;
	k.netns = r->s.netns;
	k.owners = v->has_owners ? r->owner_count : 0;
	memcpy(k.laddr, r->s.local.addr, sizeof(k.laddr));
	memcpy(k.raddr, r->s.remote.addr, sizeof(k.raddr));
	k.lsvc = r->local_service;
	k.rsvc = r->remote_service;
	/* a word at a time: a byte at a time was a third of a refresh's copy */
	_Static_assert(sizeof(k) % 8 == 0, "the key is whole words");
	uint64_t h = 0x70767274, word;
	for (size_t i = 0; i < sizeof(k); i += 8) {
		memcpy(&word, (const char *)&k + i, 8);
		h = pv_hash64(h ^ word);
	}
	for (uint32_t i = 0; i < k.owners; i++) {
		const struct pv_owner *o = &v->owners.owners[r->owner_first + i];
		h = pv_hash64(h ^ (uint32_t)o->pid);
		if (program) {
			const struct pv_process *p = &v->owners.procs[o->proc];
			h = pv_hash_bytes(p->comm, p->comm_len, h);
		}
	}
	return h ? h : 1;
}

/* The kept row that row i (its key) copies, matched by cookie; NULL: formatted afresh. */
static const struct memo_row *kept(const struct pv_table_memo *m, const uint32_t *match, size_t i,
				   uint64_t key)
{
	uint32_t k = match && m->valid ? match[i] : 0;
	return k && k - 1 < m->n && key && m->rows[k - 1].key == key ? &m->rows[k - 1] : NULL;
}

/* Room for n rows of ncols in both tables' arrays, the kept one's rows kept. */
static void memo_room(struct pv_table_memo *m, size_t n, size_t ncols)
{
	if (ncols != m->ncols)
		m->valid = false; /* its widths are of other columns */
	if (n + 1 <= m->cap && ncols == m->ncols)
		return;
	size_t cap = n + 1 + (n + 1) / 4, per = ncols ? ncols : 1;
	m->rows = xreallocarray(m->rows, cap, sizeof(*m->rows));
	m->widths = xreallocarray(m->widths, cap * per, sizeof(*m->widths));
	m->next_rows = xreallocarray(m->next_rows, cap, sizeof(*m->next_rows));
	m->next_widths = xreallocarray(m->next_widths, cap * per, sizeof(*m->next_widths));
	m->cap = cap;
	m->ncols = ncols;
}

void pv_render_table_again(struct pv_buf *out, const struct pv_view *v,
			   const struct pv_table_opts *o, struct pv_table_memo *m,
			   const uint32_t *match)
{
	if (!m || !memo_fits(o)) {
		if (m) {
			m->valid = false;
			m->reused = 0;
		}
		pv_render_table(out, v, o);
		return;
	}
	size_t n = v->l->n, ncols = 0;
	struct table t;
	table_init(&t, o);
	for (int c = 0; c < NCOLS; c++)
		ncols += t.lay.on[c];
	memo_room(m, n, ncols);
	/* each row's key, and its widths: kept ones read, the others measured */
	struct pv_row r;
	for (size_t i = 0; i < n; i++) {
		pv_view_row(v, i, &r);
		struct memo_row *nr = &m->next_rows[i];
		uint16_t *w = &m->next_widths[i * ncols];
		nr->key = row_key(&r, v, o->program);
		const struct memo_row *old = kept(m, match, i, nr->key);
		if (old) {
			memcpy(w, &m->widths[(size_t)(old - m->rows) * ncols], ncols * sizeof(*w));
			for (int c = 0; c < NCOLS; c++) {
				if (!t.lay.on[c])
					continue;
				if (*w > t.m.content[c])
					t.m.content[c] = *w;
				w++;
			}
		} else {
			measure_row(&t, &r, v, w);
		}
	}
	set_widths(&t.lay, &t.m, false);
	fit(&t.lay, &t.m, o);
	t.last = NCOLS - 1;
	while (!t.lay.on[t.last])
		t.last--;
	bool reuse = m->valid && layout_same(&t.lay, &m->lay);
	put_header(out, &t);
	struct pv_buf *next = &m->next_text;
	next->len = 0;
	m->reused = 0;
	for (size_t i = 0; i < n; i++) {
		struct memo_row *nr = &m->next_rows[i];
		const struct memo_row *old = reuse ? kept(m, match, i, nr->key) : NULL;
		const char *text;
		size_t len;
		if (old) {
			text = m->text.data + old->off;
			len = old->len;
			m->reused++;
		} else {
			pv_view_row(v, i, &r);
			format_row(&t, &r, v, PV_CHANGE_NONE);
			text = t.row.data;
			len = t.row.len;
		}
		pv_buf_add(out, text, len);
		nr->off = (uint32_t)next->len;
		nr->len = (uint32_t)len;
		pv_buf_add(next, text, len);
	}
	table_free(&t);
	/* this table is the one kept now */
	struct memo_row *rows = m->rows;
	uint16_t *widths = m->widths;
	m->rows = m->next_rows;
	m->widths = m->next_widths;
	m->next_rows = rows;
	m->next_widths = widths;
	struct pv_buf text = m->text;
	m->text = m->next_text;
	m->next_text = text;
	m->n = n;
	m->lay = t.lay;
	m->valid = m->text.len < UINT32_MAX; /* offsets of 32 bits */
}
