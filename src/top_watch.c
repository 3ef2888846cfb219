/*
 * The interval display on a terminal (portview -no 5, -c): the same
 * ncurses screen as --top (top_term.c, top_screen.c's pieces), its rows
 * the interval table's (render_table.c's frame, fitted to the width, its
 * colours read back from the SGR codes into curses' attributes).  The
 * header line, a blank line, the titles, the rows that fit (the arrows
 * scroll), a status line, a footer of keys.  Keys are answered between
 * refreshes: q quits, space pauses, + and - change the interval, ? helps.
 * When it ends, the terminal is put back and the last refresh printed on
 * it, cut to its height as it was shown, then what standard error had.
 */
#include <curses.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "i18n.h"
#include "top.h"
#include "portview/format.h"

/* The colour pairs the rows' SGR colours take: made as they are met. */
enum { FIRST_PAIR = 8, MAX_PAIRS = 48 };

struct top_watch {
	struct screen *scr;
	struct pv_aside aside;
	const struct pv_request *req;
	struct top_state st;
	const struct pv_watch_header *h;
	const struct pv_frame *f;
	struct pv_buf header, table; /* the refresh as text: a header line, the table */
	size_t *lines, nlines, cap;  /* where each of the table's lines starts */
	struct timespec shown;	     /* when the last refresh was drawn */
	short pair_fg[MAX_PAIRS], pair_bg[MAX_PAIRS];
	int pairs;
	bool colors, keys;
};

/* ---- the refresh as text ---- */

static void compose(struct top_watch *w)
{
	const struct pv_request *req = w->req;
	w->header.len = 0;
	pv_render_watch_header(&w->header, w->h);
	if (w->header.len && w->header.data[w->header.len - 1] == '\n')
		w->header.len--;
	pv_buf_putc(&w->header, '\0');
	struct pv_table_opts o = req->table;
	o.width = req->table.wide ? 0 : (unsigned)getmaxx(stdscr);
	o.no_title = true;
	o.changes = true;
	w->table.len = 0;
	pv_render_frame(&w->table, w->f, &o);
	w->nlines = 0;
	for (size_t i = 0; i < w->table.len;) {
		if (w->nlines == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 64;
			w->lines = xrealloc(w->lines, w->cap * sizeof(*w->lines));
		}
		w->lines[w->nlines++] = i;
		while (i < w->table.len && w->table.data[i] != '\n')
			i++;
		i++;
	}
}

/* ---- a line with SGR colours, drawn with curses' attributes ---- */

static short sgr_color(int code, int base, bool *bright)
{
	int c = code - base;
	if (c >= 60) { /* 90-97, 100-107: the bright ones, when the terminal has them */
		*bright = COLORS < 16;
		return (short)(COLORS >= 16 ? c - 60 + 8 : c - 60);
	}
	return (short)c;
}

static int pair_for(struct top_watch *w, short fg, short bg)
{
	if (!w->colors || (fg < 0 && bg < 0))
		return 0;
	for (int i = 0; i < w->pairs; i++)
		if (w->pair_fg[i] == fg && w->pair_bg[i] == bg)
			return FIRST_PAIR + i;
	if (w->pairs == MAX_PAIRS || FIRST_PAIR + w->pairs >= COLOR_PAIRS)
		return 0;
	w->pair_fg[w->pairs] = fg;
	w->pair_bg[w->pairs] = bg;
	init_pair((short)(FIRST_PAIR + w->pairs), fg, bg);
	return FIRST_PAIR + w->pairs++;
}

/* The attributes an SGR sequence's parameters ("30;42") leave. */
struct sgr {
	short fg, bg;
	attr_t attr;
};

static void sgr_apply(struct sgr *g, const char *p, const char *end)
{
	if (p == end)
		*g = (struct sgr){-1, -1, A_NORMAL};
	while (p < end) {
		int code = 0;
		while (p < end && *p >= '0' && *p <= '9')
			code = code * 10 + (*p++ - '0');
		bool bright = false;
		if (code == 0)
			*g = (struct sgr){-1, -1, A_NORMAL};
		else if (code == 1)
			g->attr |= A_BOLD;
		else if (code == 2)
			g->attr |= A_DIM;
		else if ((code >= 30 && code <= 37) || (code >= 90 && code <= 97))
			g->fg = sgr_color(code, 30, &bright);
		else if (code == 39)
			g->fg = -1;
		else if ((code >= 40 && code <= 47) || (code >= 100 && code <= 107))
			g->bg = sgr_color(code, 40, &bright);
		else if (code == 49)
			g->bg = -1;
		if (bright)
			g->attr |= A_BOLD;
		if (p < end)
			p++; /* the ';' */
	}
}

/*
 * The table's line [s, end) at y: its text without the SGR codes fitted
 * to the width (cut with the ellipsis), each piece in its colours.
 */
static void put_colored(struct top_watch *w, int y, const char *s, const char *end, unsigned width)
{
	struct pv_buf plain, cut;
	pv_buf_init(&plain);
	pv_buf_init(&cut);
	struct {
		size_t at;
		struct sgr g;
	} runs[64];
	size_t nruns = 0;
	struct sgr g = {-1, -1, A_NORMAL};
	runs[nruns++].at = 0, runs[0].g = g;
	while (s < end) {
		if (*s == '\033' && s + 1 < end && s[1] == '[') {
			const char *p = s + 2, *m = p;
			while (m < end && ((*m >= '0' && *m <= '9') || *m == ';'))
				m++;
			if (m < end && *m == 'm') {
				sgr_apply(&g, p, m);
				if (runs[nruns - 1].at == plain.len)
					nruns--; /* nothing drawn in the last colours */
				if (nruns < ARRAY_SIZE(runs))
					runs[nruns].at = plain.len, runs[nruns++].g = g;
				s = m + 1;
				continue;
			}
		}
		pv_buf_putc(&plain, *s++);
	}
	pv_buf_putc(&plain, '\0');
	plain.len--;
	size_t keep = plain.len;
	if (top_text_width(plain.data) > width) {
		top_put_cut(&cut, plain.data, width);
		keep = cut.len - strlen(top_ellipsis());
	}
	move(y, 0);
	const struct sgr *last = &runs[0].g;
	for (size_t i = 0; i < nruns && runs[i].at <= keep; i++) {
		size_t from = runs[i].at, to = i + 1 < nruns ? runs[i + 1].at : plain.len;
		to = to < keep ? to : keep;
		last = &runs[i].g;
		if (from < to) {
			attr_set(last->attr, (short)pair_for(w, last->fg, last->bg), NULL);
			addnstr(plain.data + from, (int)(to - from));
		}
	}
	if (keep < plain.len) {
		attr_set(last->attr, (short)pair_for(w, last->fg, last->bg), NULL);
		addstr(top_ellipsis());
	}
	attr_set(A_NORMAL, 0, NULL);
	int cy, cx;
	getyx(stdscr, cy, cx);
	if (cy == y && cx < (int)width) /* a line as wide as the screen keeps its last character */
		clrtoeol();
	pv_buf_free(&plain);
	pv_buf_free(&cut);
}

/* ---- drawing ---- */

static const char help_text[] =
    N_("Keys\n"
       "  Down, j / Up, k     scroll a row           PgDn, PgUp  a page    Home, End (g, G)\n"
       "  space               pause / go on\n"
       "  +, -                a longer / shorter interval\n"
       "  q, Ctrl-C           quit (the last refresh stays printed)\n"
       "\n"
       "Rows: new green (+), changed yellow (~), closed red (-), for one refresh.\n"
       "For sorting, a filter, details and acting on a row: portview --top.\n"
       "Any key closes this help.\n");

static void draw_status(struct top_watch *w, int y, unsigned width, size_t shown)
{
	struct top_state *st = &w->st;
	char text[320];
	size_t rows = w->nlines > 1 ? w->nlines - 1 : 0, first = st->first[0];
	if (st->status[0])
		snprintf(text, sizeof(text), "%s", st->status);
	else if (st->paused)
		snprintf(text, sizeof(text), "%s", _("paused (space: go on)"));
	else if (shown < rows)
		snprintf(text, sizeof(text), _("rows %zu-%zu of %zu (arrows, PgDn, End)"),
			 first + 1, first + shown, rows);
	else
		text[0] = '\0';
	struct pv_buf line;
	pv_buf_init(&line);
	top_put_cut(&line, text, width);
	top_put_line(y, &line, A_NORMAL, 0);
	pv_buf_free(&line);
}

/* The header line, or a shorter form of it rather than a cut one. */
static void draw_header(struct top_watch *w, unsigned width)
{
	const char *text = w->header.data ? w->header.data : "";
	char brief[160];
	if (w->h && top_text_width(text) > width) {
		const struct pv_watch_header *h = w->h;
		const struct pv_watch_counts *c = &h->counts;
		char send[PV_SI_MAX], recv[PV_SI_MAX];
		pv_format_si(send, h->sent);
		pv_format_si(recv, h->received);
		int n = snprintf(brief, sizeof(brief), "%.8s", text);
		n += snprintf(brief + n, sizeof(brief) - (size_t)n,
			      P_("  %zu socket", "  %zu sockets", c->total), c->total);
		if (!h->first)
			n += snprintf(brief + n, sizeof(brief) - (size_t)n, " +%zu ~%zu -%zu",
				      c->opened, c->changed, c->closed);
		if (h->rates && !h->first)
			snprintf(brief + n, sizeof(brief) - (size_t)n, _("  %s/s up %s/s down"),
				 send, recv);
		text = brief;
	}
	struct pv_buf line;
	pv_buf_init(&line);
	top_put_cut(&line, text, width);
	top_put_line(0, &line, A_NORMAL, 0);
	pv_buf_free(&line);
}

static void draw(struct top_watch *w)
{
	static const char *const keys[] = {N_("q quit"), N_("? help"), N_("space pause"),
					   N_("+,- interval"), N_("arrows scroll")};
	int height = getmaxy(stdscr), cols = getmaxx(stdscr);
	unsigned width = cols > 0 ? (unsigned)cols : 1;
	if (height < 6) {
		erase();
		mvaddnstr(0, 0, _("portview: the terminal is too small"), cols - 1);
		refresh();
		return;
	}
	draw_header(w, width);
	move(1, 0);
	clrtoeol();
	int top = 3, bottom = height - 2; /* the rows: [top, bottom) */
	size_t shown = (size_t)(bottom - top);
	w->st.rows_shown = bottom - top;
	if (w->st.help) {
		for (int y = top_put_text_lines(_(help_text), 2, bottom, width); y < bottom; y++) {
			move(y, 0);
			clrtoeol();
		}
	} else {
		size_t rows = w->nlines > 1 ? w->nlines - 1 : 0;
		size_t *first = &w->st.first[0];
		if (*first + shown > rows)
			*first = rows > shown ? rows - shown : 0;
		for (int y = 2; y < bottom; y++) {
			size_t k = y == 2 ? 0 : 1 + *first + (size_t)(y - top);
			if (k < w->nlines) {
				const char *s = w->table.data + w->lines[k];
				const char *e = memchr(s, '\n', w->table.len - w->lines[k]);
				put_colored(w, y, s, e ? e : w->table.data + w->table.len, width);
			} else {
				move(y, 0);
				clrtoeol();
			}
		}
	}
	draw_status(w, height - 2, width, shown);
	top_draw_keys(height - 1, width, keys, ARRAY_SIZE(keys));
	refresh();
}

/* ---- the run's side ---- */

struct top_watch *top_watch_open(const struct pv_request *req)
{
	struct top_watch *w = xcalloc(1, sizeof(*w));
	w->req = req;
	w->scr = top_term_open();
	if (!w->scr) {
		free(w);
		return NULL;
	}
	top_state_init(&w->st, false, false, req->interval_ms, 0, false);
	w->keys = isatty(STDIN_FILENO);
	if (req->table.color && has_colors()) {
		start_color();
		use_default_colors();
		w->colors = true;
	}
	pv_buf_init(&w->header);
	pv_buf_init(&w->table);
	pv_aside_start(&w->aside);
	return w;
}

void top_watch_show(struct top_watch *w, const struct pv_watch_header *h, const struct pv_frame *f)
{
	w->h = h;
	w->f = f;
	pv_now_mono(&w->shown);
	compose(w);
	draw(w);
}

uint32_t top_watch_interval(const struct top_watch *w)
{
	return w->st.interval_ms;
}

/* Scrolling; returns whether the key was one. */
static bool scroll_key(struct top_watch *w, int key)
{
	size_t *first = &w->st.first[0];
	size_t page = w->st.rows_shown > 1 ? (size_t)w->st.rows_shown - 1 : 1;
	switch (key) {
	case KEY_DOWN:
	case 'j':
		(*first)++;
		return true;
	case KEY_UP:
	case 'k':
		*first -= *first > 0;
		return true;
	case KEY_NPAGE:
		*first += page;
		return true;
	case KEY_PPAGE:
		*first = *first > page ? *first - page : 0;
		return true;
	case KEY_HOME:
	case 'g':
		*first = 0;
		return true;
	case KEY_END:
	case 'G':
		*first = w->nlines; /* draw() brings it back to the last page */
		return true;
	}
	return false;
}

/* The keys typed; false when one of them ends the run. */
static bool keys(struct top_watch *w, struct timespec *next)
{
	struct top_state *st = &w->st;
	int key;
	while ((key = getch()) != ERR) {
		if (st->help) {
			st->help = key == 'q' ? st->help : false;
			if (key != 'q')
				continue;
		}
		if (key == 'q')
			return false;
		if (scroll_key(w, key))
			continue;
		st->status[0] = '\0';
		if (key == '?') {
			st->help = true;
		} else if (key == ' ') {
			st->paused = !st->paused;
			if (!st->paused)
				top_say(st, false, "going on");
		} else if (key == '+' || key == '-') {
			top_interval_key(st, key == '-');
			*next = w->shown;
			pv_add_ms(next, st->interval_ms);
		}
	}
	return true;
}

/* Whether the terminal has gone (standard input hung up). */
static bool hung_up(void)
{
	struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR));
}

enum pv_wake top_watch_wait(struct top_watch *w, int sigfd, struct timespec *next)
{
	for (;;) {
		struct timespec until = *next;
		if (w->st.paused) { /* a day: no refresh until space */
			pv_now_mono(&until);
			until.tv_sec += 86400;
		}
		/* keys only from a terminal: /dev/null would read as ever ready */
		enum pv_wake wake = pv_wait_until(sigfd, w->keys ? STDIN_FILENO : -1, &until);
		switch (wake) {
		case PV_WAKE_TIME:
			if (!w->st.paused)
				return PV_WAKE_TIME;
			break;
		case PV_WAKE_STOP:
			return PV_WAKE_STOP;
		case PV_WAKE_SUSPEND:
			pv_aside_end(&w->aside);
			top_term_suspend();
			pv_aside_start(&w->aside);
			__attribute__((fallthrough)); /* drawn again at the size it has now */
		case PV_WAKE_RESIZE:
			top_term_resized();
			compose(w);
			break;
		case PV_WAKE_INPUT:
			if (hung_up())
				return PV_WAKE_STOP;
			if (!keys(w, next))
				return PV_WAKE_STOP;
			break;
		}
		draw(w);
	}
}

void top_watch_close(struct top_watch *w)
{
	int height = getmaxy(stdscr) > 5 ? getmaxy(stdscr) : 24;
	top_term_close(w->scr);
	/* the last refresh as it was shown: the header, a blank line, the rows that fitted */
	struct pv_buf out;
	pv_buf_init(&out);
	if (w->h) {
		pv_buf_puts(&out, w->header.data);
		pv_buf_puts(&out, "\n\n");
		size_t n = w->nlines + 2 > (size_t)height ? (size_t)height - 3 : w->nlines;
		size_t end = n < w->nlines ? w->lines[n] : w->table.len;
		pv_buf_add(&out, w->table.data, end);
		if (n < w->nlines)
			pv_buf_printf(&out, _("  ... %zu more\n"), w->nlines - n);
	}
	pv_write_out(&out, NULL);
	pv_aside_end(&w->aside);
	pv_buf_free(&out);
	pv_buf_free(&w->header);
	pv_buf_free(&w->table);
	free(w->lines);
	top_state_free(&w->st);
	free(w);
}
