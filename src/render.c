#include "portview/render.h"
#include "portview/annotate.h"
#include "portview/format.h"
#include "portview/state.h"
#include "portview/users.h"
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

/* Distinct owner PIDs; owners of one socket are sorted by pid. */
static void owner_cell(struct pv_buf *arena, const struct pv_sock *s,
		       const struct pv_owner_table *t, bool program)
{
	if (!t || s->owner_count == 0) {
		pv_buf_putc(arena, '-');
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
 * port that only happens to share a number with a service).
 */
static void endpoint_cell(struct pv_buf *arena, const struct pv_sock *s, bool local,
			  const struct pv_options *o, struct pv_ifcache *ifc)
{
	const struct pv_endpoint *ep = local ? &s->local : &s->remote;
	if (!local && s->proto == IPPROTO_UDP && s->state == PV_TCP_CLOSE) {
		pv_buf_puts(arena, "*:*");
		return;
	}
	char *p = pv_buf_reserve(arena, PV_ENDPOINT_MAX);
	size_t n = pv_format_endpoint(p, s->family, ep, s->ifindex, ifc);
	if (o->numeric) {
		arena->len += n;
		return;
	}
	const char *host = local ? s->local_host : s->remote_host;
	const struct pv_service *svc = local ? s->local_service : s->remote_service;
	bool in_range = local ? s->local_ephemeral : s->remote_in_range;
	size_t colon = n;
	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (host) {
		pv_escape_text(arena, host, strlen(host));
		pv_buf_putc(arena, ':');
	} else {
		arena->len += colon; /* the numeric address and its ':' */
	}
	if (svc && !in_range) {
		pv_escape_text(arena, svc->name, strlen(svc->name));
	} else {
		char port[8];
		int len = snprintf(port, sizeof(port), "%u", ep->port);
		pv_buf_add(arena, port, (size_t)len);
	}
}

static const char *timer_name(uint8_t timer)
{
	switch (timer) {
	case 0:
		return "off";
	case 1:
		return "on";
	case 2:
		return "keepalive";
	case 3:
		return "timewait";
	case 4:
		return "probe";
	default:
		return "unknown";
	}
}

static void add_uint(struct pv_buf *b, uint32_t v)
{
	char *p = pv_buf_reserve(b, 10);
	b->len += pv_format_uint(p, v);
}

/* The text of one variable cell (every column but Proto and State). */
static void format_cell(struct pv_buf *b, int col, const struct pv_sock *s,
			const struct pv_owner_table *owners, struct pv_users *users,
			const struct pv_options *o, struct pv_ifcache *ifc)
{
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		endpoint_cell(b, s, col == COL_LOCAL, o, ifc);
		break;
	case COL_PID:
	case COL_PROGRAM:
		owner_cell(b, s, owners, col == COL_PROGRAM);
		break;
	case COL_USER: {
		const char *name = users ? pv_users_name(users, s->uid) : NULL;
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
		/* like netstat -o: the timer, seconds left and retransmits */
		pv_buf_printf(b, "%s (%u.%02u/%u)", timer_name(s->timer), s->expires / 1000,
			      s->expires % 1000 / 10, s->retrans);
		break;
	case COL_LOCAL_PORT:
		pv_annotation_text(b, s->local_service, s->local_class, s->local_ephemeral);
		break;
	case COL_FOREIGN_PORT:
		pv_annotation_text(b, s->remote_service, s->remote_class, false);
		break;
	}
}

/*
 * A cell's width where it is known without formatting the cell, else
 * SIZE_MAX.  A numeric IPv4 endpoint is at most 21 characters
 * (255.255.255.255:65535), inside the column's minimum width, so it
 * cannot widen it.
 */
static size_t quick_width(int col, const struct pv_sock *s, const struct pv_options *o)
{
	switch (col) {
	case COL_LOCAL:
	case COL_FOREIGN:
		return o->numeric && s->family == AF_INET ? 0 : SIZE_MAX;
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

void pv_render_table(struct pv_buf *out, const struct pv_view *v, struct pv_users *users,
		     const struct pv_options *o)
{
	const struct pv_socklist *l = v->l;
	const struct pv_owner_table *owners = v->owners;
	struct pv_sock s;
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
		pv_view_get(v, r, &s);
		for (int c = COL_LOCAL; c < NCOLS; c++) {
			if (!on[c] || c == COL_STATE)
				continue;
			size_t w = quick_width(c, &s, o);
			if (w == SIZE_MAX) {
				cell.len = 0;
				format_cell(&cell, c, &s, owners, users, o, &ifc);
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
		pv_view_get(v, r, &s);
		row.len = 0;
		pv_buf_puts(&row, "  ");
		for (int c = 0; c <= last; c++) {
			if (!on[c])
				continue;
			const char *text, *color = NULL;
			size_t len, w;
			if (c == COL_PROTO) {
				text = pv_proto_name(s.proto);
				len = w = strlen(text);
			} else if (c == COL_STATE) {
				text = pv_state_display(s.proto, s.state);
				len = w = strlen(text);
				color = state_color(&s);
			} else {
				cell.len = 0;
				format_cell(&cell, c, &s, owners, users, o, &ifc);
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

static void pad_to(struct pv_buf *out, size_t line_start, size_t column)
{
	size_t used = out->len - line_start;
	pv_buf_pad(out, ' ', used < column ? column - used : 1);
}

void pv_render_ranges(struct pv_buf *out, const struct pv_range_use *rows, size_t n)
{
	static const size_t col[] = {2, 9, 24, 31, 38, 48, 56};
	pv_buf_puts(out, "\nLocal Port Ranges\n\n");
	pv_buf_puts(out, "  Proto  Range          Start  Ports  Reserved  In Use  Used\n");
	for (size_t i = 0; i < n; i++) {
		const struct pv_range_use *r = &rows[i];
		size_t line = out->len;
		pad_to(out, line, col[0]);
		pv_buf_puts(out, pv_proto_name(r->proto));
		pad_to(out, line, col[1]);
		pv_buf_puts(out, r->iana ? "iana-dynamic" : "ephemeral");
		if (!r->known) {
			pad_to(out, line, col[2]);
			pv_buf_puts(out, "unknown (ip_local_port_range unreadable)\n");
			continue;
		}
		pad_to(out, line, col[2]);
		pv_buf_printf(out, "%u", r->start);
		pad_to(out, line, col[3]);
		pv_buf_printf(out, "%u", r->count);
		pad_to(out, line, col[4]);
		if (r->reserved < 0)
			pv_buf_putc(out, '-');
		else
			pv_buf_printf(out, "%d", r->reserved);
		pad_to(out, line, col[5]);
		pv_buf_printf(out, "%u", r->in_use);
		pad_to(out, line, col[6]);
		uint32_t usable = r->count - (uint32_t)(r->reserved > 0 ? r->reserved : 0);
		pv_buf_printf(out, "%.2f%%\n", usable ? 100.0 * r->in_use / usable : 0.0);
	}
}

static void lookup_entry(struct pv_buf *out, const struct pv_service *e)
{
	size_t line = out->len;
	/* lower-case protocol like /etc/services */
	pv_buf_printf(out, "    %u/%s", e->port, pv_proto_lname(e->proto));
	pad_to(out, line, 16);
	pv_escape_text(out, e->name, strlen(e->name));
	if (e->aliases[0]) {
		pv_buf_puts(out, " (");
		pv_escape_text(out, e->aliases, strlen(e->aliases));
		pv_buf_putc(out, ')');
	}
	pv_buf_puts(out, e->source == PV_SRC_ETC ? "  [/etc/services]" : "  [IANA]");
	if (e->description[0]) {
		pv_buf_puts(out, "\n                  ");
		pv_escape_text(out, e->description, strlen(e->description));
	}
	pv_buf_putc(out, '\n');
}

void pv_render_lookup(struct pv_buf *out, const struct pv_lookup_port *ports, size_t n,
		      const struct pv_ephemeral *eph)
{
	static const uint8_t shown[] = {IPPROTO_TCP, IPPROTO_UDP};
	for (size_t i = 0; i < n; i++) {
		const struct pv_lookup_port *p = &ports[i];
		enum pv_port_class cls = pv_port_class(p->port);
		if (i)
			pv_buf_putc(out, '\n');
		pv_buf_printf(out, "Port %u\n", p->port);
		pv_buf_printf(out, "  Class:      %s (%s)\n", pv_port_class_name(cls),
			      cls == PV_CLASS_WELL_KNOWN   ? "0-1023, assigned by IANA"
			      : cls == PV_CLASS_REGISTERED ? "1024-49151, registered with IANA"
							   : "49152-65535, dynamic/private");
		if (!eph->known)
			pv_buf_puts(out,
				    "  Ephemeral:  unknown (ip_local_port_range unreadable)\n");
		else if (pv_port_is_reserved(eph, p->port))
			pv_buf_printf(out,
				      "  Ephemeral:  no, reserved (ip_local_reserved_ports)\n");
		else
			pv_buf_printf(out, "  Ephemeral:  %s (this host's range is %u-%u)\n",
				      pv_port_is_ephemeral(eph, p->port) ? "yes" : "no", eph->lo,
				      eph->hi);
		pv_buf_puts(out, "  Services:\n");
		for (size_t j = 0; j < p->nentries; j++)
			lookup_entry(out, p->entries[j]);
		/* Say so for TCP and UDP when nothing is registered for them. */
		for (size_t k = 0; k < sizeof(shown) && !p->by_name; k++) {
			if (p->proto && p->proto != shown[k])
				continue;
			bool any = false;
			for (size_t j = 0; j < p->nentries; j++)
				any |= p->entries[j]->proto == shown[k];
			if (!any) {
				size_t line = out->len;
				pv_buf_printf(out, "    %u/%s", p->port, pv_proto_lname(shown[k]));
				pad_to(out, line, 16);
				pv_buf_puts(out, "unassigned\n");
			}
		}
	}
}
