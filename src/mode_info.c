/*
 * The information views: --ranges (the ephemeral ranges of each place
 * beside IANA's dynamic range, and how much of each is in use) and
 * --lookup (what a port is, and who uses it now).
 */
#include <netinet/in.h>

#include "modes.h"
#include "program.h"
#include "portview/ports.h"
#include "portview/render_info.h"
#include "portview/util.h"

/* One place's rows of --ranges: a snapshot of its sockets, counted per range. */
static int ranges_in(const struct pv_request *req, const struct pv_services *svc,
		     const struct pv_places *P, size_t i, struct pv_buf *out)
{
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	const struct pv_ephemeral *e = &P->v[i].facts.ephemeral;
	const struct pv_places one = pv_places_one(P, i);
	/* the sockets alone: no owners, nothing kept beside the records */
	const struct pv_gather_opts o = {.query = &req->query, .dump = &req->dump};
	struct pv_socklist l;
	struct pv_view view;

	pv_socklist_init(&l);
	int status = pv_take_with(req, &o, svc, &one, false, &l, &view);
	pv_view_free(&view);
	if (status != EXIT_OK) {
		pv_socklist_free(&l);
		return status;
	}
	struct pv_range_use rows[4];
	size_t n = 0;
	for (size_t p = 0; p < ARRAY_SIZE(protos); p++) {
		if (!pv_query_wants_proto(&req->query, protos[p]))
			continue;
		rows[n++] = (struct pv_range_use){
		    .proto = protos[p],
		    .known = e->known,
		    .start = e->lo,
		    .count = e->known ? (uint32_t)(e->hi - e->lo + 1) : 0,
		    .reserved = (int32_t)e->nreserved,
		    .in_use = e->known ? pv_ports_in_use(&l, protos[p], e->lo, e->hi, e) : 0,
		};
		rows[n++] = (struct pv_range_use){
		    .proto = protos[p],
		    .iana = true,
		    .known = true,
		    .start = PV_IANA_DYNAMIC_LO,
		    .count = PV_IANA_DYNAMIC_HI - PV_IANA_DYNAMIC_LO + 1,
		    .reserved = -1,
		    .in_use = pv_ports_in_use(&l, protos[p], PV_IANA_DYNAMIC_LO, PV_IANA_DYNAMIC_HI,
					      NULL),
		};
	}
	pv_socklist_free(&l);
	if (req->json)
		pv_render_ranges_json(out, rows, n);
	else
		pv_render_ranges(out, rows, n);
	return EXIT_OK;
}

int pv_mode_ranges(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct pv_buf out;
	pv_buf_init(&out);
	int status = EXIT_OK;
	for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
		if (P->multi && req->json)
			pv_place_json_open(&out, P, i, "ranges");
		else if (P->multi)
			pv_place_heading(&out, &P->v[i]);
		status = ranges_in(req, svc, P, i, &out);
		if (P->multi && req->json)
			pv_buf_puts(&out, i + 1 == P->n ? "}\n]\n" : "}");
	}
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}

int pv_mode_lookup(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct pv_buf out;
	pv_buf_init(&out);
	/* whether the port is ephemeral: in the first (portview's own) namespace */
	pv_render_lookup(&out, req->lookup.ports, req->lookup.nports, &P->v[0].facts.ephemeral);
	/*
	 * Who uses the port now: every process that holds each socket, as -W
	 * shows them.  The listing is a few rows: a shared listener is not
	 * condensed to "PID (+4)", nor the table fitted to the terminal.
	 */
	struct pv_table_opts o = req->table;
	o.wide = true;
	o.width = 0;
	int status = EXIT_OK;
	if (req->lookup_sockets)
		status = pv_list_into(req, svc, P, &o, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status;
}
