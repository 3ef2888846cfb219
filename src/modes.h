/*
 * One entry per thing the program does, each in its own file (mode_*.c):
 * main() picks one by the request's mode and runs it in the places of the
 * run.  Each returns an exit status.
 */
#ifndef PORTVIEW_MODES_H
#define PORTVIEW_MODES_H

#include "cli.h"
#include "portview/buf.h"
#include "portview/places.h"

/* The listing (PV_MODE_LIST): the table or its JSON (mode_list.c). */
int pv_mode_list(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P);
/* The listing into out, as --lookup shows it under its answer (mode_list.c). */
int pv_list_into(const struct pv_request *req, const struct pv_services *svc,
		 const struct pv_places *P, const struct pv_table_opts *o, struct pv_buf *out);
/* --ranges (mode_info.c). */
int pv_mode_ranges(const struct pv_request *req, const struct pv_services *svc,
		   struct pv_places *P);
/* --lookup: the registry's answer, then every socket using the ports (mode_info.c). */
int pv_mode_lookup(const struct pv_request *req, const struct pv_services *svc,
		   struct pv_places *P);
/* -s, --metrics, --fail-on-pressure (mode_summary.c). */
int pv_mode_summary(const struct pv_request *req, const struct pv_services *svc,
		    struct pv_places *P);
/* The listing again every interval (PV_MODE_WATCH, mode_watch.c). */
int pv_mode_watch(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P);
/* --events (PV_MODE_EVENTS), in the one place of P (mode_events.c). */
int pv_mode_events(const struct pv_request *req, const struct pv_services *svc,
		   struct pv_places *P);
/* --kill: close the TCP sockets the filters select, or --dry-run (mode_kill.c). */
int pv_mode_kill(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P);

/* --top: the live screen (PV_MODE_TOP, mode_top.c and its top_*.c). */
int pv_mode_top(const struct pv_request *req, const struct pv_services *svc, struct pv_places *P);

#endif
