#include "portview/annotate.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/owners.h"
#include "portview/resolve.h"

#include <string.h>

void pv_annotate_sock(struct pv_sock *s, const struct pv_services *svc,
		      const struct pv_ephemeral *eph)
{
	if (s->local.port) {
		s->local_class = (uint8_t)pv_port_class(s->local.port);
		s->local_service = pv_services_by_port(svc, s->local.port, s->proto);
		s->local_ephemeral = pv_port_is_ephemeral(eph, s->local.port);
		s->ephemeral_unknown = !eph->known;
	}
	if (s->remote.port) {
		s->remote_class = (uint8_t)pv_port_class(s->remote.port);
		s->remote_service = pv_services_by_port(svc, s->remote.port, s->proto);
		s->remote_in_range = pv_port_is_ephemeral(eph, s->remote.port);
	}
}

void pv_view_get(const struct pv_view *v, size_t i, struct pv_sock *out)
{
	pv_socklist_get(v->l, i, out);
	if (v->services)
		pv_annotate_sock(out, v->services, v->ephemeral);
	if (v->owners)
		pv_owners_lookup(v->owners, out->inode, &out->owner_first, &out->owner_count);
	if (v->names) {
		out->local_host = pv_names_host(v->names, out->family, out->local.addr);
		out->remote_host = pv_names_host(v->names, out->family, out->remote.addr);
	}
}

void pv_annotation_text(struct pv_buf *out, const struct pv_service *svc, uint8_t cls,
			bool ephemeral)
{
	if (cls == PV_CLASS_NONE) {
		pv_buf_putc(out, '-');
		return;
	}
	if (svc)
		/* /etc/services is the administrator's, but still untrusted text */
		pv_escape_text(out, svc->name, strlen(svc->name));
	else
		pv_buf_putc(out, '-');
	pv_buf_putc(out, ' ');
	pv_buf_puts(out, pv_port_class_name((enum pv_port_class)cls));
	if (ephemeral)
		pv_buf_puts(out, " ephemeral");
}

size_t pv_annotation_width(const struct pv_service *svc, uint8_t cls, bool ephemeral)
{
	if (cls == PV_CLASS_NONE)
		return 1;
	size_t w = 1;
	if (svc) {
		/* printable ASCII but the backslash is shown as it is */
		const unsigned char *p = (const unsigned char *)svc->name;
		size_t n = strlen(svc->name);
		bool plain = true;
		for (size_t i = 0; i < n && plain; i++)
			plain = p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\';
		if (plain) {
			w = n;
		} else {
			struct pv_buf b;
			pv_buf_init(&b);
			pv_escape_text(&b, svc->name, n);
			w = pv_text_width(b.data, b.len);
			pv_buf_free(&b);
		}
	}
	w += 1 + strlen(pv_port_class_name((enum pv_port_class)cls));
	if (ephemeral)
		w += strlen(" ephemeral");
	return w;
}
