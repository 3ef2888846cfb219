#include "i18n.h"
#include "portview/view.h"
#include "portview/buf.h"
#include "portview/format.h"
#include "portview/parallel.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* A row's port annotations, from the registry and the namespace's range. */
static void annotate_row(struct pv_row *r, const struct pv_services *svc,
			 const struct pv_ephemeral *eph)
{
	const struct pv_sock *s = &r->s;
	if (s->local.port) {
		r->local_class = (uint8_t)pv_port_class(s->local.port);
		r->local_service = pv_services_by_port(svc, s->local.port, s->proto);
		r->local_ephemeral = pv_port_is_ephemeral(eph, s->local.port);
		r->ephemeral_unknown = !eph->known;
	}
	if (s->remote.port) {
		r->remote_class = (uint8_t)pv_port_class(s->remote.port);
		r->remote_service = pv_services_by_port(svc, s->remote.port, s->proto);
		r->remote_in_range = pv_port_is_ephemeral(eph, s->remote.port);
	}
}

void pv_view_init(struct pv_view *v, const struct pv_socklist *l,
		  const struct pv_services *services, const struct pv_ephemeral *eph)
{
	memset(v, 0, sizeof(*v));
	v->l = l;
	v->services = services;
	v->ephemeral = eph;
	pv_users_init(&v->users);
}

/* Rows placed in the owner table at a time, by whichever thread takes them. */
#define PLACE_CHUNK 4096
/* From this many rows, on the CPUs online: each row is a lookup in a large hash table. */
#define PLACE_PARALLEL_FROM 20000

struct placing {
	struct pv_view *v;
	size_t next; /* the next chunk's first row (atomic) */
	bool missing;
};

/* A worker: chunks of rows placed; a socket no walked process holds noted (missing). */
static void place_rows(void *arg, unsigned w)
{
	(void)w;
	struct placing *p = arg;
	const struct pv_socklist *l = p->v->l;
	bool missing = false;
	for (size_t lo;
	     (lo = __atomic_fetch_add(&p->next, PLACE_CHUNK, __ATOMIC_RELAXED)) < l->n;) {
		size_t hi = lo + PLACE_CHUNK < l->n ? lo + PLACE_CHUNK : l->n;
		for (size_t i = lo; i < hi; i++)
			if (!pv_owners_place_at(&p->v->owners, i, l->v[i].inode) && l->v[i].inode)
				missing = true;
	}
	if (missing)
		__atomic_store_n(&p->missing, true, __ATOMIC_RELAXED);
}

uint8_t pv_view_adopt_owners(struct pv_view *v, struct pv_owner_table *index)
{
	v->owners = *index;
	memset(index, 0, sizeof(*index));
	v->has_owners = true;
	/* a socket with a file that no walked process holds: its owner is unknown */
	struct placing p = {v, 0, false};
	pv_owners_rows(&v->owners, v->l->n);
	unsigned cpus = pv_cpus_online();
	pv_parallel_run(v->l->n >= PLACE_PARALLEL_FROM && cpus > 1 ? 2 : 1, place_rows, &p);
	return p.missing ? v->owners.unseen : 0;
}

uint8_t pv_view_join_owners(struct pv_view *v, const struct pv_scan_part *parts, size_t nparts)
{
	struct pv_owner_table index;
	pv_owners_index(&index, parts, nparts);
	return pv_view_adopt_owners(v, &index);
}

void pv_view_resolve_names(struct pv_view *v, unsigned timeout_ms)
{
	pv_names_resolve(&v->names, v->l, timeout_ms);
	v->has_names = true;
}

void pv_view_free(struct pv_view *v)
{
	if (v->has_owners)
		pv_owners_free(&v->owners);
	if (v->has_names)
		pv_names_free(&v->names);
	pv_users_free(&v->users);
	free(v->units);
	free(v->units_state);
	pv_cgroups_free(&v->cgroups);
	memset(v, 0, sizeof(*v));
}

void pv_view_set_netns(struct pv_view *v, const struct pv_view_netns *ns, size_t n)
{
	v->netns = ns;
	v->nnetns = n;
}

void pv_view_want_units(struct pv_view *v, const char *proc_root)
{
	v->units_proc_root = proc_root;
	pv_cgroups_init(&v->cgroups, "/proc/self/mountinfo");
}

/* The unit of owner table process p: a cache, filled as rows are read. */
static const struct pv_unit *unit_of(const struct pv_view *cv, uint32_t p)
{
	struct pv_view *v = (struct pv_view *)cv;
	if (!v->units) {
		v->units = xcalloc(v->owners.nprocs ? v->owners.nprocs : 1, sizeof(*v->units));
		v->units_state = xcalloc(v->owners.nprocs ? v->owners.nprocs : 1, 1);
	}
	if (!v->units_state[p]) {
		pv_unit_of_pid(v->units_proc_root, v->owners.procs[p].pid, &v->units[p]);
		v->units_state[p] = 1;
	}
	return &v->units[p];
}

void pv_view_row(const struct pv_view *v, size_t i, struct pv_row *out)
{
	memset(out, 0, sizeof(*out));
	pv_socklist_get(v->l, i, &out->s);
	const struct pv_sock *s = &out->s;
	const struct pv_ephemeral *eph = v->ephemeral;
	if (v->nnetns && s->netns < v->nnetns) {
		out->netns = &v->netns[s->netns];
		eph = out->netns->ephemeral;
	}
	if (v->services)
		annotate_row(out, v->services, eph);
	if (v->has_owners) {
		pv_owners_lookup_at(&v->owners, i, s->inode, &out->owner_first, &out->owner_count);
		/* No file (inode 0: TIME_WAIT, request sockets): no owner can exist. */
		out->owners_unknown = out->owner_count == 0 && s->inode != 0 && v->owners.unseen;
	}
	if (v->units_proc_root && v->has_owners && out->owner_count)
		out->unit = unit_of(v, v->owners.owners[out->owner_first].proc);
	else if (v->units_proc_root && s->cgroup)
		/* no owner seen: the cgroup the kernel says the socket is in */
		out->unit = pv_cgroups_unit((struct pv_cgroups *)&v->cgroups, s->cgroup);
	if (v->rates)
		out->rate = v->rates[i];
	if (v->has_names) {
		out->local_host = pv_names_host(&v->names, s->family, s->local.addr);
		out->remote_host = pv_names_host(&v->names, s->family, s->remote.addr);
		if (v->services && s->local.port)
			out->local_name =
			    pv_services_etc_by_port(v->services, s->local.port, s->proto);
		if (v->services && s->remote.port)
			out->remote_name =
			    pv_services_etc_by_port(v->services, s->remote.port, s->proto);
	}
}

const char *pv_view_user(const struct pv_view *v, uint32_t uid)
{
	/* a cache, filled as rows are read */
	return pv_users_name((struct pv_users *)&v->users, uid);
}

/*
 * The class names and "ephemeral" in the user's language, with their
 * widths: worked out once (the locale is set before anything runs), not
 * asked of gettext for every cell of a 100,000-row table.
 */
static struct {
	const char *text[PV_CLASS_DYNAMIC + 1];
	size_t len[PV_CLASS_DYNAMIC + 1], width[PV_CLASS_DYNAMIC + 1];
	const char *ephemeral;
	size_t ephemeral_len, ephemeral_width;
} words;
static pthread_once_t words_once = PTHREAD_ONCE_INIT;

static void words_init(void)
{
	for (int c = PV_CLASS_WELL_KNOWN; c <= PV_CLASS_DYNAMIC; c++) {
		words.text[c] = _(pv_port_class_name((enum pv_port_class)c));
		words.len[c] = strlen(words.text[c]);
		words.width[c] = pv_text_width(words.text[c], words.len[c]);
	}
	words.ephemeral = _("ephemeral");
	words.ephemeral_len = strlen(words.ephemeral);
	words.ephemeral_width = pv_text_width(words.ephemeral, words.ephemeral_len);
}

void pv_annotation_text(struct pv_buf *out, const struct pv_service *svc, uint8_t cls,
			bool ephemeral)
{
	if (cls == PV_CLASS_NONE || cls > PV_CLASS_DYNAMIC) {
		pv_buf_putc(out, '-');
		return;
	}
	pthread_once(&words_once, words_init);
	if (svc)
		/* /etc/services is the administrator's, but still untrusted text */
		pv_escape_text(out, svc->name, strlen(svc->name));
	else
		pv_buf_putc(out, '-');
	pv_buf_putc(out, ' ');
	pv_buf_add(out, words.text[cls], words.len[cls]);
	if (ephemeral) {
		pv_buf_putc(out, ' ');
		pv_buf_add(out, words.ephemeral, words.ephemeral_len);
	}
}

size_t pv_annotation_width(const struct pv_service *svc, uint8_t cls, bool ephemeral)
{
	if (cls == PV_CLASS_NONE || cls > PV_CLASS_DYNAMIC)
		return 1;
	pthread_once(&words_once, words_init);
	size_t w = 1;
	if (svc) {
		/* printable ASCII but the backslash is shown as it is */
		const unsigned char *p = (const unsigned char *)svc->name;
		size_t n = strlen(svc->name);
		bool plain = true;
		for (size_t i = 0; i < n && plain; i++)
			plain = p[i] > 0x20 && p[i] < 0x7f && p[i] != '\\';
		if (plain) {
			w = n;
		} else {
			struct pv_buf b;
			pv_buf_init(&b);
			pv_escape_text(&b, svc->name, n);
			w = pv_text_width(b.data, b.len);
			pv_buf_free(&b);
		}
	}
	w += 1 + words.width[cls];
	if (ephemeral)
		w += 1 + words.ephemeral_width;
	return w;
}
