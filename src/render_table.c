/* The table renderer: the layout of Windows `netstat -no`, plus columns. */
#include "portview/format.h"
#include "portview/render.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum col {
	COL_PROTO,
	COL_LOCAL,
	COL_FOREIGN,
	COL_STATE,
	COL_PID,
	COL_PROGRAM,
	COL_USER,
	COL_INODE,
	COL_RECVQ,
	COL_SENDQ,
	COL_TIMER,
	COL_LOCAL_PORT,
	COL_FOREIGN_PORT,
	NCOLS
};

static const struct {
	const char *title;
	size_t min_width; /* Windows netstat's column starts for the first ones */
} columns[NCOLS] = {
    [COL_PROTO] = {"Proto", 7},
    [COL_LOCAL] = {"Local Address", 23},
    [COL_FOREIGN] = {"Foreign Address", 23},
    [COL_STATE] = {"State", 16},
    [COL_PID] = {"PID", 8},
    [COL_PROGRAM] = {"PID/Program name", 0},
    [COL_USER] = {"User", 0},
    [COL_INODE] = {"Inode", 0},
    [COL_RECVQ] = {"Recv-Q", 0},
    [COL_SENDQ] = {"Send-Q", 0},
    [COL_TIMER] = {"Timer", 0},
    [COL_LOCAL_PORT] = {"Local Port", 0},
    [COL_FOREIGN_PORT] = {"Foreign Port", 0},
};

/*
 * Distinct owner PIDs; owners of one socket are sorted by pid.  '-' for
 * none, '?' for an owner that could not be seen.
 */
static void owner_cell(struct pv_buf *arena, const struct pv_row *s, const struct pv_owner_table *t,
		       bool program)
{
	if (!t || s->owner_count == 0) {
		pv_buf_putc(arena, s->owners_unknown ? '?' : '-');
		return;
	}
	int32_t last = -1;
	for (uint32_t i = 0; i < s->owner_count; i++) {
		const struct pv_owner *o = &t->owners[s->owner_first + i];
		if (o->pid == last)
			continue;
		if (last != -1)
			pv_buf_putc(arena, ',');
		last = o->pid;
		pv_buf_printf(arena, "%d", (int)o->pid);
		if (program) {
			const struct pv_process *p = &t->procs[o->proc];
			pv_buf_putc(arena, '/');
			pv_escape_text(arena, p->comm, p->comm_len);
		}
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
	const struct pv_service *svc = o->numeric ? NULL
				       : local	  ? s->local_service
						  : s->remote_service;
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

/* The text of one variable cell (every column but Proto and State). */
static void format_cell(struct pv_buf *b, int col, const struct pv_row *r, const struct pv_view *v,
			const struct pv_table_opts *o, struct pv_ifcache *ifc)
{
	const struct pv_sock *s = &r->s;
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		endpoint_cell(b, r, col == COL_LOCAL, o, ifc);
		break;
	case COL_PID:
	case COL_PROGRAM:
		owner_cell(b, r, v->has_owners ? &v->owners : NULL, col == COL_PROGRAM);
		break;
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
	}
}

/*
 * A cell's width where it is known without formatting the cell, else
 * SIZE_MAX.  A numeric IPv4 endpoint is at most 21 characters
 * (255.255.255.255:65535), inside the column's minimum width, so it
 * cannot widen it.
 */
static size_t quick_width(int col, const struct pv_row *s, const struct pv_table_opts *o)
{
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		return o->numeric && s->s.family == AF_INET && !s->s.ifindex ? 0 : SIZE_MAX;
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

void pv_render_table(struct pv_buf *out, const struct pv_view *v, const struct pv_table_opts *o)
{
	const struct pv_socklist *l = v->l;
	struct pv_row s;
	bool x = o->extended, ann = !o->plain;
	bool on[NCOLS] = {true, true, true, true, o->owner, o->program, x, x, x, x, x, ann, ann};
	int last = NCOLS - 1;
	while (!on[last])
		last--;

	size_t width[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		width[c] = columns[c].min_width;
		if (width[c] < strlen(columns[c].title) + 1)
			width[c] = strlen(columns[c].title) + 1;
	}

	/*
	 * Two passes, formatting each cell twice: once to measure the column
	 * widths, once to print.  Formatting is cheaper than holding every cell
	 * of a 100,000-row table in memory.
	 */
	struct pv_buf cell, row;
	pv_buf_init(&cell);
	pv_buf_init(&row);
	struct pv_ifcache ifc;
	pv_ifcache_init(&ifc);

	for (size_t r = 0; r < l->n; r++) {
		pv_view_row(v, r, &s);
		for (int c = COL_LOCAL; c < NCOLS; c++) {
			if (!on[c] || c == COL_STATE)
				continue;
			size_t w = quick_width(c, &s, o);
			if (w == SIZE_MAX) {
				cell.len = 0;
				format_cell(&cell, c, &s, v, o, &ifc);
				w = pv_text_width(cell.data, cell.len);
			}
			if (w + 1 > width[c])
				width[c] = w + 1;
		}
	}
	/* State names are at most 12 characters, inside the minimum width. */

	if (!o->no_header) {
		pv_buf_puts(out, "\nActive Connections\n\n  ");
		for (int c = 0; c <= last; c++) {
			if (!on[c])
				continue;
			pv_buf_puts(out, columns[c].title);
			if (c != last)
				pv_buf_pad(out, ' ', width[c] - strlen(columns[c].title));
		}
		pv_buf_putc(out, '\n');
	}

	for (size_t r = 0; r < l->n; r++) {
		pv_view_row(v, r, &s);
		row.len = 0;
		pv_buf_puts(&row, "  ");
		for (int c = 0; c <= last; c++) {
			if (!on[c])
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
				format_cell(&cell, c, &s, v, o, &ifc);
				text = cell.data;
				len = cell.len;
				w = pv_text_width(text, len);
				if (c == COL_LOCAL_PORT)
					color = class_color(s.local_class, s.local_ephemeral);
				else if (c == COL_FOREIGN_PORT)
					color = class_color(s.remote_class, false);
			}
			if (o->color && color && len) {
				pv_buf_puts(&row, color);
				pv_buf_add(&row, text, len);
				pv_buf_puts(&row, "\033[0m");
			} else {
				pv_buf_add(&row, text, len);
			}
			if (c != last)
				pv_buf_pad(&row, ' ', width[c] - w);
		}
		/* An empty last cell (unconnected UDP's state) leaves padding. */
		while (row.len > 0 && row.data[row.len - 1] == ' ')
			row.len--;
		pv_buf_putc(&row, '\n');
		pv_buf_add(out, row.data, row.len);
	}

	pv_buf_free(&cell);
	pv_buf_free(&row);
}
