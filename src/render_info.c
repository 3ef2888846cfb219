/* The information views: --ranges and --lookup. */
#include "i18n.h"
#include "portview/format.h"
#include "portview/render_info.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <string.h>

/* Pad the line begun at line_start to a column (display columns: translated text). */
static void pad_to(struct pv_buf *out, size_t line_start, size_t column)
{
	size_t used = pv_text_width(out->data + line_start, out->len - line_start);
	pv_buf_pad(out, ' ', used < column ? column - used : 1);
}

/*
 * --ranges' titles, and where each column starts: these columns at the
 * least, further where a translated title and two spaces need it
 * (開始ポート and ポート数, as netsh's Japanese dynamicport view says).
 */
static void ranges_header(struct pv_buf *out, size_t col[7])
{
	static const char *const title[] = {N_("Proto"),    N_("Range"),  N_("Start"), N_("Ports"),
					    N_("Reserved"), N_("In Use"), N_("Used")};
	static const size_t least[] = {2, 9, 24, 31, 38, 48, 56};
	pv_buf_printf(out, "\n%s\n\n", _("Local Port Ranges"));
	size_t line = out->len;
	col[0] = least[0];
	for (size_t k = 0; k < 7; k++) {
		const char *t = _(title[k]);
		if (k) {
			size_t after =
			    col[k - 1] + pv_text_width(_(title[k - 1]), strlen(_(title[k - 1])));
			col[k] = least[k] - least[k - 1] + col[k - 1];
			if (col[k] < after + 2)
				col[k] = after + 2;
		}
		pad_to(out, line, col[k]);
		pv_buf_puts(out, t);
	}
	pv_buf_putc(out, '\n');
}

void pv_render_ranges(struct pv_buf *out, const struct pv_range_use *rows, size_t n)
{
	size_t col[7];
	ranges_header(out, col);
	for (size_t i = 0; i < n; i++) {
		const struct pv_range_use *r = &rows[i];
		size_t line = out->len;
		pad_to(out, line, col[0]);
		pv_buf_puts(out, pv_proto_name(r->proto));
		pad_to(out, line, col[1]);
		pv_buf_puts(out, r->iana ? _("iana-dynamic") : _("ephemeral"));
		if (!r->known) {
			pad_to(out, line, col[2]);
			pv_buf_printf(out, "%s\n", _("unknown (ip_local_port_range unreadable)"));
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

/*
 * "  Class:      ": a label of --lookup, its value at column at: 14, or
 * where the widest translated label and a space end.
 */
static size_t label_column(void)
{
	const char *l[] = {_("Class:"), _("Ephemeral:")};
	size_t at = 14;
	for (size_t i = 0; i < 2; i++)
		if (2 + pv_text_width(l[i], strlen(l[i])) + 1 > at)
			at = 2 + pv_text_width(l[i], strlen(l[i])) + 1;
	return at;
}

static void label(struct pv_buf *out, const char *text, size_t at)
{
	size_t line = out->len;
	pv_buf_printf(out, "  %s", text);
	pad_to(out, line, at);
}

/*
 * What each class is; in a translation, also who uses it and why (the
 * lesson: a server listens on a well-known or registered port its
 * clients know; a client's own end takes a dynamic one for the moment).
 */
static const char *const class_note[] = {
    [PV_CLASS_WELL_KNOWN] = N_("0-1023, assigned by IANA"),
    [PV_CLASS_REGISTERED] = N_("1024-49151, registered with IANA"),
    [PV_CLASS_DYNAMIC] = N_("49152-65535, dynamic/private"),
};

void pv_render_lookup(struct pv_buf *out, const struct pv_lookup_port *ports, size_t n,
		      const struct pv_ephemeral *eph)
{
	static const uint8_t shown[] = {IPPROTO_TCP, IPPROTO_UDP};
	size_t at = label_column();
	for (size_t i = 0; i < n; i++) {
		const struct pv_lookup_port *p = &ports[i];
		enum pv_port_class cls = pv_port_class(p->port);
		if (i)
			pv_buf_putc(out, '\n');
		pv_buf_printf(out, _("Port %u\n"), p->port);
		label(out, _("Class:"), at);
		pv_buf_printf(out, "%s (%s)\n", _(pv_port_class_name(cls)), _(class_note[cls]));
		label(out, _("Ephemeral:"), at);
		if (!eph->known)
			pv_buf_printf(out, "%s\n", _("unknown (ip_local_port_range unreadable)"));
		else if (pv_port_is_reserved(eph, p->port))
			pv_buf_printf(out, "%s\n", _("no, reserved (ip_local_reserved_ports)"));
		else
			pv_buf_printf(out,
				      pv_port_is_ephemeral(eph, p->port)
					  ? _("yes (this host's range is %u-%u)\n")
					  : _("no (this host's range is %u-%u)\n"),
				      eph->lo, eph->hi);
		pv_buf_printf(out, "  %s\n", _("Services:"));
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
				pv_buf_printf(out, "%s\n", _("unassigned"));
			}
		}
	}
}
