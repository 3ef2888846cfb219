/* The JSON renderer: a stable schema for programs (see portview(8)). */
#include "portview/format.h"
#include "portview/render_info.h"
#include "portview/render_json.h"
#include "portview/render_summary.h"
#include "portview/state.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>

static void key(struct pv_buf *out, const char *k, bool first)
{
	if (!first)
		pv_buf_puts(out, ", ");
	pv_buf_putc(out, '"');
	pv_buf_puts(out, k);
	pv_buf_puts(out, "\": ");
}

static void str_or_null(struct pv_buf *out, const char *s)
{
	if (s)
		pv_json_string(out, s, strlen(s));
	else
		pv_buf_puts(out, "null");
}

/* Listeners and unconnected sockets have no foreign end. */
static bool has_foreign(const struct pv_sock *s)
{
	static const uint8_t zero[16];
	return s->remote.port != 0 || memcmp(s->remote.addr, zero, sizeof(zero)) != 0;
}

static void endpoint(struct pv_buf *out, const struct pv_row *r, bool local)
{
	const struct pv_sock *s = &r->s;
	const struct pv_endpoint *ep = local ? &s->local : &s->remote;
	if (!local && !has_foreign(s)) {
		pv_buf_puts(out, "{\"address\": null, \"port\": null, \"service\": null, "
				 "\"class\": null, \"ephemeral\": null}");
		return;
	}
	char addr[INET6_ADDRSTRLEN];
	inet_ntop(s->family, ep->addr, addr, sizeof(addr));
	const struct pv_service *svc = local ? r->local_service : r->remote_service;
	uint8_t cls = local ? r->local_class : r->remote_class;

	pv_buf_putc(out, '{');
	key(out, "address", true);
	pv_json_string(out, addr, strlen(addr));
	key(out, "port", false);
	pv_buf_printf(out, "%u", ep->port);
	key(out, "service", false);
	str_or_null(out, svc ? svc->name : NULL);
	key(out, "class", false);
	str_or_null(out, cls ? pv_port_class_name((enum pv_port_class)cls) : NULL);
	key(out, "ephemeral", false);
	/* Only the local side is judged against this host's range. */
	if (!local || r->ephemeral_unknown)
		pv_buf_puts(out, "null");
	else
		pv_buf_puts(out, r->local_ephemeral ? "true" : "false");
	pv_buf_putc(out, '}');
}

static void owners_array(struct pv_buf *out, const struct pv_row *r, const struct pv_owner_table *t)
{
	/*
	 * No owners found means none exist when the socket has no file (inode
	 * 0) or every process could be seen; otherwise it is unknown.
	 */
	if (!t || r->owners_unknown) {
		pv_buf_puts(out, "null");
		return;
	}
	pv_buf_putc(out, '[');
	for (uint32_t i = 0; i < r->owner_count; i++) {
		const struct pv_owner *o = &t->owners[r->owner_first + i];
		const struct pv_process *p = &t->procs[o->proc];
		if (i)
			pv_buf_puts(out, ", ");
		pv_buf_printf(out, "{\"pid\": %d, \"program\": ", (int)o->pid);
		if (p->comm_len)
			pv_json_string(out, p->comm, p->comm_len);
		else
			pv_buf_puts(out, "null");
		pv_buf_printf(out, ", \"fd\": %d}", (int)o->fd);
	}
	pv_buf_putc(out, ']');
}

/* The tcp_info of a TCP socket, in the kernel's own names and units. */
static void info_object(struct pv_buf *out, const struct pv_tcp_info *t)
{
	if (!t) {
		pv_buf_puts(out, "null");
		return;
	}
	pv_buf_printf(out,
		      "{\"rtt_us\": %u, \"rttvar_us\": %u, \"snd_cwnd\": %u, \"snd_mss\": %u, "
		      "\"retrans\": %u, \"total_retrans\": %u, \"last_data_sent_ms\": %u, "
		      "\"last_data_recv_ms\": %u",
		      t->rtt_us, t->rttvar_us, t->snd_cwnd, t->snd_mss, t->retrans,
		      t->total_retrans, t->last_data_sent_ms, t->last_data_recv_ms);
	static const struct {
		const char *name;
		uint8_t need;
		size_t at;
		bool wide;
	} more[] = {
	    {"bytes_sent", PV_TI_SENT, offsetof(struct pv_tcp_info, bytes_sent), true},
	    {"bytes_acked", PV_TI_BYTES, offsetof(struct pv_tcp_info, bytes_acked), true},
	    {"bytes_received", PV_TI_BYTES, offsetof(struct pv_tcp_info, bytes_received), true},
	    {"segs_out", PV_TI_SEGS, offsetof(struct pv_tcp_info, segs_out), false},
	    {"segs_in", PV_TI_SEGS, offsetof(struct pv_tcp_info, segs_in), false},
	    {"delivery_rate", PV_TI_DELIVERY, offsetof(struct pv_tcp_info, delivery_rate), true},
	};
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		key(out, more[i].name, false);
		const char *p = (const char *)t + more[i].at;
		if (!(t->have & more[i].need)) {
			pv_buf_puts(out, "null");
		} else if (more[i].wide) {
			uint64_t v;
			memcpy(&v, p, sizeof(v));
			pv_buf_printf(out, "%llu", (unsigned long long)v);
		} else {
			uint32_t v;
			memcpy(&v, p, sizeof(v));
			pv_buf_printf(out, "%u", v);
		}
	}
	pv_buf_putc(out, '}');
}

void pv_render_json_row(struct pv_buf *out, const struct pv_view *v, const struct pv_row *row)
{
	const struct pv_owner_table *owners = v->has_owners ? &v->owners : NULL;
	const struct pv_sock *s = &row->s;
	key(out, "proto", true);
	pv_buf_printf(out, "\"%s\"", pv_proto_lname(s->proto));
	key(out, "family", false);
	pv_buf_puts(out, s->family == AF_INET ? "\"ipv4\"" : "\"ipv6\"");
	key(out, "v6only", false);
	pv_buf_puts(out, s->v6only < 0 ? "null" : s->v6only ? "true" : "false");
	key(out, "state", false);
	const char *state = pv_state_display(s->proto, s->state);
	str_or_null(out, state[0] ? state : NULL);
	key(out, "local", false);
	endpoint(out, row, true);
	key(out, "foreign", false);
	endpoint(out, row, false);
	key(out, "interface", false);
	if (s->ifindex && row->netns && !row->netns->own) {
		/* another namespace's interface: its index, not a name from ours */
		pv_buf_printf(out, "\"%u\"", s->ifindex);
	} else if (s->ifindex) {
		char name[IF_NAMESIZE];
		str_or_null(out, if_indextoname(s->ifindex, name));
	} else {
		pv_buf_puts(out, "null");
	}
	key(out, "owners", false);
	owners_array(out, row, owners);
	key(out, "netns", false);
	if (row->netns) {
		pv_buf_printf(out, "{\"inode\": %llu, \"name\": ", row->netns->ino);
		str_or_null(out, row->netns->name);
		pv_buf_putc(out, '}');
	} else {
		pv_buf_puts(out, "null");
	}
	key(out, "unit", false);
	if (row->unit && row->unit->kind) {
		pv_buf_puts(out, "{\"kind\": ");
		str_or_null(out, pv_unit_kind_name(row->unit->kind));
		pv_buf_puts(out, ", \"name\": ");
		str_or_null(out, row->unit->name);
		pv_buf_putc(out, '}');
	} else {
		pv_buf_puts(out, "null");
	}
	key(out, "uid", false);
	pv_buf_printf(out, "%u", s->uid);
	key(out, "user", false);
	str_or_null(out, pv_view_user(v, s->uid));
	key(out, "inode", false);
	if (s->inode)
		pv_buf_printf(out, "%u", s->inode);
	else
		pv_buf_puts(out, "null");
	key(out, "cookie", false);
	pv_buf_printf(out, "%llu", (unsigned long long)s->cookie);
	key(out, "rx_queue", false);
	pv_buf_printf(out, "%u", s->rqueue);
	key(out, "tx_queue", false);
	pv_buf_printf(out, "%u", s->wqueue);
	key(out, "timer", false);
	pv_buf_printf(out,
		      "{\"name\": \"%s\", \"expires_ms\": %u, \"retransmits\": %u, "
		      "\"probes\": %u}",
		      pv_timer_name(s->timer), s->expires, s->retrans, s->probes);
	/* -i: what the kernel said of the TCP internals, and the rates over an interval */
	if (v->l->keep_info) {
		key(out, "info", false);
		info_object(out, s->info);
	}
	if (v->rates) {
		key(out, "rate", false);
		if (row->rate.known)
			pv_buf_printf(out, "{\"sent\": %llu, \"received\": %llu}",
				      (unsigned long long)row->rate.sent,
				      (unsigned long long)row->rate.received);
		else
			pv_buf_puts(out, "null");
	}
}

void pv_render_json(struct pv_buf *out, const struct pv_view *v)
{
	const struct pv_socklist *l = v->l;
	struct pv_row row;
	pv_buf_putc(out, '[');
	for (size_t i = 0; i < l->n; i++) {
		pv_view_row(v, i, &row);
		pv_buf_puts(out, i ? ",\n  {" : "\n  {");
		pv_render_json_row(out, v, &row);
		pv_buf_putc(out, '}');
	}
	pv_buf_puts(out, l->n ? "\n]\n" : "]\n");
}

void pv_render_ranges_json(struct pv_buf *out, const struct pv_range_use *rows, size_t n)
{
	pv_buf_putc(out, '[');
	for (size_t i = 0; i < n; i++) {
		const struct pv_range_use *r = &rows[i];
		pv_buf_puts(out, i ? ",\n  {" : "\n  {");
		pv_buf_printf(out, "\"proto\": \"%s\", \"range\": \"%s\", ",
			      pv_proto_lname(r->proto), r->iana ? "iana-dynamic" : "ephemeral");
		if (!r->known) {
			pv_buf_puts(out, "\"start\": null, \"end\": null, \"ports\": null, "
					 "\"reserved\": null, \"in_use\": null}");
			continue;
		}
		pv_buf_printf(out, "\"start\": %u, \"end\": %u, \"ports\": %u, ", r->start,
			      r->start + r->count - 1, r->count);
		if (r->reserved < 0)
			pv_buf_puts(out, "\"reserved\": null, ");
		else
			pv_buf_printf(out, "\"reserved\": %d, ", r->reserved);
		pv_buf_printf(out, "\"in_use\": %u}", r->in_use);
	}
	pv_buf_puts(out, n ? "\n]\n" : "]\n");
}

/* ---- the summary (-s --json) ---------------------------------------------------------- */

static void counts(struct pv_buf *out, uint32_t v4, uint32_t v6)
{
	pv_buf_printf(out, "\"sockets\": %u, \"ipv4\": %u, \"ipv6\": %u}", v4 + v6, v4, v6);
}

static void summary_groups(struct pv_buf *out, const struct pv_summary *s)
{
	size_t shown = s->ngroups < PV_SUMMARY_TOP ? s->ngroups : PV_SUMMARY_TOP;
	pv_buf_puts(out, "\"top\": [");
	for (size_t i = 0; i < shown; i++) {
		const struct pv_pressure_group *g = &s->groups[i];
		char laddr[INET6_ADDRSTRLEN], raddr[INET6_ADDRSTRLEN];
		inet_ntop(g->family, g->laddr, laddr, sizeof(laddr));
		inet_ntop(g->family, g->raddr, raddr, sizeof(raddr));
		pv_buf_puts(out, i ? ",\n      {" : "\n      {");
		pv_buf_printf(out,
			      "\"proto\": \"%s\", \"family\": \"%s\", \"local_address\": \"%s\", "
			      "\"foreign_address\": \"%s\", \"foreign_port\": %u, \"in_use\": %u, "
			      "\"available\": %u, \"pressure\": %.6g, \"time_wait\": %u, "
			      "\"level\": \"%s\"}",
			      pv_proto_lname(g->proto), g->family == AF_INET ? "ipv4" : "ipv6",
			      laddr, raddr, g->rport, g->in_use, g->available, pv_pressure_ratio(g),
			      g->time_wait, pv_pressure_level_name(pv_pressure_level(g)));
	}
	pv_buf_puts(out, shown ? "\n    ]}" : "]}");
}

void pv_render_summary_json(struct pv_buf *out, const struct pv_summary *s)
{
	static const uint8_t protos[2] = {IPPROTO_TCP, IPPROTO_UDP};
	uint32_t fam[2][2] = {{0, 0}, {0, 0}};
	for (int p = 0; p < 2; p++)
		for (int f = 0; f < 2; f++)
			for (int st = 0; st < PV_SUMMARY_STATES; st++)
				fam[p][f] += s->sockets[p][f][st];

	pv_buf_printf(out, "{\n  \"total\": %zu,\n  \"protocols\": [", s->total);
	bool first = true;
	for (int p = 0; p < 2; p++) {
		if (fam[p][0] + fam[p][1] == 0)
			continue;
		pv_buf_printf(out, "%s{\"proto\": \"%s\", ", first ? "" : ", ",
			      pv_proto_lname(protos[p]));
		counts(out, fam[p][0], fam[p][1]);
		first = false;
	}
	pv_buf_puts(out, "],\n  \"states\": [");
	first = true;
	for (int p = 0; p < 2; p++) {
		for (int st = 0; st < PV_SUMMARY_STATES; st++) {
			uint32_t v4 = s->sockets[p][0][st], v6 = s->sockets[p][1][st];
			if (v4 + v6 == 0)
				continue;
			pv_buf_printf(out, "%s\n    {\"proto\": \"%s\", \"state\": \"%s\", ",
				      first ? "" : ",", pv_proto_lname(protos[p]),
				      pv_summary_state_name(protos[p], (uint8_t)st));
			counts(out, v4, v6);
			first = false;
		}
	}
	pv_buf_puts(out, first ? "],\n" : "\n  ],\n");
	pv_buf_printf(
	    out,
	    "  \"local_ports\": {\"well-known\": %u, \"registered\": %u, \"dynamic\": %u, "
	    "\"ephemeral\": %u},\n",
	    s->classes[PV_CLASS_WELL_KNOWN], s->classes[PV_CLASS_REGISTERED],
	    s->classes[PV_CLASS_DYNAMIC], s->ephemeral);

	pv_buf_puts(out, "  \"ephemeral\": {");
	if (s->range_known)
		pv_buf_printf(out,
			      "\"start\": %u, \"end\": %u, \"ports\": %u, \"reserved\": %u, "
			      "\"available\": %u, ",
			      s->lo, s->hi, (unsigned)(s->hi - s->lo + 1), s->reserved,
			      s->available);
	else
		pv_buf_puts(out,
			    "\"start\": null, \"end\": null, \"ports\": null, \"reserved\": null, "
			    "\"available\": null, ");
	pv_buf_printf(out, "\"destinations\": %zu,\n    ", s->ngroups);
	summary_groups(out, s);

	pv_buf_puts(out, ",\n  \"programs\": ");
	if (!s->owners_known) {
		pv_buf_puts(out, "null");
	} else {
		pv_buf_putc(out, '[');
		for (size_t i = 0; i < s->nprograms; i++) {
			const struct pv_summary_program *p = &s->programs[i];
			pv_buf_puts(out, i ? ",\n    {\"program\": " : "\n    {\"program\": ");
			pv_json_string(out, p->comm, p->comm_len);
			pv_buf_printf(out, ", \"sockets\": %u, \"pids\": [", p->sockets);
			for (size_t k = 0; k < p->npids; k++)
				pv_buf_printf(out, "%s%d", k ? ", " : "", (int)p->pids[k]);
			pv_buf_puts(out, "]}");
		}
		pv_buf_puts(out, s->nprograms ? "\n  ]" : "]");
	}
	if (s->owners_known)
		pv_buf_printf(out,
			      ",\n  \"programs_total\": %zu,\n  \"unowned\": %zu,\n"
			      "  \"owners_complete\": %s,\n",
			      s->programs_total, s->unowned, s->owners_partial ? "false" : "true");
	else
		pv_buf_puts(out, ",\n  \"programs_total\": null,\n  \"unowned\": null,\n"
				 "  \"owners_complete\": null,\n");

	pv_buf_puts(out, "  \"listening_ports\": [");
	for (size_t i = 0; i < s->nports; i++) {
		const struct pv_summary_port *p = &s->ports[i];
		pv_buf_puts(out, i ? ",\n    {" : "\n    {");
		pv_buf_printf(out, "\"proto\": \"%s\", \"port\": %u, \"service\": ",
			      pv_proto_lname(p->proto), p->port);
		str_or_null(out, p->service ? p->service->name : NULL);
		pv_buf_printf(out, ", \"connections\": %u, \"listener\": ", p->connections);
		if (p->pid) {
			pv_buf_printf(out, "{\"pid\": %d, \"program\": ", (int)p->pid);
			pv_json_string(out, p->comm, p->comm_len);
			pv_buf_putc(out, '}');
		} else {
			pv_buf_puts(out, "null");
		}
		pv_buf_putc(out, '}');
	}
	pv_buf_puts(out, s->nports ? "\n  ]" : "]");
	pv_buf_printf(out, ",\n  \"listening_ports_total\": %zu\n}\n", s->ports_total);
}
