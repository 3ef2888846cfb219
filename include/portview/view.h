/*
 * The view of a snapshot: its records and what later stages add to each,
 * the owning processes (owners.h), what the ports mean (services.h,
 * ports.h), host names (resolve.h) and user names (users.h).  These are
 * worked out as each row is read rather than stored, which keeps a record
 * at 32 bytes.  Renderers read a view, nothing else of the run.
 */
#ifndef PORTVIEW_VIEW_H
#define PORTVIEW_VIEW_H

#include "portview/owners.h"
#include "portview/ports.h"
#include "portview/resolve.h"
#include "portview/services.h"
#include "portview/sock.h"
#include "portview/units.h"
#include "portview/users.h"

/*
 * How fast a TCP connection moved data over the last interval, from its
 * tcp_info counters in two snapshots (watch.h): bytes per second
 * acknowledged by the peer (sent) and received.
 */
struct pv_rate {
	uint64_t sent, received;
	bool known; /* false: not in the snapshot before, or no counters */
};

/* One network namespace of a run that lists several (--all-netns, -N). */
struct pv_view_netns {
	const char *label;		      /* its name, or "pid:PID" */
	const char *name;		      /* its name under /run/netns, or NULL */
	unsigned long long ino;		      /* the namespace file's inode */
	bool own;			      /* portview's: interface indexes can be named */
	const struct pv_ephemeral *ephemeral; /* its range */
};

/* One row: a record with everything the view adds. */
struct pv_row {
	struct pv_sock s; /* what the kernel said */
	/* Owners, as a range of the view's owner table. */
	uint32_t owner_first;
	uint32_t owner_count;
	/*
	 * None found, yet the socket has a file and some processes could not
	 * be seen (pv_owner_table.unseen): its owner is unknown, not absent.
	 */
	bool owners_unknown;
	/* What the ports mean; NULL service: none known. */
	const struct pv_service *local_service;
	const struct pv_service *remote_service;
	uint8_t local_class; /* enum pv_port_class; NONE for port 0 */
	uint8_t remote_class;
	bool local_ephemeral;
	bool ephemeral_unknown; /* the namespace's range could not be read */
	bool remote_in_range;	/* foreign port inside the namespace's ephemeral range */
	/* Host names; NULL: show the address. */
	const char *local_host;
	const char *remote_host;
	/* The addresses' port names, from /etc/services only; NULL: the number. */
	const struct pv_service *local_name;
	const struct pv_service *remote_name;
	/* Its namespace, when the view knows several (or which one); else NULL. */
	const struct pv_view_netns *netns;
	/* What runs its first owner, when units were asked for; else NULL. */
	const struct pv_unit *unit;
	/* The rate over the last interval, when the view has rates. */
	struct pv_rate rate;
};

struct pv_view {
	const struct pv_socklist *l;
	const struct pv_services *services;   /* NULL: no annotations */
	const struct pv_ephemeral *ephemeral; /* the snapshot's namespace's range */
	struct pv_owner_table owners;
	bool has_owners; /* owners were looked up */
	struct pv_names names;
	bool has_names;	       /* host names were looked up */
	struct pv_users users; /* a cache: filled as rows are read */
	/* The namespaces the records' netns index, when set. */
	const struct pv_view_netns *netns;
	size_t nnetns;
	/* Units of the owners' processes, a cache by process (units_proc_root set). */
	const char *units_proc_root;
	struct pv_unit *units;
	unsigned char *units_state; /* per process: 0 not read, 1 read */
	struct pv_cgroups cgroups;  /* the sockets' own cgroups, for those without owners */
	/* Per record of l, in its order: the rates (interval mode with -i); or NULL. */
	const struct pv_rate *rates;
};

/* A view of l with port annotations from services (may be NULL) and eph. */
void pv_view_init(struct pv_view *v, const struct pv_socklist *l,
		  const struct pv_services *services, const struct pv_ephemeral *eph);
/*
 * Join the parts of a finished /proc walk with the records: the owners of
 * each socket.  Returns why some processes could not be seen (PV_UNSEEN_*)
 * when that leaves some socket's owner unknown, else 0.
 */
uint8_t pv_view_join_owners(struct pv_view *v, const struct pv_scan_part *parts, size_t nparts);
/*
 * The same from a walk's own table (pv_owners_index, made by the scan
 * beside the dumps), which the view takes over (index is left empty).
 */
uint8_t pv_view_adopt_owners(struct pv_view *v, struct pv_owner_table *index);
/*
 * The namespaces the records come from (their netns index): rows carry
 * theirs, and are annotated with its ephemeral range.
 */
void pv_view_set_netns(struct pv_view *v, const struct pv_view_netns *ns, size_t n);
/* Rows name what runs their first owner, read from proc_root/PID/cgroup. */
void pv_view_want_units(struct pv_view *v, const char *proc_root);
/* Look up the records' host names, all of it bounded by timeout_ms. */
void pv_view_resolve_names(struct pv_view *v, unsigned timeout_ms);
void pv_view_free(struct pv_view *v);

/* Row i of the view. */
void pv_view_row(const struct pv_view *v, size_t i, struct pv_row *out);
/* The user name of a uid, or NULL (looked up once each). */
const char *pv_view_user(const struct pv_view *v, uint32_t uid);

/* Append the annotation cell text: "https well-known", "- dynamic ephemeral". */
struct pv_buf;
void pv_annotation_text(struct pv_buf *out, const struct pv_service *svc, uint8_t cls,
			bool ephemeral);
/* The width on screen of that text, without writing it. */
size_t pv_annotation_width(const struct pv_service *svc, uint8_t cls, bool ephemeral);

#endif
