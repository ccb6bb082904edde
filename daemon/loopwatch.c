// SPDX-License-Identifier: GPL-2.0-or-later
/* Callback timing for the event loop (loopwatch.h). The wait for a CPU
 * comes from the scheduler's own account (/proc/thread-self/schedstat:
 * CPU time, run-queue wait, time slices), read with one pread. */
#include "loopwatch.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static int schedstat_fd = -1;       /* -2: can't be read, don't retry */
static uint64_t last_run_delay_ns;

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The loop thread's total run-queue wait in ns, or 0 if unknown. */
static uint64_t run_delay_ns(void)
{
	unsigned long long on_cpu, delay;
	char buf[96];
	ssize_t n;

	if (schedstat_fd == -1)
		schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	if (schedstat_fd < 0) {
		schedstat_fd = -2;
		return 0;
	}
	n = pread(schedstat_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return sscanf(buf, "%llu %llu", &on_cpu, &delay) == 2 ? delay : 0;
}

void loopwatch_begin(struct loopwatch *lw)
{
	uint64_t d;

	if (log_get_level() < LOG_LVL_DEBUG) {
		lw->wall_ns = 0;
		return;
	}
	d = run_delay_ns();
	lw->waited_ns = d > last_run_delay_ns && last_run_delay_ns ? d - last_run_delay_ns : 0;
	lw->wall_ns = clock_ns(CLOCK_MONOTONIC);
	lw->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

void loopwatch_end(const struct loopwatch *lw, const char *fmt, ...)
{
	uint64_t wall, cpu;
	char what[160];
	va_list ap;

	if (!lw->wall_ns)
		return;
	wall = clock_ns(CLOCK_MONOTONIC) - lw->wall_ns;
	cpu = clock_ns(CLOCK_THREAD_CPUTIME_ID) - lw->cpu_ns;
	/* what this callback waited for counts against it, not the next one */
	last_run_delay_ns = run_delay_ns();
	if (wall < LOOPWATCH_SLOW_US * 1000ull && lw->waited_ns < LOOPWATCH_SLOW_US * 1000ull)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	log_debug("loop: %s: %.1f ms (%.1f ms on a CPU), after %.1f ms runnable without a CPU", what,
		  wall / 1e6, cpu / 1e6, lw->waited_ns / 1e6);
}
