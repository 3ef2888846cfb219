/*
 * The interval display's header and NDJSON, and the lines of --events
 * (render_watch.c).
 */
#ifndef PORTVIEW_RENDER_WATCH_H
#define PORTVIEW_RENDER_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "portview/buf.h"
#include "portview/render_table.h"
#include "portview/sock.h"
#include "portview/view.h"
#include "portview/watch.h"

/* The line above each refresh of an interval display. */
struct pv_watch_header {
	struct timespec when; /* the snapshot's time, CLOCK_REALTIME */
	uint32_t interval_ms;
	struct pv_watch_counts counts;
	bool first;	   /* the first snapshot: nothing to compare with */
	bool clock;	   /* the time of day only (a terminal), not the whole date */
	bool rates;	   /* -i: the totals below */
	uint64_t sent;	   /* bytes per second, every known rate added up */
	uint64_t received; /* likewise */
};

/*
 * "2026-11-25T10:00:01+01:00  12 sockets, 1 new, 0 changed, 1 closed
 * send 1.21 MB/s, recv 340 B/s" and a newline; clock: "10:00:01  ...".
 * The first snapshot has only the count, and without rates the rates
 * are left out.
 */
void pv_render_watch_header(struct pv_buf *out, const struct pv_watch_header *h);
/*
 * One line of NDJSON for a frame: {"time": ..., "interval": ...,
 * "total": ..., "new": ..., "changed": ..., "closed": ...[, "sent": ...,
 * "received": ...], "sockets": [...]}, each socket object with a
 * "change" member ("new", "changed", "closed" or null).
 */
void pv_render_frame_json(struct pv_buf *out, const struct pv_watch_header *h,
			  const struct pv_frame *f);

enum pv_event_kind {
	PV_EVENT_OPENED,
	PV_EVENT_CHANGED,
	PV_EVENT_CLOSED,
	PV_EVENT_LOST,
	PV_EVENT_RESET,	     /* the BPF source: a reset sent or received */
	PV_EVENT_RETRANSMIT, /* the BPF source: a segment sent again */
};

/* What the BPF source adds to an event. */
struct pv_event_life {
	bool started; /* its open was seen: duration_ns is known */
	uint64_t duration_ns;
	bool bytes; /* CLOSED: the byte counts were read */
	uint64_t sent, received;
	uint32_t inode;	    /* the socket's, when a dump knew it; 0: unknown */
	bool reset_sent;    /* RESET: sent by this socket, not received */
	const char *reason; /* RESET sent: the kernel's reason, or NULL */
};

/* One change of --events. */
struct pv_event {
	enum pv_event_kind kind;
	struct timespec when; /* when it happened (BPF) or portview learned of it, CLOCK_REALTIME */
	/* The socket: row index of view v (none for LOST) */
	const struct pv_view *v;
	size_t index;
	uint8_t old_state; /* CHANGED: the state before */
	/* CLOSED: the last tcp_info, from the kernel's message; NULL: the row's */
	const struct pv_tcp_info *info;
	/* The BPF source's facts; NULL: the event comes from sock_diag */
	const struct pv_event_life *life;
	/* LOST: how many events, when known (the BPF source); 0: not known */
	uint64_t lost;
	bool lost_bpf; /* LOST: the BPF source's ring buffer, not sock_diag's queue */
};

/* What an event line shows. */
struct pv_event_opts {
	bool plain; /* no port annotations */
	bool info;  /* the TCP internals, as ss -i writes them */
	bool netns; /* a Netns column (--all-netns) */
};

/*
 * The first line of --events' text: which source runs and what it sees.
 * bpf: TCP from the lifecycle tracepoints, UDP from sock_diag; else all
 * from sock_diag, with a dump every interval_ms.
 */
void pv_render_event_source(struct pv_buf *out, bool bpf, uint32_t interval_ms);
/* The header line of --events' text (its column titles). */
void pv_render_event_header(struct pv_buf *out, const struct pv_event_opts *o);
/* One event as a line of text. */
void pv_render_event(struct pv_buf *out, const struct pv_event *e, const struct pv_event_opts *o);
/* One event as a line of NDJSON: {"time": ..., "event": ..., the socket's members}. */
void pv_render_event_json(struct pv_buf *out, const struct pv_event *e);

#endif
