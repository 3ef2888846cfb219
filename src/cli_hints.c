/*
 * Another tool's habit, met on portview's command line: what it means
 * here.  netstat's, ss's and lsof's syntax, near misses among the long
 * options and the namespace names; each hint is a piece of the usage
 * error it follows (cli.c).
 */
#include "i18n.h"
#include "cli_int.h"
#include "portview/state.h"
#include "portview/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool protocol_word(const char *w)
{
	static const char *const words[] = {"tcp", "udp", "tcpv6", "udpv6", "tcp6", "udp6"};
	for (size_t i = 0; i < ARRAY_SIZE(words); i++)
		if (strcasecmp(w, words[i]) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* Safe to echo unescaped: letters, digits and . - _ : */
static bool plain_word(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:",
			    s[i]) ||
		    !s[i])
			return false;
	return true;
}

/*
 * lsof's "-i :22", "-i TCP:22" and ss's ":22": a port after a colon,
 * with a protocol before it perhaps.  True with the hint made.
 */
static bool port_word_hint(const char *w, bool after_i)
{
	const char *colon = strchr(w, ':');
	if (!colon || strchr(colon + 1, ':') || !plain_word(w, (size_t)(colon - w)) ||
	    !all_digits(colon + 1, strlen(colon + 1)))
		return false;
	size_t plen = (size_t)(colon - w);
	const char *proto = "";
	if (plen == 3 && strncasecmp(w, "tcp", 3) == 0)
		proto = "-t ";
	else if (plen == 3 && strncasecmp(w, "udp", 3) == 0)
		proto = "-u ";
	else if (plen)
		return false;
	if (after_i)
		pv_msg_more("; lsof's -i %s is %s--port %s here (-i shows TCP internals)", w, proto,
			    colon + 1);
	else
		pv_msg_more("; for the sockets on port %s write %s--port %s", colon + 1, proto,
			    colon + 1);
	return true;
}

/*
 * ss's filter expression in one argument, "( dport = :443 )": the
 * options that say the same, or false when it is none.
 */
static bool expression_hint(const char *w)
{
	static const char *const words[] = {"state", "sport", "dport", "src", "dst"};
	char out[160] = "";
	size_t used = 0;
	const char *p = w;
	if (!strpbrk(w, " ()"))
		return false;
	while (*p) {
		p += strspn(p, " ()");
		size_t n = strcspn(p, " ()");
		size_t i = 0;
		while (i < ARRAY_SIZE(words) &&
		       !(strlen(words[i]) == n && !strncmp(p, words[i], n)))
			i++;
		p += n;
		if (i == ARRAY_SIZE(words))
			continue;
		p += strspn(p, " (");
		size_t op = strcspn(p, " ()");
		if ((op == 1 && *p == '=') ||
		    (op == 2 && (!strncmp(p, "==", 2) || !strncmp(p, "eq", 2))))
			p += op + strspn(p + op, " (");
		size_t vn = strcspn(p, " ()");
		const char *v = p + (i > 0 && i < 3 && vn > 1 && *p == ':');
		vn -= (size_t)(v - p);
		p = v + vn;
		if (!vn || used + vn + 12 >= sizeof(out))
			return false;
		used += (size_t)snprintf(out + used, sizeof(out) - used, "%s--%s %.*s",
					 used ? " " : "", words[i], (int)vn, v);
	}
	if (!used)
		return false;
	pv_msg_more("; ss's filter expressions are options here: write %s", out);
	return true;
}

/*
 * An address, or an address with a port ("10.0.0.1:8080", "[::1]:22"), as
 * netstat prints them and lsof's -i takes them: the options that select
 * it.  True with the hint made.
 */
static bool endpoint_hint(const char *w)
{
	const char *colon = strrchr(w, ':');
	const char *addr = w, *port = NULL;
	size_t n = strlen(w);
	if (w[0] == '[' && colon && colon > w + 1 && colon[-1] == ']') {
		addr = w + 1, n = (size_t)(colon - w) - 2, port = colon + 1;
	} else if (colon && strchr(w, ':') == colon) {
		n = (size_t)(colon - w), port = colon + 1;
	}
	char a[INET6_ADDRSTRLEN];
	unsigned char bin[16];
	if (n == 0 || n >= sizeof(a) || (port && !all_digits(port, strlen(port))))
		return false;
	memcpy(a, addr, n);
	a[n] = '\0';
	if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
		return false;
	if (port)
		pv_msg_more("; for the sockets connected to that end write --dst %s --dport %s "
			    "(--src, --sport for this host's end)",
			    a, port);
	else
		pv_msg_more("; for the sockets connected to that end write --dst %s "
			    "(--src for this host's end)",
			    a);
	return true;
}

void pv_cli_stray_hint(char **argv, int argc, int at, const char *after_p)
{
	static const char *const ss_words[] = {"state", "sport", "dport", "src", "dst"};
	const char *w = argv[at];
	const char *next = at + 1 < argc ? argv[at + 1] : NULL;
	if (next && strcmp(next, "=") == 0)
		next = at + 2 < argc ? argv[at + 2] : NULL;
	bool tcp = strncasecmp(w, "tcp", 3) == 0;
	if (w == after_p) {
		if (protocol_word(w)) {
			pv_msg_more("; for %s sockets write %s (-p shows programs here)",
				    tcp ? "TCP" : "UDP", tcp ? "-t" : "-u");
			return;
		}
		pv_msg_more("; to keep one program's sockets write --command ");
		pv_cli_echo(w, strlen(w));
		return;
	}
	if (protocol_word(w)) {
		pv_msg_more("; for %s sockets write %s", tcp ? "TCP" : "UDP", tcp ? "-t" : "-u");
		return;
	}
	if (port_word_hint(w, at > 0 && strcmp(argv[at - 1], "-i") == 0) || expression_hint(w) ||
	    endpoint_hint(w))
		return;
	for (size_t i = 0; i < ARRAY_SIZE(ss_words); i++) {
		if (strcmp(w, ss_words[i]) != 0)
			continue;
		pv_msg_more("; ss's '%s' is --%s here: write --%s ", w, w, w);
		if (next) {
			/* ss writes ports as ":80" */
			const char *v = next + (next[0] == ':' && i > 0 && i < 3);
			pv_cli_echo(v, strlen(v));
		} else {
			pv_msg_more("%s", i == 0 ? "STATE" : i < 3 ? "PORT" : "ADDR");
		}
		return;
	}
	uint32_t mask;
	struct pv_why why;
	if (pv_state_parse_list(w, &mask, &why)) {
		pv_msg_more("; to list sockets in that state write --state ");
		pv_cli_echo(w, strlen(w));
	}
}

const char *pv_cli_letter_hint(int letter)
{
	switch (letter) {
	case 'E':
		return N_("ss's -E is --events here");
	case 'K':
		return N_("ss's -K is --kill here (with a filter: portview --kill --dport 443)");
	case 'x':
		return N_("portview lists TCP and UDP sockets, not UNIX ones (ss -x lists those)");
	case 'b':
		return N_("Windows netstat's -b (the program) is -p here (portview -anp)");
	case 'r':
		return N_("portview lists sockets, not routes (ip route lists those)");
	default:
		return NULL;
	}
}

/* A value in another tool's syntax, for the option it was given to. */
int pv_cli_value_hint(const struct cli_state *st, int id, const char *arg)
{
	struct pv_why why = {.why = NULL};
	char hint[96];
	const char *colon = strrchr(arg, ':');
	if ((id == OPT_PORT || id == OPT_SPORT || id == OPT_DPORT) && arg[0] == ':' &&
	    all_digits(arg + 1, strlen(arg + 1))) {
		snprintf(hint, sizeof(hint), _("write %s %s (ss's ':' is not needed here)"),
			 st->cur.name, arg + 1);
		why = (struct pv_why){.why = N_("not a port, range N-M or service name"),
				      .hint = hint};
	} else if ((id == OPT_SRC || id == OPT_DST) && colon && colon > arg &&
		   all_digits(colon + 1, strlen(colon + 1)) &&
		   (strchr(arg, ':') == colon || (arg[0] == '[' && colon[-1] == ']')) &&
		   plain_word(arg + (arg[0] == '['), (size_t)(colon - arg) - 2 * (arg[0] == '['))) {
		size_t n = (size_t)(colon - arg);
		if (arg[0] == '[')
			arg++, n -= 2;
		snprintf(hint, sizeof(hint), _("write %s %.*s --%s %s"), st->cur.name, (int)n, arg,
			 id == OPT_SRC ? "sport" : "dport", colon + 1);
		why = (struct pv_why){.why = N_("an address with a port"), .hint = hint};
		arg = st->cur.value;
	} else if (id == OPT_PID && arg[0] && !strpbrk(arg, "0123456789,") && strlen(arg) < 16 &&
		   plain_word(arg, strlen(arg))) {
		snprintf(hint, sizeof(hint), _("a process name: write --command %s"), arg);
		why = (struct pv_why){.why = N_("not a process ID"), .hint = hint};
	}
	if (!why.why)
		return PV_GO_ON;
	pv_cli_bad_value(st->cur.name, st->cur.sep, st->cur.value, &why);
	return EXIT_USAGE;
}

/* A long option nobody has: its likely meaning, or the ones it could be. */
void pv_cli_unknown_long(const char *arg)
{
	const char *name = arg + 2;
	size_t n = strcspn(name, "=");
	pv_msg_begin("unrecognized option '");
	pv_cli_echo(arg, strlen(arg));
	pv_msg_more("'");
	size_t prefixed = 0;
	for (size_t i = 0; i < pv_cli_nopts; i++)
		prefixed += pv_cli_opts[i].name && n && !strncmp(pv_cli_opts[i].name, name, n);
	if (prefixed > 1) {
		const char *sep = "; it could be ";
		for (size_t i = 0; i < pv_cli_nopts; i++) {
			if (pv_cli_opts[i].name && n && !strncmp(pv_cli_opts[i].name, name, n)) {
				pv_msg_more("%s--%s", sep, pv_cli_opts[i].name);
				sep = ", ";
			}
		}
	} else {
		const char *names[64];
		size_t count = 0;
		for (size_t i = 0; i < pv_cli_nopts && count < ARRAY_SIZE(names); i++)
			if (pv_cli_opts[i].name)
				names[count++] = pv_cli_opts[i].name;
		const char *near = pv_nearest(name, n, names, count, sizeof(names[0]));
		if (near)
			pv_msg_more("; did you mean --%s?", near);
	}
	pv_msg_end();
}
