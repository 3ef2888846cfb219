#include "i18n.h"
#include "portview/state.h"
#include "portview/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

struct state_name {
	const char *name; /* lower case, '-' as separator */
	uint32_t mask;
};

static const struct state_name state_names[] = {
    {"established", PV_SF(PV_TCP_ESTABLISHED)},
    {"estab", PV_SF(PV_TCP_ESTABLISHED)},
    {"syn-sent", PV_SF(PV_TCP_SYN_SENT)},
    {"syn-recv", PV_SF(PV_TCP_SYN_RECV)},
    {"syn-received", PV_SF(PV_TCP_SYN_RECV)},
    {"fin-wait1", PV_SF(PV_TCP_FIN_WAIT1)},
    {"fin-wait-1", PV_SF(PV_TCP_FIN_WAIT1)},
    {"fin-wait2", PV_SF(PV_TCP_FIN_WAIT2)},
    {"fin-wait-2", PV_SF(PV_TCP_FIN_WAIT2)},
    {"time-wait", PV_SF(PV_TCP_TIME_WAIT)},
    {"close", PV_SF(PV_TCP_CLOSE)},
    {"closed", PV_SF(PV_TCP_CLOSE)},
    {"unconn", PV_SF(PV_TCP_CLOSE)},
    {"close-wait", PV_SF(PV_TCP_CLOSE_WAIT)},
    {"last-ack", PV_SF(PV_TCP_LAST_ACK)},
    {"listen", PV_SF(PV_TCP_LISTEN)},
    {"listening", PV_SF(PV_TCP_LISTEN)},
    {"closing", PV_SF(PV_TCP_CLOSING)},
    {"bound", PV_SF(PV_TCP_BOUND_INACTIVE)},
    {"bound-inactive", PV_SF(PV_TCP_BOUND_INACTIVE)},
    /* ss's groups */
    {"all", PV_STATES_ALL},
    {"connected", PV_STATES_CONNECTED},
    {"synchronized", PV_STATES_CONNECTED & ~PV_SF(PV_TCP_SYN_SENT)},
    {"bucket", PV_SF(PV_TCP_SYN_RECV) | PV_SF(PV_TCP_TIME_WAIT)},
    {"big", PV_STATES_ALL & ~(PV_SF(PV_TCP_SYN_RECV) | PV_SF(PV_TCP_TIME_WAIT))},
};

static bool name_matches(const char *want, const char *got, size_t n)
{
	if (strlen(want) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = got[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		else if (c == '_')
			c = '-';
		if (c != want[i])
			return false;
	}
	return true;
}

static int lookup(const char *item, size_t n, uint32_t *mask)
{
	for (size_t i = 0; i < ARRAY_SIZE(state_names); i++) {
		if (name_matches(state_names[i].name, item, n)) {
			*mask |= state_names[i].mask;
			return 0;
		}
	}
	return -EINVAL;
}

bool pv_state_parse_list(const char *list, uint32_t *mask, struct pv_why *why)
{
	struct pv_split it = pv_split_start(list, ',');
	const char *p;
	size_t n;
	while (pv_split_next(&it, &p, &n)) {
		if (n == 0 || lookup(p, n, mask) < 0) {
			/*
			 * Near misses get a suggestion, anything else the names
			 * and groups (ss's spellings left out: they are synonyms).
			 */
			*why = (struct pv_why){
			    .why = n ? N_("unknown state") : N_("empty state name"),
			    .item = p,
			    .len = n,
			    .valid = pv_state_names_text(),
			    .suggest = pv_nearest(p, n, state_names, ARRAY_SIZE(state_names),
						  sizeof(state_names[0]))};
			return false;
		}
	}
	return true;
}

const char *pv_state_names_text(void)
{
	return "established, syn-sent, syn-recv, fin-wait-1, fin-wait-2, time-wait, close, "
	       "close-wait, last-ack, listening, closing, bound; groups: all, connected, "
	       "synchronized, bucket, big";
}

const char *pv_state_display(uint8_t proto, uint8_t state)
{
	switch (state) {
	case PV_TCP_ESTABLISHED:
		return "ESTABLISHED";
	case PV_TCP_SYN_SENT:
		return "SYN_SENT";
	case PV_TCP_SYN_RECV:
	case PV_TCP_NEW_SYN_RECV:
		return "SYN_RECEIVED";
	case PV_TCP_FIN_WAIT1:
		return "FIN_WAIT_1";
	case PV_TCP_FIN_WAIT2:
		return "FIN_WAIT_2";
	case PV_TCP_TIME_WAIT:
		return "TIME_WAIT";
	case PV_TCP_CLOSE:
		return proto == IPPROTO_UDP ? "" : "CLOSED";
	case PV_TCP_CLOSE_WAIT:
		return "CLOSE_WAIT";
	case PV_TCP_LAST_ACK:
		return "LAST_ACK";
	case PV_TCP_LISTEN:
		return "LISTENING";
	case PV_TCP_CLOSING:
		return "CLOSING";
	case PV_TCP_BOUND_INACTIVE:
		return "BOUND";
	default:
		return "UNKNOWN";
	}
}

const char *pv_timer_name(uint8_t timer)
{
	switch (timer) {
	case 0:
		return "off";
	case 1:
		return "on";
	case 2:
		return "keepalive";
	case 3:
		return "timewait";
	case 4:
		return "probe";
	default:
		return "unknown";
	}
}
