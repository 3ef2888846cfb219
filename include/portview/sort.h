/* Row order: the default (protocol, local, foreign) or a user's --sort key. */
#ifndef PORTVIEW_SORT_H
#define PORTVIEW_SORT_H

#include <stdbool.h>

#include "portview/options.h"
#include "portview/owners.h"
#include "portview/sock.h"

/*
 * Parse a --sort KEY: proto, local, foreign, state, pid, program, port, with
 * a leading '-' to reverse.  Returns 0 or -EINVAL.
 */
int pv_parse_sort_key(const char *text, enum pv_sort_key *key, bool *reverse);
const char *pv_sort_valid_keys(void);

/*
 * Sort by key, ties broken by the default order; reverse turns the whole
 * order around.  owners may be NULL (pid and program then sort as unknown,
 * after every known one).
 */
void pv_socklist_sort_by(struct pv_socklist *l, enum pv_sort_key key, bool reverse,
			 const struct pv_owner_table *owners);

#endif
