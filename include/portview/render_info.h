/*
 * --ranges and --lookup (render_info.c; --ranges --json in render_json.c).
 */
#ifndef PORTVIEW_RENDER_INFO_H
#define PORTVIEW_RENDER_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "portview/buf.h"
#include "portview/lookup.h"
#include "portview/ports.h"

/* One row of --ranges. */
struct pv_range_use {
	uint8_t proto;
	bool iana;  /* IANA's dynamic range, else the namespace's ephemeral one */
	bool known; /* false: the namespace's range could not be read */
	uint16_t start;
	uint32_t count;	  /* ports in the range */
	int32_t reserved; /* reserved ports in it; -1 where that does not apply */
	uint32_t in_use;  /* distinct local ports in use, reserved ones excluded */
};

/* --ranges: the ephemeral ranges next to IANA's dynamic range. */
void pv_render_ranges(struct pv_buf *out, const struct pv_range_use *rows, size_t n);
/* --ranges --json: an array with one object per row. */
void pv_render_ranges_json(struct pv_buf *out, const struct pv_range_use *rows, size_t n);

/*
 * --lookup: for each port, its registered services (or "unassigned"), its
 * class and whether it is ephemeral here.  The sockets using the ports are
 * rendered separately, as a table.
 */
void pv_render_lookup(struct pv_buf *out, const struct pv_lookup_port *ports, size_t n,
		      const struct pv_ephemeral *eph);

#endif
