/*
 * What the screen's keys change (top.h): the view, the sort column and
 * direction, the selection (followed by its socket's cookie across
 * refreshes and sorting), scrolling, the prompts (filter, close, signal),
 * names, pause, the interval; and the sort itself.  The run's side of a
 * key (a new filter, closing a socket, a signal) is left in the state
 * for mode_top.c to carry out.
 */
#include <netinet/in.h>
#include <curses.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "top.h"
#include "portview/state.h"

/* title, right, numeric, descending, min, max, drop */
const struct top_column top_columns[TOP_NVIEWS][TOP_MAXCOLS] =
    {
	[TOP_SOCKETS] =
	    {
		[TC_PROTO] = {N_("Proto"), false, true, false, 3, 0, 0},
		[TC_LOCAL] = {N_("Local Address"), false, true, false, 12, 0, 0},
		[TC_FOREIGN] = {N_("Foreign Address"), false, false, false, 12, 0, 0},
		[TC_STATE] = {N_("State"), false, false, false, 5, 0, 3},
		[TC_PID] = {N_("PID"), true, true, false, 3, 0, 2},
		[TC_PROGRAM] = {N_("Program"), false, false, false, 6, 16, 0},
		[TC_SEND] = {N_("Send/s"), true, true, true, 6, 0, 0},
		[TC_RECV] = {N_("Recv/s"), true, true, true, 6, 0, 0},
		[TC_RTT] = {N_("RTT ms"), true, true, true, 6, 0, 1},
	    },
	[TOP_PROCESSES] =
	    {
		[TP_PROGRAM] = {N_("Program"), false, false, false, 6, 24, 0},
		[TP_PIDS] = {N_("PID"), true, true, false, 3, 0, 2},
		[TP_SOCKETS] = {N_("Sockets"), true, true, true, 4, 0, 0},
		[TP_ESTAB] = {N_("Estab"), true, true, true, 4, 0, 0},
		[TP_LISTEN] = {N_("Listen"), true, true, true, 4, 0, 3},
		[TP_OTHER] = {N_("Other"), true, true, true, 4, 0, 4},
		[TP_PORTS] = {N_("Listening ports"), false, true, false, 8, 0, 1},
		[TP_SEND] = {N_("Send/s"), true, true, true, 6, 0, 0},
		[TP_RECV] = {N_("Recv/s"), true, true, true, 6, 0, 0},
	    },
};
const unsigned top_ncols[TOP_NVIEWS] = {9, 9};

void top_state_init(struct top_state *st, bool names, bool units, uint32_t interval_ms,
		    uint32_t highlight_ms, bool by_process)
{
	memset(st, 0, sizeof(*st));
	st->view = by_process ? TOP_PROCESSES : TOP_SOCKETS;
	st->sort[TOP_SOCKETS] = TC_SEND; /* the busiest first */
	st->sort[TOP_PROCESSES] = TP_SEND;
	st->names = names;
	st->units = units;
	st->interval_ms = interval_ms;
	st->highlight_ms = highlight_ms;
}

void top_state_free(struct top_state *st)
{
	for (int v = 0; v < TOP_NVIEWS; v++)
		free(st->order[v]);
}

void top_say(struct top_state *st, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->status, sizeof(st->status), _(fmt), ap); /* xgettext: top_say:3 */
	va_end(ap);
	st->status_error = error;
}

/* ---- sorting ---- */

struct sort_ctx {
	const struct top_frame *f;
	enum top_view view;
	int col;
	bool reverse;
};

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int compare_rows(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *x = arg;
	const struct top_row *a = &x->f->rows[x->view][*(const uint32_t *)pa];
	const struct top_row *b = &x->f->rows[x->view][*(const uint32_t *)pb];
	const struct top_column *c = &top_columns[x->view][x->col];
	int d;
	if (c->numeric) {
		d = cmp_u64(a->num[x->col], b->num[x->col]);
		/* the rates: ties (an idle direction) broken by the other direction */
		int other = x->col == TC_SEND ? TC_RECV : x->col == TC_RECV ? TC_SEND : -1;
		if (!d && other >= 0)
			d = cmp_u64(a->num[other], b->num[other]);
		if (c->descending)
			d = -d;
	} else {
		d = strcmp(top_text(x->f, a, x->col), top_text(x->f, b, x->col));
	}
	if (x->reverse)
		d = -d;
	if (!d) /* a stable order between refreshes: the display order, then the key */
		d = x->view == TOP_SOCKETS ? cmp_u64(a->num[TC_LOCAL], b->num[TC_LOCAL])
					   : strcmp(top_text(x->f, a, 0), top_text(x->f, b, 0));
	return d ? d : cmp_u64(a->key, b->key);
}

/* Keep the selected row on screen. */
static void scroll_to(struct top_state *st, size_t n)
{
	enum top_view v = st->view;
	size_t rows = st->rows_shown > 0 ? (size_t)st->rows_shown : 1;
	if (st->sel[v] >= n)
		st->sel[v] = n ? n - 1 : 0;
	if (st->sel[v] < st->first[v])
		st->first[v] = st->sel[v];
	if (st->sel[v] >= st->first[v] + rows)
		st->first[v] = st->sel[v] - rows + 1;
	if (st->first[v] + rows > n)
		st->first[v] = n > rows ? n - rows : 0;
}

/* The selected row's rates, a second at a time, for the details' sparkline. */
static void sample_rates(struct top_state *st, const struct top_frame *f)
{
	uint64_t key = st->sel_key[TOP_SOCKETS];
	if (key != st->spark_key) {
		st->spark_key = key;
		st->spark_n = 0;
	}
	for (size_t i = 0; key && i < f->n[TOP_SOCKETS]; i++) {
		const struct top_row *r = &f->rows[TOP_SOCKETS][i];
		if (r->key != key)
			continue;
		if (st->spark_n == 60) {
			memmove(st->spark_sent, st->spark_sent + 1, 59 * sizeof(uint64_t));
			memmove(st->spark_recv, st->spark_recv + 1, 59 * sizeof(uint64_t));
			st->spark_n--;
		}
		st->spark_sent[st->spark_n] = r->rate_known ? r->sent : 0;
		st->spark_recv[st->spark_n++] = r->rate_known ? r->received : 0;
	}
}

void top_order(const struct top_frame *f, enum top_view v, int col, bool reverse, uint32_t *order)
{
	size_t n = f->n[v];
	for (size_t i = 0; i < n; i++)
		order[i] = (uint32_t)i;
	struct sort_ctx x = {f, v, col, reverse};
	qsort_r(order, n, sizeof(uint32_t), compare_rows, &x);
}

void top_sort(struct top_state *st, const struct top_frame *f)
{
	for (int v = 0; v < TOP_NVIEWS; v++) {
		size_t n = f->n[v];
		free(st->order[v]);
		st->order[v] = xcalloc(n + 1, sizeof(uint32_t));
		/* the refresh thread's order when it is still the one asked for */
		if (f->order[v] && f->order_col[v] == st->sort[v] &&
		    f->order_rev[v] == st->reverse[v])
			memcpy(st->order[v], f->order[v], n * sizeof(uint32_t));
		else
			top_order(f, (enum top_view)v, st->sort[v], st->reverse[v], st->order[v]);
		/* the selection follows its row; when it has gone, the row now in its place */
		for (size_t i = 0; st->sel_key[v] && i < n; i++)
			if (f->rows[v][st->order[v][i]].key == st->sel_key[v])
				st->sel[v] = i;
		if (st->sel[v] >= n)
			st->sel[v] = n ? n - 1 : 0;
		st->sel_key[v] = n ? f->rows[v][st->order[v][st->sel[v]]].key : 0;
	}
	sample_rates(st, f);
	scroll_to(st, f->n[st->view]);
}

/* ---- keys ---- */

static const struct top_row *selected(const struct top_state *st, const struct top_frame *f)
{
	enum top_view v = st->view;
	if (!f->n[v] || !st->order[v])
		return NULL;
	return &f->rows[v][st->order[v][st->sel[v]]];
}

static void move_to(struct top_state *st, const struct top_frame *f, long to)
{
	enum top_view v = st->view;
	size_t n = f->n[v];
	if (to < 0 || n == 0)
		to = 0;
	if (n && (size_t)to >= n)
		to = (long)n - 1;
	st->sel[v] = (size_t)to;
	st->sel_key[v] = n ? f->rows[v][st->order[v][st->sel[v]]].key : 0;
	scroll_to(st, n);
}

static void resort(struct top_state *st, const struct top_frame *f)
{
	top_sort(st, f);
	const struct top_column *c = &top_columns[st->view][st->sort[st->view]];
	top_say(st, false, "sorted by %s%s", _(c->title),
		st->reverse[st->view] ? _(", reversed") : "");
}

/* The keys of a prompt's line: typed text, Backspace, Enter, Escape. */
static void prompt_key(struct top_state *st, int key)
{
	if (st->prompt == TOP_CLOSE || st->prompt == TOP_SIGNAL) {
		st->act = 0;
		if (key == 'y' || key == 'Y')
			st->act = st->prompt == TOP_CLOSE ? 'c' : 'T';
		else if (key == '9' && st->prompt == TOP_SIGNAL)
			st->act = '9';
		else
			top_say(st, false, "%s",
				st->prompt == TOP_CLOSE ? _("not closed") : _("no signal sent"));
		st->prompt = TOP_NO_PROMPT;
		return;
	}
	if (key == 27) { /* Escape */
		st->prompt = TOP_NO_PROMPT;
		top_say(st, false, "filter unchanged");
	} else if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		st->prompt = TOP_NO_PROMPT;
		memcpy(st->filter_next, st->input, st->input_len + 1);
		st->filter_changed = true;
	} else if (key == KEY_BACKSPACE || key == 127 || key == 8) {
		if (st->input_len)
			st->input[--st->input_len] = '\0';
	} else if (key == 21) { /* Ctrl-U */
		st->input_len = 0;
		st->input[0] = '\0';
	} else if (key >= ' ' && key < 127 && st->input_len + 1 < sizeof(st->input)) {
		st->input[st->input_len++] = (char)key;
		st->input[st->input_len] = '\0';
	}
}

static void ask(struct top_state *st, const struct top_frame *f, enum top_prompt p)
{
	const struct top_row *r = selected(st, f);
	if (st->view != TOP_SOCKETS || !r) {
		top_say(st, true, "select a socket first (p: back to the sockets)");
		return;
	}
	if (p == TOP_CLOSE && (r->s.proto != IPPROTO_TCP || r->change == PV_CHANGE_CLOSED ||
			       r->s.state == PV_TCP_LISTEN)) {
		top_say(st, true, "only a TCP connection can be closed");
		return;
	}
	if (p == TOP_SIGNAL && r->pid <= 0) {
		top_say(st, true, "no process known to hold it");
		return;
	}
	st->target = *r;
	memcpy(st->target_text[0], top_text(f, r, TC_LOCAL), sizeof(st->target_text[0]) - 1);
	memcpy(st->target_text[1], top_text(f, r, TC_FOREIGN), sizeof(st->target_text[1]) - 1);
	memcpy(st->target_text[2], top_text(f, r, TC_PROGRAM), sizeof(st->target_text[2]) - 1);
	st->prompt = p;
	st->status[0] = '\0';
}

void top_interval_key(struct top_state *st, bool faster)
{
	static const uint32_t steps[] = {250, 500, 1000, 2000, 5000, 10000, 30000, 60000};
	size_t i = 0;
	while (i + 1 < ARRAY_SIZE(steps) && steps[i] < st->interval_ms)
		i++;
	if (faster && i > 0 && steps[i] >= st->interval_ms)
		i--;
	else if (!faster && steps[i] <= st->interval_ms && i + 1 < ARRAY_SIZE(steps))
		i++;
	st->interval_ms = steps[i];
	top_say(st, false, "every %g s", st->interval_ms / 1000.0);
}

static bool move_key(struct top_state *st, const struct top_frame *f, int key)
{
	long sel = (long)st->sel[st->view], page = st->rows_shown > 1 ? st->rows_shown - 1 : 1;
	switch (key) {
	case KEY_UP:
		move_to(st, f, sel - 1);
		return true;
	case KEY_DOWN:
	case 'j':
		move_to(st, f, sel + 1);
		return true;
	case KEY_PPAGE:
		move_to(st, f, sel - page);
		return true;
	case KEY_NPAGE:
		move_to(st, f, sel + page);
		return true;
	case KEY_HOME:
	case 'g':
		move_to(st, f, 0);
		return true;
	case KEY_END:
	case 'G':
		move_to(st, f, (long)f->n[st->view]);
		return true;
	}
	return false;
}

void top_key(struct top_state *st, const struct top_frame *f, int key)
{
	enum top_view v = st->view;
	unsigned n = top_ncols[v];
	if (st->prompt != TOP_NO_PROMPT) {
		prompt_key(st, key);
		return;
	}
	if (move_key(st, f, key))
		return;
	if (st->help && key != 'q') {
		st->help = false;
		return;
	}
	switch (key) {
	case 'q':
		st->quit = true;
		break;
	case '?':
		st->help = true;
		break;
	case '<':
		st->sort[v] = (st->sort[v] + (int)n - 1) % (int)n;
		resort(st, f);
		break;
	case '>':
	case 's':
		st->sort[v] = (st->sort[v] + 1) % (int)n;
		resort(st, f);
		break;
	case 'r':
		st->reverse[v] = !st->reverse[v];
		resort(st, f);
		break;
	case '/':
		st->prompt = TOP_FILTER;
		st->input_len = strlen(st->filter);
		memcpy(st->input, st->filter, st->input_len + 1);
		break;
	case 'n':
		st->names = !st->names;
		st->refresh_now = true;
		top_say(st, false, "names %s (from the next refresh)",
			st->names ? _("on") : _("off"));
		break;
	case 'p':
		st->view = v == TOP_SOCKETS ? TOP_PROCESSES : TOP_SOCKETS;
		st->details = false;
		st->status[0] = '\0'; /* the per-process view's note in its place */
		scroll_to(st, f->n[st->view]);
		break;
	case '\n':
	case '\r':
	case KEY_ENTER:
		st->details = !st->details && v == TOP_SOCKETS && f->n[v];
		st->refresh_now = st->details;
		break;
	case 27:
	case KEY_LEFT:
		st->details = false;
		break;
	case ' ':
		st->paused = !st->paused;
		top_say(st, false, "%s", st->paused ? _("paused (space: go on)") : _("going on"));
		break;
	case '+':
	case '-':
		top_interval_key(st, key == '-');
		break;
	case 'k':
		ask(st, f, TOP_CLOSE);
		break;
	case 'K':
		ask(st, f, TOP_SIGNAL);
		break;
	}
}
