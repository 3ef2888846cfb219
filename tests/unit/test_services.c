/* Service names: the compiled-in IANA table and the /etc/services overlay. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"
#include "portview/services.h"

static char dir[200];

static void make_dir(void)
{
	ck_assert_int_lt(snprintf(dir, sizeof(dir), "%s", scratch_dir("services")),
			 (int)sizeof(dir));
}

static void remove_dir(void)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Write n bytes to dir/name; returns the path (a static buffer). */
static const char *write_file(const char *name, const void *data, size_t n)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_msg(fd >= 0, "open %s: %s", path, strerror(errno));
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		ck_assert_int_gt(w, 0);
		p += w;
		n -= (size_t)w;
	}
	close(fd);
	return path;
}

static const char *write_str(const char *name, const char *text)
{
	return write_file(name, text, strlen(text));
}

static void assert_entry(const struct pv_service *e, const char *name, uint16_t port, uint8_t proto,
			 uint8_t source)
{
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e->name, name);
	ck_assert_uint_eq(e->port, port);
	ck_assert_uint_eq(e->proto, proto);
	ck_assert_uint_eq(e->source, source);
}

/* The answers that come from the IANA table alone. */
static void assert_iana_answers(const struct pv_services *s)
{
	assert_entry(pv_services_by_port(s, 80, IPPROTO_TCP), "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	assert_entry(pv_services_by_port(s, 443, IPPROTO_TCP), "https", 443, IPPROTO_TCP,
		     PV_SRC_IANA);
	assert_entry(pv_services_by_port(s, 53, IPPROTO_UDP), "domain", 53, IPPROTO_UDP,
		     PV_SRC_IANA);
	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_name(s, "www", out, 8), 2);
	ck_assert_uint_eq(pv_services_all_by_port(s, 80, 0, out, 8), 3);
}

/* Load path as /etc/services: nothing of it is used, nothing crashes. */
static void assert_ignored(const char *path)
{
	struct pv_services s;
	pv_services_load(&s, path);
	ck_assert_msg(s.netc == 0, "%s: %zu entries used", path, s.netc);
	ck_assert_ptr_null(s.etc);
	ck_assert_ptr_null(s.etc_text);
	assert_iana_answers(&s);
	pv_services_free(&s);
}

/* Load a file holding text: nothing of it is used. */
static void assert_text_ignored(const char *text, size_t n)
{
	assert_ignored(write_file("services", text, n));
}

START_TEST(table_sorted_and_complete)
{
	size_t per_proto[256] = {0}, n;
	struct pv_services s;
	pv_services_load(&s, NULL);
	const struct pv_service *iana = pv_services_iana(&s, &n);
	ck_assert_uint_eq(n, 11527);
	for (size_t i = 0; i < n; i++) {
		const struct pv_service *e = &iana[i];
		ck_assert(e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP ||
			  e->proto == PV_IPPROTO_SCTP || e->proto == PV_IPPROTO_DCCP);
		ck_assert_uint_eq(e->source, PV_SRC_IANA);
		ck_assert(e->name[0] != '\0');
		ck_assert_ptr_nonnull(e->aliases);
		ck_assert_ptr_nonnull(e->description);
		per_proto[e->proto]++;
		if (i > 0) {
			const struct pv_service *p = e - 1;
			ck_assert_msg(p->port < e->port ||
					  (p->port == e->port && p->proto < e->proto),
				      "row %zu (%u/%u) not after %u/%u", i, e->port, e->proto,
				      p->port, p->proto);
		}
	}
	ck_assert_uint_eq(per_proto[IPPROTO_TCP], 5911);
	ck_assert_uint_eq(per_proto[IPPROTO_UDP], 5519);
	ck_assert_uint_eq(per_proto[PV_IPPROTO_SCTP], 88);
	ck_assert_uint_eq(per_proto[PV_IPPROTO_DCCP], 9);
	pv_services_free(&s);
}
END_TEST

START_TEST(iana_by_port)
{
	struct pv_services s;
	pv_services_load(&s, NULL);
	ck_assert_uint_eq(s.netc, 0);
	assert_iana_answers(&s);
	assert_entry(pv_services_by_port(&s, 6379, IPPROTO_TCP), "redis", 6379, IPPROTO_TCP,
		     PV_SRC_IANA);
	assert_entry(pv_services_by_port(&s, 1, IPPROTO_TCP), "tcpmux", 1, IPPROTO_TCP,
		     PV_SRC_IANA);
	const struct pv_service *https = pv_services_by_port(&s, 443, IPPROTO_TCP);
	ck_assert_str_eq(https->description, "http protocol over TLS/SSL");
	ck_assert_str_eq(https->aliases, "");
	/* Comma-separated in the data, space-separated here. */
	ck_assert_str_eq(pv_services_by_port(&s, 80, IPPROTO_TCP)->aliases, "www www-http");
	/* Non-ASCII descriptions survive the generator's escaping. */
	ck_assert_str_eq(pv_services_by_port(&s, 4413, IPPROTO_TCP)->description,
			 "FORT\xc3\x89 Vision Monitoring platform");
	ck_assert_str_eq(pv_services_by_port(&s, 63, IPPROTO_TCP)->description,
			 "whois++ IANA assigned this well-formed service name as a replacement for "
			 "\"whois++\".");
	/* Any protocol: the first in (port, proto) order. */
	assert_entry(pv_services_by_port(&s, 80, 0), "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	assert_entry(pv_services_by_port(&s, 443, PV_IPPROTO_SCTP), "https", 443, PV_IPPROTO_SCTP,
		     PV_SRC_IANA);
	assert_entry(pv_services_by_port(&s, 9, PV_IPPROTO_DCCP), "discard", 9, PV_IPPROTO_DCCP,
		     PV_SRC_IANA);

	/* Unassigned ports. */
	const struct pv_service *out[8];
	ck_assert_ptr_null(pv_services_by_port(&s, 4, IPPROTO_TCP));
	ck_assert_ptr_null(pv_services_by_port(&s, 4, 0));
	ck_assert_ptr_null(pv_services_by_port(&s, 40001, IPPROTO_TCP));
	ck_assert_ptr_null(pv_services_by_port(&s, 6379, IPPROTO_UDP));
	ck_assert_ptr_null(pv_services_by_port(&s, 80, PV_IPPROTO_DCCP));
	ck_assert_ptr_null(pv_services_by_port(&s, 0, IPPROTO_TCP));
	ck_assert_ptr_null(pv_services_by_port(&s, 65535, IPPROTO_UDP));
	ck_assert_uint_eq(pv_services_all_by_port(&s, 4, 0, out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 65535, 0, out, 8), 0);
	pv_services_free(&s);
}
END_TEST

START_TEST(iana_all_by_port_any_protocol)
{
	struct pv_services s;
	pv_services_load(&s, NULL);
	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_port(&s, 9, 0, out, 8), 4);
	assert_entry(out[0], "discard", 9, IPPROTO_TCP, PV_SRC_IANA);
	assert_entry(out[1], "discard", 9, IPPROTO_UDP, PV_SRC_IANA);
	assert_entry(out[2], "discard", 9, PV_IPPROTO_DCCP, PV_SRC_IANA);
	assert_entry(out[3], "discard", 9, PV_IPPROTO_SCTP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 1021, 0, out, 8), 4);
	assert_entry(out[3], "exp1", 1021, PV_IPPROTO_SCTP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 443, 0, out, 8), 3);
	assert_entry(out[2], "https", 443, PV_IPPROTO_SCTP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 443, IPPROTO_UDP, out, 8), 1);
	assert_entry(out[0], "https", 443, IPPROTO_UDP, PV_SRC_IANA);

	/* The count is the whole count; only max are stored. */
	size_t n;
	const struct pv_service *sentinel = &pv_services_iana(&s, &n)[0];
	out[2] = sentinel;
	ck_assert_uint_eq(pv_services_all_by_port(&s, 9, 0, out, 2), 4);
	ck_assert_uint_eq(out[1]->proto, IPPROTO_UDP);
	ck_assert_ptr_eq(out[2], sentinel);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 9, 0, NULL, 0), 4);
	pv_services_free(&s);
}
END_TEST

START_TEST(iana_by_name)
{
	struct pv_services s;
	pv_services_load(&s, NULL);
	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_name(&s, "HTTPS", out, 8), 3);
	assert_entry(out[0], "https", 443, IPPROTO_TCP, PV_SRC_IANA);
	assert_entry(out[1], "https", 443, IPPROTO_UDP, PV_SRC_IANA);
	assert_entry(out[2], "https", 443, PV_IPPROTO_SCTP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "Redis", out, 8), 1);
	assert_entry(out[0], "redis", 6379, IPPROTO_TCP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "domain", out, 8), 2);
	assert_entry(out[1], "domain", 53, IPPROTO_UDP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "tcpmux", out, 8), 2);
	assert_entry(out[0], "tcpmux", 1, IPPROTO_TCP, PV_SRC_IANA);
	/* Names with spaces are whole names. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "escale (newton dock)", out, 8), 2);
	assert_entry(out[0], "Escale (Newton Dock)", 3679, IPPROTO_TCP, PV_SRC_IANA);

	/* Aliases. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "WWW", out, 8), 2);
	assert_entry(out[0], "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	assert_entry(out[1], "http", 80, IPPROTO_UDP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "www-http", out, 8), 2);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "nameserver", out, 8), 2);
	assert_entry(out[0], "name", 42, IPPROTO_TCP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "whois++", out, 8), 2);
	assert_entry(out[1], "whoispp", 63, IPPROTO_UDP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "http", out, 8), 3);

	/* Not names: unknown, empty, a prefix, part of an alias list. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "no-such-service", out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "", out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "http", NULL, 0), 3);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "htt", out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "www www-http", out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "ww", out, 8), 0);

	/* Rows all over the table are found by their names. */
	size_t n;
	const struct pv_service *iana = pv_services_iana(&s, &n);
	for (size_t i = 0; i < n; i += 7) {
		const struct pv_service *e = &iana[i];
		const struct pv_service *all[16];
		size_t n = pv_services_all_by_name(&s, e->name, all, 16);
		ck_assert_uint_le(n, 16);
		size_t j = 0;
		while (j < n && all[j] != e)
			j++;
		ck_assert_msg(j < n, "%s not found by name", e->name);
	}
	pv_services_free(&s);
}
END_TEST

START_TEST(etc_wins)
{
	struct pv_services s;
	pv_services_load(&s, write_str("services", "www 80/tcp http\n"));
	ck_assert_uint_eq(s.netc, 1);
	const struct pv_service *e = pv_services_by_port(&s, 80, IPPROTO_TCP);
	assert_entry(e, "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	ck_assert_str_eq(e->aliases, "http");
	ck_assert_str_eq(e->description, "");
	assert_entry(pv_services_by_port(&s, 80, 0), "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	/* Other protocols still come from IANA. */
	assert_entry(pv_services_by_port(&s, 80, IPPROTO_UDP), "http", 80, IPPROTO_UDP,
		     PV_SRC_IANA);
	assert_entry(pv_services_by_port(&s, 443, IPPROTO_TCP), "https", 443, IPPROTO_TCP,
		     PV_SRC_IANA);

	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_port(&s, 80, IPPROTO_TCP, out, 8), 2);
	assert_entry(out[0], "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(out[1], "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_port(&s, 80, 0, out, 8), 4);
	assert_entry(out[0], "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(out[3], "http", 80, PV_IPPROTO_SCTP, PV_SRC_IANA);

	/* By name, /etc/services first: by its name, then by its alias. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "WWW", out, 8), 3);
	assert_entry(out[0], "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(out[1], "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "http", out, 8), 4);
	assert_entry(out[0], "www", 80, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(out[1], "http", 80, IPPROTO_TCP, PV_SRC_IANA);
	pv_services_free(&s);

	/* An assigned port renamed. */
	pv_services_load(&s, write_str("services", "myapp 40000/tcp\n"));
	assert_entry(pv_services_by_port(&s, 40000, IPPROTO_TCP), "myapp", 40000, IPPROTO_TCP,
		     PV_SRC_ETC);
	assert_entry(pv_services_by_port(&s, 40000, IPPROTO_UDP), "safetynetp", 40000, IPPROTO_UDP,
		     PV_SRC_IANA);
	pv_services_free(&s);
}
END_TEST

START_TEST(etc_only_entries)
{
	struct pv_services s;
	pv_services_load(&s, write_str("services", "myapp 40001/tcp\n"));
	assert_entry(pv_services_by_port(&s, 40001, IPPROTO_TCP), "myapp", 40001, IPPROTO_TCP,
		     PV_SRC_ETC);
	ck_assert_ptr_null(pv_services_by_port(&s, 40001, IPPROTO_UDP));
	assert_entry(pv_services_by_port(&s, 40001, 0), "myapp", 40001, IPPROTO_TCP, PV_SRC_ETC);
	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_name(&s, "MyApp", out, 8), 1);
	assert_entry(out[0], "myapp", 40001, IPPROTO_TCP, PV_SRC_ETC);
	ck_assert_str_eq(out[0]->aliases, "");
	assert_iana_answers(&s);
	pv_services_free(&s);
}
END_TEST

START_TEST(etc_syntax)
{
	static const char text[] = "# a comment\n"
				   "\n"
				   "   \t \n"
				   "\t# an indented comment\n"
				   "  svc-a   40002/tcp   a1\t\ta2   \r\n"
				   "svc-b\t40003/udp#comment at once\n"
				   "svc-c 40004/dccp c1 # comment c2\n"
				   "zero 0/tcp\n"
				   "top 65535/udp\n"
				   "leading 0040010/sctp\n"
				   "self 40011/udp Self x\n"
				   "svc-d 40005/sctp d1 d2 d3";
	struct pv_services s;
	pv_services_load(&s, write_str("services", text));
	ck_assert_uint_eq(s.netc, 8);
	/* Sorted by (port, proto). */
	for (size_t i = 1; i < s.netc; i++)
		ck_assert_uint_le(s.etc[i - 1].port, s.etc[i].port);

	const struct pv_service *e = pv_services_by_port(&s, 40002, IPPROTO_TCP);
	assert_entry(e, "svc-a", 40002, IPPROTO_TCP, PV_SRC_ETC);
	ck_assert_str_eq(e->aliases, "a1 a2");
	e = pv_services_by_port(&s, 40003, IPPROTO_UDP);
	assert_entry(e, "svc-b", 40003, IPPROTO_UDP, PV_SRC_ETC);
	ck_assert_str_eq(e->aliases, "");
	e = pv_services_by_port(&s, 40004, PV_IPPROTO_DCCP);
	assert_entry(e, "svc-c", 40004, PV_IPPROTO_DCCP, PV_SRC_ETC);
	ck_assert_str_eq(e->aliases, "c1");
	e = pv_services_by_port(&s, 40005, PV_IPPROTO_SCTP);
	assert_entry(e, "svc-d", 40005, PV_IPPROTO_SCTP, PV_SRC_ETC);
	ck_assert_str_eq(e->aliases, "d1 d2 d3");
	assert_entry(pv_services_by_port(&s, 0, IPPROTO_TCP), "zero", 0, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(pv_services_by_port(&s, 65535, IPPROTO_UDP), "top", 65535, IPPROTO_UDP,
		     PV_SRC_ETC);
	assert_entry(pv_services_by_port(&s, 40010, PV_IPPROTO_SCTP), "leading", 40010,
		     PV_IPPROTO_SCTP, PV_SRC_ETC);

	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_name(&s, "A2", out, 8), 1);
	assert_entry(out[0], "svc-a", 40002, IPPROTO_TCP, PV_SRC_ETC);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "d3", out, 8), 1);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "c2", out, 8), 0);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "comment", out, 8), 0);
	/* A name that is also its own alias: listed once. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "SELF", out, 8), 1);
	ck_assert_str_eq(out[0]->aliases, "Self x");
	assert_iana_answers(&s);
	pv_services_free(&s);
}
END_TEST

/*
 * An answer from the by-port cache is the lookup's own: every entry of an
 * /etc/services overlay and every TCP and UDP port below 2,000 asked for
 * twice, the second time from the cache.
 */
START_TEST(cached_answers_the_same)
{
	struct pv_services s;
	pv_services_load(&s, write_str("services", "svc-a 40002/tcp\n"
						   "svc-b 40003/udp\n"
						   "svc-c 40004/tcp\n"
						   "www 80/tcp\n"
						   "svc-e 5/udp\n"));
	ck_assert_uint_eq(s.netc, 5);
	for (size_t i = 0; i < s.netc; i++) {
		const struct pv_service *e = &s.etc[i];
		ck_assert_ptr_eq(pv_services_by_port(&s, e->port, e->proto), e);
		ck_assert_ptr_eq(pv_services_by_port(&s, e->port, e->proto), e);
	}
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	for (size_t p = 0; p < 2; p++)
		for (uint16_t port = 1; port < 2000; port++) {
			const struct pv_service *first = pv_services_by_port(&s, port, protos[p]);
			ck_assert_ptr_eq(pv_services_by_port(&s, port, protos[p]), first);
			if (first)
				ck_assert(first->port == port && first->proto == protos[p]);
		}
	pv_services_free(&s);
}
END_TEST

START_TEST(etc_duplicates_first_wins)
{
	struct pv_services s;
	pv_services_load(&s, write_str("services", "later 40006/udp\n"
						   "first 40006/tcp f\n"
						   "second 40006/tcp s\n"
						   "third 40006/tcp\n"));
	assert_entry(pv_services_by_port(&s, 40006, IPPROTO_TCP), "first", 40006, IPPROTO_TCP,
		     PV_SRC_ETC);
	const struct pv_service *out[8];
	ck_assert_uint_eq(pv_services_all_by_port(&s, 40006, 0, out, 8), 4);
	ck_assert_str_eq(out[0]->name, "first");
	ck_assert_str_eq(out[1]->name, "second");
	ck_assert_str_eq(out[2]->name, "third");
	ck_assert_str_eq(out[3]->name, "later");
	/* The later lines still name the port. */
	ck_assert_uint_eq(pv_services_all_by_name(&s, "third", out, 8), 1);
	ck_assert_uint_eq(pv_services_all_by_name(&s, "S", out, 8), 1);
	ck_assert_str_eq(out[0]->name, "second");
	pv_services_free(&s);

	/* A name used for two ports: both, in port order. */
	pv_services_load(&s, write_str("services", "twice 40008/tcp\ntwice 40007/tcp\n"
						   "other 40007/udp twice\n"));
	ck_assert_uint_eq(pv_services_all_by_name(&s, "twice", out, 8), 3);
	assert_entry(out[0], "twice", 40007, IPPROTO_TCP, PV_SRC_ETC);
	assert_entry(out[1], "other", 40007, IPPROTO_UDP, PV_SRC_ETC);
	assert_entry(out[2], "twice", 40008, IPPROTO_TCP, PV_SRC_ETC);
	pv_services_free(&s);
}
END_TEST

START_TEST(unusable_files)
{
	/* Missing. */
	assert_ignored("/nonexistent/portview/services");
	/* Through a file that is not a directory. */
	const char *file = write_str("plain", "www 80/tcp\n");
	char path[512];
	snprintf(path, sizeof(path), "%s/services", file);
	assert_ignored(path);
	/* Empty. */
	assert_text_ignored("", 0);
	/* Only comments and blanks. */
	assert_text_ignored("# www 80/tcp\n\n  \n", 17);
	/* A directory. */
	assert_ignored(dir);
	/* A FIFO: skipped without blocking on it. */
	snprintf(path, sizeof(path), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	assert_ignored(path);
	/* A file whose reads fail. */
	assert_ignored("/proc/self/mem");
	/* A file without read permission (root may read it anyway). */
	const char *locked = write_str("locked", "www 80/tcp\n");
	ck_assert_int_eq(chmod(locked, 0), 0);
	if (access(locked, R_OK) != 0)
		assert_ignored(locked);
}
END_TEST

START_TEST(binary_junk)
{
	size_t n = 256 * 1024;
	unsigned char *junk = malloc(n);
	ck_assert_ptr_nonnull(junk);
	uint32_t x = 12345;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	/* Plenty of NULs, newlines and separators among the random bytes. */
	for (size_t i = 0; i < n; i += 7)
		junk[i] = (unsigned char)"\0\n \t/#"[(i / 7) % 6];
	assert_text_ignored((const char *)junk, n);
	free(junk);
}
END_TEST

START_TEST(long_lines)
{
	size_t n = 100 * 1024;
	char *text = malloc(n + 64);
	ck_assert_ptr_nonnull(text);
	/* A valid-looking 100 KB line is skipped; the line after it counts. */
	strcpy(text, "www 80/tcp ");
	memset(text + 11, 'a', n - 11);
	strcpy(text + n, "\nmyapp 40001/tcp\n");
	struct pv_services s;
	pv_services_load(&s, write_str("services", text));
	ck_assert_uint_eq(s.netc, 1);
	assert_entry(pv_services_by_port(&s, 40001, IPPROTO_TCP), "myapp", 40001, IPPROTO_TCP,
		     PV_SRC_ETC);
	assert_iana_answers(&s);
	pv_services_free(&s);

	/* The longest line taken: 1024 bytes; one more is too long. */
	memset(text, ' ', 1100);
	memcpy(text, "long 40009/tcp", 14);
	text[1024] = '\n';
	strcpy(text + 1025, "longer 40010/tcp");
	memset(text + 1025 + 16, ' ', 1025 - 16);
	text[2050] = '\0';
	pv_services_load(&s, write_str("services", text));
	ck_assert_uint_eq(s.netc, 1);
	ck_assert_str_eq(s.etc[0].name, "long");
	pv_services_free(&s);
	free(text);
}
END_TEST

START_TEST(huge_file_is_cut)
{
	/* More than 4 MiB: the whole lines within the first 4 MiB are used. */
	size_t cap = (size_t)4 << 20;
	size_t n = cap + 4096;
	char *text = malloc(n + 64);
	ck_assert_ptr_nonnull(text);
	const char *head = "early 40001/tcp\n";
	size_t hl = strlen(head);
	memcpy(text, head, hl);
	for (size_t i = hl; i < n; i += 64) {
		memset(text + i, '#', 63);
		text[i + 63] = '\n';
	}
	/* A line that ends with the 4 MiB is used; one after it is not. */
	memcpy(text + cap - 16, "\nedge 40002/tcp\n", 16);
	memcpy(text + cap + 64, "\nlate 40003/tcp\n", 16);
	struct pv_services s;
	pv_services_load(&s, write_file("services", text, n));
	ck_assert_uint_eq(s.netc, 2);
	ck_assert_str_eq(s.etc[0].name, "early");
	ck_assert_str_eq(s.etc[1].name, "edge");
	pv_services_free(&s);

	/* A line whose newline is the byte after the 4 MiB is not. */
	memcpy(text + cap - 15, "\nedge 40002/tcp\n", 16);
	pv_services_load(&s, write_file("services", text, n));
	ck_assert_uint_eq(s.netc, 1);
	ck_assert_str_eq(s.etc[0].name, "early");
	pv_services_free(&s);
	free(text);
}
END_TEST

START_TEST(malformed_lines)
{
	static const char *const bad[] = {
	    "x 70000/tcp\n",
	    "x 65536/tcp\n",
	    "x 99999999999999999999999/tcp\n",
	    "x -1/tcp\n",
	    "x +80/tcp\n",
	    "x 12a/tcp\n",
	    "x 0x50/tcp\n",
	    "x /tcp\n",
	    "x 80\n",
	    "x 80/\n",
	    "x 80/foo\n",
	    "x 80/TCP\n",
	    "x 80/tcp/udp\n",
	    "x 80 /tcp\n",
	    "x\n",
	    "80/tcp\n",
	    "/\n",
	    "www\001 80/tcp\n",
	    "w\033ww 80/tcp\n",
	    "www\177 80/tcp\n",
	    "caf\303\251 80/tcp\n",
	    "www 80/tcp al\002ias\n",
	    "www 80/tcp \377\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_text_ignored(bad[i], strlen(bad[i]));
	/* NUL bytes, wherever they are. */
	assert_text_ignored("www\0 80/tcp\n", 12);
	assert_text_ignored("www 80/tcp\0\n", 12);
	assert_text_ignored("www 80/tcp # \0\n", 15);
	assert_text_ignored("\0www 80/tcp\n", 12);

	/* Skipped, not fatal: the good lines around them count. */
	size_t len = 0;
	char text[2048];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t l = strlen(bad[i]);
		memcpy(text + len, bad[i], l);
		len += l;
	}
	memcpy(text + len, "www\0 80/tcp\nmyapp 40001/tcp\n", 28);
	len += 28;
	struct pv_services s;
	pv_services_load(&s, write_file("services", text, len));
	ck_assert_uint_eq(s.netc, 1);
	assert_entry(pv_services_by_port(&s, 40001, IPPROTO_TCP), "myapp", 40001, IPPROTO_TCP,
		     PV_SRC_ETC);
	assert_iana_answers(&s);
	pv_services_free(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("services");
	TCase *tc = tcase_create("iana");
	tcase_add_test(tc, table_sorted_and_complete);
	tcase_add_test(tc, iana_by_port);
	tcase_add_test(tc, iana_all_by_port_any_protocol);
	tcase_add_test(tc, iana_by_name);
	suite_add_tcase(s, tc);

	tc = tcase_create("etc");
	tcase_add_checked_fixture(tc, make_dir, remove_dir);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, etc_wins);
	tcase_add_test(tc, etc_only_entries);
	tcase_add_test(tc, etc_syntax);
	tcase_add_test(tc, cached_answers_the_same);
	tcase_add_test(tc, etc_duplicates_first_wins);
	tcase_add_test(tc, unusable_files);
	tcase_add_test(tc, binary_junk);
	tcase_add_test(tc, long_lines);
	tcase_add_test(tc, huge_file_is_cut);
	tcase_add_test(tc, malformed_lines);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
