/*
 * What the interval and event modes render, exactly, for hand-made
 * records: a frame's table with what changed marked (render_table.c), the
 * TCP internals' and rates' columns and JSON members (render_table.c,
 * render_json.c), the refresh header, a refresh as NDJSON and the event
 * lines (render_watch.c).
 */
#include <stdlib.h>

#include "records.h"
#include "portview/format.h"
#include "portview/render.h"
#include "portview/state.h"
#include "portview/view.h"
#include "portview/watch.h"

/* The process that holds inodes 100 and 200, with a name to escape. */
static struct pv_process procs[] = {{.pid = 4242, .comm = "cu\x1brl", .comm_len = 5}};
static struct pv_owner fds[] = {
    {.pid = 4242, .fd = 3, .proc = 0, .inode = 100},
    {.pid = 4242, .fd = 4, .proc = 0, .inode = 200},
};

static void join_owners(struct pv_view *v)
{
	struct pv_scan_part part = {.fds = fds, .nfds = 2, .procs = procs, .nprocs = 1};
	ck_assert(!pv_view_join_owners(v, &part, 1));
}

static struct pv_sock conn(uint16_t lport, uint64_t cookie, uint8_t state, uint32_t inode)
{
	struct pv_sock s =
	    mksock(IPPROTO_TCP, AF_INET, "127.0.0.1", lport, "127.0.0.1", 5000, state);
	s.cookie = cookie;
	s.inode = inode;
	return s;
}

static char *text_of(struct pv_buf *b)
{
	pv_buf_putc(b, '\0');
	return b->data;
}

/*
 * prev: 40001 (stays), 40002 (goes), 40003 (changes state); cur: 40000
 * (new), 40001, 40003.
 */
static void two_snapshots(struct pv_socklist *prev, struct pv_socklist *cur)
{
	pv_socklist_init(prev);
	pv_socklist_init(cur);
	struct pv_sock s = conn(40001, 1, PV_TCP_ESTABLISHED, 100);
	pv_socklist_add(prev, &s);
	s = conn(40002, 2, PV_TCP_ESTABLISHED, 200);
	pv_socklist_add(prev, &s);
	s = conn(40003, 3, PV_TCP_ESTABLISHED, 0);
	pv_socklist_add(prev, &s);
	s = conn(40000, 4, PV_TCP_SYN_SENT, 0);
	pv_socklist_add(cur, &s);
	s = conn(40001, 1, PV_TCP_ESTABLISHED, 100);
	pv_socklist_add(cur, &s);
	s = conn(40003, 3, PV_TCP_CLOSE_WAIT, 0);
	pv_socklist_add(cur, &s);
}

/* The frame of two_snapshots, rendered with o. */
static char *frame_text(const struct pv_table_opts *o)
{
	struct pv_socklist prev, cur;
	struct pv_view pv, cv;
	struct pv_watch_counts c;
	size_t n;
	two_snapshots(&prev, &cur);
	pv_view_init(&pv, &prev, NULL, NULL);
	pv_view_init(&cv, &cur, NULL, NULL);
	join_owners(&pv);
	join_owners(&cv);
	struct pv_watch_row *rows = pv_watch_compare(&prev, &cur, &n, &c);
	struct pv_frame f = {.cur = &cv, .prev = &pv, .rows = rows, .n = n};
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_frame(&b, &f, o);
	free(rows);
	pv_view_free(&pv);
	pv_view_free(&cv);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
	return text_of(&b);
}

/*
 * Without colour: a leading +, ~, - column where the indent was; a closed
 * row once more, with its owner from the snapshot that had it.
 */
START_TEST(frame_marks_without_colour)
{
	struct pv_table_opts o = {
	    .numeric = true, .plain = true, .owner = true, .changes = true, .no_title = true};
	char *got = frame_text(&o);
	ck_assert_text_eq(got, "  Proto  Local Address          Foreign Address        State     "
			       "      PID\n"
			       "+ TCP    127.0.0.1:40000        127.0.0.1:5000         SYN_SENT  "
			       "      -\n"
			       "  TCP    127.0.0.1:40001        127.0.0.1:5000         ESTABLISHED"
			       "     4242\n"
			       "- TCP    127.0.0.1:40002        127.0.0.1:5000         ESTABLISHED"
			       "     4242\n"
			       "~ TCP    127.0.0.1:40003        127.0.0.1:5000         CLOSE_WAIT"
			       "      -\n");
	free(got);

	/* fitted to a narrow terminal: the marks keep their column */
	o.width = 40;
	got = frame_text(&o);
	ck_assert_text_eq(got, "  Proto Local Address   Foreign Address State       PID\n"
			       "+ TCP   127.0.0.1:40000 127.0.0.1:5000  SYN_SENT    -\n"
			       "  TCP   127.0.0.1:40001 127.0.0.1:5000  ESTABLISHED 4242\n"
			       "- TCP   127.0.0.1:40002 127.0.0.1:5000  ESTABLISHED 4242\n"
			       "~ TCP   127.0.0.1:40003 127.0.0.1:5000  CLOSE_WAIT  -\n");
	free(got);

	/* no changes asked for (a pipe): no marks, and the title as ever */
	o = (struct pv_table_opts){.numeric = true, .plain = true};
	got = frame_text(&o);
	ck_assert_text_eq(got,
			  "\nActive Connections\n\n"
			  "  Proto  Local Address          Foreign Address        State\n"
			  "  TCP    127.0.0.1:40000        127.0.0.1:5000         SYN_SENT\n"
			  "  TCP    127.0.0.1:40001        127.0.0.1:5000         ESTABLISHED\n"
			  "  TCP    127.0.0.1:40002        127.0.0.1:5000         ESTABLISHED\n"
			  "  TCP    127.0.0.1:40003        127.0.0.1:5000         CLOSE_WAIT\n");
	free(got);
}
END_TEST

/* With colour: TCPView's, over the whole row, the cells' own colours left out. */
START_TEST(frame_colours_whole_rows)
{
	struct pv_table_opts o = {
	    .numeric = true, .plain = true, .changes = true, .color = true, .no_header = true};
	char *got = frame_text(&o);
	ck_assert_text_eq(
	    got,
	    "\033[30;42m  TCP    127.0.0.1:40000        127.0.0.1:5000         SYN_SENT\033[0m\n"
	    "  TCP    127.0.0.1:40001        127.0.0.1:5000         \033[32mESTABLISHED\033[0m\n"
	    "\033[97;41m  TCP    127.0.0.1:40002        127.0.0.1:5000         ESTABLISHED\033[0m\n"
	    "\033[30;43m  TCP    127.0.0.1:40003        127.0.0.1:5000         "
	    "CLOSE_WAIT\033[0m\n");
	free(got);
}
END_TEST

/* A TCP connection's internals, an older kernel's, and none (UDP). */
static void info_list(struct pv_socklist *l)
{
	pv_socklist_init(l);
	l->keep_info = true;
	struct pv_tcp_info t = {
	    .have = PV_TI_BASE | PV_TI_BYTES | PV_TI_SEGS | PV_TI_DELIVERY | PV_TI_SENT,
	    .rtt_us = 42,
	    .rttvar_us = 21500,
	    .snd_cwnd = 10,
	    .snd_mss = 1448,
	    .retrans = 1,
	    .total_retrans = 3,
	    .last_data_sent_ms = 120,
	    .last_data_recv_ms = 3400,
	    .bytes_sent = 1234567,
	    .bytes_acked = 1234000,
	    .bytes_received = 9999,
	    .segs_out = 900,
	    .segs_in = 800,
	    .delivery_rate = 125000000, /* a gigabit */
	};
	struct pv_sock s = conn(40001, 1, PV_TCP_ESTABLISHED, 100);
	s.info = &t;
	pv_socklist_add(l, &s);
	struct pv_tcp_info old = {.have = PV_TI_BASE, .rtt_us = 1000, .snd_cwnd = 2};
	s = conn(40002, 2, PV_TCP_ESTABLISHED, 200);
	s.info = &old;
	pv_socklist_add(l, &s);
	s = mksock(IPPROTO_UDP, AF_INET, "0.0.0.0", 5353, "0.0.0.0", 0, PV_TCP_CLOSE);
	s.cookie = 3;
	pv_socklist_add(l, &s);
}

static const struct pv_rate rates[] = {
    {.sent = 2500000, .received = 123, .known = true}, {.known = false}, {.known = false}};

/*
 * The RTT cell is written without printf: the same text as "%g/%g" of the
 * milliseconds, for values each side of every way it can go wrong (a
 * trailing zero kept or one too many dropped, a carry, the fallback).
 */
START_TEST(rtt_cell_as_printf)
{
	static const uint32_t us[] = {
	    0,	  1,	 7,	10,    42,     100,    999,	1000,	 1001,	      1010,
	    1100, 12345, 21500, 99999, 100000, 999999, 1000000, 1234567, 4000000000u, UINT32_MAX};
	size_t n = sizeof(us) / sizeof(us[0]);
	for (size_t i = 0; i < n; i++) {
		struct pv_socklist l;
		pv_socklist_init(&l);
		l.keep_info = true;
		struct pv_tcp_info t = {
		    .have = PV_TI_BASE, .rtt_us = us[i], .rttvar_us = us[n - 1 - i]};
		struct pv_sock s = conn(40001, 1, PV_TCP_ESTABLISHED, 100);
		s.info = &t;
		pv_socklist_add(&l, &s);
		struct pv_view v;
		pv_view_init(&v, &l, NULL, NULL);
		struct pv_buf b;
		pv_buf_init(&b);
		struct pv_table_opts o = {
		    .numeric = true, .plain = true, .info = true, .no_header = true};
		pv_render_table(&b, &v, &o);
		char *got = text_of(&b), want[64];
		snprintf(want, sizeof(want), " %g/%g ", us[i] / 1000.0, us[n - 1 - i] / 1000.0);
		ck_assert_msg(strstr(got, want) != NULL, "rtt %u/%u: %s", us[i], us[n - 1 - i],
			      got);
		free(got);
		pv_view_free(&v);
		pv_socklist_free(&l);
	}
}
END_TEST

START_TEST(info_and_rate_columns)
{
	struct pv_socklist l;
	struct pv_view v;
	struct pv_buf b;
	info_list(&l);
	pv_view_init(&v, &l, NULL, NULL);
	v.rates = rates;
	pv_buf_init(&b);
	struct pv_table_opts o = {
	    .numeric = true, .plain = true, .info = true, .rates = true, .no_header = true};
	pv_render_table(&b, &v, &o);
	char *got = text_of(&b);
	ck_assert_text_eq(got, "  TCP    127.0.0.1:40001        127.0.0.1:5000         ESTABLISHED"
			       "     2.50M  123    0.042/21.5 10   1.23M 1.23M 9999 900/800     1/3"
			       "     1.00Gbps 120/3400\n"
			       "  TCP    127.0.0.1:40002        127.0.0.1:5000         ESTABLISHED"
			       "     -      -      1/0        2    -     -     -    -           0/0"
			       "     -        0/0\n"
			       "  UDP    0.0.0.0:5353           *:*                               "
			       "     -      -      -          -    -     -     -    -           -  "
			       "     -        -\n");
	free(got);

	/* on a narrow terminal the internals go, the least telling first; the rates stay */
	pv_buf_init(&b);
	o = (struct pv_table_opts){
	    .numeric = true, .plain = true, .info = true, .rates = true, .width = 76};
	pv_render_table(&b, &v, &o);
	got = text_of(&b);
	ck_assert_text_eq(got, "\nActive Connections\n\n"
			       "  Proto Local Address   Foreign Address State       Send/s Recv/s "
			       "RTT ms\n"
			       "  TCP   127.0.0.1:40001 127.0.0.1:5000  ESTABLISHED 2.50M  123    "
			       "0.042/21.5\n"
			       "  TCP   127.0.0.1:40002 127.0.0.1:5000  ESTABLISHED -      -      "
			       "1/0\n"
			       "  UDP   0.0.0.0:5353    *:*                         -      -      "
			       "-\n");
	free(got);
	/* one column less: the rtt goes too */
	pv_buf_init(&b);
	o.width = 75;
	pv_render_table(&b, &v, &o);
	got = text_of(&b);
	ck_assert_ptr_null(strstr(got, "RTT"));
	ck_assert_ptr_nonnull(strstr(got,
				     "  Proto Local Address   Foreign Address State       Send/s "
				     "Recv/s\n"));
	free(got);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

/* JSON: an info object in the kernel's names and units, null where unknown; a rate object. */
START_TEST(json_info_and_rate)
{
	struct pv_socklist l;
	struct pv_view v;
	struct pv_buf b;
	struct pv_row r;
	info_list(&l);
	pv_view_init(&v, &l, NULL, NULL);
	pv_buf_init(&b);
	for (size_t i = 0; i < 3; i++) {
		pv_view_row(&v, i, &r);
		pv_render_json_row(&b, &v, &r);
		pv_buf_putc(&b, '\n');
	}
	char *got = text_of(&b);
	ck_assert_ptr_nonnull(strstr(
	    got,
	    "\"probes\": 0}, \"info\": {\"rtt_us\": 42, \"rttvar_us\": 21500, \"snd_cwnd\": 10, "
	    "\"snd_mss\": 1448, \"retrans\": 1, \"total_retrans\": 3, \"last_data_sent_ms\": "
	    "120, \"last_data_recv_ms\": 3400, \"bytes_sent\": 1234567, \"bytes_acked\": "
	    "1234000, \"bytes_received\": 9999, \"segs_out\": 900, \"segs_in\": 800, "
	    "\"delivery_rate\": 125000000}\n"));
	ck_assert_ptr_nonnull(
	    strstr(got, "\"info\": {\"rtt_us\": 1000, \"rttvar_us\": 0, \"snd_cwnd\": 2, "
			"\"snd_mss\": 0, \"retrans\": 0, \"total_retrans\": 0, "
			"\"last_data_sent_ms\": 0, \"last_data_recv_ms\": 0, \"bytes_sent\": null, "
			"\"bytes_acked\": null, \"bytes_received\": null, \"segs_out\": null, "
			"\"segs_in\": null, \"delivery_rate\": null}\n"));
	ck_assert_ptr_nonnull(strstr(got, "\"proto\": \"udp\""));
	ck_assert_ptr_nonnull(strstr(got, "\"probes\": 0}, \"info\": null\n"));
	ck_assert_ptr_null(strstr(got, "\"rate\""));
	free(got);

	v.rates = rates;
	pv_buf_init(&b);
	pv_view_row(&v, 0, &r);
	pv_render_json_row(&b, &v, &r);
	pv_view_row(&v, 1, &r);
	pv_render_json_row(&b, &v, &r);
	got = text_of(&b);
	ck_assert_ptr_nonnull(strstr(got,
				     "\"delivery_rate\": 125000000}, \"rate\": {\"sent\": 2500000, "
				     "\"received\": 123}"));
	ck_assert_ptr_nonnull(strstr(got, "\"delivery_rate\": null}, \"rate\": null"));
	free(got);
	pv_view_free(&v);
	pv_socklist_free(&l);

	/* a list that did not keep the internals has no info member */
	pv_socklist_init(&l);
	struct pv_sock s = conn(40001, 1, PV_TCP_ESTABLISHED, 100);
	pv_socklist_add(&l, &s);
	pv_view_init(&v, &l, NULL, NULL);
	pv_buf_init(&b);
	pv_render_json(&b, &v);
	got = text_of(&b);
	ck_assert_ptr_null(strstr(got, "\"info\""));
	free(got);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(refresh_header)
{
	setenv("TZ", "UTC", 1);
	tzset();
	struct pv_watch_header h = {.when = {.tv_sec = 1795599601, .tv_nsec = 5000000},
				    .interval_ms = 2500,
				    .counts = {.total = 1},
				    .first = true};
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_watch_header(&b, &h);
	h = (struct pv_watch_header){
	    .when = h.when,
	    .interval_ms = 2000,
	    .counts = {.total = 12, .opened = 3, .changed = 1, .closed = 2},
	    .rates = true,
	    .sent = 9370000,
	    .received = 340};
	pv_render_watch_header(&b, &h);
	h.clock = true;
	h.rates = false;
	pv_render_watch_header(&b, &h);
	char *got = text_of(&b);
	ck_assert_text_eq(got, "2026-11-25T09:40:01+00:00  1 socket\n"
			       "2026-11-25T09:40:01+00:00  12 sockets, 3 new, 1 changed, 2 closed"
			       "  send 9.37 MB/s, recv 340 B/s\n"
			       "09:40:01  12 sockets, 3 new, 1 changed, 2 closed\n");
	free(got);
}
END_TEST

/* A refresh as one line of NDJSON: the counts, then every row with what changed. */
START_TEST(refresh_as_ndjson)
{
	struct pv_socklist prev, cur;
	struct pv_view pv, cv;
	struct pv_watch_header h = {.when = {.tv_sec = 1795599601, .tv_nsec = 5000000},
				    .interval_ms = 500};
	size_t n;
	two_snapshots(&prev, &cur);
	pv_view_init(&pv, &prev, NULL, NULL);
	pv_view_init(&cv, &cur, NULL, NULL);
	struct pv_watch_row *rows = pv_watch_compare(&prev, &cur, &n, &h.counts);
	struct pv_frame f = {.cur = &cv, .prev = &pv, .rows = rows, .n = n};
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_frame_json(&b, &h, &f);
	char *got = text_of(&b);
	ck_assert_ptr_nonnull(strstr(got, "{\"time\": \"2026-11-25T09:40:01.005Z\", \"interval\": "
					  "0.5, \"total\": 3, \"new\": 1, \"changed\": 1, "
					  "\"closed\": 1, \"sockets\": [{\"proto\": \"tcp\""));
	ck_assert_ptr_eq(strchr(got, '\n'), got + strlen(got) - 1); /* one line */
	const char *order[] = {
	    "\"port\": 40000",	"\"change\": \"new\"",	   "\"port\": 40001",
	    "\"change\": null", "\"port\": 40002",	   "\"change\": \"closed\"",
	    "\"port\": 40003",	"\"change\": \"changed\"", "}]}\n"};
	const char *at = got;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const char *p = strstr(at, order[i]);
		ck_assert_msg(p != NULL, "%s not found after %.40s", order[i], at);
		at = p + strlen(order[i]);
	}
	free(got);
	free(rows);
	pv_view_free(&pv);
	pv_view_free(&cv);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

/* The interval in seconds as a JSON number: the milliseconds' zeros in front kept, none behind. */
/*
 * A socket closed in the interval has no rate: null in the NDJSON, '-' in
 * the frame, never the rate it had over the interval before (issue 21).
 */
START_TEST(closed_row_has_no_rate)
{
	struct pv_socklist prev, cur;
	struct pv_view pv, cv;
	struct pv_watch_header h = {.interval_ms = 1000, .rates = true};
	static const struct pv_rate before[] = {
	    {.sent = 11, .received = 12, .known = true},
	    {.sent = 1965998, .received = 1965997, .known = true},
	    {.sent = 31, .received = 32, .known = true}};
	static const struct pv_rate now[] = {{0},
					     {.sent = 7, .received = 8, .known = true},
					     {.sent = 9, .received = 10, .known = true}};
	size_t n;
	two_snapshots(&prev, &cur);
	pv_view_init(&pv, &prev, NULL, NULL);
	pv_view_init(&cv, &cur, NULL, NULL);
	pv.rates = before;
	cv.rates = now;
	struct pv_watch_row *rows = pv_watch_compare(&prev, &cur, &n, &h.counts);
	struct pv_frame f = {.cur = &cv, .prev = &pv, .rows = rows, .n = n};
	struct pv_buf b;
	pv_buf_init(&b);
	pv_render_frame_json(&b, &h, &f);
	char *got = text_of(&b);
	ck_assert_ptr_null(strstr(got, "1965998"));
	const char *closed = strstr(got, "\"port\": 40002");
	ck_assert_ptr_nonnull(closed);
	ck_assert_ptr_nonnull(strstr(closed, "\"rate\": null, \"change\": \"closed\"}"));
	ck_assert_ptr_nonnull(strstr(got, "\"rate\": {\"sent\": 7, \"received\": 8}"));
	free(got);
	pv_buf_init(&b);
	struct pv_table_opts o = {
	    .numeric = true, .plain = true, .rates = true, .no_header = true, .wide = true};
	pv_render_frame(&b, &f, &o);
	got = text_of(&b);
	ck_assert_ptr_null(strstr(got, "1.97M"));
	ck_assert_ptr_nonnull(strstr(got, "  TCP    127.0.0.1:40002        127.0.0.1:5000         "
					  "ESTABLISHED     -      -\n"));
	free(got);
	free(rows);
	pv_view_free(&pv);
	pv_view_free(&cv);
	pv_socklist_free(&prev);
	pv_socklist_free(&cur);
}
END_TEST

START_TEST(interval_in_seconds)
{
	static const struct {
		uint32_t ms;
		const char *text;
	} cases[] = {
	    {100, "0.1"}, {1050, "1.05"}, {2005, "2.005"}, {60000, "60"}, {86400000, "86400"}};
	struct pv_socklist l;
	struct pv_view v;
	pv_socklist_init(&l);
	pv_view_init(&v, &l, NULL, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pv_watch_header h = {.interval_ms = cases[i].ms};
		struct pv_frame f = {.cur = &v};
		struct pv_buf b;
		char want[64];
		pv_buf_init(&b);
		pv_render_frame_json(&b, &h, &f);
		char *got = text_of(&b);
		snprintf(want, sizeof(want), "\", \"interval\": %s, \"total\"", cases[i].text);
		ck_assert_msg(strstr(got, want) != NULL, "%u ms: %s", cases[i].ms, got);
		free(got);
	}
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

START_TEST(event_lines)
{
	setenv("TZ", "UTC", 1);
	tzset();
	struct pv_socklist l;
	struct pv_view v;
	struct pv_buf b;
	info_list(&l);
	pv_view_init(&v, &l, NULL, NULL);
	join_owners(&v);
	pv_buf_init(&b);
	struct pv_event_opts o = {.plain = true};
	pv_render_event_header(&b, &o);
	struct pv_event e = {.kind = PV_EVENT_OPENED, .v = &v, .index = 1};
	pv_render_event(&b, &e, &o);
	e = (struct pv_event){
	    .kind = PV_EVENT_CHANGED, .v = &v, .index = 0, .old_state = PV_TCP_SYN_SENT};
	pv_render_event(&b, &e, &o);
	e = (struct pv_event){.kind = PV_EVENT_CLOSED, .v = &v, .index = 2};
	pv_render_event(&b, &e, &o);
	e = (struct pv_event){.kind = PV_EVENT_LOST};
	pv_render_event(&b, &e, &o);
	char *got = text_of(&b);
	/* the event times are the clock's: blank them out */
	char *line = got;
	for (char *nl; (nl = strchr(line, '\n')); line = nl + 1)
		if (line != got)
			memset(line, '#', 29);
	ck_assert_text_eq(
	    got, "Time                           Event      Proto  Local Address          "
		 "Foreign Address        State                    PID/Program name\n"
		 "#############################  opened     TCP    127.0.0.1:40002        "
		 "127.0.0.1:5000         ESTABLISHED              4242/cu\\x1brl\n"
		 "#############################  changed    TCP    127.0.0.1:40001        "
		 "127.0.0.1:5000         SYN_SENT->ESTABLISHED    4242/cu\\x1brl\n"
		 "#############################  closed     UDP    0.0.0.0:5353           "
		 "*:*                    -                        -\n"
		 "#############################  lost       events were lost (the kernel's "
		 "queue for portview was full); what changed meanwhile comes from a full "
		 "dump\n");
	free(got);

	/*
	 * with the annotations and the internals; a close's own tcp_info; the
	 * time in local time (UTC here) with its milliseconds zero-padded; the
	 * delivery rate in bits a second, as ss writes it
	 */
	pv_buf_init(&b);
	o = (struct pv_event_opts){.info = true};
	v.services = NULL;
	struct pv_tcp_info last = {.have = PV_TI_BASE | PV_TI_BYTES | PV_TI_DELIVERY,
				   .rtt_us = 1500,
				   .rttvar_us = 700,
				   .snd_cwnd = 4,
				   .bytes_acked = 77,
				   .bytes_received = 88,
				   .delivery_rate = 125000};
	e = (struct pv_event){.kind = PV_EVENT_CLOSED,
			      .when = {.tv_sec = 1795599601, .tv_nsec = 7999999},
			      .v = &v,
			      .index = 0,
			      .info = &last};
	pv_render_event(&b, &e, &o);
	got = text_of(&b);
	ck_assert_msg(strncmp(got, "2026-11-25T09:40:01.007+00:00  closed     TCP ", 46) == 0, "%s",
		      got);
	ck_assert_ptr_nonnull(
	    strstr(got, " ESTABLISHED              4242/cu\\x1brl     - / - rtt:1.5/0.7 "
			"cwnd:4 bytes_acked:77 bytes_received:88 retrans:0/0 "
			"delivery_rate:1.00Mbps lastsnd:0 lastrcv:0\n"));
	free(got);

	/* NDJSON: the time in UTC, the event, the old state, the socket's members */
	pv_buf_init(&b);
	e = (struct pv_event){.kind = PV_EVENT_CHANGED,
			      .when = {.tv_sec = 1795599601, .tv_nsec = 999999999},
			      .v = &v,
			      .index = 0,
			      .old_state = PV_TCP_SYN_SENT};
	pv_render_event_json(&b, &e);
	e = (struct pv_event){.kind = PV_EVENT_LOST};
	pv_render_event_json(&b, &e);
	got = text_of(&b);
	ck_assert_ptr_nonnull(strstr(got, "{\"time\": \"2026-11-25T09:40:01.999Z\", \"event\""));
	ck_assert_ptr_nonnull(strstr(
	    got, "\", \"event\": \"changed\", \"source\": \"diag\", \"old_state\": \"SYN_SENT\", "
		 "\"proto\": \"tcp\", \"family\": \"ipv4\", \"v6only\": null, \"state\": "
		 "\"ESTABLISHED\""));
	ck_assert_ptr_nonnull(strstr(got, "\"owners\": [{\"pid\": 4242, \"program\": "
					  "\"cu\\u001brl\", \"fd\": 3}]"));
	ck_assert_ptr_nonnull(strstr(got, "\", \"event\": \"lost\", \"source\": \"diag\", "
					  "\"count\": null, \"message\": \"events were lost"));
	ck_assert_uint_eq(got[strlen(got) - 1], '\n');
	free(got);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

/* The BPF source's additions: a close's life and bytes, a reset's why, a loss's count. */
START_TEST(lifecycle_event_lines)
{
	setenv("TZ", "UTC", 1);
	tzset();
	struct pv_socklist l;
	struct pv_view v;
	struct pv_buf b;
	info_list(&l);
	pv_view_init(&v, &l, NULL, NULL);
	join_owners(&v);
	pv_buf_init(&b);
	struct pv_event_opts o = {.plain = true};
	struct pv_event_life life = {.started = true,
				     .duration_ns = 1234567,
				     .bytes = true,
				     .sent = 1000,
				     .received = 300,
				     .inode = 77};
	struct pv_event e = {.kind = PV_EVENT_CLOSED,
			     .when = {.tv_sec = 1795599601, .tv_nsec = 7000000},
			     .v = &v,
			     .index = 1,
			     .life = &life};
	pv_render_event(&b, &e, &o);
	struct pv_event_life rst = {.reset_sent = true, .reason = "tcp_abort_on_close"};
	struct pv_event r = {.kind = PV_EVENT_RESET, .v = &v, .index = 1, .life = &rst};
	pv_render_event(&b, &r, &o);
	struct pv_event lost = {.kind = PV_EVENT_LOST, .lost = 42, .lost_bpf = true};
	pv_render_event(&b, &lost, &o);
	char *got = text_of(&b);
	ck_assert_ptr_nonnull(
	    strstr(got, "2026-11-25T09:40:01.007+00:00  closed     TCP    "
			"127.0.0.1:40002        127.0.0.1:5000         "
			"ESTABLISHED              4242/cu\\x1brl  lived 1.234 ms  sent "
			"1000 B, received 300 B\n"));
	ck_assert_ptr_nonnull(strstr(got, "  reset      TCP    "));
	ck_assert_ptr_nonnull(strstr(got, "4242/cu\\x1brl  reset sent (tcp_abort_on_close)\n"));
	ck_assert_ptr_nonnull(strstr(got, "  lost       42 events were lost (the BPF ring buffer "
					  "was full)"));
	free(got);

	pv_buf_init(&b);
	pv_render_event_json(&b, &e);
	pv_render_event_json(&b, &r);
	pv_render_event_json(&b, &lost);
	r.kind = PV_EVENT_RETRANSMIT;
	rst.reason = NULL;
	pv_render_event_json(&b, &r);
	got = text_of(&b);
	ck_assert_ptr_nonnull(strstr(got, "\"event\": \"closed\", \"source\": \"bpf\", "
					  "\"duration_ms\": 1.234, \"bytes_sent\": 1000, "
					  "\"bytes_received\": 300, \"proto\": \"tcp\""));
	ck_assert_ptr_nonnull(strstr(got, "\"inode\": 77,"));
	ck_assert_ptr_nonnull(strstr(got, "\"event\": \"reset\", \"source\": \"bpf\", "
					  "\"direction\": \"sent\", \"reason\": "
					  "\"tcp_abort_on_close\", \"proto\""));
	ck_assert_ptr_nonnull(strstr(got,
				     "\"event\": \"lost\", \"source\": \"bpf\", "
				     "\"count\": 42, \"message\": \"events were lost (the BPF"));
	ck_assert_ptr_nonnull(strstr(got, "\"event\": \"retransmit\", \"source\": \"bpf\", "
					  "\"reason\": null, \"proto\""));
	free(got);
	pv_view_free(&v);
	pv_socklist_free(&l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("render_watch");
	TCase *tc = tcase_create("render_watch");
	tcase_add_test(tc, frame_marks_without_colour);
	tcase_add_test(tc, frame_colours_whole_rows);
	tcase_add_test(tc, info_and_rate_columns);
	tcase_add_test(tc, rtt_cell_as_printf);
	tcase_add_test(tc, json_info_and_rate);
	tcase_add_test(tc, refresh_header);
	tcase_add_test(tc, refresh_as_ndjson);
	tcase_add_test(tc, closed_row_has_no_rate);
	tcase_add_test(tc, interval_in_seconds);
	tcase_add_test(tc, event_lines);
	tcase_add_test(tc, lifecycle_event_lines);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
