/*
 * -s: every socket of one snapshot per place with its owners, added up
 * (summary.c), then rendered as text, JSON or metrics; exit 3 when a
 * destination is above --fail-on-pressure.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "modes.h"
#include "program.h"
#include "portview/format.h"
#include "portview/render_json.h"
#include "portview/render_summary.h"
#include "portview/summary.h"
#include "portview/buf.h"
#include "portview/units.h"

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

/* Say which destination is above --fail-on-pressure, once; whether one is. */
static void check_pressure(const struct pv_request *req, const struct pv_places *P, size_t i,
			   const struct pv_summary *sum, int *pressure)
{
	const struct pv_pressure_group *g =
	    req->fail_on_pressure >= 0 ? pv_summary_over(sum, (unsigned)req->fail_on_pressure)
				       : NULL;
	if (g && *pressure == EXIT_OK) {
		pressure_note(g, req->fail_on_pressure, P->multi ? P->v[i].label : NULL);
		*pressure = EXIT_PRESSURE;
	}
}

/* One place's summary into out (text, JSON, or the metrics of one place). */
static void summary_of(const struct pv_request *req, const struct pv_places *P, size_t i,
		       const struct timespec *t0, const struct pv_summary *sum, struct pv_buf *out)
{
	if (P->multi && req->json)
		pv_place_json_open(out, P, i, "summary");
	else if (P->multi)
		pv_place_heading(out, &P->v[i]);
	if (req->metrics) {
		pv_render_summary_metrics(out, sum, seconds_since(t0));
	} else if (req->json) {
		pv_render_summary_json(out, sum);
	} else {
		struct pv_summary_opts o = {.color = req->table.color};
		pv_render_summary(out, sum, &o);
	}
	if (P->multi && req->json)
		pv_buf_puts(out, i + 1 == P->n ? "}\n]\n" : "}");
}

/*
 * --metrics --all-netns: one scrape, each family once with a series per
 * namespace, labelled with its name and the unit or container of its
 * lowest process (none for the host's): a few labels per namespace,
 * never one per connection.
 */
static void metrics_of_all(const struct pv_request *req, const struct pv_places *P,
			   const struct timespec *t0, const struct pv_summary *sums,
			   struct pv_buf *out)
{
	struct pv_metrics_source *src = xreallocarray(NULL, P->n, sizeof(*src));
	char(*units)[PV_UNIT_NAME_MAX + 16] = xreallocarray(NULL, P->n, sizeof(*units));
	for (size_t i = 0; i < P->n; i++) {
		struct pv_unit u;
		const struct pv_netns *ns = &P->v[i].ns;
		units[i][0] = '\0';
		if (!ns->host && ns->pid && pv_unit_of_pid(req->proc_root, ns->pid, &u) &&
		    u.kind != PV_UNIT_NONE)
			pv_unit_label(&u, units[i], sizeof(units[i]));
		src[i] = (struct pv_metrics_source){
		    .s = &sums[i], .netns = P->v[i].label, .unit = units[i]};
	}
	pv_render_metrics(out, src, P->n, seconds_since(t0));
	free(units);
	free(src);
}

int pv_mode_summary(const struct pv_request *req, const struct pv_services *svc,
		    struct pv_places *P)
{
	struct timespec t0;
	struct pv_buf out;
	int status = EXIT_OK, pressure = EXIT_OK;
	bool one_scrape = req->metrics && P->multi;
	struct pv_summary *sums = xreallocarray(NULL, P->n ? P->n : 1, sizeof(*sums));
	size_t nsums = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pv_buf_init(&out);
	/* One summary per namespace: the pressure is a namespace's own. */
	for (size_t i = 0; i < P->n && status == EXIT_OK; i++) {
		struct pv_places one = pv_places_one(P, i);
		struct pv_socklist l;
		struct pv_view view;
		pv_socklist_init(&l);
		status = pv_take(req, &req->query, svc, &one, false, &l, &view);
		if (status == EXIT_OK) {
			pv_summary_build(&sums[nsums], &view);
			check_pressure(req, P, i, &sums[nsums], &pressure);
			if (!one_scrape)
				summary_of(req, P, i, &t0, &sums[nsums], &out);
			nsums++;
		}
		pv_view_free(&view);
		pv_socklist_free(&l);
		if (!one_scrape && nsums)
			pv_summary_free(&sums[--nsums]);
	}
	if (status == EXIT_OK && one_scrape)
		metrics_of_all(req, P, &t0, sums, &out);
	if (status == EXIT_OK)
		status = pv_write_out(&out, NULL);
	while (nsums)
		pv_summary_free(&sums[--nsums]);
	free(sums);
	pv_buf_free(&out);
	return status == EXIT_OK ? pressure : status;
}
