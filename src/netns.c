#include "i18n.h"
#include "portview/netns.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whether fd is a network namespace file; fills dev and ino. */
static bool is_netns(int fd, uint64_t *dev, uint64_t *ino)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET)
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

static bool same_file(const char *path, uint64_t dev, uint64_t ino)
{
	struct stat st;
	return stat(path, &st) == 0 && (uint64_t)st.st_dev == dev && (uint64_t)st.st_ino == ino;
}

/* The first name (in byte order) under run_dir for (dev, ino), or "". */
static void find_name(const char *run_dir, uint64_t dev, uint64_t ino, char *name)
{
	name[0] = '\0';
	DIR *d = opendir(run_dir);
	if (!d)
		return;
	struct dirent *e;
	char path[4096];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= PV_NETNS_NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		if (same_file(path, dev, ino) && (!name[0] || strcmp(e->d_name, name) < 0))
			strcpy(name, e->d_name);
	}
	closedir(d);
}

/* The host's: PID 1's namespace, or kthreadd's (PID 2) where PID 1's is hidden. */
static bool host_netns(const char *proc_root, uint64_t dev, uint64_t ino)
{
	char path[4096], comm[32] = "";
	snprintf(path, sizeof(path), "%s/1/ns/net", proc_root);
	if (same_file(path, dev, ino))
		return true;
	snprintf(path, sizeof(path), "%s/2/comm", proc_root);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool kthreadd = fgets(comm, sizeof(comm), f) && strcmp(comm, "kthreadd\n") == 0;
	fclose(f);
	snprintf(path, sizeof(path), "%s/2/ns/net", proc_root);
	return kthreadd && same_file(path, dev, ino);
}

static bool own_netns(const char *proc_root, uint64_t dev, uint64_t ino)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/self/ns/net", proc_root);
	return same_file(path, dev, ino);
}

static const char *open_failure(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
		return N_("no such network namespace");
	case EACCES:
	case EPERM:
		return N_("permission denied (run as root)");
	default:
		return N_("cannot be opened");
	}
}

bool pv_netns_open(const char *spec, const char *proc_root, const char *run_dir,
		   struct pv_netns *out, struct pv_why *why)
{
	char path[4096];
	*out = (struct pv_netns){.fd = -1};
	bool by_name = false;
	if (!spec[0]) {
		*why = (struct pv_why){.why = N_("empty namespace name")};
		return false;
	}
	if (strncmp(spec, "pid:", 4) == 0) {
		uint64_t pid;
		if (pv_parse_uint_str(spec + 4, INT32_MAX, &pid) < 0 || pid == 0) {
			*why = (struct pv_why){.why = N_("not a process ID after pid:")};
			return false;
		}
		snprintf(path, sizeof(path), "%s/%llu/ns/net", proc_root, (unsigned long long)pid);
		out->pid = (int32_t)pid;
	} else if (strchr(spec, '/')) {
		if (strlen(spec) >= sizeof(path)) {
			*why = (struct pv_why){.why = N_("path too long")};
			return false;
		}
		strcpy(path, spec);
	} else {
		if (strcmp(spec, ".") == 0 || strcmp(spec, "..") == 0 ||
		    strlen(spec) >= PV_NETNS_NAME_MAX) {
			*why = (struct pv_why){.why = N_("no such network namespace"),
					       .hint = N_("ip netns list shows the names")};
			return false;
		}
		snprintf(path, sizeof(path), "%s/%s", run_dir, spec);
		by_name = true;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		*why = (struct pv_why){
		    .why = out->pid && (err == ENOENT || err == ENOTDIR) ? N_("no such process")
									 : open_failure(err),
		    .hint = by_name && err == ENOENT ? N_("ip netns list shows the names") : NULL};
		return false;
	}
	if (!is_netns(fd, &out->dev, &out->ino)) {
		close(fd);
		*why = (struct pv_why){.why = N_("not a network namespace file")};
		return false;
	}
	out->fd = fd;
	if (by_name)
		strcpy(out->name, spec);
	else
		find_name(run_dir, out->dev, out->ino, out->name);
	out->own = own_netns(proc_root, out->dev, out->ino);
	out->host = host_netns(proc_root, out->dev, out->ino);
	return true;
}

void pv_netns_close(struct pv_netns *ns)
{
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
}

struct found {
	struct pv_netns *v;
	size_t n, cap;
};

static struct pv_netns *found_get(struct found *f, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].dev == dev && f->v[i].ino == ino)
			return &f->v[i];
	if (f->n == f->cap) {
		f->cap = f->cap ? 2 * f->cap : 16;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	f->v[f->n] = (struct pv_netns){.fd = -1, .dev = dev, .ino = ino};
	return &f->v[f->n++];
}

static int order(const void *x, const void *y)
{
	const struct pv_netns *a = x, *b = y;
	if (a->own != b->own)
		return a->own ? -1 : 1;
	if (!!a->name[0] != !!b->name[0])
		return a->name[0] ? -1 : 1;
	if (a->name[0])
		return strcmp(a->name, b->name);
	return (a->pid > b->pid) - (a->pid < b->pid);
}

size_t pv_netns_list(const char *proc_root, const char *run_dir, struct pv_netns **out)
{
	struct found f = {0};
	char path[4096];
	struct stat st;
	DIR *d = opendir(proc_root);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		uint64_t pid;
		if (pv_parse_uint_str(e->d_name, INT32_MAX, &pid) < 0 || pid == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/ns/net", proc_root, e->d_name);
		if (stat(path, &st) < 0)
			continue; /* gone, or a kernel thread's that we may not see */
		struct pv_netns *ns = found_get(&f, st.st_dev, st.st_ino);
		if (!ns->pid || (int32_t)pid < ns->pid)
			ns->pid = (int32_t)pid;
	}
	if (d)
		closedir(d);
	d = opendir(run_dir);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= PV_NETNS_NAME_MAX)
			continue;
		snprintf(path, sizeof(path), "%s/%s", run_dir, e->d_name);
		if (stat(path, &st) < 0)
			continue;
		struct pv_netns *ns = found_get(&f, st.st_dev, st.st_ino);
		if (!ns->name[0] || strcmp(e->d_name, ns->name) < 0)
			strcpy(ns->name, e->d_name);
	}
	if (d)
		closedir(d);

	/* Open each; one that is gone, or is not what was seen, is left out. */
	size_t kept = 0;
	for (size_t i = 0; i < f.n; i++) {
		struct pv_netns ns = f.v[i];
		if (ns.name[0])
			snprintf(path, sizeof(path), "%s/%s", run_dir, ns.name);
		else
			snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, ns.pid);
		uint64_t dev, ino;
		ns.fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns.fd < 0)
			continue;
		if (!is_netns(ns.fd, &dev, &ino) || dev != ns.dev || ino != ns.ino) {
			close(ns.fd);
			continue;
		}
		ns.own = own_netns(proc_root, dev, ino);
		ns.host = host_netns(proc_root, dev, ino);
		f.v[kept++] = ns;
	}
	if (kept)
		qsort(f.v, kept, sizeof(*f.v), order);
	*out = f.v;
	return kept;
}

void pv_netns_list_free(struct pv_netns *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pv_netns_close(&list[i]);
	free(list);
}

int pv_netns_enter(const struct pv_netns *ns, int *saved)
{
	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return -errno;
	if (setns(ns->fd, CLONE_NEWNET) < 0) {
		int err = -errno;
		close(*saved);
		*saved = -1;
		return err;
	}
	return 0;
}

int pv_netns_leave(int saved)
{
	int err = setns(saved, CLONE_NEWNET) < 0 ? -errno : 0;
	close(saved);
	return err;
}

void pv_netns_label(const struct pv_netns *ns, char *buf, size_t size)
{
	if (ns->name[0])
		snprintf(buf, size, "%s", ns->name);
	else if (ns->host)
		snprintf(buf, size, "host");
	else if (ns->pid)
		snprintf(buf, size, "pid:%d", ns->pid);
	else
		snprintf(buf, size, "ns:%llu", (unsigned long long)ns->ino);
}

/* The name under dir nearest to name, for a mistyped -N (netns.h). */
void pv_netns_nearest(const char *dir, const char *name, char *out, size_t size)
{
	char names[64][PV_NETNS_NAME_MAX];
	const char *cands[ARRAY_SIZE(names)];
	size_t n = 0;
	out[0] = '\0';
	DIR *d = opendir(dir);
	if (!d)
		return;
	for (struct dirent *e; n < ARRAY_SIZE(names) && (e = readdir(d));)
		if (e->d_name[0] != '.' && strlen(e->d_name) < sizeof(names[0])) {
			memcpy(names[n], e->d_name, strlen(e->d_name) + 1);
			cands[n] = names[n];
			n++;
		}
	closedir(d);
	const char *near = pv_nearest(name, strlen(name), cands, n, sizeof(cands[0]));
	if (near)
		snprintf(out, size, "%s", near);
}
