/* The table renderer: the layout of Windows `netstat -no`, plus columns. */
#include "portview/format.h"
#include "portview/render_table.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
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

static const struct {
	const char *title;
	size_t min_width; /* Windows netstat's column starts for the first ones */
} columns[NCOLS] = {
    [COL_NETNS] = {"Netns", 0},
    [COL_PROTO] = {"Proto", 7},
    [COL_LOCAL] = {"Local Address", 23},
    [COL_FOREIGN] = {"Foreign Address", 23},
    [COL_STATE] = {"State", 16},
    [COL_PID] = {"PID", 8},
    [COL_PROGRAM] = {"PID/Program name", 0},
    [COL_UNIT] = {"Unit", 0},
    [COL_USER] = {"User", 0},
    [COL_INODE] = {"Inode", 0},
    [COL_RECVQ] = {"Recv-Q", 0},
    [COL_SENDQ] = {"Send-Q", 0},
    [COL_TIMER] = {"Timer", 0},
    [COL_SEND_RATE] = {"Send/s", 0},
    [COL_RECV_RATE] = {"Recv/s", 0},
    [COL_RTT] = {"RTT ms", 0},
    [COL_CWND] = {"Cwnd", 0},
    [COL_SENT] = {"Sent", 0},
    [COL_ACKED] = {"Acked", 0},
    [COL_RCVD] = {"Rcvd", 0},
    [COL_SEGS] = {"Segs out/in", 0},
    [COL_RETRANS] = {"Retrans", 0},
    [COL_DELIVERY] = {"Delivery", 0},
    [COL_IDLE] = {"Idle ms", 0},
    [COL_LOCAL_PORT] = {"Local Port", 0},
    [COL_FOREIGN_PORT] = {"Foreign Port", 0},
};

/* One owner: its PID, and with program its name. */
static void owner_text(struct pv_buf *arena, const struct pv_owner_table *t,
		       const struct pv_owner *o, bool program)
{
	pv_buf_printf(arena, "%d", (int)o->pid);
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
	if (more)
		pv_buf_printf(arena, " (+%u)", more);
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

static void add_uint(struct pv_buf *b, uint32_t v)
{
	char *p = pv_buf_reserve(b, 10);
	b->len += pv_format_uint(p, v);
}

static void add_si(struct pv_buf *b, uint64_t v)
{
	char *p = pv_buf_reserve(b, PV_SI_MAX);
	b->len += pv_format_si(p, v);
}

/*
 * A TCP internals' cell, in ss -i's units written short: milliseconds,
 * segments, bytes (12.3k), bits per second; "-" where the kernel gave
 * nothing (not TCP, TIME_WAIT, an older kernel for that field).
 */
static void info_cell(struct pv_buf *b, int col, const struct pv_tcp_info *t)
{
	static const uint8_t needs[] = {
	    [COL_RTT] = PV_TI_BASE,	[COL_CWND] = PV_TI_BASE,	 [COL_SENT] = PV_TI_SENT,
	    [COL_ACKED] = PV_TI_BYTES,	[COL_RCVD] = PV_TI_BYTES,	 [COL_SEGS] = PV_TI_SEGS,
	    [COL_RETRANS] = PV_TI_BASE, [COL_DELIVERY] = PV_TI_DELIVERY, [COL_IDLE] = PV_TI_BASE,
	};
	if (!t || !(t->have & needs[col])) {
		pv_buf_putc(b, '-');
		return;
	}
	switch (col) {
	case COL_RTT: /* as ss: rtt/rttvar */
		pv_buf_printf(b, "%g/%g", t->rtt_us / 1000.0, t->rttvar_us / 1000.0);
		break;
	case COL_CWND:
		add_uint(b, t->snd_cwnd);
		break;
	case COL_SENT:
		add_si(b, t->bytes_sent);
		break;
	case COL_ACKED:
		add_si(b, t->bytes_acked);
		break;
	case COL_RCVD:
		add_si(b, t->bytes_received);
		break;
	case COL_SEGS:
		pv_buf_printf(b, "%u/%u", t->segs_out, t->segs_in);
		break;
	case COL_RETRANS: /* as ss: unacknowledged now/over the connection's life */
		pv_buf_printf(b, "%u/%u", t->retrans, t->total_retrans);
		break;
	case COL_DELIVERY:
		add_si(b, t->delivery_rate * 8);
		pv_buf_puts(b, "bps");
		break;
	case COL_IDLE:
		pv_buf_printf(b, "%u/%u", t->last_data_sent_ms, t->last_data_recv_ms);
		break;
	}
}

/* The text of one variable cell (every column but Proto and State). */
static void format_cell(struct pv_buf *b, int col, const struct pv_row *r, const struct pv_view *v,
			const struct pv_table_opts *o, bool condense, struct pv_ifcache *ifc)
{
	const struct pv_sock *s = &r->s;
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		endpoint_cell(b, r, col == COL_LOCAL, o, ifc);
		break;
	case COL_PID:
	case COL_PROGRAM:
		owner_cell(b, r, v->has_owners ? &v->owners : NULL, col == COL_PROGRAM, condense);
		break;
	case COL_NETNS:
		if (r->netns)
			pv_escape_text(b, r->netns->label, strlen(r->netns->label));
		else
			pv_buf_putc(b, '-');
		break;
	case COL_UNIT: {
		char label[PV_UNIT_NAME_MAX + 16];
		if (!r->unit)
			pv_buf_putc(b, '-');
		else {
			pv_unit_label(r->unit, label, sizeof(label));
			pv_escape_text(b, label, strlen(label));
		}
		break;
	}
	case COL_USER: {
		const char *name = pv_view_user(v, s->uid);
		if (name)
			pv_escape_text(b, name, strlen(name));
		else
			add_uint(b, s->uid);
		break;
	}
	case COL_INODE:
		add_uint(b, s->inode);
		break;
	case COL_RECVQ:
		add_uint(b, s->rqueue);
		break;
	case COL_SENDQ:
		add_uint(b, s->wqueue);
		break;
	case COL_TIMER:
		/* like netstat -o: the timer, seconds left, retransmissions, probes */
		pv_buf_printf(b, "%s (%u.%02u/%u/%u)", pv_timer_name(s->timer), s->expires / 1000,
			      s->expires % 1000 / 10, s->retrans, s->probes);
		break;
	case COL_LOCAL_PORT:
		pv_annotation_text(b, r->local_service, r->local_class, r->local_ephemeral);
		break;
	case COL_FOREIGN_PORT:
		pv_annotation_text(b, r->remote_service, r->remote_class, false);
		break;
	case COL_SEND_RATE:
	case COL_RECV_RATE:
		if (r->rate.known)
			add_si(b, col == COL_SEND_RATE ? r->rate.sent : r->rate.received);
		else
			pv_buf_putc(b, '-');
		break;
	default:
		info_cell(b, col, s->info);
		break;
	}
}

/*
 * A cell's width where it is known without formatting the cell, else
 * SIZE_MAX.  A numeric IPv4 endpoint is at most 21 characters
 * (255.255.255.255:65535), inside the column's minimum width, so it
 * cannot widen it; unless the table may be fitted to a terminal, where
 * the columns may shrink to their content.
 */
static size_t quick_width(int col, const struct pv_row *s, const struct pv_table_opts *o)
{
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		return o->numeric && s->s.family == AF_INET && !s->s.ifindex && !o->width
			   ? 0
			   : SIZE_MAX;
	case COL_LOCAL_PORT:
		return pv_annotation_width(s->local_service, s->local_class, s->local_ephemeral);
	case COL_FOREIGN_PORT:
		return pv_annotation_width(s->remote_service, s->remote_class, false);
	default:
		return SIZE_MAX;
	}
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

/* The layout of a table: which columns, how wide. */
struct layout {
	bool on[NCOLS];
	size_t width[NCOLS];
	size_t indent;
	bool condense; /* owner lists as the lowest PID and a count */
	bool marks;    /* the indent holds the '+', '~', '-' marks: it stays */
};

/* The widest cell of each column (titles included), both ways for owners. */
struct measure {
	size_t content[NCOLS];
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

/* Column widths: the content and a space, at least Windows netstat's unless compact. */
static void set_widths(struct layout *lay, const struct measure *m, bool compact)
{
	for (int c = 0; c < NCOLS; c++) {
		size_t w = m->content[c] + 1;
		if (!compact && w < columns[c].min_width)
			w = columns[c].min_width;
		lay->width[c] = w;
	}
}

/*
 * Fit a table to the terminal's width (o->width): leave out the Foreign
 * Port annotations, then the Local Port ones, then condense owner lists,
 * then drop the netstat columns' padding to their content, then the TCP
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

/* The interface names of a row: named in portview's namespace, numbers elsewhere. */
#define IFC(row) ((row)->netns && !(row)->netns->own ? &other : &ifc)

void pv_render_table(struct pv_buf *out, const struct pv_view *v, const struct pv_table_opts *o)
{
	struct pv_frame f = {.cur = v};
	pv_render_frame(out, &f, o);
}

void pv_render_frame(struct pv_buf *out, const struct pv_frame *f, const struct pv_table_opts *o)
{
	size_t nrows = f->rows ? f->n : f->cur->l->n;
	struct pv_row s;
	const struct pv_view *v;
	uint8_t change;
	bool x = o->extended, ann = !o->plain, i = o->info, r = o->rates;
	struct layout lay = {
	    .on =
		{
		    [COL_NETNS] = o->netns,
		    [COL_PROTO] = true,
		    [COL_LOCAL] = true,
		    [COL_FOREIGN] = true,
		    [COL_STATE] = true,
		    [COL_PID] = o->owner,
		    [COL_PROGRAM] = o->program,
		    [COL_UNIT] = o->unit,
		    [COL_USER] = x,
		    [COL_INODE] = x,
		    [COL_RECVQ] = x,
		    [COL_SENDQ] = x,
		    [COL_TIMER] = x,
		    [COL_SEND_RATE] = r,
		    [COL_RECV_RATE] = r,
		    [COL_RTT] = i,
		    [COL_CWND] = i,
		    [COL_SENT] = i,
		    [COL_ACKED] = i,
		    [COL_RCVD] = i,
		    [COL_SEGS] = i,
		    [COL_RETRANS] = i,
		    [COL_DELIVERY] = i,
		    [COL_IDLE] = i,
		    [COL_LOCAL_PORT] = ann,
		    [COL_FOREIGN_PORT] = ann,
		},
	    .indent = 2,
	    /* -W and -e list every owner; a terminal may condense them still (fit) */
	    .condense = !o->wide && !o->extended,
	    .marks = o->changes && !o->color,
	};
	struct measure m;
	for (int c = 0; c < NCOLS; c++)
		m.content[c] = strlen(columns[c].title);
	m.owners_condensed[0] = m.content[COL_PID];
	m.owners_condensed[1] = m.content[COL_PROGRAM];

	/*
	 * Two passes, formatting each cell twice: once to measure the column
	 * widths, once to print.  Formatting is cheaper than holding every cell
	 * of a 100,000-row table in memory.  Owner cells are measured both
	 * ways where the table may be fitted to a terminal.
	 */
	struct pv_buf cell, row;
	pv_buf_init(&cell);
	pv_buf_init(&row);
	struct pv_ifcache ifc;
	pv_ifcache_init(&ifc);
	struct pv_ifcache other; /* another namespace's interfaces: their numbers */
	pv_ifcache_init(&other);
	other.numeric = true;
	bool may_condense = o->width && !lay.condense;

	for (size_t k = 0; k < nrows; k++) {
		v = frame_row(f, k, &s, &change);
		size_t sw = strlen(pv_state_display(s.s.proto, s.s.state));
		if (sw > m.content[COL_STATE])
			m.content[COL_STATE] = sw;
		for (int c = 0; c < NCOLS; c++) {
			if (!lay.on[c] || c == COL_PROTO || c == COL_STATE)
				continue;
			size_t w = quick_width(c, &s, o);
			if (w == SIZE_MAX) {
				cell.len = 0;
				format_cell(&cell, c, &s, v, o, lay.condense, IFC(&s));
				w = pv_text_width(cell.data, cell.len);
			}
			if (w > m.content[c])
				m.content[c] = w;
			if (may_condense && (c == COL_PID || c == COL_PROGRAM)) {
				cell.len = 0;
				format_cell(&cell, c, &s, v, o, true, IFC(&s));
				w = pv_text_width(cell.data, cell.len);
				size_t *full = &m.owners_condensed[c - COL_PID];
				if (w > *full)
					*full = w;
			}
		}
	}
	set_widths(&lay, &m, false);
	fit(&lay, &m, o);
	int last = NCOLS - 1;
	while (!lay.on[last])
		last--;

	if (!o->no_header) {
		if (!o->no_title)
			pv_buf_puts(out, "\nActive Connections\n\n");
		pv_buf_pad(out, ' ', lay.indent);
		for (int c = 0; c <= last; c++) {
			if (!lay.on[c])
				continue;
			pv_buf_puts(out, columns[c].title);
			if (c != last)
				pv_buf_pad(out, ' ', lay.width[c] - strlen(columns[c].title));
		}
		pv_buf_putc(out, '\n');
	}

	for (size_t k = 0; k < nrows; k++) {
		v = frame_row(f, k, &s, &change);
		/* a changed row is coloured whole, its cells' own colours left out */
		bool whole = o->changes && o->color && change != PV_CHANGE_NONE;
		row.len = 0;
		if (whole)
			pv_buf_puts(&row, change_color[change]);
		pv_buf_pad(&row, ' ', lay.indent);
		if (lay.marks)
			row.data[row.len - lay.indent] = change_mark[change];
		for (int c = 0; c <= last; c++) {
			if (!lay.on[c])
				continue;
			const char *text, *color = NULL;
			size_t len, w;
			if (c == COL_PROTO) {
				text = pv_proto_name(s.s.proto);
				len = w = strlen(text);
			} else if (c == COL_STATE) {
				text = pv_state_display(s.s.proto, s.s.state);
				len = w = strlen(text);
				color = state_color(&s.s);
			} else {
				cell.len = 0;
				format_cell(&cell, c, &s, v, o, lay.condense, IFC(&s));
				text = cell.data;
				len = cell.len;
				w = pv_text_width(text, len);
				if (c == COL_LOCAL_PORT)
					color = class_color(s.local_class, s.local_ephemeral);
				else if (c == COL_FOREIGN_PORT)
					color = class_color(s.remote_class, false);
			}
			if (o->color && color && len && !whole) {
				pv_buf_puts(&row, color);
				pv_buf_add(&row, text, len);
				pv_buf_puts(&row, "\033[0m");
			} else {
				pv_buf_add(&row, text, len);
			}
			if (c != last)
				pv_buf_pad(&row, ' ', lay.width[c] - w);
		}
		/* An empty last cell (unconnected UDP's state) leaves padding. */
		while (row.len > 0 && row.data[row.len - 1] == ' ')
			row.len--;
		if (whole)
			pv_buf_puts(&row, "\033[0m");
		pv_buf_putc(&row, '\n');
		pv_buf_add(out, row.data, row.len);
	}

	pv_buf_free(&cell);
	pv_buf_free(&row);
}
