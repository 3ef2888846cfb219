/* Annotating records with what their ports mean. */
#ifndef PORTVIEW_ANNOTATE_H
#define PORTVIEW_ANNOTATE_H

#include "portview/ports.h"
#include "portview/services.h"
#include "portview/sock.h"

/*
 * Fill a socket's service names, range classes and local ephemeral mark.
 * A port of 0 (a listener's or an unconnected socket's foreign side) has no
 * class and no service.
 */
void pv_annotate_sock(struct pv_sock *s, const struct pv_services *svc,
		      const struct pv_ephemeral *eph);

/*
 * What a renderer reads: the stored records, and what to add to each when
 * it is read.  The annotations, owners and host names are worked out per
 * read rather than stored, which keeps a record at 32 bytes.
 */
struct pv_owner_table;
struct pv_names;
struct pv_view {
	const struct pv_socklist *l;
	const struct pv_services *services; /* NULL: no annotations */
	const struct pv_ephemeral *ephemeral;
	const struct pv_owner_table *owners; /* NULL: owners were not looked up */
	const struct pv_names *names;	     /* NULL: no host names */
};
/* Record i with everything the view adds. */
void pv_view_get(const struct pv_view *v, size_t i, struct pv_sock *out);

/* Append the annotation cell text: "https well-known", "- dynamic ephemeral". */
struct pv_buf;
void pv_annotation_text(struct pv_buf *out, const struct pv_service *svc, uint8_t cls,
			bool ephemeral);
/* The width on screen of that text, without writing it. */
size_t pv_annotation_width(const struct pv_service *svc, uint8_t cls, bool ephemeral);

#endif
