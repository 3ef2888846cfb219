/*
 * --complete WHAT: the words a shell completion offers, a line each.
 * The completion scripts (made at build time by tools/gen-completions.py
 * from --list-options and --complete options) call it at TAB time, so the
 * words come from the same tables and parsers the options are read with:
 * the state names, classes and sort keys as the parsers list them, the
 * service registry, and what the system has now (namespaces, programs,
 * interfaces).
 */
#include "i18n.h"
#include "cli_int.h"
#include "portview/buf.h"
#include "portview/services.h"
#include "portview/sort.h"
#include "portview/query.h"
#include "portview/state.h"
#include "portview/util.h"

#include <ctype.h>
#include <dirent.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The words of a parser's list of valid values ("a, b, c; groups: d, e"):
 * those before the first ';', and after "groups:" those of that part;
 * each printed after prefix.
 */
static void print_words_after(const char *prefix, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, ",;");
		while (n && isspace((unsigned char)*p))
			p++, n--;
		if (strncmp(p, "groups:", 7) == 0) {
			p += 7;
			continue;
		}
		if (n)
			printf("%s%.*s\n", prefix, (int)n, p);
		p += n;
		if (*p == ';' && strncmp(p + 1, " groups:", 8) != 0)
			break;
		if (*p)
			p++;
	}
}

static void print_words(const char *text)
{
	print_words_after("", text);
}

/* Each option with a value: the kind of word it takes, and its help's first line. */
static void print_options(void)
{
	for (size_t i = 0; i < pv_cli_nopts; i++) {
		const struct cli_opt *o = &pv_cli_opts[i];
		if (!o->name)
			continue;
		const char *help = o->help ? o->help : "";
		printf("--%s\t%s\t%.*s\n", o->name, o->values ? o->values : "-",
		       (int)strcspn(help, "\n"), help);
	}
}

/* Service names of TCP and UDP, each once (the registry's by-name index). */
static void print_services(const struct pv_services *svc)
{
	const struct pv_service *hits[64];
	size_t niana;
	const struct pv_service *iana = pv_services_iana(svc, &niana);
	for (int pass = 0; pass < 2; pass++) {
		const struct pv_service *t = pass ? iana : svc->etc;
		size_t n = pass ? niana : svc->netc;
		for (size_t i = 0; i < n; i++) {
			if (t[i].proto != IPPROTO_TCP && t[i].proto != IPPROTO_UDP)
				continue;
			if (!t[i].name[0] || strchr(t[i].name, ' '))
				continue;
			/* printed where its first TCP/UDP entry in lookup order is */
			size_t k = pv_services_all_by_name(svc, t[i].name, hits, ARRAY_SIZE(hits));
			for (size_t j = 0; j < k; j++)
				if (hits[j]->proto == IPPROTO_TCP ||
				    hits[j]->proto == IPPROTO_UDP) {
					if (hits[j] == &t[i])
						printf("%s\n", t[i].name);
					break;
				}
		}
	}
}

/* The entries of a directory: names (namespaces) or numbers (processes). */
static void print_dir(const char *path, bool pids)
{
	DIR *d = opendir(path);
	struct dirent *e;
	if (!d)
		return;
	while ((e = readdir(d))) {
		bool number = e->d_name[strspn(e->d_name, "0123456789")] == '\0';
		if (e->d_name[0] == '.' || number != pids)
			continue;
		printf("%s\n", e->d_name);
	}
	closedir(d);
}

/* Running programs' names (comm), each once. */
static void print_commands(const char *proc_root)
{
	DIR *d = opendir(proc_root);
	struct dirent *e;
	char **seen = NULL;
	size_t n = 0, cap = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		char path[300], comm[64];
		if (e->d_name[strspn(e->d_name, "0123456789")] != '\0')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", proc_root, e->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		bool got = fgets(comm, sizeof(comm), f) != NULL;
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		/* a word a shell can offer: no blanks, no control bytes */
		bool plain = got && comm[0];
		for (const char *c = comm; plain && *c; c++)
			plain = (unsigned char)*c > ' ' && *c != 0x7f;
		for (size_t i = 0; plain && i < n; i++)
			plain = strcmp(seen[i], comm) != 0;
		if (!plain)
			continue;
		if (n == cap)
			seen = xreallocarray(seen, cap = cap ? cap * 2 : 64, sizeof(*seen));
		seen[n] = xmalloc(strlen(comm) + 1);
		strcpy(seen[n++], comm);
		printf("%s\n", comm);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(seen[i]);
	free(seen);
}

static void print_devs(void)
{
	struct if_nameindex *ifs = if_nameindex();
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		printf("%s\n", i->if_name);
	if (ifs)
		if_freenameindex(ifs);
}

static const char complete_kinds[] =
    "options, state, class, sort, color, service, netns, command, pid, dev";

int pv_cli_complete(const struct cli_state *st, const char *what)
{
	struct pv_why why;
	struct pv_order order;
	uint8_t classes = 0;
	if (strcmp(what, "options") == 0) {
		print_options();
	} else if (strcmp(what, "state") == 0) {
		print_words(pv_state_names_text());
	} else if (strcmp(what, "class") == 0) {
		/* the parser's own list of valid words, asked with a word it lacks */
		if (!pv_parse_class_list("-", &classes, &why) && why.valid)
			print_words(why.valid);
	} else if (strcmp(what, "sort") == 0) {
		if (!pv_parse_sort_keys("?", &order, &why) && why.valid) {
			print_words(why.valid);
			print_words_after("-", why.valid); /* descending */
		}
	} else if (strcmp(what, "color") == 0) {
		print_words(pv_cli_color_words);
	} else if (strcmp(what, "service") == 0) {
		print_services(st->svc);
	} else if (strcmp(what, "netns") == 0) {
		print_dir(st->req->run_netns, false);
	} else if (strcmp(what, "command") == 0) {
		print_commands(st->req->proc_root);
	} else if (strcmp(what, "pid") == 0) {
		print_dir(st->req->proc_root, true);
	} else if (strcmp(what, "dev") == 0) {
		print_devs();
	} else {
		why = (struct pv_why){.why = N_("unknown kind of word"), .valid = complete_kinds};
		pv_cli_bad_value(st->cur.name, st->cur.sep, what, &why);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}
