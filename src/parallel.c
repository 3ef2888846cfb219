/* Workers side by side on threads (parallel.h). */
#include "portview/parallel.h"
#include "portview/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

unsigned pv_cpus_online(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

/* The runnable tasks /proc/loadavg counts now (the caller among them), or 0. */
static unsigned running_now(void)
{
	FILE *f = fopen("/proc/loadavg", "re");
	if (!f)
		return 0;
	unsigned running = 0, total = 0;
	/* "0.47 0.51 0.52 2/345 12345": 2 tasks runnable, this one among them */
	int got = fscanf(f, "%*s %*s %*s %u/%u", &running, &total);
	fclose(f);
	return got == 2 ? running : 0;
}

unsigned pv_cpus_free(void)
{
	unsigned online = pv_cpus_online();
	/*
	 * The fewest of three looks 0.2 ms apart: a kernel thread that runs for
	 * a moment is not a CPU taken (one look alone said so in 4 of 14 runs
	 * of an idle machine, and the dumps then ran on one thread); a process
	 * that keeps a CPU busy is there at every look.
	 */
	unsigned running = running_now();
	for (int look = 1; look < 3 && running > 1; look++) {
		const struct timespec nap = {0, 200000};
		nanosleep(&nap, NULL);
		unsigned again = running_now();
		if (again && again < running)
			running = again;
	}
	if (running == 0)
		return online;
	unsigned others = running - 1;
	return others < online ? online - others : 1;
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
