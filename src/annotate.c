#include "portview/annotate.h"
#include "portview/buf.h"
#include "portview/format.h"

#include <string.h>

void pv_annotate(struct pv_socklist *l, const struct pv_services *svc,
		 const struct pv_ephemeral *eph)
{
	for (size_t i = 0; i < l->n; i++) {
		struct pv_sock *s = &l->v[i];
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
