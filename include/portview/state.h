/* Socket state names: parsing what users type, naming what we show. */
#ifndef PORTVIEW_STATE_H
#define PORTVIEW_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/util.h"

/* Kernel TCP states as bits of inet_diag_req_v2.idiag_states. */
#define PV_TCP_ESTABLISHED  1
#define PV_TCP_SYN_SENT	    2
#define PV_TCP_SYN_RECV	    3
#define PV_TCP_FIN_WAIT1    4
#define PV_TCP_FIN_WAIT2    5
#define PV_TCP_TIME_WAIT    6
#define PV_TCP_CLOSE	    7
#define PV_TCP_CLOSE_WAIT   8
#define PV_TCP_LAST_ACK	    9
#define PV_TCP_LISTEN	    10
#define PV_TCP_CLOSING	    11
#define PV_TCP_NEW_SYN_RECV 12
/*
 * Bound, neither listening nor connecting.  The kernel lists such sockets
 * (Linux 6.5 and later) when this bit is asked for, with the state it has
 * for them, TCP_CLOSE; the parse records them under this number
 * (sock_diag.c).  Older kernels ignore the bit.
 */
#define PV_TCP_BOUND_INACTIVE 13

#define PV_SF(s) (1u << (s))
/* ESTABLISHED .. CLOSING, and BOUND_INACTIVE */
#define PV_STATES_ALL (0xffeu | PV_SF(PV_TCP_BOUND_INACTIVE))
/* ss's "connected": everything but listening, closed and merely bound. */
#define PV_STATES_CONNECTED                                                                        \
	(PV_STATES_ALL &                                                                           \
	 ~(PV_SF(PV_TCP_LISTEN) | PV_SF(PV_TCP_CLOSE) | PV_SF(PV_TCP_BOUND_INACTIVE)))

/*
 * Parse a comma-separated list of state names and groups into a mask,
 * OR-ing into *mask.  Case-insensitive; '-' and '_' are the same.  Returns
 * false with why filled (naming the item) when one is unknown or empty.
 */
bool pv_state_parse_list(const char *list, uint32_t *mask, struct pv_why *why);
/* The state names and groups --state takes, for a message: one line. */
const char *pv_state_names_text(void);

/*
 * The Windows netstat spelling of a state.  Unconnected UDP sockets (kernel
 * state CLOSE) have no state and get the empty string; bound, inactive TCP
 * sockets, which Windows netstat does not list, are "BOUND".
 */
const char *pv_state_display(uint8_t proto, uint8_t state);

/* netstat -o's name of a TCP timer (idiag_timer): off, on, keepalive... */
const char *pv_timer_name(uint8_t timer);

#endif
