/*
 * Two snapshots compared by cookie: the rows of a display of what
 * changed, and the rates of TCP connections.
 */
#include "portview/watch.h"
#include "portview/buf.h"
#include "portview/util.h"

#include <stdlib.h>
#include <string.h>

/* Where each cookie of l is. */
static void index_cookies(struct pv_idmap *m, const struct pv_socklist *l)
{
	pv_idmap_init(m, l->n);
	for (size_t i = 0; i < l->n; i++)
		pv_idmap_put(m, l->v[i].cookie, (uint32_t)i);
}

uint32_t *pv_watch_match(const struct pv_socklist *prev, const struct pv_socklist *cur)
{
	if (!prev)
		return NULL;
	uint32_t *in_prev = xcalloc(cur->n + 1, sizeof(*in_prev));
	struct pv_idmap at;
	index_cookies(&at, prev);
	for (size_t i = 0; i < cur->n; i++) {
		uint32_t k;
		if (cur->v[i].cookie && pv_idmap_get(&at, cur->v[i].cookie, &k))
			in_prev[i] = k + 1;
	}
	pv_idmap_free(&at);
	return in_prev;
}

struct pv_watch_row *pv_watch_compare(const struct pv_socklist *prev, const struct pv_socklist *cur,
				      size_t *n, struct pv_watch_counts *counts)
{
	return pv_watch_compare_matched(prev, cur, NULL, n, counts);
}

struct pv_watch_row *pv_watch_compare_matched(const struct pv_socklist *prev,
					      const struct pv_socklist *cur, const uint32_t *match,
					      size_t *n, struct pv_watch_counts *counts)
{
	size_t nprev = prev ? prev->n : 0;
	struct pv_watch_row *rows = xreallocarray(NULL, cur->n + nprev + 1, sizeof(*rows));
	*counts = (struct pv_watch_counts){.total = cur->n};
	if (!prev) {
		for (size_t i = 0; i < cur->n; i++)
			rows[i] = (struct pv_watch_row){.index = (uint32_t)i};
		*n = cur->n;
		return rows;
	}

	/* seen[k]: where record k of prev is in cur, plus one; 0: gone */
	uint32_t *own = match ? NULL : pv_watch_match(prev, cur);
	const uint32_t *in_prev = match ? match : own;
	uint32_t *seen = xcalloc(nprev + 1, sizeof(*seen));
	uint8_t *change = xcalloc(cur->n + 1, sizeof(*change));
	uint8_t *old = xcalloc(cur->n + 1, sizeof(*old));
	for (size_t i = 0; i < cur->n; i++) {
		const struct pv_rec *r = &cur->v[i];
		if (!r->cookie)
			continue;
		if (!in_prev[i]) {
			change[i] = PV_CHANGE_NEW;
			counts->opened++;
			continue;
		}
		uint32_t k = in_prev[i] - 1;
		seen[k] = (uint32_t)i + 1;
		if (prev->v[k].state != r->state) {
			change[i] = PV_CHANGE_STATE;
			old[i] = prev->v[k].state;
			counts->changed++;
		}
	}
	free(own);

	/*
	 * Each gone record follows the nearest record before it in prev that
	 * cur still has: its anchor, plus one (0: before every row).  Gone
	 * records are bucketed by anchor, keeping prev's order in a bucket.
	 */
	uint32_t *anchor = xcalloc(nprev + 1, sizeof(*anchor));
	size_t *start = xcalloc(cur->n + 2, sizeof(*start));
	uint32_t last = 0;
	for (size_t k = 0; k < nprev; k++) {
		if (seen[k]) {
			last = seen[k];
		} else if (prev->v[k].cookie) {
			anchor[k] = last;
			start[last + 1]++;
			counts->closed++;
		}
	}
	for (size_t a = 1; a < cur->n + 2; a++)
		start[a] += start[a - 1];
	uint32_t *gone = xcalloc(counts->closed + 1, sizeof(*gone));
	for (size_t k = 0; k < nprev; k++)
		if (!seen[k] && prev->v[k].cookie)
			gone[start[anchor[k]]++] = (uint32_t)k;
	/* start[a] is now where bucket a ends (and bucket a + 1 begins) */

	size_t out = 0, g = 0;
	for (size_t i = 0; i <= cur->n; i++) {
		for (; g < start[i]; g++)
			rows[out++] = (struct pv_watch_row){.index = gone[g],
							    .change = PV_CHANGE_CLOSED,
							    .old_state = prev->v[gone[g]].state};
		if (i < cur->n)
			rows[out++] = (struct pv_watch_row){
			    .index = (uint32_t)i, .change = change[i], .old_state = old[i]};
	}
	free(gone);
	free(start);
	free(anchor);
	free(old);
	free(change);
	free(seen);
	*n = out;
	return rows;
}

/* Bytes per second, rounded, from a counter that only grows. */
static uint64_t per_second(uint64_t then, uint64_t now, double seconds)
{
	return now > then ? (uint64_t)((double)(now - then) / seconds + 0.5) : 0;
}

void pv_watch_rates(const struct pv_socklist *prev, const struct pv_socklist *cur, double seconds,
		    struct pv_rate *out)
{
	pv_watch_rates_matched(prev, cur, NULL, seconds, out);
}

void pv_watch_rates_matched(const struct pv_socklist *prev, const struct pv_socklist *cur,
			    const uint32_t *match, double seconds, struct pv_rate *out)
{
	memset(out, 0, cur->n * sizeof(*out));
	if (!prev || !prev->info || !cur->info || !(seconds > 0))
		return;
	uint32_t *own = match ? NULL : pv_watch_match(prev, cur);
	const uint32_t *in_prev = match ? match : own;
	for (size_t i = 0; i < cur->n; i++) {
		const struct pv_tcp_info *now = pv_socklist_info(cur, i);
		if (!(now->have & PV_TI_BYTES) || !in_prev[i])
			continue;
		const struct pv_tcp_info *then = pv_socklist_info(prev, in_prev[i] - 1);
		if (!(then->have & PV_TI_BYTES))
			continue;
		out[i] = (struct pv_rate){
		    .sent = per_second(then->bytes_acked, now->bytes_acked, seconds),
		    .received = per_second(then->bytes_received, now->bytes_received, seconds),
		    .known = true,
		};
	}
	free(own);
}
