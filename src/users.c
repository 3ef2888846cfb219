#include "portview/users.h"
#include "portview/buf.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

void pv_users_init(struct pv_users *u)
{
	memset(u, 0, sizeof(*u));
}

void pv_users_free(struct pv_users *u)
{
	for (size_t i = 0; i < u->n; i++)
		free(u->v[i].name);
	free(u->v);
	pv_users_init(u);
}

const char *pv_users_name(struct pv_users *u, uint32_t uid)
{
	/* A host has few distinct socket owners: a linear cache is enough. */
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i].uid == uid)
			return u->v[i].name;
	if (u->n == u->cap) {
		u->cap = u->cap ? u->cap * 2 : 16;
		u->v = xreallocarray(u->v, u->cap, sizeof(*u->v));
	}
	struct passwd *pw = getpwuid(uid);
	u->v[u->n].uid = uid;
	u->v[u->n].name = pw && pw->pw_name ? strdup(pw->pw_name) : NULL;
	return u->v[u->n++].name;
}
