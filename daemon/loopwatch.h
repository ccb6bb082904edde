// SPDX-License-Identifier: GPL-2.0-or-later
/* Where the event loop's time goes (issue 10). At log level debug every
 * callback is timed: one that took LOOPWATCH_SLOW_US or more, or that ran
 * after the loop had waited that long for a CPU, is logged with what it
 * was, its wall time, its CPU time and that wait. At any other level a
 * callback costs one branch. */
#pragma once
#include <stdint.h>

#define LOOPWATCH_SLOW_US 1000

struct loopwatch {
	uint64_t wall_ns;      /* CLOCK_MONOTONIC at the start; 0: not watching */
	uint64_t cpu_ns;       /* the loop thread's CPU time at the start */
	uint64_t waited_ns;    /* runnable without a CPU since the last callback */
};

/* At the start of a callback. */
void loopwatch_begin(struct loopwatch *lw);
/* At its end: what ran ("list from client pid 42", "worker 17 exited"). */
void loopwatch_end(const struct loopwatch *lw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
