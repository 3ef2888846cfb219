/* Annotating records with what their ports mean. */
#ifndef PORTVIEW_ANNOTATE_H
#define PORTVIEW_ANNOTATE_H

#include "portview/ports.h"
#include "portview/services.h"
#include "portview/sock.h"

/*
 * Fill each record's service names, range classes and local ephemeral mark.
 * A port of 0 (a listener's or an unconnected socket's foreign side) has no
 * class and no service.
 */
void pv_annotate(struct pv_socklist *l, const struct pv_services *svc,
		 const struct pv_ephemeral *eph);

/* Append the annotation cell text: "https well-known", "- dynamic ephemeral". */
struct pv_buf;
void pv_annotation_text(struct pv_buf *out, const struct pv_service *svc, uint8_t cls,
			bool ephemeral);

#endif
