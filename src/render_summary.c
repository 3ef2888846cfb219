/* The summary (-s) as text: small tables, each under a title. */
#include "i18n.h"
#include "portview/format.h"
#include "portview/render_summary.h"
#include "portview/state.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a table of cells, columns as wide as their widest cell ---------------------------- */

#define TAB_COLS 8

struct cell {
	size_t off, len;
	const char *color; /* NULL: none */
};

struct tab {
	size_t ncols;
	struct pv_buf text; /* every cell's text, one after the other */
	struct cell *cells; /* row-major */
	size_t n, cap;
};

static void tab_init(struct tab *t, size_t ncols)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	pv_buf_init(&t->text);
}

static void tab_free(struct tab *t)
{
	pv_buf_free(&t->text);
	free(t->cells);
}

/* Start a cell; its text is what is appended to t->text until the next. */
static void tab_start(struct tab *t, const char *color)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->cells = xreallocarray(t->cells, t->cap, sizeof(*t->cells));
	}
	if (t->n)
		t->cells[t->n - 1].len = t->text.len - t->cells[t->n - 1].off;
	t->cells[t->n++] = (struct cell){.off = t->text.len, .color = color};
}

__attribute__((format(printf, 3, 4))) static void tab_cell(struct tab *t, const char *color,
							   const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	tab_start(t, color);
	pv_buf_add(&t->text, tmp,
		   n < 0		     ? 0
		   : (size_t)n < sizeof(tmp) ? (size_t)n
					     : sizeof(tmp) - 1);
}

static void tab_print(struct pv_buf *out, struct tab *t, bool color)
{
	size_t width[TAB_COLS] = {0};
	if (t->n)
		t->cells[t->n - 1].len = t->text.len - t->cells[t->n - 1].off;
	for (size_t i = 0; i < t->n; i++) {
		const struct cell *c = &t->cells[i];
		size_t w = pv_text_width(t->text.data + c->off, c->len);
		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	struct pv_buf row;
	pv_buf_init(&row);
	for (size_t r = 0; r < t->n / t->ncols; r++) {
		row.len = 0;
		pv_buf_puts(&row, "  ");
		for (size_t k = 0; k < t->ncols; k++) {
			const struct cell *c = &t->cells[r * t->ncols + k];
			const char *text = t->text.data + c->off;
			if (color && c->color && c->len) {
				pv_buf_puts(&row, c->color);
				pv_buf_add(&row, text, c->len);
				pv_buf_puts(&row, "\033[0m");
			} else {
				pv_buf_add(&row, text, c->len);
			}
			if (k + 1 < t->ncols)
				pv_buf_pad(&row, ' ', width[k] + 2 - pv_text_width(text, c->len));
		}
		while (row.len > 0 && row.data[row.len - 1] == ' ')
			row.len--;
		pv_buf_putc(&row, '\n');
		pv_buf_add(out, row.data, row.len);
	}
	pv_buf_free(&row);
}

/* ---- the sections --------------------------------------------------------------------- */

static void title(struct pv_buf *out, const char *text)
{
	pv_buf_printf(out, "\n%s\n\n", text);
}

static uint32_t family_sum(const struct pv_summary *s, int p, int f)
{
	uint32_t n = 0;
	for (int st = 0; st < PV_SUMMARY_STATES; st++)
		n += s->sockets[p][f][st];
	return n;
}

static void sockets_section(struct pv_buf *out, const struct pv_summary *s, bool color)
{
	static const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
	static const char *const classes[] = {N_("well-known"), N_("registered"), N_("dynamic")};
	struct tab t;

	title(out, _("Socket Summary"));
	tab_init(&t, 4);
	tab_cell(&t, NULL, "%s", _("Proto"));
	tab_cell(&t, NULL, "%s", _("Sockets"));
	tab_cell(&t, NULL, "IPv4");
	tab_cell(&t, NULL, "IPv6");
	uint32_t all[2] = {0, 0};
	for (int p = 0; p < 2; p++) {
		uint32_t v4 = family_sum(s, p, 0), v6 = family_sum(s, p, 1);
		all[0] += v4;
		all[1] += v6;
		if (v4 + v6 == 0)
			continue;
		tab_cell(&t, NULL, "%s", pv_proto_name(protos[p]));
		tab_cell(&t, NULL, "%u", v4 + v6);
		tab_cell(&t, NULL, "%u", v4);
		tab_cell(&t, NULL, "%u", v6);
	}
	tab_cell(&t, NULL, "%s", _("All"));
	tab_cell(&t, NULL, "%u", all[0] + all[1]);
	tab_cell(&t, NULL, "%u", all[0]);
	tab_cell(&t, NULL, "%u", all[1]);
	tab_print(out, &t, color);
	tab_free(&t);
	if (s->total == 0)
		return;

	pv_buf_putc(out, '\n');
	tab_init(&t, 5);
	tab_cell(&t, NULL, "%s", _("Proto"));
	tab_cell(&t, NULL, "%s", _("State"));
	tab_cell(&t, NULL, "%s", _("Sockets"));
	tab_cell(&t, NULL, "IPv4");
	tab_cell(&t, NULL, "IPv6");
	for (int p = 0; p < 2; p++) {
		for (int st = 0; st < PV_SUMMARY_STATES; st++) {
			uint32_t v4 = s->sockets[p][0][st], v6 = s->sockets[p][1][st];
			if (v4 + v6 == 0)
				continue;
			tab_cell(&t, NULL, "%s", pv_proto_name(protos[p]));
			tab_cell(&t, NULL, "%s", pv_summary_state_name(protos[p], (uint8_t)st));
			tab_cell(&t, NULL, "%u", v4 + v6);
			tab_cell(&t, NULL, "%u", v4);
			tab_cell(&t, NULL, "%u", v6);
		}
	}
	tab_print(out, &t, color);
	tab_free(&t);

	pv_buf_putc(out, '\n');
	tab_init(&t, 2);
	tab_cell(&t, NULL, "%s", _("Local Port"));
	tab_cell(&t, NULL, "%s", _("Sockets"));
	for (size_t c = 0; c < ARRAY_SIZE(classes); c++) {
		tab_cell(&t, NULL, "%s", _(classes[c]));
		tab_cell(&t, NULL, "%u", s->classes[PV_CLASS_WELL_KNOWN + c]);
	}
	tab_cell(&t, NULL, "%s", _("ephemeral"));
	tab_cell(&t, NULL, "%u", s->ephemeral);
	tab_print(out, &t, color);
	tab_free(&t);
}

static const char *level_color(enum pv_pressure_level l)
{
	switch (l) {
	case PV_PRESSURE_CRITICAL:
		return "\033[1;31m"; /* bold red */
	case PV_PRESSURE_WARNING:
		return "\033[33m"; /* yellow */
	default:
		return NULL;
	}
}

/* part of whole in tenths of a percent, rounded half up, as text: "80.0%". */
static void percent(char *out, size_t size, uint32_t part, uint32_t whole)
{
	uint32_t pm =
	    whole ? (uint32_t)(((uint64_t)part * 2000 + whole) / (2 * (uint64_t)whole)) : 0;
	snprintf(out, size, "%u.%u%%", pm / 10, pm % 10);
}

static void pressure_section(struct pv_buf *out, const struct pv_summary *s, bool color)
{
	title(out, _("Ephemeral Port Pressure"));
	if (!s->range_known) {
		pv_buf_printf(out, "  %s\n", _("Range unknown (ip_local_port_range unreadable)"));
		return;
	}
	pv_buf_printf(out,
		      _("  Range %u-%u: %u ports, %u reserved, %u available to each destination\n"),
		      s->lo, s->hi, (unsigned)(s->hi - s->lo + 1), s->reserved, s->available);
	if (s->ngroups == 0) {
		pv_buf_printf(out, "  %s\n", _("No connections from ephemeral ports"));
		return;
	}
	pv_buf_putc(out, '\n');
	struct tab t;
	tab_init(&t, 7);
	static const char *const head[] = {N_("Proto"),	 N_("Local Address"), N_("Foreign Address"),
					   N_("In Use"), N_("Pressure"),      "TIME_WAIT",
					   N_("Level")};
	for (size_t k = 0; k < ARRAY_SIZE(head); k++)
		tab_cell(&t, NULL, "%s", _(head[k]));
	size_t shown = s->ngroups < PV_SUMMARY_TOP ? s->ngroups : PV_SUMMARY_TOP;
	for (size_t i = 0; i < shown; i++) {
		const struct pv_pressure_group *g = &s->groups[i];
		enum pv_pressure_level level = pv_pressure_level(g);
		const char *c = level_color(level);
		char addr[INET6_ADDRSTRLEN], ep[PV_ENDPOINT_MAX], pct[16], bar[16];
		struct pv_endpoint remote = {.port = g->rport};
		memcpy(remote.addr, g->raddr, 16);
		inet_ntop(g->family, g->laddr, addr, sizeof(addr));
		pv_format_endpoint(ep, g->family, &remote, 0, NULL);
		percent(pct, sizeof(pct), g->in_use, g->available);
		/* ten cells, each a tenth of the available ports, full only when used */
		uint32_t fill =
		    g->available ? (uint32_t)((uint64_t)g->in_use * 10 / g->available) : 0;
		for (uint32_t k = 0; k < 10; k++)
			bar[k] = k < fill ? '#' : '.';
		bar[10] = '\0';
		tab_cell(&t, NULL, "%s", pv_proto_name(g->proto));
		tab_cell(&t, NULL, "%s", addr);
		tab_cell(&t, NULL, "%s", ep);
		tab_cell(&t, NULL, "%u/%u", g->in_use, g->available);
		tab_cell(&t, c, "%s [%s]", pct, bar);
		percent(pct, sizeof(pct), g->time_wait, g->in_use);
		tab_cell(&t, NULL, "%u (%s)", g->time_wait, pct);
		tab_cell(&t, c, "%s", _(pv_pressure_level_name(level)));
	}
	tab_print(out, &t, color);
	tab_free(&t);
	if (s->ngroups > shown)
		pv_buf_printf(out, _("  (%zu more destinations)\n"), s->ngroups - shown);
}

static void programs_section(struct pv_buf *out, const struct pv_summary *s, bool color)
{
	title(out, _("Top Programs"));
	if (!s->owners_known) {
		pv_buf_printf(out, "  %s\n", _("Owners not looked up"));
		return;
	}
	if (s->nprograms) {
		struct tab t;
		tab_init(&t, 3);
		tab_cell(&t, NULL, "%s", _("Sockets"));
		tab_cell(&t, NULL, "%s", _("Program"));
		tab_cell(&t, NULL, "%s", _("PIDs"));
		for (size_t i = 0; i < s->nprograms; i++) {
			const struct pv_summary_program *p = &s->programs[i];
			tab_cell(&t, NULL, "%u", p->sockets);
			tab_start(&t, NULL);
			pv_escape_text(&t.text, p->comm, p->comm_len);
			tab_start(&t, NULL);
			for (size_t k = 0; k < p->npids && k < 5; k++)
				pv_buf_printf(&t.text, "%s%d", k ? "," : "", (int)p->pids[k]);
			if (p->npids > 5)
				pv_buf_printf(&t.text, _(" and %zu more"), p->npids - 5);
		}
		tab_print(out, &t, color);
		tab_free(&t);
	}
	if (s->programs_total > s->nprograms)
		pv_buf_printf(out, _("  (%zu more programs)\n"), s->programs_total - s->nprograms);
	pv_buf_printf(out, _("  Sockets without an owner: %zu%s\n"), s->unowned,
		      s->owners_partial ? _(" (some processes could not be seen)") : "");
}

static void ports_section(struct pv_buf *out, const struct pv_summary *s, bool color)
{
	title(out, _("Busiest Listening Ports"));
	if (s->nports == 0) {
		pv_buf_printf(out, "  %s\n", _("No connections to listening ports"));
		return;
	}
	struct tab t;
	tab_init(&t, 5);
	tab_cell(&t, NULL, "%s", _("Proto"));
	tab_cell(&t, NULL, "%s", _("Port"));
	tab_cell(&t, NULL, "%s", _("Service"));
	tab_cell(&t, NULL, "%s", _("Connections"));
	tab_cell(&t, NULL, "%s", _("Listener"));
	for (size_t i = 0; i < s->nports; i++) {
		const struct pv_summary_port *p = &s->ports[i];
		tab_cell(&t, NULL, "%s", pv_proto_name(p->proto));
		tab_cell(&t, NULL, "%u", p->port);
		tab_start(&t, NULL);
		if (p->service)
			pv_escape_text(&t.text, p->service->name, strlen(p->service->name));
		else
			pv_buf_putc(&t.text, '-');
		tab_cell(&t, NULL, "%u", p->connections);
		tab_start(&t, NULL);
		if (p->pid) {
			pv_buf_printf(&t.text, "%d/", (int)p->pid);
			pv_escape_text(&t.text, p->comm, p->comm_len);
		} else {
			pv_buf_putc(&t.text, '-');
		}
	}
	tab_print(out, &t, color);
	tab_free(&t);
	if (s->ports_total > s->nports)
		pv_buf_printf(out, _("  (%zu more ports)\n"), s->ports_total - s->nports);
}

void pv_render_summary(struct pv_buf *out, const struct pv_summary *s,
		       const struct pv_summary_opts *o)
{
	sockets_section(out, s, o->color);
	pressure_section(out, s, o->color);
	programs_section(out, s, o->color);
	ports_section(out, s, o->color);
}
