/*
 * -s: every socket of one snapshot per place with its owners, added up
 * (summary.c), then rendered as text, JSON or metrics; exit 3 when a
 * destination is above --fail-on-pressure.
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include "modes.h"
#include "program.h"
#include "portview/format.h"
#include "portview/render_json.h"
#include "portview/render_summary.h"
#include "portview/summary.h"

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Say which destination tripped --fail-on-pressure, for cron mail and logs. */
static void pressure_note(const struct pv_pressure_group *g, int pct, const char *where)
{
	char laddr[INET6_ADDRSTRLEN], remote[PV_ENDPOINT_MAX];
	struct pv_endpoint ep = {.port = g->rport};
	memcpy(ep.addr, g->raddr, sizeof(ep.addr));
	inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
	pv_format_endpoint(remote, g->family, &ep, 0, NULL);
	pv_err("%s%s%s %s -> %s uses %u of %u ephemeral ports, more than "
	       "--fail-on-pressure %d%%",
	       where ? where : "", where ? ": " : "", pv_proto_name(g->proto), laddr, remote,
	       g->in_use, g->available, pct);
}

/* One place's summary into out; whether a destination is above the threshold. */
static void summary_of(const struct pv_request *req, const struct pv_places *P, size_t i,
		       const struct timespec *t0, const struct pv_view *view, struct pv_buf *out,
		       int *pressure)
{
	struct pv_summary sum;
	pv_summary_build(&sum, view);
	if (P->multi && req->json)
		pv_place_json_open(out, P, i, "summary");
	else if (P->multi)
		pv_place_heading(out, &P->v[i]);
	if (req->metrics) {
		pv_render_summary_metrics(out, &sum, seconds_since(t0));
	} else if (req->json) {
		pv_render_summary_json(out, &sum);
	} else {
		struct pv_summary_opts o = {.color = req->table.color};
		pv_render_summary(out, &sum, &o);
	}
	if (P->multi && req->json)
		pv_buf_puts(out, i + 1 == P->n ? "}\n]\n" : "}");
	const struct pv_pressure_group *g =
	    req->fail_on_pressure >= 0 ? pv_summary_over(&sum, (unsigned)req->fail_on_pressure)
				       : NULL;
	if (g && *pressure == EXIT_OK) {
		pressure_note(g, req->fail_on_pressure, P->multi ? P->v[i].label : NULL);
		*pressure = EXIT_PRESSURE;
	}
	pv_summary_free(&sum);
}

int pv_mode_summary(const struct pv_request *req, const struct pv_services *svc,
		    struct pv_places *P)
{
	struct timespec t0;
	struct pv_buf out;
	int status = EXIT_OK, pressure = EXIT_OK;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pv_buf_init(&out);
	/* One summary per namespace: the pressure is a namespace's own. */
	for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
		struct pv_places one = pv_places_one(P, i);
		struct pv_socklist l;
		struct pv_view view;
		pv_socklist_init(&l);
		status = pv_take(req, &req->query, svc, &one, false, &l, &view);
		if (status == EXIT_OK)
			summary_of(req, P, i, &t0, &view, &out, &pressure);
		pv_view_free(&view);
		pv_socklist_free(&l);
	}
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	pv_buf_free(&out);
	return status == EXIT_OK ? pressure : status;
}
