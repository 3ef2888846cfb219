/*
 * --kill: close every TCP socket the filters select, as ss -K does.  The
 * selection is the listing's (what `portview FILTERS` would list, TCP
 * only, listeners too when it lists them), taken once; each socket is
 * then closed with SOCK_DESTROY for its id and cookie (destroy.h), in its
 * own namespace, and said: "closed ..." on standard output, or its reason
 * on standard error.  --dry-run says "would close ..." and closes nothing.
 */
#include <errno.h>
#include <netinet/in.h>
#include <unistd.h>

#include "i18n.h"
#include "modes.h"
#include "program.h"
#include "portview/destroy.h"
#include "portview/format.h"
#include "portview/state.h"
#include "portview/util.h"

/* At most this many owners named per socket; the rest counted. */
#define OWNERS_NAMED 3

/* "TCP 10.0.0.2:51234 -> 203.0.113.5:443 ESTABLISHED held by 1234/curl" */
static void describe(struct pv_buf *b, const struct pv_view *v, const struct pv_row *row,
		     bool multi)
{
	char ep[PV_ENDPOINT_MAX];
	const struct pv_sock *s = &row->s;
	pv_buf_puts(b, pv_proto_name(s->proto));
	pv_buf_putc(b, ' ');
	pv_buf_add(b, ep, pv_format_endpoint(ep, s->family, &s->local, s->ifindex, NULL));
	pv_buf_puts(b, " -> ");
	pv_buf_add(b, ep, pv_format_endpoint(ep, s->family, &s->remote, s->ifindex, NULL));
	pv_buf_putc(b, ' ');
	pv_buf_puts(b, pv_state_display(s->proto, s->state));
	if (multi && row->netns) {
		pv_buf_printf(b, " %s ", _("in"));
		pv_escape_text(b, row->netns->label, strlen(row->netns->label));
	}
	if (row->owner_count == 0) {
		pv_buf_puts(b, row->owners_unknown ? _(" (held by a process not seen)")
						   : _(" (no process)"));
		return;
	}
	pv_buf_puts(b, _(" held by "));
	for (uint32_t k = 0; k < row->owner_count && k < OWNERS_NAMED; k++) {
		const struct pv_owner *o = &v->owners.owners[row->owner_first + k];
		const struct pv_process *p = &v->owners.procs[o->proc];
		char pid[16];
		if (k)
			pv_buf_puts(b, ", ");
		pv_buf_add(b, pid, pv_format_uint(pid, (uint32_t)o->pid));
		pv_buf_putc(b, '/');
		pv_escape_text(b, p->comm, p->comm_len);
	}
	if (row->owner_count > OWNERS_NAMED) {
		char more[16];
		pv_buf_puts(b, " (+");
		pv_buf_add(b, more, pv_format_uint(more, row->owner_count - OWNERS_NAMED));
		pv_buf_putc(b, ')');
	}
}

/* The namespace file to enter for a socket of place i, or -1: portview is there. */
static int netns_fd(const struct pv_places *P, uint32_t i)
{
	if (i >= P->n)
		return -1;
	const struct pv_netns *ns = &P->v[i].ns;
	return ns->fd >= 0 && !ns->own ? ns->fd : -1;
}

struct tally {
	size_t selected, closed, gone, failed;
	bool out_gone; /* the reader of standard output went away */
};

/* One socket closed (or, with --dry-run, named), and said. */
static void close_one(const struct pv_request *req, const struct pv_places *P,
		      const struct pv_view *v, size_t i, struct pv_buf *out, struct tally *t)
{
	struct pv_row row;
	struct pv_buf what;
	pv_view_row(v, i, &row);
	if (row.s.proto != IPPROTO_TCP)
		return;
	t->selected++;
	pv_buf_init(&what);
	describe(&what, v, &row, P->multi);
	int err = req->dry_run ? 0 : pv_destroy(&row.s, netns_fd(P, row.s.netns));
	if (err == 0) {
		t->closed++;
		pv_buf_puts(out, req->dry_run ? _("would close ") : _("closed "));
		pv_buf_add(out, what.data, what.len);
		pv_buf_putc(out, '\n');
	} else {
		/* in order with the lines before it */
		pv_write_out(out, &t->out_gone);
		if (err == -ENOENT)
			t->gone++;
		else
			t->failed++;
		/* gone meanwhile: what was asked for, said but no failure */
		pv_msg_begin("%s", err == -ENOENT ? "" : "not closed: ");
		pv_msg_more("%.*s: %s", (int)what.len, what.data, pv_destroy_strerror(err));
		pv_msg_end();
	}
	pv_buf_free(&what);
}

int pv_mode_kill(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	struct pv_socklist l;
	struct pv_view view;
	struct pv_buf out;
	struct tally t = {0};
	pv_socklist_init(&l);
	pv_buf_init_sink(&out, STDOUT_FILENO);
	int status = pv_take(req, &req->query, svc, P, false, &l, &view);
	for (size_t i = 0; status == EXIT_OK && i < l.n; i++)
		close_one(req, P, &view, i, &out, &t);
	pv_view_free(&view);
	pv_socklist_free(&l);
	if (status == EXIT_OK) {
		status = pv_write_out(&out, &t.out_gone);
		if (t.selected == 0)
			pv_warn("no TCP socket matches: nothing to close");
		else if (t.failed)
			pv_err("%zu of %zu sockets not closed", t.failed, t.selected);
		if (t.failed)
			status = EXIT_RUNTIME;
	}
	pv_buf_free(&out);
	return status;
}
