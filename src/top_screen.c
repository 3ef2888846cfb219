/*
 * Drawing the live screen with ncurses (top.h): a header line, the
 * column titles, the rows, a status line, a footer of keys; or the help,
 * or one socket's details.  Fitting: widths kept from frame to frame (a
 * column only widens, until a resize), then on a narrow screen the
 * columns leave in their drop order (RTT ms, PID, State for the sockets),
 * then the widest shrinkable cell shrinks toward its minimum, and a cut
 * cell ends with an ellipsis ("..." in UTF-8 as one character, '~' in
 * the C locale).  No line is ever wider than the screen.
 */
#include <curses.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "i18n.h"
#include "top.h"
#include "portview/format.h"

enum { PAIR_NEW = 1, PAIR_CHANGED, PAIR_CLOSED, PAIR_ERROR };

static bool utf8(void)
{
	static int known = -1;
	if (known < 0)
		known = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return known;
}

void top_screen_colors(struct top_state *st)
{
	if (!st->color || !has_colors()) {
		st->color = false;
		return;
	}
	start_color();
	use_default_colors();
	init_pair(PAIR_NEW, COLOR_BLACK, COLOR_GREEN);
	init_pair(PAIR_CHANGED, COLOR_BLACK, COLOR_YELLOW);
	init_pair(PAIR_CLOSED, COLOR_WHITE, COLOR_RED);
	init_pair(PAIR_ERROR, COLOR_RED, -1);
}

/* The columns a text takes; a byte that does not decode counts as one. */
unsigned top_text_width(const char *s)
{
	return (unsigned)pv_text_width(s, strlen(s)); /* display columns, in any locale */
}

/*
 * Append text to line, at most max columns: when it is wider, cut with
 * the ellipsis as its last column.  Returns the columns written.
 */
unsigned top_put_cut(struct pv_buf *line, const char *s, unsigned max)
{
	unsigned w = top_text_width(s);
	if (w <= max) {
		pv_buf_puts(line, s);
		return w;
	}
	if (max == 0)
		return 0;
	size_t n = strlen(s);
	unsigned used = 0;
	while (n) {
		size_t k;
		unsigned cw = (unsigned)pv_char_width(s, n, &k);
		if (used + (unsigned)cw > max - 1)
			break;
		pv_buf_add(line, s, k);
		used += (unsigned)cw;
		s += k;
		n -= k;
	}
	pv_buf_puts(line, top_ellipsis());
	return used + 1;
}

const char *top_ellipsis(void)
{
	return utf8() ? "\xe2\x80\xa6" : "~";
}

/*
 * A line of the screen, its text already fitted, with attributes (a
 * coloured or selected line coloured to its end, as TCPView's rows).  A
 * line as wide as the screen leaves the cursor on the next line: nothing
 * is cleared then, so that its last character stays.
 */
void top_put_line(int y, const struct pv_buf *line, unsigned long attr, int pair)
{
	int w = getmaxx(stdscr), cy, cx;
	attr_set((attr_t)attr, (short)pair, NULL);
	mvaddnstr(y, 0, line->data ? line->data : "", (int)line->len);
	getyx(stdscr, cy, cx);
	if (cy == y && cx < w) {
		if (attr || pair)
			for (; cx < w; cx++)
				addch(' ');
		else
			clrtoeol();
	}
	attr_set(A_NORMAL, 0, NULL);
}

/* Which columns are shown, how wide: the widths kept, then fitted to the screen. */
struct layout {
	bool on[TOP_MAXCOLS];
	unsigned w[TOP_MAXCOLS];
};

static unsigned layout_width(const struct layout *l, unsigned n)
{
	unsigned w = 2, k = 0; /* the marks' indent */
	for (unsigned c = 0; c < n; c++)
		if (l->on[c])
			w += l->w[c] + (k++ ? 1 : 0);
	return w;
}

static void fit(struct top_state *st, const struct top_frame *f, unsigned width, struct layout *l)
{
	enum top_view v = st->view;
	unsigned n = top_ncols[v];
	bool measure = st->measured[v] != f->gen;
	st->measured[v] = f->gen;
	for (unsigned c = 0; c < n; c++) {
		const struct top_column *col = &top_columns[v][c];
		unsigned want = top_text_width(_(col->title)) + 1; /* the sort arrow's room */
		if (measure && f->widest[v][c] > want) /* measured by the refresh thread */
			want = f->widest[v][c];
		if (col->max && want > col->max)
			want = col->max;
		if (want > st->width[v][c])
			st->width[v][c] = want;
		l->w[c] = st->width[v][c];
		l->on[c] = true;
	}
	for (int order = 1; order <= 4 && layout_width(l, n) > width; order++)
		for (unsigned c = 0; c < n; c++)
			if (top_columns[v][c].drop == order)
				l->on[c] = false;
	while (layout_width(l, n) > width) {
		int widest = -1;
		unsigned room = 0;
		for (unsigned c = 0; c < n; c++) {
			unsigned min = top_columns[v][c].min;
			if (l->on[c] && l->w[c] > min && l->w[c] - min > room)
				room = l->w[c] - min, widest = (int)c;
		}
		if (widest < 0)
			break;
		l->w[widest]--;
	}
}

/* Append a cell padded to its width, numbers to the right. */
static void put_cell(struct pv_buf *line, const char *text, unsigned w, bool right, bool last)
{
	unsigned tw = top_text_width(text);
	if (right && tw < w)
		pv_buf_pad(line, ' ', w - tw);
	unsigned used = top_put_cut(line, text, w);
	if (!right && !last && used < w)
		pv_buf_pad(line, ' ', w - used);
}

static void draw_titles(struct top_state *st, const struct layout *l, int y)
{
	enum top_view v = st->view;
	struct pv_buf line;
	pv_buf_init(&line);
	pv_buf_puts(&line, "  ");
	bool first = true;
	for (unsigned c = 0; c < top_ncols[v]; c++) {
		if (!l->on[c])
			continue;
		if (!first)
			pv_buf_putc(&line, ' ');
		first = false;
		char title[64];
		const struct top_column *col = &top_columns[v][c];
		bool down = col->descending != st->reverse[v];
		snprintf(title, sizeof(title), "%s%s", _(col->title),
			 (int)c != st->sort[v] ? ""
			 : utf8()	       ? (down ? "\xe2\x96\xbc" : "\xe2\x96\xb2")
			 : down		       ? "v"
					       : "^");
		put_cell(&line, title, l->w[c], col->right, false);
	}
	top_put_line(y, &line, A_BOLD | A_UNDERLINE, 0);
	pv_buf_free(&line);
}

static const char change_mark[] = {' ', '+', '~', '-'};

static void draw_row(struct top_state *st, const struct top_frame *f, const struct layout *l,
		     const struct top_row *r, int y, bool sel)
{
	enum top_view v = st->view;
	struct pv_buf line;
	pv_buf_init(&line);
	pv_buf_putc(&line, st->color || r->change > 3 ? ' ' : change_mark[r->change]);
	pv_buf_putc(&line, ' ');
	bool first = true;
	unsigned last = 0;
	for (unsigned c = 0; c < top_ncols[v]; c++)
		if (l->on[c])
			last = c;
	for (unsigned c = 0; c < top_ncols[v]; c++) {
		if (!l->on[c])
			continue;
		if (!first)
			pv_buf_putc(&line, ' ');
		first = false;
		put_cell(&line, top_text(f, r, (int)c), l->w[c], top_columns[v][c].right,
			 c == last);
	}
	int pair = st->color && r->change ? PAIR_NEW + r->change - 1 : 0;
	top_put_line(y, &line, sel ? A_REVERSE : A_NORMAL, pair);
	pv_buf_free(&line);
}

/* The first of the texts that fits the width; the last one cut if none does. */
static void put_fitting(struct pv_buf *line, const char *const *texts, size_t n, unsigned width)
{
	for (size_t i = 0; i < n; i++) {
		if (top_text_width(texts[i]) <= width || i + 1 == n) {
			top_put_cut(line, texts[i], width);
			return;
		}
	}
}

static void draw_header(struct top_state *st, const struct top_frame *f, unsigned width)
{
	char when[16] = "--:--:--", send[PV_SI_MAX] = "-", recv[PV_SI_MAX] = "-";
	char full[512], mid[384], brief[128];
	struct tm tm;
	time_t t = f->when.tv_sec;
	if (t && localtime_r(&t, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (f->rates) {
		pv_format_si(send, f->sent);
		pv_format_si(recv, f->received);
	}
	const struct pv_watch_counts *c = &f->counts;
	const char *what = st->view == TOP_PROCESSES ? _(" per process") : "";
	const char *paused = st->paused ? _("  PAUSED") : "";
	snprintf(
	    full, sizeof(full),
	    _("portview --top%s  %s  %zu sockets, %zu new, %zu changed, %zu closed  send %sB/s, "
	      "recv %sB/s  every %gs%s%s%s"),
	    what, when, c->total, c->opened, c->changed, c->closed, send, recv,
	    st->interval_ms / 1000.0, paused, st->filter[0] ? _("  filter: ") : "", st->filter);
	snprintf(mid, sizeof(mid), _("%s  %zu sockets +%zu ~%zu -%zu  send %s/s recv %s/s%s%s%s"),
		 when, c->total, c->opened, c->changed, c->closed, send, recv, paused,
		 st->filter[0] ? "  /" : "", st->filter);
	snprintf(brief, sizeof(brief), _("%zu sockets  %s/s up %s/s down%s"), c->total, send, recv,
		 paused);
	const char *texts[] = {full, mid, brief};
	struct pv_buf line;
	pv_buf_init(&line);
	put_fitting(&line, texts, 3, width);
	top_put_line(0, &line, A_BOLD, 0);
	pv_buf_free(&line);
}

static void draw_status(struct top_state *st, int y, unsigned width)
{
	char text[640];
	const struct top_row *r = &st->target;
	struct pv_buf line;
	pv_buf_init(&line);
	if (st->prompt == TOP_FILTER)
		snprintf(text, sizeof(text),
			 _("filter (as the options: --dport 443 --command curl): %s"), st->input);
	else if (st->prompt == TOP_CLOSE)
		snprintf(text, sizeof(text), _("close %s -> %s held by %d/%s? [y/N]"),
			 st->target_text[0], st->target_text[1], (int)r->pid, st->target_text[2]);
	else if (st->prompt == TOP_SIGNAL)
		snprintf(text, sizeof(text), _("end %d/%s with SIGTERM? [y/N, 9: SIGKILL]"),
			 (int)r->pid, st->target_text[2]);
	else if (st->status[0])
		snprintf(text, sizeof(text), "%s", st->status);
	else if (st->view == TOP_PROCESSES)
		snprintf(text, sizeof(text), "%s",
			 _("Send/s and Recv/s: TCP only (tcp_info); UDP traffic is "
			   "not counted"));
	else
		text[0] = '\0';
	unsigned used = top_put_cut(&line, text, width);
	top_put_line(y, &line, st->prompt ? A_BOLD : A_NORMAL,
		     st->status_error && !st->prompt && st->color ? PAIR_ERROR : 0);
	if (st->prompt == TOP_FILTER) {
		curs_set(1);
		move(y, (int)(used < width ? used : width - 1));
	} else {
		curs_set(0);
	}
	pv_buf_free(&line);
}

void top_draw_keys(int y, unsigned width, const char *const *keys, size_t n)
{
	struct pv_buf line;
	pv_buf_init(&line);
	unsigned used = 0;
	for (size_t i = 0; i < n; i++) {
		const char *key = _(keys[i]);
		unsigned w = top_text_width(key) + (i ? 2 : 0);
		if (used + w > width - 1) /* the last column of the last line left alone */
			break;
		pv_buf_printf(&line, "%s%s", i ? "  " : "", key);
		used += w;
	}
	top_put_line(y, &line, A_REVERSE, 0);
	pv_buf_free(&line);
}

static void draw_footer(int y, unsigned width)
{
	static const char *const keys[] = {N_("q quit"),	N_("? help"),	    N_("/ filter"),
					   N_("s,<,> sort"),	N_("r reverse"),    N_("p process"),
					   N_("Enter details"), N_("k close"),	    N_("K kill"),
					   N_("space pause"),	N_("+,- interval"), N_("n names")};
	top_draw_keys(y, width, keys, ARRAY_SIZE(keys));
}

/* Lines of text from y on, each cut to the width; returns the next line. */
int top_put_text_lines(const char *text, int y, int bottom, unsigned width)
{
	struct pv_buf line;
	pv_buf_init(&line);
	while (*text && y < bottom) {
		size_t n = strcspn(text, "\n");
		char *one = strndup(text, n);
		line.len = 0;
		top_put_cut(&line, one ? one : "", width);
		free(one);
		top_put_line(y++, &line, A_NORMAL, 0);
		text += n + (text[n] == '\n');
	}
	pv_buf_free(&line);
	return y;
}

static const char help_text[] =
    N_("Keys\n"
       "  Down, j / Up        next / previous row    PgDn, PgUp  a page    Home, End (g, G)\n"
       "  s or >, <           sort by the next / previous column;  r  reverse the order\n"
       "  /                   filter, as the options: --dport 443 --dst 10.0.0.0/8 --command curl\n"
       "                      (empty: every socket; Escape: unchanged)\n"
       "  n                   host and service names on / off\n"
       "  p                   per process: sockets by state, listening ports, TCP rates\n"
       "  Enter               the selected socket's details (owners, tcp_info, rates)\n"
       "  space               pause / go on;   +, -  a longer / shorter interval\n"
       "  k                   close the selected TCP connection (asks first: y)\n"
       "  K                   end its process: SIGTERM (asks first: y, or 9 for SIGKILL)\n"
       "  q, Ctrl-C           quit\n"
       "\n"
       "Rows: new green (+), changed yellow (~), closed red (-), for --highlight seconds.\n"
       "Any key closes this help.\n");

/* The sparkline of a minute of rates, a character per second. */
static void sparkline(struct pv_buf *out, const uint64_t *v, size_t n)
{
	static const char *const blocks[] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
					     "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
					     "\xe2\x96\x87", "\xe2\x96\x88"};
	static const char ascii[] = "_.-=+*#@";
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++)
		max = v[i] > max ? v[i] : max;
	for (size_t i = 0; i < n; i++) {
		unsigned k = max ? (unsigned)(v[i] * 7 / max) : 0;
		if (utf8())
			pv_buf_puts(out, blocks[k]);
		else
			pv_buf_putc(out, ascii[k]);
	}
	char m[PV_SI_MAX];
	pv_format_si(m, max);
	pv_buf_printf(out, _("  (at most %sB/s)\n"), m);
}

static int draw_details(struct top_state *st, const struct top_frame *f, int y, int bottom,
			unsigned width)
{
	struct pv_buf text;
	pv_buf_init(&text);
	if (f->detail_key != st->sel_key[TOP_SOCKETS])
		pv_buf_puts(&text, _("(the details come with the next refresh)\n"));
	else if (!f->detail_found)
		pv_buf_puts(&text, _("(this socket has gone)\n"));
	else
		pv_buf_add(&text, f->detail.data, f->detail.len);
	pv_buf_printf(&text, "%s", _("\nThe last minute, a mark per refresh:\n  Send/s "));
	sparkline(&text, st->spark_sent, st->spark_n);
	pv_buf_printf(&text, "  %s ", _("Recv/s"));
	sparkline(&text, st->spark_recv, st->spark_n);
	pv_buf_puts(&text, _("\nEnter or Escape: back to the list\n"));
	pv_buf_putc(&text, '\0');
	y = top_put_text_lines(text.data, y, bottom, width);
	pv_buf_free(&text);
	return y;
}

void top_draw(struct top_state *st, const struct top_frame *f)
{
	int height = getmaxy(stdscr), w = getmaxx(stdscr);
	unsigned width = w > 0 ? (unsigned)w : 1;
	if (height < 5) {
		erase();
		mvaddnstr(0, 0, _("portview: the terminal is too small"), w - 1);
		refresh();
		return;
	}
	int top = 2, bottom = height - 2; /* the table's lines: [top, bottom) */
	st->rows_shown = bottom - top;
	draw_header(st, f, width);
	if (st->help || st->details) {
		move(1, 0);
		clrtoeol();
		if (st->help)
			top = top_put_text_lines(_(help_text), top, bottom, width);
		else
			top = draw_details(st, f, top, bottom, width);
		for (; top < bottom; top++) {
			move(top, 0);
			clrtoeol();
		}
	} else {
		struct layout l;
		fit(st, f, width, &l);
		draw_titles(st, &l, 1);
		enum top_view v = st->view;
		size_t i = st->first[v];
		for (int y = top; y < bottom; y++, i++) {
			if (i < f->n[v] && st->order[v])
				draw_row(st, f, &l, &f->rows[v][st->order[v][i]], y,
					 i == st->sel[v]);
			else {
				move(y, 0);
				clrtoeol();
			}
		}
	}
	draw_footer(height - 1, width);
	draw_status(st, height - 2, width);
	refresh();
}
