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

static void group_labels(struct pv_buf *out, const struct pv_pressure_group *g)
{
	char laddr[INET6_ADDRSTRLEN], raddr[INET6_ADDRSTRLEN];
	inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
	inet_ntop(g->family, g->raddr, raddr, sizeof(raddr));
	pv_buf_printf(out, "{proto=\"%s\",laddr=\"%s\",raddr=\"%s\",rport=\"%u\"} ",
		      pv_proto_lname(g->proto), laddr, raddr, g->rport);
}

void pv_render_summary_metrics(struct pv_buf *out, const struct pv_summary *s, double seconds)
{
	static const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
	static const char *const classes[] = {"well-known", "registered", "dynamic"};
	size_t shown = s->ngroups < PV_SUMMARY_TOP ? s->ngroups : PV_SUMMARY_TOP;

	family(out, "portview_sockets", "Sockets by protocol, address family and state.");
	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++)
			for (int st = 0; st < PV_SUMMARY_STATES; st++) {
				uint32_t n = s->sockets[p][f][st];
				if (!n && !usual_state(p, st))
					continue;
				pv_buf_printf(out,
					      "portview_sockets{proto=\"%s\",family=\"%s\","
					      "state=\"%s\"} %u\n",
					      pv_proto_lname(protos[p]), f ? "ipv6" : "ipv4",
					      pv_summary_state_name(protos[p], (uint8_t)st), n);
			}

	family(out, "portview_local_port_sockets",
	       "Sockets by class of their local port; ephemeral ports are registered or "
	       "dynamic ones too.");
	for (size_t c = 0; c < ARRAY_SIZE(classes); c++)
		pv_buf_printf(out, "portview_local_port_sockets{class=\"%s\"} %u\n", classes[c],
			      s->classes[PV_CLASS_WELL_KNOWN + c]);
	pv_buf_printf(out, "portview_local_port_sockets{class=\"ephemeral\"} %u\n", s->ephemeral);

	if (s->range_known) {
		family(out, "portview_ephemeral_ports_available",
		       "Ports of the ephemeral range that are not reserved: how many connections "
		       "to one destination can have.");
		pv_buf_printf(out, "portview_ephemeral_ports_available %u\n", s->available);
	}
	family(out, "portview_ephemeral_destinations",
	       "Destinations (protocol, local address, remote address and port) that "
	       "connections from ephemeral ports go to.");
	pv_buf_printf(out, "portview_ephemeral_destinations %zu\n", s->ngroups);
	family(out, "portview_ephemeral_ports_in_use",
	       "Ephemeral local ports in use toward a destination, for the most pressed ones.");
	for (size_t i = 0; i < shown; i++) {
		pv_buf_puts(out, "portview_ephemeral_ports_in_use");
		group_labels(out, &s->groups[i]);
		pv_buf_printf(out, "%u\n", s->groups[i].in_use);
	}
	family(out, "portview_ephemeral_ports_time_wait",
	       "Of those ports, the ones held by TIME_WAIT sockets.");
	for (size_t i = 0; i < shown; i++) {
		pv_buf_puts(out, "portview_ephemeral_ports_time_wait");
		group_labels(out, &s->groups[i]);
		pv_buf_printf(out, "%u\n", s->groups[i].time_wait);
	}
	family(out, "portview_ephemeral_pressure_ratio",
	       "Ephemeral ports in use toward a destination over the ports available.");
	for (size_t i = 0; i < shown; i++) {
		pv_buf_puts(out, "portview_ephemeral_pressure_ratio");
		group_labels(out, &s->groups[i]);
		pv_buf_printf(out, "%.6g\n", pv_pressure_ratio(&s->groups[i]));
	}

	if (s->owners_known) {
		family(
		    out, "portview_program_sockets",
		    "Sockets held by the processes of a program, for the programs with the most.");
		for (size_t i = 0; i < s->nprograms; i++) {
			const struct pv_summary_program *p = &s->programs[i];
			pv_buf_puts(out, "portview_program_sockets{program=");
			pv_metrics_label(out, p->comm, p->comm_len);
			pv_buf_printf(out, "} %u\n", p->sockets);
		}
		family(out, "portview_unowned_sockets", "Sockets no process was found to hold.");
		pv_buf_printf(out, "portview_unowned_sockets %zu\n", s->unowned);
	}

	family(out, "portview_listening_port_connections",
	       "Connections on a port something listens on, for the busiest ports.");
	for (size_t i = 0; i < s->nports; i++)
		pv_buf_printf(
		    out, "portview_listening_port_connections{proto=\"%s\",port=\"%u\"} %u\n",
		    pv_proto_lname(s->ports[i].proto), s->ports[i].port, s->ports[i].connections);

	family(out, "portview_scrape_duration_seconds",
	       "Time portview took to take the snapshot and add it up.");
	pv_buf_printf(out, "portview_scrape_duration_seconds %.6f\n", seconds);
	pv_buf_puts(out, "# EOF\n");
}
