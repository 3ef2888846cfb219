#include "i18n.h"
#include "portview/ports.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum pv_port_class pv_port_class(uint16_t port)
{
	if (port < 1024)
		return PV_CLASS_WELL_KNOWN;
	if (port < PV_IANA_DYNAMIC_LO)
		return PV_CLASS_REGISTERED;
	return PV_CLASS_DYNAMIC;
}

const char *pv_port_class_name(enum pv_port_class c)
{
	switch (c) {
	case PV_CLASS_WELL_KNOWN:
		return N_("well-known");
	case PV_CLASS_REGISTERED:
		return N_("registered");
	case PV_CLASS_DYNAMIC:
		return N_("dynamic");
	default:
		return "-";
	}
}

/* Read a small sysctl file into buf as a string; returns its length or -errno. */
static ssize_t read_small(const char *dir, const char *name, char *buf, size_t size)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			int err = -errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

/* A decimal port: digits only, at most 65535.  Advances *p past it. */
static int parse_port(const char **p, uint16_t *out)
{
	size_t n = pv_digits(*p, strlen(*p));
	uint64_t v;
	if (pv_parse_uint(*p, n, 65535, &v) < 0)
		return -EINVAL;
	*out = (uint16_t)v;
	*p += n;
	return 0;
}

int pv_parse_port_range_sysctl(const char *text, uint16_t *lo, uint16_t *hi)
{
	const char *p = text;
	while (*p == ' ' || *p == '\t')
		p++;
	if (parse_port(&p, lo) < 0)
		return -EINVAL;
	if (*p != ' ' && *p != '\t')
		return -EINVAL;
	while (*p == ' ' || *p == '\t')
		p++;
	if (parse_port(&p, hi) < 0)
		return -EINVAL;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (*p != '\0' || *lo > *hi)
		return -EINVAL;
	return 0;
}

int pv_parse_port_list(const char *text, struct pv_portset *set)
{
	const char *p = text;
	while (*p == ' ' || *p == '\n')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		uint16_t lo, hi;
		if (parse_port(&p, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-') {
			p++;
			if (parse_port(&p, &hi) < 0 || hi < lo)
				return -EINVAL;
		}
		for (uint32_t port = lo; port <= hi; port++)
			pv_portset_add(set, (uint16_t)port);
		if (*p == ',') {
			p++;
			continue;
		}
		while (*p == ' ' || *p == '\n')
			p++;
		return *p == '\0' ? 0 : -EINVAL;
	}
}

void pv_ephemeral_load(struct pv_ephemeral *e, const char *sysctl_dir)
{
	char buf[64];
	memset(e, 0, sizeof(*e));
	if (read_small(sysctl_dir, "ip_local_port_range", buf, sizeof(buf)) > 0 &&
	    pv_parse_port_range_sysctl(buf, &e->lo, &e->hi) == 0)
		e->known = true;

	/* The reserved list can be long ("1-2,4,6-8,..."), so read it whole. */
	size_t size = 1 << 20;
	char *text = xmalloc(size);
	if (read_small(sysctl_dir, "ip_local_reserved_ports", text, size) > 0) {
		struct pv_portset *set = pv_portset_new();
		if (pv_parse_port_list(text, set) == 0) {
			e->reserved = set;
			if (e->known)
				for (uint32_t port = e->lo; port <= e->hi; port++)
					e->nreserved += pv_port_is_reserved(e, (uint16_t)port);
		} else {
			free(set);
		}
	}
	free(text);
}

void pv_ephemeral_free(struct pv_ephemeral *e)
{
	free(e->reserved);
	memset(e, 0, sizeof(*e));
}

bool pv_port_is_reserved(const struct pv_ephemeral *e, uint16_t port)
{
	return e->reserved && pv_portset_has(e->reserved, port);
}

bool pv_port_is_ephemeral(const struct pv_ephemeral *e, uint16_t port)
{
	return e->known && port >= e->lo && port <= e->hi && !pv_port_is_reserved(e, port);
}

uint32_t pv_ports_in_use(const struct pv_socklist *l, uint8_t proto, uint16_t lo, uint16_t hi,
			 const struct pv_ephemeral *skip_reserved)
{
	struct pv_portset *seen = pv_portset_new();
	uint32_t n = 0;
	for (size_t i = 0; i < l->n; i++) {
		const struct pv_rec *s = &l->v[i];
		uint16_t port = s->lport;
		if (s->proto != proto || port < lo || port > hi)
			continue;
		if (skip_reserved && pv_port_is_reserved(skip_reserved, port))
			continue;
		if (pv_portset_has(seen, port))
			continue;
		pv_portset_add(seen, port);
		n++;
	}
	free(seen);
	return n;
}
