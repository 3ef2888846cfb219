/*
 * What runs a process: its systemd unit, container or Kubernetes pod, read
 * from the cgroup it is in (/proc/PID/cgroup).
 */
#ifndef PORTVIEW_UNITS_H
#define PORTVIEW_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pv_unit_kind {
	PV_UNIT_NONE = 0, /* not known, or the root cgroup */
	PV_UNIT_SERVICE,  /* a systemd service: nginx.service */
	PV_UNIT_SCOPE,	  /* a systemd scope: session-3.scope */
	PV_UNIT_DOCKER,	  /* container IDs: the first 12 hex digits */
	PV_UNIT_PODMAN,
	PV_UNIT_CONTAINERD,
	PV_UNIT_CRIO,
	PV_UNIT_POD, /* a Kubernetes pod: its UID */
};

#define PV_UNIT_NAME_MAX 128

struct pv_unit {
	enum pv_unit_kind kind;
	char name[PV_UNIT_NAME_MAX]; /* "" with PV_UNIT_NONE; untrusted text */
};

/*
 * The unit a cgroup path stands for ("/system.slice/nginx.service",
 * "/system.slice/docker-<64 hex>.scope", "/kubepods/burstable/pod<uid>/<64
 * hex>"): a pod before a container, a container before a systemd unit, the
 * deepest of each.
 */
void pv_unit_from_path(const char *path, size_t len, struct pv_unit *out);
/*
 * The unit of process pid, from proc_root/PID/cgroup (the cgroup v2 line,
 * else systemd's v1 hierarchy).  False when it cannot be read.
 */
bool pv_unit_of_pid(const char *proc_root, int pid, struct pv_unit *out);
/*
 * The cgroup v2 directories, by ID (a cgroup's ID is its directory's inode
 * number), for sockets whose owner is not known: the kernel gives each
 * socket's cgroup ID.  Built on the first lookup by walking the hierarchy
 * (the cgroup2 mount in mountinfo, normally /proc/self/mountinfo).
 */
struct pv_cgroups {
	const char *mountinfo;
	bool built;
	size_t n, cap;
	uint64_t *ids;
	char **paths; /* relative to the hierarchy's root: "/system.slice/x.service" */
	/* units already worked out, by ID */
	size_t nunits, capunits;
	uint64_t *unit_ids;
	struct pv_unit *units;
};
void pv_cgroups_init(struct pv_cgroups *c, const char *mountinfo);
void pv_cgroups_free(struct pv_cgroups *c);
/* The unit of cgroup id (kind PV_UNIT_NONE when not found). */
const struct pv_unit *pv_cgroups_unit(struct pv_cgroups *c, uint64_t id);

/* "service", "scope", "docker", "podman", "containerd", "cri-o", "pod", or NULL. */
const char *pv_unit_kind_name(enum pv_unit_kind k);
/* The column's text: "nginx.service", "docker:0123456789ab", "pod:UID", "-". */
void pv_unit_label(const struct pv_unit *u, char *buf, size_t size);

#endif
