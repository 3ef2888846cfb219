#include "portview/units.h"

#include "portview/buf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool starts(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);
	return n >= p && memcmp(s, prefix, p) == 0;
}

static bool ends(const char *s, size_t n, const char *suffix)
{
	size_t p = strlen(suffix);
	return n >= p && memcmp(s + n - p, suffix, p) == 0;
}

static void set(struct pv_unit *u, enum pv_unit_kind kind, const char *s, size_t n)
{
	u->kind = kind;
	if (n >= sizeof(u->name))
		n = sizeof(u->name) - 1;
	memcpy(u->name, s, n);
	u->name[n] = '\0';
}

/* PREFIX<64 hex>[.scope]: a container runtime's scope; fills the short ID. */
static bool container(const char *c, size_t n, const char *prefix, enum pv_unit_kind kind,
		      struct pv_unit *out)
{
	size_t p = strlen(prefix);
	if (!starts(c, n, prefix))
		return false;
	size_t rest = n - p - (ends(c, n, ".scope") ? strlen(".scope") : 0);
	if (rest != 64 || !all_hex(c + p, 64))
		return false;
	set(out, kind, c + p, 12);
	return true;
}

/* A pod's UID: "kubepods-burstable-pod<uid with _>.slice" or "pod<uid>". */
static bool pod(const char *c, size_t n, struct pv_unit *out)
{
	const char *at = NULL;
	size_t len = 0;
	if (starts(c, n, "kubepods") && ends(c, n, ".slice")) {
		for (size_t i = 0; i + 3 < n; i++)
			if (memcmp(c + i, "pod", 3) == 0 && (i == 0 || c[i - 1] == '-'))
				at = c + i + 3;
		if (!at)
			return false;
		len = (size_t)(c + n - strlen(".slice") - at);
	} else if (starts(c, n, "pod")) {
		at = c + 3;
		len = n - 3;
	} else {
		return false;
	}
	if (len != 36)
		return false;
	char uid[37];
	for (size_t i = 0; i < 36; i++) {
		char ch = at[i] == '_' ? '-' : at[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? ch != '-' : !all_hex(&ch, 1))
			return false;
		uid[i] = ch;
	}
	set(out, PV_UNIT_POD, uid, 36);
	return true;
}

void pv_unit_from_path(const char *path, size_t len, struct pv_unit *out)
{
	struct pv_unit found_pod = {0}, found_ctr = {0}, found_unit = {0};
	size_t end = len;
	const char *parent_of_hex = NULL; /* for cgroupfs: /docker/<64 hex> */
	while (end > 0) {
		size_t start = end;
		while (start > 0 && path[start - 1] != '/')
			start--;
		const char *c = path + start;
		size_t n = end - start;
		if (n) {
			struct pv_unit u = {0};
			if (!found_pod.kind && pod(c, n, &u))
				found_pod = u;
			else if (!found_ctr.kind &&
				 (container(c, n, "docker-", PV_UNIT_DOCKER, &u) ||
				  container(c, n, "libpod-", PV_UNIT_PODMAN, &u) ||
				  container(c, n, "cri-containerd-", PV_UNIT_CONTAINERD, &u) ||
				  container(c, n, "crio-", PV_UNIT_CRIO, &u)))
				found_ctr = u;
			else if (!found_ctr.kind && n == 64 && all_hex(c, 64))
				parent_of_hex = c;
			else if (!found_unit.kind && ends(c, n, ".service"))
				set(&found_unit, PV_UNIT_SERVICE, c, n);
			else if (!found_unit.kind && ends(c, n, ".scope"))
				set(&found_unit, PV_UNIT_SCOPE, c, n);
			if (parent_of_hex && c + n + 1 == parent_of_hex && n == 6 &&
			    memcmp(c, "docker", 6) == 0 && !found_ctr.kind)
				set(&found_ctr, PV_UNIT_DOCKER, parent_of_hex, 12);
		}
		end = start ? start - 1 : 0;
	}
	*out = found_pod.kind ? found_pod : found_ctr.kind ? found_ctr : found_unit;
}

bool pv_unit_of_pid(const char *proc_root, int pid, struct pv_unit *out)
{
	char path[4096], line[4096];
	*out = (struct pv_unit){0};
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root, pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	char best[4096] = "";
	int rank = 0; /* 3: the v2 line, 2: systemd's v1 hierarchy, 1: any */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		int r = strncmp(line, "0::", 3) == 0		    ? 3
			: strncmp(c1 + 1, "name=systemd:", 13) == 0 ? 2
								    : 1;
		if (r > rank) {
			rank = r;
			snprintf(best, sizeof(best), "%s", c2 + 1);
		}
	}
	fclose(f);
	if (!rank)
		return false;
	pv_unit_from_path(best, strlen(best), out);
	return true;
}

const char *pv_unit_kind_name(enum pv_unit_kind k)
{
	static const char *const names[] = {
	    [PV_UNIT_SERVICE] = "service",
	    [PV_UNIT_SCOPE] = "scope",
	    [PV_UNIT_DOCKER] = "docker",
	    [PV_UNIT_PODMAN] = "podman",
	    [PV_UNIT_CONTAINERD] = "containerd",
	    [PV_UNIT_CRIO] = "cri-o",
	    [PV_UNIT_POD] = "pod",
	};
	return (size_t)k < sizeof(names) / sizeof(names[0]) ? names[k] : NULL;
}

void pv_unit_label(const struct pv_unit *u, char *buf, size_t size)
{
	switch (u->kind) {
	case PV_UNIT_NONE:
		snprintf(buf, size, "-");
		break;
	case PV_UNIT_SERVICE:
	case PV_UNIT_SCOPE:
		snprintf(buf, size, "%s", u->name);
		break;
	default:
		snprintf(buf, size, "%s:%s", pv_unit_kind_name(u->kind), u->name);
	}
}

void pv_cgroups_init(struct pv_cgroups *c, const char *mountinfo)
{
	memset(c, 0, sizeof(*c));
	c->mountinfo = mountinfo;
}

void pv_cgroups_free(struct pv_cgroups *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->paths[i]);
	free(c->paths);
	free(c->ids);
	free(c->unit_ids);
	free(c->units);
	memset(c, 0, sizeof(*c));
}

/* Where the cgroup v2 hierarchy is mounted, from mountinfo; false if nowhere. */
static bool cgroup2_root(const char *mountinfo, char *root, size_t size)
{
	FILE *f = fopen(mountinfo, "re");
	char line[4096];
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS... - FSTYPE SOURCE ... */
		char *sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		char *p = line;
		for (int field = 0; field < 4 && p; field++)
			p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL;
		size_t n = p ? strcspn(p, " ") : 0;
		if (n && n < size && !memchr(p, '\\', n)) { /* no escaped characters */
			memcpy(root, p, n);
			root[n] = '\0';
			found = true;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void add_cgroup(struct pv_cgroups *c, uint64_t id, const char *path)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->ids = xreallocarray(c->ids, c->cap, sizeof(*c->ids));
		c->paths = xreallocarray(c->paths, c->cap, sizeof(*c->paths));
	}
	c->ids[c->n] = id;
	size_t len = strlen(path) + 1;
	c->paths[c->n] = xmalloc(len);
	memcpy(c->paths[c->n++], path, len);
}

/* Every directory under dir (rel its path from the root), depth first. */
static void walk(struct pv_cgroups *c, const char *dir, const char *rel, int depth)
{
	if (depth > 32 || c->n > 200000)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		char full[4096], sub[4096];
		struct stat st;
		if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, e->d_name) >= sizeof(full) ||
		    (size_t)snprintf(sub, sizeof(sub), "%s/%s", rel, e->d_name) >= sizeof(sub) ||
		    stat(full, &st) < 0)
			continue;
		add_cgroup(c, st.st_ino, sub);
		walk(c, full, sub, depth + 1);
	}
	closedir(d);
}

const struct pv_unit *pv_cgroups_unit(struct pv_cgroups *c, uint64_t id)
{
	for (size_t i = 0; i < c->nunits; i++)
		if (c->unit_ids[i] == id)
			return &c->units[i];
	if (!c->built) {
		char root[4096];
		c->built = true;
		if (cgroup2_root(c->mountinfo, root, sizeof(root)))
			walk(c, root, "", 0);
	}
	struct pv_unit u = {0};
	for (size_t i = 0; i < c->n; i++)
		if (c->ids[i] == id)
			pv_unit_from_path(c->paths[i], strlen(c->paths[i]), &u);
	if (c->nunits == c->capunits) {
		c->capunits = c->capunits ? 2 * c->capunits : 16;
		c->unit_ids = xreallocarray(c->unit_ids, c->capunits, sizeof(*c->unit_ids));
		c->units = xreallocarray(c->units, c->capunits, sizeof(*c->units));
	}
	c->unit_ids[c->nunits] = id;
	c->units[c->nunits] = u;
	return &c->units[c->nunits++];
}
