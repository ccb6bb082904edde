// SPDX-License-Identifier: GPL-2.0-or-later
/* counter: a counter incremented every 10 ms that must never reset nor go
 * backwards. Prints "counter N" every 100 increments (about once a second).
 * SIGUSR2: "PASS counter N". */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"


/* Sleep the whole 10 ms even when a signal interrupts it. */
static void sleep_10ms(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 }, rem;

	while (nanosleep(&ts, &rem) < 0) {
		if (errno != EINTR)
			fail("nanosleep: %d\n", errno);
		ts = rem;
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	uint64_t counter = 0, shadow = ~0ULL, last_printed = 0;

	sigaction(SIGUSR2, &sa, NULL);
	say("READY\n");
	say("counter 0\n");
	for (;;) {
		sleep_10ms();
		if (shadow != ~counter)
			fail("counter %lu lost its shadow %#lx\n", (unsigned long)counter,
			     (unsigned long)shadow);
		counter++;
		shadow = ~counter;
		if (counter % 100 == 0) {
			if (counter <= last_printed)
				fail("counter went from %lu to %lu\n", (unsigned long)last_printed,
				     (unsigned long)counter);
			last_printed = counter;
			say("counter %lu\n", (unsigned long)counter);
		}
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS counter %lu\n", (unsigned long)counter);
		}
	}
}
