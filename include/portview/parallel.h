/*
 * Work shared among threads: a few workers run side by side, the first on
 * the calling thread, and the call returns once all of them have.  (The
 * dumps of a snapshot, snapshot.c, go out this way.)
 */
#ifndef PORTVIEW_PARALLEL_H
#define PORTVIEW_PARALLEL_H

/* The CPUs online, at least 1. */
unsigned pv_cpus_online(void);
/*
 * The CPUs free for this process's threads now: those online less the
 * other tasks running (/proc/loadavg's runnable count, the caller not
 * among them; the fewest of up to three looks 0.2 ms apart, so that a
 * kernel thread's moment on a CPU does not count), at least 1.  A thread
 * more than that only waits for a CPU, and makes the others wait for it.
 */
unsigned pv_cpus_free(void);

/*
 * fn(arg, w) for each worker w of 0..n-1: worker 0 on the calling thread,
 * the others each on a thread of its own.  A worker whose thread cannot be
 * started does not run: fn must let the others take its share (take work
 * from a shared counter).  Returns how many workers ran (1 to n).
 */
unsigned pv_parallel_run(unsigned n, void (*fn)(void *arg, unsigned worker), void *arg);

#endif
