/*
 * The screen's rows (top.h): a snapshot's view formatted once per
 * refresh into text and sort keys, so that drawing, sorting and the keys
 * never touch a view (the refresh thread builds the next frame while the
 * screen answers keys on this one).  Marks of new and closed rows are
 * carried from frame to frame until they expire; closed rows with them.
 * The per-process view is the library's (procview.h), as text.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "top.h"
#include "portview/format.h"
#include "portview/procview.h"
#include "portview/render_info.h"
#include "portview/state.h"
#include "portview/view.h"

void top_frame_init(struct top_frame *f)
{
	memset(f, 0, sizeof(*f));
	pv_buf_init(&f->arena);
	pv_buf_init(&f->detail);
}

void top_frame_free(struct top_frame *f)
{
	for (int v = 0; v < TOP_NVIEWS; v++) {
		free(f->rows[v]);
		free(f->order[v]);
	}
	pv_buf_free(&f->arena);
	pv_buf_free(&f->detail);
	top_frame_init(f);
}

void top_frame_clear(struct top_frame *f)
{
	struct top_frame kept = *f;
	for (int v = 0; v < TOP_NVIEWS; v++)
		free(f->order[v]);
	top_frame_init(f);
	for (int v = 0; v < TOP_NVIEWS; v++) {
		f->rows[v] = kept.rows[v];
		f->cap[v] = kept.cap[v];
	}
	f->arena = kept.arena;
	f->arena.len = 0;
	f->detail = kept.detail;
	f->detail.len = 0;
}

/* Room for n rows of view v, the memory of the frame's last build reused. */
static struct top_row *frame_rows(struct top_frame *f, enum top_view v, size_t n)
{
	if (n > f->cap[v]) {
		free(f->rows[v]);
		f->cap[v] = n + n / 8;
		f->rows[v] = xcalloc(f->cap[v], sizeof(struct top_row));
	}
	return f->rows[v];
}

/* Close the text being written in the arena: its offset. */
static uint32_t seal(struct pv_buf *a, size_t start)
{
	pv_buf_putc(a, '\0');
	return (uint32_t)start;
}

static uint32_t put_text(struct pv_buf *a, const char *s)
{
	size_t start = a->len;
	pv_buf_puts(a, s);
	return seal(a, start);
}

static uint32_t put_si(struct pv_buf *a, bool known, uint64_t v)
{
	char tmp[PV_SI_MAX];
	if (!known)
		return put_text(a, "-");
	pv_format_si(tmp, v);
	return put_text(a, tmp);
}

/* An endpoint: numbers, or with names the host's and the port's (not for a client port). */
static uint32_t put_endpoint(struct pv_buf *a, const struct pv_row *r, bool local, bool names)
{
	const struct pv_endpoint *ep = local ? &r->s.local : &r->s.remote;
	size_t start = a->len;
	if (!local && r->s.proto == IPPROTO_UDP && r->s.state == PV_TCP_CLOSE) {
		pv_buf_puts(a, "*:*");
		return seal(a, start);
	}
	char *p = pv_buf_reserve(a, PV_ENDPOINT_MAX);
	size_t n;
	if (local && pv_sock_is_dual_stack(&r->s))
		n = (size_t)snprintf(p, PV_ENDPOINT_MAX, "*:%u", ep->port);
	else
		n = pv_format_endpoint(p, r->s.family, ep, r->s.ifindex, NULL);
	if (!names) {
		a->len += n;
		return seal(a, start);
	}
	const char *host = local ? r->local_host : r->remote_host;
	const struct pv_service *svc = local ? r->local_name : r->remote_name;
	bool in_range = local ? r->local_ephemeral : r->remote_in_range;
	size_t colon = n;
	while (colon > 0 && p[colon - 1] != ':')
		colon--;
	if (host) {
		pv_escape_text(a, host, strlen(host));
	} else {
		a->len += colon ? colon - 1 : 0;
	}
	if (svc && !in_range)
		pv_buf_printf(a, ":%s", svc->name);
	else
		pv_buf_printf(a, ":%u", ep->port);
	return seal(a, start);
}

/* The first owner of a row: its PID, its name; how many processes hold it. */
static const struct pv_owner *first_owner(const struct pv_view *v, const struct pv_row *r,
					  unsigned *count)
{
	*count = 0;
	if (!v->has_owners || r->owner_count == 0)
		return NULL;
	int32_t last = -1;
	for (uint32_t i = 0; i < r->owner_count; i++) {
		const struct pv_owner *o = &v->owners.owners[r->owner_first + i];
		if (o->pid != last)
			(*count)++;
		last = o->pid;
	}
	return &v->owners.owners[r->owner_first];
}

static void socket_row(struct top_frame *f, const struct top_build *b, const struct pv_view *v,
		       size_t index, struct top_row *t)
{
	struct pv_buf *a = &f->arena;
	struct pv_row r;
	pv_view_row(v, index, &r);
	memset(t, 0, sizeof(*t));
	t->key = r.s.cookie;
	t->s = r.s;
	t->s.info = NULL;
	t->text[TC_PROTO] = put_text(a, pv_proto_name(r.s.proto));
	t->num[TC_PROTO] = (uint64_t)r.s.proto << 8 | r.s.family;
	t->text[TC_LOCAL] = put_endpoint(a, &r, true, b->names);
	t->num[TC_LOCAL] = index;
	t->text[TC_FOREIGN] = put_endpoint(a, &r, false, b->names);
	t->text[TC_STATE] = put_text(a, pv_state_display(r.s.proto, r.s.state));
	unsigned count;
	const struct pv_owner *o = first_owner(v, &r, &count);
	size_t start = a->len;
	if (o) {
		const struct pv_process *p = &v->owners.procs[o->proc];
		t->pid = o->pid;
		t->num[TC_PID] = (uint64_t)o->pid;
		a->len += pv_format_uint(pv_buf_reserve(a, 10), (uint32_t)o->pid);
		if (count > 1)
			pv_buf_printf(a, " (+%u)", count - 1);
		t->text[TC_PID] = seal(a, start);
		start = a->len;
		pv_escape_text(a, p->comm, p->comm_len);
		t->text[TC_PROGRAM] = seal(a, start);
	} else {
		t->num[TC_PID] = UINT64_MAX; /* after every known one */
		t->text[TC_PID] = put_text(a, r.owners_unknown ? "?" : "-");
		t->text[TC_PROGRAM] = put_text(a, r.owners_unknown ? "?" : "-");
	}
	t->rate_known = r.rate.known;
	t->sent = r.rate.sent;
	t->received = r.rate.received;
	t->num[TC_SEND] = r.rate.known ? r.rate.sent + 1 : 0;
	t->num[TC_RECV] = r.rate.known ? r.rate.received + 1 : 0;
	t->text[TC_SEND] = put_si(a, r.rate.known, r.rate.sent);
	t->text[TC_RECV] = put_si(a, r.rate.known, r.rate.received);
	const struct pv_tcp_info *ti = r.s.info;
	if (ti && (ti->have & PV_TI_BASE)) {
		t->num[TC_RTT] = ti->rtt_us + 1ull;
		/* milliseconds to a tenth, rounded half up: no printf for each of 100,000 rows */
		uint32_t tenths = (uint32_t)((ti->rtt_us + 50ull) / 100);
		start = a->len;
		a->len += pv_format_uint(pv_buf_reserve(a, 10), tenths / 10);
		pv_buf_putc(a, '.');
		pv_buf_putc(a, (char)('0' + tenths % 10));
		t->text[TC_RTT] = seal(a, start);
	} else {
		t->text[TC_RTT] = put_text(a, "-");
	}
}

/* A row of the old frame, its text copied into the new one's arena. */
static void carry_row(struct top_frame *f, const struct top_frame *old, const struct top_row *r,
		      struct top_row *t)
{
	*t = *r;
	for (int c = 0; c < TOP_MAXCOLS; c++)
		t->text[c] = put_text(&f->arena, top_text(old, r, c));
}

static void mark(struct top_row *t, uint8_t change, const struct timespec *now, uint32_t ms)
{
	t->change = change;
	t->until = *now;
	pv_add_ms(&t->until, ms);
}

/* The sockets' rows: the comparison's, marks carried on, closed rows kept while marked. */
static void socket_rows(struct top_frame *f, const struct top_build *b, const struct pv_snap *cur,
			const struct pv_snap *prev, const struct top_frame *old)
{
	size_t n;
	struct pv_watch_row *w =
	    pv_watch_compare_matched(prev ? &prev->l : NULL, &cur->l, cur->match, &n, &f->counts);
	size_t lingering = 0;
	struct pv_idmap was;
	pv_idmap_init(&was, 16);
	/* the old rows still marked, by key (most rows are not: a small map) */
	size_t marked = 0;
	for (size_t i = 0; old && i < old->n[TOP_SOCKETS]; i++) {
		const struct top_row *r = &old->rows[TOP_SOCKETS][i];
		if (r->change == PV_CHANGE_NONE || !pv_before(&cur->at, &r->until))
			continue;
		pv_idmap_put(&was, r->key, (uint32_t)i);
		marked++;
		lingering += r->change == PV_CHANGE_CLOSED;
	}
	struct top_row *rows = frame_rows(f, TOP_SOCKETS, n + lingering + 1);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		struct top_row *t = &rows[k++];
		bool closed = w[i].change == PV_CHANGE_CLOSED;
		socket_row(f, b, closed ? &prev->view : &cur->view, w[i].index, t);
		uint32_t j;
		if (w[i].change != PV_CHANGE_NONE) {
			mark(t, w[i].change, &cur->at, b->highlight_ms);
			if (closed)
				t->rate_known = false, t->num[TC_SEND] = t->num[TC_RECV] = 0;
		} else if (marked && pv_idmap_get(&was, t->key, &j)) {
			t->change = old->rows[TOP_SOCKETS][j].change;
			t->until = old->rows[TOP_SOCKETS][j].until;
		}
		if (t->rate_known) {
			f->sent += t->sent;
			f->received += t->received;
		}
	}
	for (size_t i = 0; lingering && i < old->n[TOP_SOCKETS]; i++) {
		const struct top_row *r = &old->rows[TOP_SOCKETS][i];
		if (r->change == PV_CHANGE_CLOSED && pv_before(&cur->at, &r->until))
			carry_row(f, old, r, &rows[k++]);
	}
	pv_idmap_free(&was);
	free(w);
	f->rows[TOP_SOCKETS] = rows;
	f->n[TOP_SOCKETS] = k;
}

/* ---- per process: the library's procview, as text ---- */

static void process_row(struct top_frame *f, const struct pv_procrow *p, struct top_row *t)
{
	struct pv_buf *a = &f->arena;
	memset(t, 0, sizeof(*t));
	size_t start = a->len;
	if (p->no_owner)
		pv_buf_puts(a, _("(no process)"));
	else if (!p->name_len) /* --unit: run by no unit or container */
		pv_buf_puts(a, _("(no unit)"));
	else
		pv_escape_text(a, p->name, p->name_len);
	t->text[TP_PROGRAM] = seal(a, start);
	t->key = pv_hash_bytes(a->data + start, a->len - start - 1, p->no_owner ? 2 : 1);
	t->pid = p->npids ? p->pids[0] : 0;
	start = a->len;
	if (p->npids)
		pv_buf_printf(a, "%d", (int)p->pids[0]);
	else
		pv_buf_putc(a, '-');
	if (p->npids > 1)
		pv_buf_printf(a, " (+%zu)", p->npids - 1);
	t->text[TP_PIDS] = seal(a, start);
	t->num[TP_PIDS] = p->npids ? (uint64_t)p->pids[0] : UINT64_MAX;
	size_t estab = p->tcp_states[PV_TCP_ESTABLISHED], listen = p->nlisten;
	size_t other = p->sockets > estab + listen ? p->sockets - estab - listen : 0;
	const size_t counts[] = {p->sockets, estab, listen, other};
	for (int c = TP_SOCKETS; c <= TP_OTHER; c++) {
		start = a->len;
		pv_buf_printf(a, "%zu", counts[c - TP_SOCKETS]);
		t->text[c] = seal(a, start);
		t->num[c] = counts[c - TP_SOCKETS];
	}
	start = a->len;
	for (size_t i = 0; i < p->nlisten && i < 4; i++)
		pv_buf_printf(a, "%s%u%s", i ? "," : "", p->listen[i].port,
			      p->listen[i].proto == IPPROTO_UDP ? "/udp" : "");
	if (p->nlisten > 4)
		pv_buf_printf(a, " (+%zu)", p->nlisten - 4);
	if (!p->nlisten)
		pv_buf_putc(a, '-');
	t->text[TP_PORTS] = seal(a, start);
	t->num[TP_PORTS] = p->nlisten ? p->listen[0].port : UINT64_MAX;
	t->sent = p->send_rate;
	t->received = p->recv_rate;
	t->rate_known = f->rates;
	t->num[TP_SEND] = p->send_rate + 1;
	t->num[TP_RECV] = p->recv_rate + 1;
	t->text[TP_SEND] = put_si(a, f->rates, p->send_rate);
	t->text[TP_RECV] = put_si(a, f->rates, p->recv_rate);
}

/* The sockets added up per program (or unit): by state, listening ports, TCP rates. */
static void process_rows(struct top_frame *f, const struct top_build *b, const struct pv_view *v)
{
	struct pv_procview pv;
	pv_procview_build(&pv, v, b->units ? PV_PROCVIEW_UNIT : PV_PROCVIEW_PROGRAM);
	struct top_row *rows = frame_rows(f, TOP_PROCESSES, pv.n + 1);
	for (size_t k = 0; k < pv.n; k++)
		process_row(f, &pv.rows[k], &rows[k]);
	f->rows[TOP_PROCESSES] = rows;
	f->n[TOP_PROCESSES] = pv.n;
	pv_procview_free(&pv);
}

/* ---- details ---- */

/* A /proc file's text, NULs as spaces, escaped: the command line. */
static void proc_file(struct pv_buf *out, const char *root, int32_t pid, const char *name)
{
	char path[96], buf[512];
	snprintf(path, sizeof(path), "%s/%d/%s", root, (int)pid, name);
	FILE *fp = fopen(path, "re");
	size_t n = fp ? fread(buf, 1, sizeof(buf), fp) : 0;
	if (fp)
		fclose(fp);
	while (n && buf[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		buf[i] = buf[i] ? buf[i] : ' ';
	if (!n)
		pv_buf_puts(out, "?");
	pv_escape_text(out, buf, n);
}

static void detail_owners(struct pv_buf *d, const struct top_build *b, const struct pv_view *v,
			  const struct pv_row *r)
{
	if (!v->has_owners || r->owner_count == 0) {
		pv_buf_printf(d, _("Owner     %s\n"),
			      r->owners_unknown ? _("not visible") : _("none"));
		return;
	}
	int32_t last = -1;
	for (uint32_t i = 0; i < r->owner_count && i < 8; i++) {
		const struct pv_owner *o = &v->owners.owners[r->owner_first + i];
		if (o->pid == last)
			continue;
		last = o->pid;
		const struct pv_process *p = &v->owners.procs[o->proc];
		const char *user = pv_view_user(v, p->uid);
		char path[96], exe[512];
		snprintf(path, sizeof(path), "%s/%d/exe", b->proc_root, (int)o->pid);
		ssize_t n = readlink(path, exe, sizeof(exe) - 1);
		pv_buf_printf(d, _("Owner     PID %d  "), (int)o->pid);
		pv_escape_text(d, p->comm, p->comm_len);
		pv_buf_puts(d, _("  user "));
		if (user)
			pv_escape_text(d, user, strlen(user));
		else
			pv_buf_printf(d, "%u", p->uid);
		pv_buf_puts(d, _("\n  exe     "));
		if (n > 0)
			pv_escape_text(d, exe, (size_t)n);
		else
			pv_buf_putc(d, '?');
		pv_buf_puts(d, _("\n  command "));
		proc_file(d, b->proc_root, o->pid, "cmdline");
		pv_buf_putc(d, '\n');
	}
	if (r->unit) {
		char label[PV_UNIT_NAME_MAX + 16];
		pv_unit_label(r->unit, label, sizeof(label));
		pv_buf_puts(d, _("  unit    "));
		pv_escape_text(d, label, strlen(label));
		pv_buf_putc(d, '\n');
	}
}

static void detail_info(struct pv_buf *d, const struct pv_tcp_info *t)
{
	if (!t || !t->have) {
		pv_buf_puts(d, _("tcp_info  none (not a TCP connection, or not given)\n"));
		return;
	}
	char a[PV_SI_MAX], s[PV_SI_MAX], rc[PV_SI_MAX], dr[PV_SI_MAX];
	pv_format_si(a, t->bytes_acked);
	pv_format_si(s, t->bytes_sent);
	pv_format_si(rc, t->bytes_received);
	pv_format_si(dr, t->delivery_rate * 8);
	pv_buf_printf(d, "tcp_info  rtt %.3f/%.3f ms  cwnd %u  mss %u\n", t->rtt_us / 1000.0,
		      t->rttvar_us / 1000.0, t->snd_cwnd, t->snd_mss);
	pv_buf_printf(d, "          sent %s  acked %s  received %s  segs %u/%u\n", s, a, rc,
		      t->segs_out, t->segs_in);
	pv_buf_printf(d, "          retrans %u/%u  delivery %sbps  idle %u/%u ms\n", t->retrans,
		      t->total_retrans, dr, t->last_data_sent_ms, t->last_data_recv_ms);
}

/* The service's port (the local one, unless the kernel picked it): what --lookup says of it. */
static void detail_lookup(struct pv_buf *d, const struct top_build *b, const struct pv_view *v,
			  const struct pv_row *r)
{
	bool client = r->local_ephemeral && r->s.remote.port;
	char arg[32];
	struct pv_lookup lk;
	struct pv_why why;
	snprintf(arg, sizeof(arg), "%u/%s", client ? r->s.remote.port : r->s.local.port,
		 r->s.proto == IPPROTO_UDP ? "udp" : "tcp");
	if (b->svc && pv_lookup_parse(arg, b->svc, &lk, &why))
		pv_render_lookup(d, lk.ports, lk.nports, v->ephemeral);
}

/* The lines Enter shows about one socket (found in cur, or closed in prev). */
static void details(struct top_frame *f, const struct top_build *b, const struct pv_snap *cur,
		    const struct pv_snap *prev)
{
	struct pv_buf *d = &f->detail;
	f->detail_key = b->detail_key;
	const struct pv_snap *in[2] = {cur, prev};
	for (int k = 0; k < 2 && b->detail_key && !f->detail_found; k++) {
		const struct pv_view *v = in[k] ? &in[k]->view : NULL;
		for (size_t i = 0; v && i < v->l->n && !f->detail_found; i++) {
			if (v->l->v[i].cookie != b->detail_key)
				continue;
			struct pv_row r;
			pv_view_row(v, i, &r);
			char l[PV_ENDPOINT_MAX], rm[PV_ENDPOINT_MAX];
			pv_format_endpoint(l, r.s.family, &r.s.local, r.s.ifindex, NULL);
			pv_format_endpoint(rm, r.s.family, &r.s.remote, r.s.ifindex, NULL);
			pv_buf_printf(d, "Socket    %s %s -> %s  %s%s  cookie %llu  inode %u\n",
				      pv_proto_name(r.s.proto), l, rm,
				      pv_state_display(r.s.proto, r.s.state), k ? " (closed)" : "",
				      (unsigned long long)r.s.cookie, r.s.inode);
			detail_owners(d, b, v, &r);
			detail_info(d, r.s.info);
			detail_lookup(d, b, v, &r);
			f->detail_found = true;
		}
	}
}

void top_frame_build(struct top_frame *f, const struct top_build *b, const struct pv_snap *cur,
		     const struct pv_snap *prev, const struct top_frame *old)
{
	f->when = cur->when;
	f->rates = prev != NULL;
	socket_rows(f, b, cur, prev, old);
	process_rows(f, b, &cur->view);
	details(f, b, cur, prev);
	/* the screen's work on a new frame done here, beside its keys */
	for (int v = 0; v < TOP_NVIEWS; v++) {
		for (size_t i = 0; i < f->n[v]; i++)
			for (unsigned c = 0; c < top_ncols[v]; c++) {
				unsigned w = top_text_width(top_text(f, &f->rows[v][i], (int)c));
				f->widest[v][c] = w > f->widest[v][c] ? w : f->widest[v][c];
			}
		f->order[v] = xcalloc(f->n[v] + 1, sizeof(uint32_t));
		top_order(f, (enum top_view)v, b->sort[v], b->reverse[v], f->order[v]);
		f->order_col[v] = b->sort[v];
		f->order_rev[v] = b->reverse[v];
	}
}
