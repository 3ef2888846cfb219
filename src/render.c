#include "portview/render.h"
#include "portview/format.h"
#include "portview/state.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

enum col { COL_PROTO, COL_LOCAL, COL_FOREIGN, COL_STATE, COL_PID, COL_PROGRAM, NCOLS };

static const struct {
	const char *title;
	size_t min_width; /* Windows netstat's column starts */
} columns[NCOLS] = {
    [COL_PROTO] = {"Proto", 7},
    [COL_LOCAL] = {"Local Address", 23},
    [COL_FOREIGN] = {"Foreign Address", 23},
    [COL_STATE] = {"State", 16},
    [COL_PID] = {"PID", 8},
    [COL_PROGRAM] = {"PID/Program name", 0},
};

struct cell {
	uint32_t off, len;
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

static void add_cell(struct pv_buf *arena, struct cell *c, size_t start)
{
	c->off = (uint32_t)start;
	c->len = (uint32_t)(arena->len - start);
}

void pv_render_table(struct pv_buf *out, const struct pv_socklist *l,
		     const struct pv_owner_table *owners, const struct pv_options *o)
{
	bool on[NCOLS] = {true, true, true, true, o->owner, o->program};
	int last = NCOLS - 1;
	while (!on[last])
		last--;

	size_t width[NCOLS];
	for (int c = 0; c < NCOLS; c++) {
		width[c] = columns[c].min_width;
		if (width[c] < strlen(columns[c].title) + 1)
			width[c] = strlen(columns[c].title) + 1;
	}

	/* First pass: every variable cell into one arena, measuring widths. */
	struct pv_buf arena;
	pv_buf_init(&arena);
	struct cell *cells = xreallocarray(NULL, l->n ? l->n : 1, sizeof(struct cell) * NCOLS);
	struct pv_ifcache ifc;
	pv_ifcache_init(&ifc);

	for (size_t r = 0; r < l->n; r++) {
		const struct pv_sock *s = &l->v[r];
		struct cell *row = &cells[r * NCOLS];
		size_t start;

		char *p = pv_buf_reserve(&arena, 2 * PV_ENDPOINT_MAX);
		size_t n = pv_format_endpoint(p, s->family, &s->local, s->ifindex, &ifc);
		row[COL_LOCAL] = (struct cell){(uint32_t)arena.len, (uint32_t)n};
		arena.len += n;

		start = arena.len;
		if (s->proto == IPPROTO_UDP && s->state == PV_TCP_CLOSE)
			pv_buf_puts(&arena, "*:*");
		else
			arena.len += pv_format_endpoint(arena.data + arena.len, s->family,
							&s->remote, s->ifindex, &ifc);
		add_cell(&arena, &row[COL_FOREIGN], start);

		if (on[COL_PID]) {
			start = arena.len;
			owner_cell(&arena, s, owners, false);
			add_cell(&arena, &row[COL_PID], start);
		}
		if (on[COL_PROGRAM]) {
			start = arena.len;
			owner_cell(&arena, s, owners, true);
			add_cell(&arena, &row[COL_PROGRAM], start);
		}
		for (int c = COL_LOCAL; c < NCOLS; c++) {
			if (!on[c] || c == COL_STATE)
				continue;
			size_t w = pv_text_width(arena.data + row[c].off, row[c].len) + 1;
			if (w > width[c])
				width[c] = w;
		}
	}
	/* State names are at most 12 characters, inside the minimum width. */

	pv_buf_puts(out, "\nActive Connections\n\n");
	size_t line = out->len;
	pv_buf_puts(out, "  ");
	for (int c = 0; c <= last; c++) {
		if (!on[c])
			continue;
		pv_buf_puts(out, columns[c].title);
		if (c != last)
			pv_buf_pad(out, ' ', width[c] - strlen(columns[c].title));
	}
	pv_buf_putc(out, '\n');
	(void)line;

	for (size_t r = 0; r < l->n; r++) {
		const struct pv_sock *s = &l->v[r];
		const struct cell *row = &cells[r * NCOLS];
		line = out->len;
		pv_buf_puts(out, "  ");
		for (int c = 0; c <= last; c++) {
			if (!on[c])
				continue;
			const char *text;
			size_t len, w;
			if (c == COL_PROTO) {
				text = s->proto == IPPROTO_TCP ? "TCP" : "UDP";
				len = w = 3;
			} else if (c == COL_STATE) {
				text = pv_state_display(s->proto, s->state);
				len = w = strlen(text);
			} else {
				text = arena.data + row[c].off;
				len = row[c].len;
				w = pv_text_width(text, len);
			}
			pv_buf_add(out, text, len);
			if (c != last)
				pv_buf_pad(out, ' ', width[c] - w);
		}
		/* An empty last cell (unconnected UDP's state) leaves padding. */
		while (out->len > line && out->data[out->len - 1] == ' ')
			out->len--;
		pv_buf_putc(out, '\n');
	}

	free(cells);
	pv_buf_free(&arena);
}
