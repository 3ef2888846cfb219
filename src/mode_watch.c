/*
 * The listing again every interval.  One snapshotter per place (its
 * netlink sockets) serves every snapshot of the run.  On a terminal the
 * display draws on the alternate screen, one write per refresh, and puts
 * the terminal back as it found it, the last refresh printed on its
 * normal screen (also while stopped by Ctrl-Z); what it writes on
 * standard error meanwhile is kept aside until then.  In a pipe each
 * refresh is written in full after its time; with --json, one NDJSON line.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "modes.h"
#include "refresh.h"
#include "portview/render.h"
#include "portview/watch.h"

/* The next moment of a schedule every ms, or now when the run has fallen behind. */
static void schedule(struct timespec *next, uint32_t ms)
{
	struct timespec now;
	pv_add_ms(next, ms);
	pv_now_mono(&now);
	if (pv_before(next, &now))
		*next = now;
}

static void screen_size(const struct pv_request *req, unsigned *width, unsigned *height)
{
	struct winsize ws;
	bool known = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
	*width = known && ws.ws_col ? ws.ws_col : req->table.width ? req->table.width : 80;
	*height = known && ws.ws_row ? ws.ws_row : 24;
}

/*
 * A refresh as the terminal shows it: the header line, a blank line, the
 * table fitted to width with what changed marked, cut to height lines
 * with a last line saying how many rows did not fit.
 */
static void compose(const struct pv_request *req, const struct pv_watch_header *h,
		    const struct pv_frame *f, struct pv_buf *text)
{
	unsigned width, height;
	screen_size(req, &width, &height);
	text->len = 0;
	pv_render_watch_header(text, h);
	pv_buf_putc(text, '\n');
	struct pv_table_opts o = req->table;
	o.width = req->table.wide ? 0 : width;
	o.no_title = true;
	o.changes = true;
	pv_render_frame(text, f, &o);
	size_t lines = 0, cut = 0;
	for (size_t i = 0; i < text->len; i++) {
		if (text->data[i] != '\n')
			continue;
		if (++lines == (height > 2 ? height - 1 : 1))
			cut = i + 1;
	}
	if (lines > height && cut) {
		text->len = cut;
		pv_buf_printf(text, "  ... %zu more\n", lines - (height > 2 ? height - 1 : 1));
	}
}

/* Draw text over the previous refresh: each line cleared to its end, one write. */
static void draw(struct pv_buf *out, const struct pv_buf *text, bool first)
{
	if (first) /* the alternate screen, no cursor, no line wrap */
		pv_buf_puts(out, "\033[?1049h\033[?25l\033[?7l");
	pv_buf_puts(out, "\033[H");
	for (size_t i = 0; i < text->len; i++) {
		if (text->data[i] != '\n') {
			pv_buf_putc(out, text->data[i]);
			continue;
		}
		pv_buf_puts(out, "\033[K");
		if (i + 1 < text->len) /* a newline on the last row would scroll */
			pv_buf_putc(out, '\n');
	}
	pv_buf_puts(out, "\033[J");
}

/* The terminal as it was, and the last refresh on its normal screen. */
static void leave(struct pv_buf *out, const struct pv_buf *text)
{
	pv_buf_puts(out, "\033[?7h\033[?25h\033[?1049l");
	pv_buf_add(out, text->data, text->len);
}

int pv_mode_watch(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P)
{
	bool tty = !req->json && isatty(STDOUT_FILENO);
	int status = pv_open_snapshotters(P);
	if (status != EXIT_OK)
		return status;
	int sigfd = pv_signals_open(tty);
	if (sigfd < 0) {
		pv_err_errno(sigfd, "cannot wait for signals");
		return EXIT_RUNTIME;
	}
	struct pv_snap slots[2], *prev = NULL, *cur = &slots[0];
	pv_snap_init(&slots[0]);
	pv_snap_init(&slots[1]);
	struct pv_buf out, text;
	pv_buf_init(&out);
	pv_buf_init(&text);
	struct pv_watch_row *rows = NULL;
	struct pv_watch_header h;
	struct pv_frame f;
	bool drawn = false, gone = false;
	struct pv_aside aside = {-1, -1};
	unsigned timeout = req->interval_ms / 2 < PV_RESOLVE_TIMEOUT_MS ? req->interval_ms / 2
									: PV_RESOLVE_TIMEOUT_MS;
	struct timespec next;
	pv_now_mono(&next);
	for (uint64_t taken = 0;;) {
		status = pv_snap_take(req, P, svc, taken > 0, req->info, prev, cur);
		if (status != EXIT_OK)
			break;
		if (!req->table.numeric && !req->json)
			pv_view_resolve_names(&cur->view, timeout);
		free(rows);
		size_t n;
		h = (struct pv_watch_header){.when = cur->when,
					     .interval_ms = req->interval_ms,
					     .first = !prev,
					     .clock = tty,
					     .rates = req->info};
		rows = pv_watch_compare(prev ? &prev->l : NULL, &cur->l, &n, &h.counts);
		for (size_t i = 0; cur->rates && i < cur->l.n; i++) {
			h.sent += cur->rates[i].sent;
			h.received += cur->rates[i].received;
		}
		f = (struct pv_frame){
		    .cur = &cur->view, .prev = prev ? &prev->view : NULL, .rows = rows, .n = n};
		if (req->json) {
			pv_render_frame_json(&out, &h, &f);
		} else if (tty) {
			compose(req, &h, &f, &text);
			draw(&out, &text, !drawn);
			if (!drawn)
				pv_aside_start(&aside);
			drawn = true;
		} else {
			/* in full, as a netstat that repeats: each snapshot after its time */
			pv_render_watch_header(&out, &h);
			pv_render_table(&out, &cur->view, &req->table);
		}
		if ((status = pv_write_out(&out, &gone)) != EXIT_OK || gone)
			break;
		if (req->count && ++taken >= req->count)
			break;
		taken = taken ? taken : 1; /* no --count: only whether one was taken matters */
		schedule(&next, req->interval_ms);
		enum pv_wake w;
		while (((w = pv_wait_until(sigfd, -1, &next)) == PV_WAKE_RESIZE ||
			w == PV_WAKE_SUSPEND) &&
		       drawn) {
			if (w == PV_WAKE_SUSPEND) {
				/* Ctrl-Z: the terminal as it was, stop, then draw again */
				leave(&out, &text);
				pv_write_out(&out, &gone);
				pv_aside_end(&aside);
				kill(getpid(), SIGSTOP);
				pv_aside_start(&aside);
			}
			compose(req, &h, &f, &text);
			draw(&out, &text, w == PV_WAKE_SUSPEND);
			if ((status = pv_write_out(&out, &gone)) != EXIT_OK || gone)
				break;
		}
		if (w == PV_WAKE_STOP || status != EXIT_OK || gone)
			break;
		/* this snapshot becomes the one before; the older one's place takes the next */
		struct pv_snap *old = prev ? prev : &slots[1];
		if (prev)
			pv_snap_free(prev);
		prev = cur;
		cur = old;
	}
	if (drawn) {
		leave(&out, &text);
		pv_write_out(&out, NULL);
		pv_aside_end(&aside);
	}
	free(rows);
	pv_snap_free(&slots[0]);
	pv_snap_free(&slots[1]);
	pv_buf_free(&out);
	pv_buf_free(&text);
	close(sigfd);
	return status;
}
