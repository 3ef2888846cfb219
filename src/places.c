/* The places of a run and the gather (places.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "portview/buf.h"
#include "portview/places.h"

/*
 * fn(arg) inside the namespace ns (fd -1 or own: where portview is), then
 * back: the one place a namespace is entered and left.  Returns fn's
 * result, or the -errno of entering (*step PV_STEP_ENTER) or of coming
 * back (PV_STEP_LEAVE).
 */
static int in_place(const struct pv_netns *ns, int (*fn)(void *), void *arg,
		    enum pv_place_step *step)
{
	int saved = -1;
	if (ns->fd >= 0 && !ns->own) {
		int err = pv_netns_enter(ns, &saved);
		if (err) {
			*step = PV_STEP_ENTER;
			return err;
		}
	}
	int ret = fn(arg);
	if (saved >= 0) {
		int err = pv_netns_leave(saved);
		if (err) {
			*step = PV_STEP_LEAVE;
			return err;
		}
	}
	return ret;
}

/* ---- the places ----------------------------------------------------------------------------- */

struct facts_job {
	struct pv_place *p;
	const struct pv_places_opts *o;
};

static int load_facts(void *arg)
{
	struct facts_job *j = arg;
	pv_netns_facts_load(&j->p->facts, j->o->sysctl_dir, j->o->proc_root);
	return 0;
}

/* Every namespace, each entered to read its facts. */
static void open_all(struct pv_places *P, const struct pv_places_opts *o, bool *refused)
{
	struct pv_netns *all;
	size_t n = pv_netns_list(o->proc_root, o->run_netns, &all);
	P->v = xcalloc(n ? n : 1, sizeof(*P->v));
	P->multi = true;
	for (size_t i = 0; i < n; i++) {
		struct pv_place *p = &P->v[P->n];
		enum pv_place_step step = PV_STEP_NONE;
		p->ns = all[i];
		all[i].fd = -1;
		struct facts_job job = {p, o};
		int err = in_place(&p->ns, load_facts, &job, &step);
		if (err) {
			/* gone meanwhile: quietly; not allowed: the caller says so once */
			*refused |= step == PV_STEP_ENTER && err == -EPERM;
			pv_netns_facts_free(&p->facts);
			pv_netns_close(&p->ns);
			continue;
		}
		pv_netns_label(&p->ns, p->label, sizeof(p->label));
		P->n++;
	}
	pv_netns_list_free(all, n);
}

/* -N's namespace, entered for the run, or portview's own. */
static int open_one(struct pv_places *P, const struct pv_places_opts *o)
{
	P->v = xcalloc(1, sizeof(*P->v));
	struct pv_place *p = &P->v[0];
	if (o->netns && o->netns->fd >= 0) {
		int err = pv_netns_enter(o->netns, &P->saved);
		if (err)
			return err;
		p->ns = *o->netns;
		p->ns.fd = -1; /* entered already; the caller keeps the file */
	} else {
		/* what JSON says of it: no need to open it */
		struct stat st;
		char self[64];
		snprintf(self, sizeof(self), "%s/self/ns/net", o->proc_root);
		p->ns = (struct pv_netns){.fd = -1, .own = true, .pid = (int32_t)getpid()};
		if (stat(self, &st) == 0) {
			p->ns.dev = st.st_dev;
			p->ns.ino = st.st_ino;
		}
	}
	P->n = 1;
	pv_netns_facts_load(&p->facts, o->sysctl_dir, o->proc_root);
	pv_netns_label(&p->ns, p->label, sizeof(p->label));
	return 0;
}

int pv_places_open(struct pv_places *P, const struct pv_places_opts *o, bool *refused)
{
	memset(P, 0, sizeof(*P));
	P->saved = -1;
	*refused = false;
	if (o->all) {
		open_all(P, o, refused);
	} else {
		int err = open_one(P, o);
		if (err)
			return err;
	}
	P->vn = xcalloc(P->n ? P->n : 1, sizeof(*P->vn));
	for (size_t i = 0; i < P->n; i++)
		P->vn[i] = (struct pv_view_netns){
		    .label = P->v[i].label,
		    .name = P->v[i].ns.name[0] ? P->v[i].ns.name : NULL,
		    .ino = (unsigned long long)P->v[i].ns.ino,
		    .own = P->v[i].ns.own || !P->multi,
		    .ephemeral = &P->v[i].facts.ephemeral,
		};
	return 0;
}

void pv_places_free(struct pv_places *P)
{
	for (size_t i = 0; i < P->n; i++) {
		pv_snapshotter_close(P->v[i].snap);
		pv_netns_facts_free(&P->v[i].facts);
		pv_netns_close(&P->v[i].ns);
	}
	free(P->v);
	free(P->vn);
	if (P->saved >= 0)
		pv_netns_leave(P->saved);
	memset(P, 0, sizeof(*P));
	P->saved = -1;
}

struct pv_places pv_places_one(const struct pv_places *P, size_t i)
{
	return (struct pv_places){.v = &P->v[i], .n = 1, .vn = &P->vn[i], .saved = -1};
}

static int open_snapshotter(void *arg)
{
	/* a netlink socket stays in the namespace it was opened in */
	return pv_snapshotter_open(arg);
}

int pv_places_open_snapshotters(struct pv_places *P, struct pv_place_failure *fail)
{
	*fail = (struct pv_place_failure){PV_STEP_NONE, 0, 0};
	for (size_t i = 0; i < P->n; i++) {
		enum pv_place_step step = PV_STEP_OPEN;
		int err = in_place(&P->v[i].ns, open_snapshotter, &P->v[i].snap, &step);
		if (err) {
			*fail = (struct pv_place_failure){step, i, err};
			return err;
		}
	}
	return 0;
}

/* ---- the gather ----------------------------------------------------------------------------- */

/* One place's snapshot, taken inside it. */
struct take_job {
	const struct pv_place *p;
	const struct pv_gather_opts *o;
	unsigned keeps;
	struct pv_socklist *l;
	struct pv_snapshot_report *rep;
	bool opened; /* a snapshotter could be opened: rep says what the dumps did */
	struct pv_gather_report *grep;
	struct pv_scan *scan; /* the owner scan beside the dumps, or NULL */
};

static int take(void *arg)
{
	struct take_job *j = arg;
	struct pv_snapshotter *own = NULL, *s = j->p->snap;
	if (!s) {
		int err = pv_snapshotter_open(&own);
		if (err)
			return err;
		s = own;
	}
	j->opened = true;
	int err;
	if (j->o->follow && !own) {
		j->grep->followed = true;
		err = pv_follow_take(j->o->follow, s, j->o->query, &j->p->facts, j->o->dump,
				     j->keeps, j->l, j->rep, &j->grep->follow);
	} else {
		/* the owner scan's thread takes requests once it is done */
		pv_snapshotter_lend(s, j->scan ? pv_scan_idle : NULL, j->scan);
		err = pv_snapshot_take(s, j->o->query, &j->p->facts, j->o->dump, j->keeps, j->l,
				       j->rep);
		pv_snapshotter_lend(s, NULL, NULL);
	}
	pv_snapshotter_close(own);
	return err;
}

/* Place i's snapshot into l; its report the next of rep's. */
static int take_in(const struct pv_places *P, size_t i, const struct pv_gather_opts *o,
		   unsigned keeps, struct pv_socklist *l, struct pv_gather_report *rep,
		   struct pv_scan *scan)
{
	enum pv_place_step step = PV_STEP_NONE;
	struct take_job j = {&P->v[i], o, keeps, l, &rep->snaps[rep->nsnaps], false, rep, scan};
	int err = in_place(&P->v[i].ns, take, &j, &step);
	if (j.opened)
		rep->nsnaps++;
	if (err && rep->fail.step == PV_STEP_NONE)
		rep->fail = (struct pv_place_failure){step != PV_STEP_NONE ? step
						      : j.opened	   ? PV_STEP_DUMP
									   : PV_STEP_OPEN,
						      i, err};
	return err;
}

/* The snapshots of every place: one list, each record marked with its place. */
static int take_all(const struct pv_places *P, const struct pv_gather_opts *o,
		    struct pv_socklist *l, struct pv_gather_report *rep, struct pv_scan *scan)
{
	/* Queues, timers and the interface: a run of several places shows them. */
	if (!P->multi)
		return take_in(P, 0, o, o->keeps, l, rep, scan);
	struct pv_gather_opts each = *o;
	each.follow = NULL; /* the change log follows one namespace */
	o = &each;
	int err = 0;
	struct pv_socklist one;
	struct pv_sock s;
	l->keep_info = o->keeps & PV_KEEP_INFO;
	for (size_t i = 0; i < P->n && !err; i++) {
		pv_socklist_init(&one);
		err = take_in(P, i, o, PV_KEEP_MORE | (o->keeps & (PV_KEEP_INFO | PV_KEEP_PROBES)),
			      &one, rep, scan);
		for (size_t r = 0; r < one.n && !err; r++) {
			pv_socklist_get(&one, r, &s);
			s.netns = (uint32_t)i;
			pv_socklist_add(l, &s);
		}
		pv_socklist_free(&one);
	}
	return err;
}

/* --pid and --command: whether one of the socket's owners is named. */
struct owner_filter {
	const struct pv_query *q;
	const struct pv_view *view;
};

static bool owner_named(const struct pv_sock *s, const void *arg)
{
	const struct owner_filter *f = arg;
	const struct pv_owner_table *t = &f->view->owners;
	uint32_t first, count;
	pv_owners_lookup(t, s->inode, &first, &count);
	for (uint32_t i = 0; i < count; i++) {
		const struct pv_owner *o = &t->owners[first + i];
		const struct pv_process *p = &t->procs[o->proc];
		if (pv_query_owner_matches(f->q, o->pid, p->comm, p->comm_len))
			return true;
	}
	return false;
}

/* The finished scan's owners into the view (unless the dumps failed). */
static int join_owners(struct pv_scan *scan, bool dumped, struct pv_view *view,
		       struct pv_gather_report *rep)
{
	int err = pv_scan_finish(scan);
	rep->scanned = true;
	pv_scan_report(scan, &rep->scan);
	if (err) {
		rep->scan_err = err;
	} else if (dumped) {
		rep->unseen = pv_view_adopt_owners(view, pv_scan_table(scan));
	}
	pv_scan_free(scan);
	return err;
}

/*
 * Sockets no walked process holds, while the walk could not see every
 * process (PV_UNSEEN_*): the note that says so is earned only by sockets
 * still held now, whose holder a second walk cannot find either.  A socket
 * closed between the dump and the walk has no owner left to find; one made
 * after the walk passed its process (the walk runs beside the dump) is
 * still held, and the second walk finds its holder.  At most ASK sockets
 * are asked for again, each in its own place; more than that, and the note
 * stands unasked.
 */
enum { ASK = 8 };

struct held_job {
	struct pv_snapshotter *snap;
	const struct pv_sock *socks;
	size_t n;
	bool *held;
};

static int ask_held(void *arg)
{
	struct held_job *j = arg;
	for (size_t i = 0; i < j->n; i++)
		j->held[i] =
		    pv_snapshot_still_held(j->snap, &j->socks[i]) != 0; /* an error: held */
	return 0;
}

/* Whether a walk taken now finds a holder of each of socks' inodes. */
static bool owned_now(const struct pv_gather_opts *o, const struct pv_sock *socks, size_t n)
{
	struct pv_scan *scan;
	if (pv_scan_start_kept(&scan, o->proc_root, o->source, false, o->keep))
		return false;
	bool all = pv_scan_finish(scan) == 0;
	size_t nparts = 0;
	const struct pv_scan_part *parts = all ? pv_scan_parts(scan, &nparts) : NULL;
	for (size_t i = 0; all && i < n; i++) {
		bool found = false;
		for (size_t p = 0; p < nparts && !found; p++)
			for (size_t f = 0; f < parts[p].nfds && !found; f++)
				found = parts[p].fds[f].inode == socks[i].inode;
		all = found;
	}
	pv_scan_free(scan);
	return all;
}

static bool unowned_still_held(const struct pv_places *P, const struct pv_gather_opts *o,
			       const struct pv_view *view)
{
	const struct pv_socklist *l = view->l;
	struct pv_sock socks[ASK], held[ASK];
	size_t n = 0, nheld = 0;
	for (size_t r = 0; r < l->n; r++) {
		struct pv_sock s;
		uint32_t first, count;
		pv_socklist_get(l, r, &s);
		if (!s.inode)
			continue;
		pv_owners_lookup_at(&view->owners, r, s.inode, &first, &count);
		if (count)
			continue;
		if (n == ASK || s.netns >= P->n)
			return true;
		socks[n++] = s;
	}
	for (size_t place = 0; place < P->n; place++) {
		struct pv_sock here[ASK];
		bool is_held[ASK] = {false};
		size_t m = 0;
		for (size_t i = 0; i < n; i++)
			if (socks[i].netns == place)
				here[m++] = socks[i];
		if (!m)
			continue;
		struct held_job j = {P->v[place].snap, here, m, is_held};
		enum pv_place_step step = PV_STEP_NONE;
		if (in_place(&P->v[place].ns, ask_held, &j, &step))
			return true;
		for (size_t i = 0; i < m; i++)
			if (is_held[i])
				held[nheld++] = here[i];
	}
	return nheld && !owned_now(o, held, nheld);
}

int pv_gather(const struct pv_places *P, const struct pv_gather_opts *o,
	      const struct pv_services *svc, struct pv_socklist *l, struct pv_view *view,
	      struct pv_gather_report *rep)
{
	struct pv_scan *scan = NULL;

	memset(rep, 0, sizeof(*rep));
	rep->snaps = xcalloc(P->n ? P->n : 1, sizeof(*rep->snaps));
	pv_view_init(view, l, svc, &P->v[0].facts.ephemeral);
	pv_view_set_netns(view, P->vn, P->n);
	if (o->units)
		pv_view_want_units(view, o->proc_root);
	/*
	 * The /proc walk does not depend on the dump: start it on a second
	 * thread now, and let this thread join it once the dump is parsed.
	 */
	if (o->owners) {
		int err = pv_scan_start_kept(&scan, o->proc_root, o->source, true, o->keep);
		if (err) {
			rep->fail = (struct pv_place_failure){PV_STEP_SCAN, 0, err};
			return err;
		}
	}
	int err = take_all(P, o, l, rep, scan);
	if (o->owners) {
		int scan_err = join_owners(scan, !err, view, rep);
		err = err ? err : scan_err;
		if (!err && rep->unseen && !unowned_still_held(P, o, view))
			rep->unseen = 0;
	}
	if (!err && o->owners && pv_query_by_owner(o->query)) {
		struct owner_filter f = {o->query, view};
		pv_socklist_filter(l, owner_named, &f);
	}
	return err;
}

void pv_gather_report_free(struct pv_gather_report *r)
{
	free(r->snaps);
	r->snaps = NULL;
	r->nsnaps = 0;
}
