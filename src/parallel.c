/* Workers side by side on threads (parallel.h). */
#include "portview/parallel.h"
#include "portview/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

unsigned pv_cpus_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

struct worker {
	pthread_t thread;
	void (*fn)(void *arg, unsigned worker);
	void *arg;
	unsigned index;
	bool started;
};

static void *run_worker(void *p)
{
	struct worker *w = p;
	w->fn(w->arg, w->index);
	return NULL;
}

unsigned pv_parallel_run(unsigned n, void (*fn)(void *arg, unsigned worker), void *arg)
{
	if (n <= 1) {
		fn(arg, 0);
		return 1;
	}
	struct worker *w = xcalloc(n, sizeof(*w));
	unsigned ran = 1;
	for (unsigned i = 1; i < n; i++) {
		w[i] = (struct worker){.fn = fn, .arg = arg, .index = i};
		w[i].started = pthread_create(&w[i].thread, NULL, run_worker, &w[i]) == 0;
		ran += w[i].started;
	}
	fn(arg, 0);
	for (unsigned i = 1; i < n; i++)
		if (w[i].started)
			pthread_join(w[i].thread, NULL);
	free(w);
	return ran;
}
