/*
 * portview: who is talking on which port.
 *
 * main() parses the command line (cli.c), finds the places of the run
 * (the network namespaces, places.h), runs the mode the request names
 * (one file each: mode_*.c, modes.h) and exits with what it returns.
 * The pipeline itself (request -> snapshot -> view -> render) is the
 * library's; only the program (main.c, cli.c, the mode files and what
 * they share) prints diagnostics, and only main() exits.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "modes.h"
#include "msg.h"
#include "program.h"

typedef int mode_fn(const struct pv_request *, const struct pv_services *, struct pv_places *);

/* What each mode runs. */
static mode_fn *const modes[] = {
    [PV_MODE_LIST] = pv_mode_list,     [PV_MODE_RANGES] = pv_mode_ranges,
    [PV_MODE_LOOKUP] = pv_mode_lookup, [PV_MODE_SUMMARY] = pv_mode_summary,
    [PV_MODE_WATCH] = pv_mode_watch,   [PV_MODE_EVENTS] = pv_mode_events,
    [PV_MODE_TOP] = pv_mode_top,       [PV_MODE_KILL] = pv_mode_kill,
};

int main(int argc, char **argv)
{
	/*
	 * Keep glibc from raising its mmap threshold as blocks are freed: the
	 * record array grows by realloc, which moves an mmapped block with
	 * mremap; grown in the heap instead, it would be copied, and both
	 * copies would count in the peak.
	 */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);

	struct pv_request req;
	struct pv_services svc = {0};
	int status = pv_cli_parse(argc, argv, &svc, &req);
	if (status != PV_GO_ON) {
		/* --help, --version or a usage error: said already */
		pv_services_free(&svc);
		if (status == EXIT_OK && fflush(stdout) != 0)
			return EXIT_RUNTIME;
		return status;
	}

	/* Let write() report EPIPE instead of the signal killing us mid-table. */
	signal(SIGPIPE, SIG_IGN);
	struct pv_places P;
	status = pv_places_start(&req, &P);
	if (status == PV_GO_ON) {
		mode_fn *run =
		    (size_t)req.mode < sizeof(modes) / sizeof(modes[0]) && modes[req.mode]
			? modes[req.mode]
			: pv_mode_list;
		status = run(&req, &svc, &P);
	}
	pv_places_free(&P);
	pv_netns_close(&req.netns);
	pv_services_free(&svc);
	return status;
}
