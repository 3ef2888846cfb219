/*
 * The outputs of the interval and event modes: the line above each
 * refresh, a refresh as one line of NDJSON, and the event stream as text
 * or NDJSON.  The table itself is render_table.c's.
 */
#include "i18n.h"
#include "portview/format.h"
#include "portview/render_json.h"
#include "portview/render_watch.h"
#include "portview/state.h"
#include "portview/util.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

/* Milliseconds as seconds, without trailing zeros: "2", "0.5", "1.25". */
static void put_seconds(struct pv_buf *out, uint32_t ms)
{
	pv_buf_printf(out, "%u", ms / 1000);
	if (ms % 1000) {
		char frac[8];
		int n = snprintf(frac, sizeof(frac), ".%03u", ms % 1000);
		while (n > 1 && frac[n - 1] == '0')
			n--;
		pv_buf_add(out, frac, (size_t)n);
	}
}

static void put_time(struct pv_buf *out, const struct timespec *t, bool utc, bool ms)
{
	char text[PV_TIME_MAX];
	pv_buf_add(out, text, pv_format_time(text, t, utc, ms));
}

static void put_si(struct pv_buf *out, uint64_t v)
{
	char text[PV_SI_MAX];
	pv_buf_add(out, text, pv_format_si(text, v));
}

/* A rate for people: "340 B/s", "9.37 MB/s". */
static void put_rate(struct pv_buf *out, uint64_t v)
{
	char text[PV_SI_MAX];
	size_t n = pv_format_si(text, v);
	bool prefix = text[n - 1] < '0' || text[n - 1] > '9';
	pv_buf_add(out, text, n - prefix);
	pv_buf_putc(out, ' ');
	if (prefix)
		pv_buf_putc(out, text[n - 1]);
	pv_buf_puts(out, "B/s");
}

void pv_render_watch_header(struct pv_buf *out, const struct pv_watch_header *h)
{
	const struct pv_watch_counts *c = &h->counts;
	if (h->clock) {
		char text[PV_TIME_MAX];
		pv_format_time(text, &h->when, false, false);
		pv_buf_add(out, text + 11, 8); /* HH:MM:SS of 2026-11-25THH:MM:SS */
	} else {
		put_time(out, &h->when, false, false);
	}
	pv_buf_printf(out, P_("  %zu socket", "  %zu sockets", c->total), c->total);
	if (!h->first)
		pv_buf_printf(out, _(", %zu new, %zu changed, %zu closed"), c->opened, c->changed,
			      c->closed);
	if (h->rates && !h->first) {
		pv_buf_puts(out, _("  send "));
		put_rate(out, h->sent);
		pv_buf_puts(out, _(", recv "));
		put_rate(out, h->received);
	}
	pv_buf_putc(out, '\n');
}

static const char *const change_name[] = {
    [PV_CHANGE_NONE] = "null",
    [PV_CHANGE_NEW] = "\"new\"",
    [PV_CHANGE_STATE] = "\"changed\"",
    [PV_CHANGE_CLOSED] = "\"closed\"",
};

void pv_render_frame_json(struct pv_buf *out, const struct pv_watch_header *h,
			  const struct pv_frame *f)
{
	const struct pv_watch_counts *c = &h->counts;
	pv_buf_puts(out, "{\"time\": \"");
	put_time(out, &h->when, true, true);
	pv_buf_puts(out, "\", \"interval\": ");
	put_seconds(out, h->interval_ms);
	pv_buf_printf(out, ", \"total\": %zu, \"new\": %zu, \"changed\": %zu, \"closed\": %zu",
		      c->total, c->opened, c->changed, c->closed);
	if (h->rates) {
		if (h->first)
			pv_buf_puts(out, ", \"sent\": null, \"received\": null");
		else
			pv_buf_printf(out, ", \"sent\": %llu, \"received\": %llu",
				      (unsigned long long)h->sent, (unsigned long long)h->received);
	}
	pv_buf_puts(out, ", \"sockets\": [");
	for (size_t k = 0; k < f->n; k++) {
		const struct pv_watch_row *w = &f->rows[k];
		const struct pv_view *v = w->change == PV_CHANGE_CLOSED ? f->prev : f->cur;
		struct pv_row row;
		pv_view_row(v, w->index, &row);
		/* gone: its rate is unknown, not the last interval's (null) */
		if (w->change == PV_CHANGE_CLOSED)
			row.rate = (struct pv_rate){0};
		pv_buf_puts(out, k ? ", {" : "{");
		pv_render_json_row(out, v, &row);
		pv_buf_puts(out, ", \"change\": ");
		pv_buf_puts(out, change_name[w->change]);
		pv_buf_putc(out, '}');
	}
	pv_buf_puts(out, "]}\n");
}

/* ---- --events ---------------------------------------------------------------------------- */

static const char *const event_name[] = {
    [PV_EVENT_OPENED] = "opened", [PV_EVENT_CHANGED] = "changed",
    [PV_EVENT_CLOSED] = "closed", [PV_EVENT_LOST] = "lost",
    [PV_EVENT_RESET] = "reset",	  [PV_EVENT_RETRANSMIT] = "retransmit",
};

/* What a LOST event says. */
static const char lost_text[] =
    "events were lost (the kernel's queue for portview was full); what changed meanwhile "
    "comes from a full dump";

/* What a LOST event of the BPF source says after its count. */
static const char lost_bpf_text[] =
    "events were lost (the BPF ring buffer was full); what changed meanwhile comes from a "
    "full dump";

/*
 * The columns of an event line: at least as wide as the table's, the
 * state wide enough for the longest change (ESTABLISHED->FIN_WAIT_2).
 */
enum {
	W_TIME = 31,
	W_EVENT = 11,
	W_NETNS = 16,
	W_PROTO = 7,
	W_ADDR = 23,
	W_STATE = 25,
	W_OWNER = 18
};

void pv_render_event_source(struct pv_buf *out, bool bpf, uint32_t interval_ms)
{
	if (bpf) {
		pv_buf_puts(
		    out, "Source: BPF tracepoints for TCP (every connection and change of state, "
			 "as it happens); sock_diag for UDP (closes at once, the rest every ");
	} else {
		pv_buf_puts(out, "Source: sock_diag (closes at once; opens and changes from a dump "
				 "every ");
	}
	put_seconds(out, interval_ms);
	pv_buf_puts(out, " s)\n");
}

/* Pad the line to start the next column at or after from + width. */
static void pad_to(struct pv_buf *out, size_t from, size_t width)
{
	size_t used = pv_text_width(out->data + from, out->len - from);
	pv_buf_pad(out, ' ', used < width ? width - used : 1);
}

void pv_render_event_header(struct pv_buf *out, const struct pv_event_opts *o)
{
	static const struct {
		const char *title;
		size_t width;
	} cols[] = {
	    {N_("Time"), W_TIME},	   {N_("Event"), W_EVENT},
	    {N_("Netns"), W_NETNS},	   {N_("Proto"), W_PROTO},
	    {N_("Local Address"), W_ADDR}, {N_("Foreign Address"), W_ADDR},
	    {N_("State"), W_STATE},	   {N_("PID/Program name"), W_OWNER},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cols); i++) {
		if (cols[i].width == W_NETNS && !o->netns)
			continue;
		size_t at = out->len;
		pv_buf_puts(out, _(cols[i].title));
		if (i + 1 < ARRAY_SIZE(cols) || !o->plain)
			pad_to(out, at, cols[i].width);
	}
	if (!o->plain)
		pv_buf_puts(out, "Local Port / Foreign Port");
	pv_buf_putc(out, '\n');
}

static void put_endpoint(struct pv_buf *out, const struct pv_row *r, bool local,
			 struct pv_ifcache *ifc)
{
	const struct pv_sock *s = &r->s;
	if (!local && s->proto == IPPROTO_UDP && s->state == PV_TCP_CLOSE) {
		pv_buf_puts(out, "*:*");
		return;
	}
	char *p = pv_buf_reserve(out, PV_ENDPOINT_MAX);
	out->len +=
	    pv_format_endpoint(p, s->family, local ? &s->local : &s->remote, s->ifindex, ifc);
}

/* Every owner as PID/Program name, or "-". */
static void put_owners(struct pv_buf *out, const struct pv_view *v, const struct pv_row *r)
{
	if (!v->has_owners || r->owner_count == 0) {
		pv_buf_putc(out, '-');
		return;
	}
	int32_t last = -1;
	for (uint32_t i = 0; i < r->owner_count; i++) {
		const struct pv_owner *o = &v->owners.owners[r->owner_first + i];
		if (o->pid == last)
			continue;
		const struct pv_process *p = &v->owners.procs[o->proc];
		pv_buf_printf(out, last == -1 ? "%d/" : ",%d/", (int)o->pid);
		pv_escape_text(out, p->comm, p->comm_len);
		last = o->pid;
	}
}

/* The TCP internals as ss -i writes them. */
static void put_info(struct pv_buf *out, const struct pv_tcp_info *t)
{
	pv_buf_printf(out, " rtt:%g/%g cwnd:%u", t->rtt_us / 1000.0, t->rttvar_us / 1000.0,
		      t->snd_cwnd);
	if (t->have & PV_TI_SENT)
		pv_buf_printf(out, " bytes_sent:%llu", (unsigned long long)t->bytes_sent);
	if (t->have & PV_TI_BYTES)
		pv_buf_printf(out, " bytes_acked:%llu bytes_received:%llu",
			      (unsigned long long)t->bytes_acked,
			      (unsigned long long)t->bytes_received);
	if (t->have & PV_TI_SEGS)
		pv_buf_printf(out, " segs_out:%u segs_in:%u", t->segs_out, t->segs_in);
	pv_buf_printf(out, " retrans:%u/%u", t->retrans, t->total_retrans);
	if (t->have & PV_TI_DELIVERY) {
		pv_buf_puts(out, " delivery_rate:");
		put_si(out, t->delivery_rate * 8);
		pv_buf_puts(out, "bps");
	}
	pv_buf_printf(out, " lastsnd:%u lastrcv:%u", t->last_data_sent_ms, t->last_data_recv_ms);
}

/*
 * The event's row, with a closed socket's last tcp_info from the kernel's
 * message; the BPF source's rows with the socket's inode, if known.
 */
static void event_row(const struct pv_event *e, struct pv_row *r)
{
	pv_view_row(e->v, e->index, r);
	if (e->kind == PV_EVENT_CLOSED && e->info)
		r->s.info = e->info;
	if (e->life)
		r->s.inode = e->life->inode;
}

/* Milliseconds with three decimals, from nanoseconds. */
static void put_ms(struct pv_buf *out, uint64_t ns)
{
	pv_buf_printf(out, "%llu.%03llu", (unsigned long long)(ns / 1000000),
		      (unsigned long long)(ns / 1000 % 1000));
}

/* What the BPF source adds at the end of a line: a life's length and bytes, a reset's why. */
static void put_life(struct pv_buf *out, const struct pv_event *e)
{
	const struct pv_event_life *l = e->life;
	if (e->kind == PV_EVENT_RESET) {
		pv_buf_puts(out, l->reset_sent ? "  reset sent" : "  reset received");
		if (l->reason)
			pv_buf_printf(out, " (%s)", l->reason);
	}
	if (e->kind != PV_EVENT_CLOSED)
		return;
	if (l->started) {
		pv_buf_puts(out, "  lived ");
		put_ms(out, l->duration_ns);
		pv_buf_puts(out, " ms");
	}
	if (l->bytes)
		pv_buf_printf(out, "  sent %llu B, received %llu B", (unsigned long long)l->sent,
			      (unsigned long long)l->received);
}

static void put_lost(struct pv_buf *out, const struct pv_event *e)
{
	if (!e->lost_bpf) {
		pv_buf_puts(out, lost_text);
		return;
	}
	pv_buf_printf(out, "%llu ", (unsigned long long)e->lost);
	pv_buf_puts(out, lost_bpf_text);
}

void pv_render_event(struct pv_buf *out, const struct pv_event *e, const struct pv_event_opts *o)
{
	size_t at = out->len;
	put_time(out, &e->when, false, true);
	pad_to(out, at, W_TIME);
	at = out->len;
	pv_buf_puts(out, event_name[e->kind]);
	pad_to(out, at, W_EVENT);
	if (e->kind == PV_EVENT_LOST) {
		put_lost(out, e);
		pv_buf_putc(out, '\n');
		return;
	}
	struct pv_row r;
	struct pv_ifcache ifc;
	pv_ifcache_init(&ifc);
	event_row(e, &r);
	if (o->netns) {
		at = out->len;
		if (r.netns)
			pv_escape_text(out, r.netns->label, strlen(r.netns->label));
		else
			pv_buf_putc(out, '-');
		pad_to(out, at, W_NETNS);
	}
	at = out->len;
	pv_buf_puts(out, pv_proto_name(r.s.proto));
	pad_to(out, at, W_PROTO);
	at = out->len;
	put_endpoint(out, &r, true, &ifc);
	pad_to(out, at, W_ADDR);
	at = out->len;
	put_endpoint(out, &r, false, &ifc);
	pad_to(out, at, W_ADDR);
	at = out->len;
	if (e->kind == PV_EVENT_CHANGED) {
		pv_buf_puts(out, pv_state_display(r.s.proto, e->old_state));
		pv_buf_puts(out, "->");
	}
	const char *state = pv_state_display(r.s.proto, r.s.state);
	pv_buf_puts(out, state[0] ? state : "-");
	pad_to(out, at, W_STATE);
	at = out->len;
	put_owners(out, e->v, &r);
	if (!o->plain) {
		pad_to(out, at, W_OWNER);
		pv_annotation_text(out, r.local_service, r.local_class, r.local_ephemeral);
		pv_buf_puts(out, " / ");
		pv_annotation_text(out, r.remote_service, r.remote_class, false);
	}
	if (o->info && r.s.info)
		put_info(out, r.s.info);
	if (e->life)
		put_life(out, e);
	pv_buf_putc(out, '\n');
}

/* The BPF source's members: a close's duration and bytes, a reset's direction and reason. */
static void put_life_json(struct pv_buf *out, const struct pv_event *e)
{
	const struct pv_event_life *l = e->life;
	if (e->kind == PV_EVENT_CLOSED) {
		pv_buf_puts(out, ", \"duration_ms\": ");
		if (l->started)
			put_ms(out, l->duration_ns);
		else
			pv_buf_puts(out, "null");
		if (l->bytes)
			pv_buf_printf(out, ", \"bytes_sent\": %llu, \"bytes_received\": %llu",
				      (unsigned long long)l->sent, (unsigned long long)l->received);
		else
			pv_buf_puts(out, ", \"bytes_sent\": null, \"bytes_received\": null");
	} else if (e->kind == PV_EVENT_RESET || e->kind == PV_EVENT_RETRANSMIT) {
		if (e->kind == PV_EVENT_RESET)
			pv_buf_printf(out, ", \"direction\": \"%s\"",
				      l->reset_sent ? "sent" : "received");
		pv_buf_puts(out, ", \"reason\": ");
		if (l->reason)
			pv_json_string(out, l->reason, strlen(l->reason));
		else
			pv_buf_puts(out, "null");
	}
}

void pv_render_event_json(struct pv_buf *out, const struct pv_event *e)
{
	pv_buf_puts(out, "{\"time\": \"");
	put_time(out, &e->when, true, true);
	pv_buf_printf(out, "\", \"event\": \"%s\", \"source\": \"%s\"", event_name[e->kind],
		      e->life || e->lost_bpf ? "bpf" : "diag");
	if (e->kind == PV_EVENT_LOST) {
		const char *text = e->lost_bpf ? lost_bpf_text : lost_text;
		if (e->lost_bpf)
			pv_buf_printf(out, ", \"count\": %llu", (unsigned long long)e->lost);
		else
			pv_buf_puts(out, ", \"count\": null");
		pv_buf_puts(out, ", \"message\": ");
		pv_json_string(out, text, strlen(text));
		pv_buf_puts(out, "}\n");
		return;
	}
	struct pv_row r;
	event_row(e, &r);
	if (e->kind == PV_EVENT_CHANGED) {
		const char *old = pv_state_display(r.s.proto, e->old_state);
		pv_buf_puts(out, ", \"old_state\": ");
		if (old[0])
			pv_json_string(out, old, strlen(old));
		else
			pv_buf_puts(out, "null");
	}
	if (e->life)
		put_life_json(out, e);
	pv_buf_puts(out, ", ");
	pv_render_json_row(out, e->v, &r);
	pv_buf_puts(out, "}\n");
}
