/* User names by uid, each looked up once per run. */
#ifndef PORTVIEW_USERS_H
#define PORTVIEW_USERS_H

#include <stddef.h>
#include <stdint.h>

struct pv_users {
	struct pv_user_entry {
		uint32_t uid;
		char *name; /* NULL: no passwd entry */
	} * v;
	size_t n, cap;
};

void pv_users_init(struct pv_users *u);
void pv_users_free(struct pv_users *u);
/* The user's name, or NULL when the uid has none. */
const char *pv_users_name(struct pv_users *u, uint32_t uid);

#endif
