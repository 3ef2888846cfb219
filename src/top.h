/*
 * The live screen (--top), shared by its files: mode_top.c runs it (the
 * terminal, the refresh thread, the loop), top_rows.c turns snapshots
 * into the screen's rows, top_keys.c holds what the keys change and
 * sorts, top_screen.c draws with ncurses, top_term.c opens and puts
 * back the terminal.  The interval display on a terminal (top_watch.c)
 * draws on the same screen with the same pieces, its rows the interval
 * table's.  The program's, never the library's: it draws on the
 * terminal.
 */
#ifndef PORTVIEW_TOP_H
#define PORTVIEW_TOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "refresh.h"
#include "portview/buf.h"
#include "portview/render_watch.h"
#include "portview/sock.h"
#include "portview/util.h"
#include "portview/watch.h"

/* The two views and their columns. */
enum top_view { TOP_SOCKETS, TOP_PROCESSES, TOP_NVIEWS };
enum { TC_PROTO, TC_LOCAL, TC_FOREIGN, TC_STATE, TC_PID, TC_PROGRAM, TC_SEND, TC_RECV, TC_RTT };
enum { TP_PROGRAM, TP_PIDS, TP_SOCKETS, TP_ESTAB, TP_LISTEN, TP_OTHER, TP_PORTS, TP_SEND, TP_RECV };
#define TOP_MAXCOLS 9

struct top_column {
	const char *title;
	bool right;	   /* numbers: aligned right */
	bool numeric;	   /* sorted by num[], not by text */
	bool descending;   /* sorted the biggest first unless reversed */
	unsigned min, max; /* the width it may shrink to when space is short; 0: no limit */
	int drop;	   /* the order columns leave a narrow screen: 1 first; 0 never */
};
extern const struct top_column top_columns[TOP_NVIEWS][TOP_MAXCOLS];
extern const unsigned top_ncols[TOP_NVIEWS];

/* One row of a view: its cells' text (in the frame's arena) and sort keys. */
struct top_row {
	uint64_t key;		    /* the socket's cookie; a process row's name hash */
	uint32_t text[TOP_MAXCOLS]; /* offsets into the arena, NUL-terminated */
	uint64_t num[TOP_MAXCOLS];
	uint8_t change;		 /* enum pv_change while marked */
	struct timespec until;	 /* when the mark ends */
	struct pv_sock s;	 /* a socket row's record (s.info NULL), for k */
	int32_t pid;		 /* its first owner; 0: none */
	uint64_t sent, received; /* bytes per second; rate_known */
	bool rate_known;
};

/* What a refresh gives the screen. */
struct top_frame {
	struct top_row *rows[TOP_NVIEWS];
	size_t n[TOP_NVIEWS];
	size_t cap[TOP_NVIEWS]; /* rows[] allocated, kept by top_frame_clear */
	struct pv_buf arena;
	struct pv_watch_counts counts;
	uint64_t sent, received; /* the sum of the TCP rates */
	struct timespec when;	 /* CLOCK_REALTIME */
	struct pv_buf detail;	 /* the details of the socket asked for, lines */
	uint64_t detail_key;	 /* which one; 0: none asked */
	bool detail_found;
	bool rates;   /* the rates are known (the second refresh on) */
	uint64_t gen; /* which refresh it is: the screen measures each once */
	/* made by the refresh thread, so that taking a frame costs the screen little: */
	unsigned widest[TOP_NVIEWS][TOP_MAXCOLS]; /* each column's widest cell */
	uint32_t *order[TOP_NVIEWS];		  /* the rows sorted as the build asked */
	int order_col[TOP_NVIEWS];
	bool order_rev[TOP_NVIEWS];
};

void top_frame_init(struct top_frame *f);
void top_frame_free(struct top_frame *f);
/*
 * Empty f for the next build but keep its memory (the rows, the arena):
 * at 100,000 sockets the rows are 27 MB, and memory fresh from the
 * kernel is faulted in page by page on each refresh.
 */
void top_frame_clear(struct top_frame *f);
static inline const char *top_text(const struct top_frame *f, const struct top_row *r, int c)
{
	return f->arena.data + r->text[c];
}

/* How a frame is built: the screen's choices the refresh thread reads. */
struct top_build {
	bool names;		       /* host and service names */
	bool units;		       /* processes by unit */
	uint32_t highlight_ms;	       /* how long marks stay */
	uint64_t detail_key;	       /* the socket whose details to write; 0: none */
	const char *proc_root;	       /* for the details' /proc reads */
	const struct pv_services *svc; /* the port's --lookup text */
	int sort[TOP_NVIEWS];	       /* the order the screen had asked for */
	bool reverse[TOP_NVIEWS];
};

/*
 * The frame of snapshot cur (prev: the one before, or NULL), its marks
 * carried on from old (may be NULL) while they last.
 */
void top_frame_build(struct top_frame *f, const struct top_build *b, const struct pv_snap *cur,
		     const struct pv_snap *prev, const struct top_frame *old);

/* ---- the screen's state, changed by keys (top_keys.c) ---- */

enum top_prompt { TOP_NO_PROMPT, TOP_FILTER, TOP_CLOSE, TOP_SIGNAL };

struct top_state {
	enum top_view view;
	int sort[TOP_NVIEWS]; /* the column sorted by */
	bool reverse[TOP_NVIEWS];
	size_t sel[TOP_NVIEWS], first[TOP_NVIEWS]; /* the selected row, the first shown */
	uint64_t sel_key[TOP_NVIEWS];		   /* what is selected: followed across refreshes */
	bool names, units, paused, help, details, color;
	uint32_t interval_ms, highlight_ms;
	enum top_prompt prompt;
	char input[256]; /* the prompt's line being typed */
	size_t input_len;
	char filter[256];      /* the filter in force */
	char filter_next[256]; /* the one typed, when filter_changed */
	char status[256];      /* the status line's message */
	bool status_error;
	struct top_row target;	  /* the row k or K asks about */
	char target_text[3][128]; /* its local, foreign address and program, as shown */
	int act; /* what the prompt's answer asks: 'c' close, 'T' SIGTERM, '9' SIGKILL; 0 */
	bool quit, refresh_now, filter_changed;
	/* what the screen shows, sorted: indexes into the frame's rows */
	uint32_t *order[TOP_NVIEWS];
	/* each column's width, kept from frame to frame */
	unsigned width[TOP_NVIEWS][TOP_MAXCOLS];
	/* the selected socket's rates over the last minute, a second each */
	uint64_t spark_sent[60], spark_recv[60];
	size_t spark_n;
	uint64_t spark_key;
	int rows_shown;		       /* the table's lines on screen, for PgUp/PgDn */
	uint64_t measured[TOP_NVIEWS]; /* the frame (gen) the widths have seen */
};

void top_state_init(struct top_state *st, bool names, bool units, uint32_t interval_ms,
		    uint32_t highlight_ms, bool by_process);
void top_state_free(struct top_state *st);
/* Sort a new frame's rows in the state's order, the selection following its row. */
void top_sort(struct top_state *st, const struct top_frame *f);
/* The indexes of view v's rows in f, sorted by column col (for the refresh thread too). */
void top_order(const struct top_frame *f, enum top_view v, int col, bool reverse, uint32_t *order);
/* One key; the run's side (filter, close, signal) is left in st for mode_top.c. */
void top_key(struct top_state *st, const struct top_frame *f, int key);
/* The status line's message (printf-like). */
void top_say(struct top_state *st, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- drawing (top_screen.c) ---- */

/* Start and end the colours; draw the whole screen. */
void top_screen_colors(struct top_state *st);
void top_draw(struct top_state *st, const struct top_frame *f);

/* The pieces the interval display draws with too. */
/* The columns a text takes on the screen. */
unsigned top_text_width(const char *s);
/* Append s, at most max columns, a cut one ending with the ellipsis; returns the columns. */
unsigned top_put_cut(struct pv_buf *line, const char *s, unsigned max);
/* The ellipsis of a cut cell: "\u2026", or "~" in the C locale. */
const char *top_ellipsis(void);
/* Draw a fitted line at y with attributes (curses' attr_t), cleared to its end. */
void top_put_line(int y, const struct pv_buf *line, unsigned long attr, int pair);
/* Lines of text from y on, each cut to the width; returns the next line. */
int top_put_text_lines(const char *text, int y, int bottom, unsigned width);
/* The footer: as many of the keys as fit. */
void top_draw_keys(int y, unsigned width, const char *const *keys, size_t n);
/* + and -: the next longer or shorter interval of the steps, said in the status line. */
void top_interval_key(struct top_state *st, bool faster);

/* ---- the terminal (top_term.c) ---- */

/* ncurses on standard input and output, the terminal put back on a crash; NULL: cannot. */
struct screen *top_term_open(void);
/* The terminal as it was. */
void top_term_close(struct screen *s);
/* SIGWINCH: the new size known; SIGTSTP: stopped with the terminal put back. */
void top_term_resized(void);
void top_term_suspend(void);

/* ---- the interval display on a terminal (top_watch.c) ---- */

struct top_watch;
/* The screen opened for an interval run (standard error kept aside); NULL: cannot. */
struct top_watch *top_watch_open(const struct pv_request *req);
/* A refresh drawn; h and f stay valid until the next one (a resize draws them again). */
void top_watch_show(struct top_watch *w, const struct pv_watch_header *h, const struct pv_frame *f);
/*
 * Answer keys and signals until the next refresh is due (next, moved by +
 * and -): PV_WAKE_TIME; or PV_WAKE_STOP when the run ends (q, a signal,
 * the terminal gone).
 */
enum pv_wake top_watch_wait(struct top_watch *w, int sigfd, struct timespec *next);
/* The interval in force (+ and - change it). */
uint32_t top_watch_interval(const struct top_watch *w);
/* The terminal put back, the last refresh printed on it, then what standard error had. */
void top_watch_close(struct top_watch *w);

#endif
