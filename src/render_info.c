/* The information views: --ranges and --lookup. */
#include "portview/format.h"
#include "portview/render_info.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <string.h>

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
