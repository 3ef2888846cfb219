/*
 * The summary as metrics (--metrics): the OpenMetrics text format, every
 * metric a gauge, which node_exporter's textfile collector and any
 * Prometheus text format parser read as well.
 */
#include "portview/format.h"
#include "portview/render_summary.h"
#include "portview/state.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

static void family(struct pv_buf *out, const char *name, const char *help)
{
	pv_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* The states each protocol always reports, zero included; others when seen. */
static bool usual_state(int p, int st)
{
	if (p == 1)
		return st == PV_TCP_ESTABLISHED || st == PV_TCP_CLOSE;
	return st >= PV_TCP_ESTABLISHED && st <= PV_TCP_CLOSING;
}

/* One series' name and labels: the place's (netns, unit), then its own. */
static void series(struct pv_buf *out, const char *name, const struct pv_metrics_source *m,
		   const char *own)
{
	const char *sep = "{";
	pv_buf_puts(out, name);
	if (m->netns) {
		pv_buf_puts(out, "{netns=");
		pv_metrics_label(out, m->netns, strlen(m->netns));
		sep = ",";
	}
	if (m->unit && m->unit[0]) {
		pv_buf_printf(out, "%sunit=", sep);
		pv_metrics_label(out, m->unit, strlen(m->unit));
		sep = ",";
	}
	if (own && own[0]) {
		pv_buf_printf(out, "%s%s", sep, own);
		sep = ",";
	}
	pv_buf_puts(out, sep[0] == ',' ? "} " : " ");
}

/* A destination's labels, into own (no user text: addresses and numbers). */
static void group_labels(char *own, size_t size, const struct pv_pressure_group *g)
{
	char laddr[INET6_ADDRSTRLEN], raddr[INET6_ADDRSTRLEN];
	inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
	inet_ntop(g->family, g->raddr, raddr, sizeof(raddr));
	snprintf(own, size, "proto=\"%s\",laddr=\"%s\",raddr=\"%s\",rport=\"%u\"",
		 pv_proto_lname(g->proto), laddr, raddr, g->rport);
}

static size_t shown_groups(const struct pv_summary *s)
{
	return s->ngroups < PV_SUMMARY_TOP ? s->ngroups : PV_SUMMARY_TOP;
}

static void sockets(struct pv_buf *out, const struct pv_metrics_source *m)
{
	static const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
	char own[96];
	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++)
			for (int st = 0; st < PV_SUMMARY_STATES; st++) {
				uint32_t n = m->s->sockets[p][f][st];
				if (!n && !usual_state(p, st))
					continue;
				snprintf(own, sizeof(own),
					 "proto=\"%s\",family=\"%s\",state=\"%s\"",
					 pv_proto_lname(protos[p]), f ? "ipv6" : "ipv4",
					 pv_summary_state_name(protos[p], (uint8_t)st));
				series(out, "portview_sockets", m, own);
				pv_buf_printf(out, "%u\n", n);
			}
}

static void classes(struct pv_buf *out, const struct pv_metrics_source *m)
{
	static const char *const names[] = {"well-known", "registered", "dynamic"};
	char own[32];
	for (size_t c = 0; c < ARRAY_SIZE(names); c++) {
		snprintf(own, sizeof(own), "class=\"%s\"", names[c]);
		series(out, "portview_local_port_sockets", m, own);
		pv_buf_printf(out, "%u\n", m->s->classes[PV_CLASS_WELL_KNOWN + c]);
	}
	series(out, "portview_local_port_sockets", m, "class=\"ephemeral\"");
	pv_buf_printf(out, "%u\n", m->s->ephemeral);
}

/* The three per-destination families: what of a group each shows. */
enum group_value { IN_USE, TIME_WAIT, RATIO };

static void groups(struct pv_buf *out, const struct pv_metrics_source *m, const char *name,
		   enum group_value v)
{
	char own[192];
	for (size_t i = 0; i < shown_groups(m->s); i++) {
		const struct pv_pressure_group *g = &m->s->groups[i];
		group_labels(own, sizeof(own), g);
		series(out, name, m, own);
		if (v == RATIO)
			pv_buf_printf(out, "%.6g\n", pv_pressure_ratio(g));
		else
			pv_buf_printf(out, "%u\n", v == IN_USE ? g->in_use : g->time_wait);
	}
}

static void programs(struct pv_buf *out, const struct pv_metrics_source *m)
{
	struct pv_buf own;
	pv_buf_init(&own);
	for (size_t i = 0; i < m->s->nprograms; i++) {
		const struct pv_summary_program *p = &m->s->programs[i];
		own.len = 0;
		pv_buf_puts(&own, "program=");
		pv_metrics_label(&own, p->comm, p->comm_len);
		pv_buf_putc(&own, '\0');
		series(out, "portview_program_sockets", m, own.data);
		pv_buf_printf(out, "%u\n", p->sockets);
	}
	pv_buf_free(&own);
}

static void ports(struct pv_buf *out, const struct pv_metrics_source *m)
{
	char own[48];
	for (size_t i = 0; i < m->s->nports; i++) {
		snprintf(own, sizeof(own), "proto=\"%s\",port=\"%u\"",
			 pv_proto_lname(m->s->ports[i].proto), m->s->ports[i].port);
		series(out, "portview_listening_port_connections", m, own);
		pv_buf_printf(out, "%u\n", m->s->ports[i].connections);
	}
}

void pv_render_metrics(struct pv_buf *out, const struct pv_metrics_source *src, size_t n,
		       double seconds)
{
	bool range_known = false, owners_known = false;
	for (size_t i = 0; i < n; i++) {
		range_known |= src[i].s->range_known;
		owners_known |= src[i].s->owners_known;
	}

	family(out, "portview_sockets", "Sockets by protocol, address family and state.");
	for (size_t i = 0; i < n; i++)
		sockets(out, &src[i]);

	family(out, "portview_local_port_sockets",
	       "Sockets by class of their local port; ephemeral ports are registered or "
	       "dynamic ones too.");
	for (size_t i = 0; i < n; i++)
		classes(out, &src[i]);

	if (range_known) {
		family(out, "portview_ephemeral_ports_available",
		       "Ports of the ephemeral range that are not reserved: how many connections "
		       "to one destination can have.");
		for (size_t i = 0; i < n; i++)
			if (src[i].s->range_known) {
				series(out, "portview_ephemeral_ports_available", &src[i], NULL);
				pv_buf_printf(out, "%u\n", src[i].s->available);
			}
	}
	family(out, "portview_ephemeral_destinations",
	       "Destinations (protocol, local address, remote address and port) that "
	       "connections from ephemeral ports go to.");
	for (size_t i = 0; i < n; i++) {
		series(out, "portview_ephemeral_destinations", &src[i], NULL);
		pv_buf_printf(out, "%zu\n", src[i].s->ngroups);
	}
	family(out, "portview_ephemeral_ports_in_use",
	       "Ephemeral local ports in use toward a destination, for the most pressed ones.");
	for (size_t i = 0; i < n; i++)
		groups(out, &src[i], "portview_ephemeral_ports_in_use", IN_USE);
	family(out, "portview_ephemeral_ports_time_wait",
	       "Of those ports, the ones held by TIME_WAIT sockets.");
	for (size_t i = 0; i < n; i++)
		groups(out, &src[i], "portview_ephemeral_ports_time_wait", TIME_WAIT);
	family(out, "portview_ephemeral_pressure_ratio",
	       "Ephemeral ports in use toward a destination over the ports available.");
	for (size_t i = 0; i < n; i++)
		groups(out, &src[i], "portview_ephemeral_pressure_ratio", RATIO);

	if (owners_known) {
		family(
		    out, "portview_program_sockets",
		    "Sockets held by the processes of a program, for the programs with the most.");
		for (size_t i = 0; i < n; i++)
			programs(out, &src[i]);
		family(out, "portview_unowned_sockets", "Sockets no process was found to hold.");
		for (size_t i = 0; i < n; i++)
			if (src[i].s->owners_known) {
				series(out, "portview_unowned_sockets", &src[i], NULL);
				pv_buf_printf(out, "%zu\n", src[i].s->unowned);
			}
	}

	family(out, "portview_listening_port_connections",
	       "Connections on a port something listens on, for the busiest ports.");
	for (size_t i = 0; i < n; i++)
		ports(out, &src[i]);

	family(out, "portview_scrape_duration_seconds",
	       "Time portview took to take the snapshot and add it up.");
	pv_buf_printf(out, "portview_scrape_duration_seconds %.6f\n", seconds);
	pv_buf_puts(out, "# EOF\n");
}

void pv_render_summary_metrics(struct pv_buf *out, const struct pv_summary *s, double seconds)
{
	struct pv_metrics_source one = {.s = s};
	pv_render_metrics(out, &one, 1, seconds);
}
