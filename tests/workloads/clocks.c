// SPDX-License-Identifier: GPL-2.0-or-later
/* clocks HOSTNAME [NEWNAME]: the container's hostname and clocks.
 *
 * Checks that its hostname is HOSTNAME (then, given NEWNAME, sets it with
 * sethostname and expects NEWNAME from there on). A loop wakes every
 * 100 ms at an absolute CLOCK_MONOTONIC deadline (clock_nanosleep
 * TIMER_ABSTIME) and reads CLOCK_MONOTONIC, CLOCK_BOOTTIME and
 * CLOCK_REALTIME. Across a checkpoint and restart, the container's clocks
 * must continue: no step of CLOCK_MONOTONIC or CLOCK_BOOTTIME above 1 s,
 * no wake more than 1 s after its deadline (a periodic timer firing
 * several times at once), while CLOCK_REALTIME shows the time spent away:
 * each step of CLOCK_REALTIME that exceeds CLOCK_MONOTONIC's by 2 s or more
 * is counted as a gap. SIGUSR2: check the hostname, then
 * "PASS clocks host=NAME gaps=N steps=S max_step_ms=M". */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define NSEC 1000000000ll
#define PERIOD_NS (100 * 1000 * 1000ll)
#define MAX_STEP_NS NSEC            /* a continuing clock: at most this per step */
#define GAP_NS (2 * NSEC)           /* realtime ahead of monotonic by this: a gap */

static int64_t now(clockid_t id)
{
	struct timespec ts;

	if (clock_gettime(id, &ts) < 0)
		fail("clocks clock_gettime(%d): %d\n", (int)id, errno);
	return ts.tv_sec * NSEC + ts.tv_nsec;
}

static void check_hostname(const char *want)
{
	char h[256] = "";

	if (gethostname(h, sizeof(h)) < 0)
		fail("clocks gethostname: %d\n", errno);
	if (strcmp(h, want) != 0)
		fail("clocks hostname is '%s', want '%s'\n", h, want);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	int64_t mono, boot, real, next, max_step = 0;
	unsigned long steps = 0, gaps = 0;
	const char *want;

	if (argc < 2)
		fail("clocks usage: clocks HOSTNAME [NEWNAME]\n");
	want = argv[1];
	check_hostname(want);
	if (argc > 2) {
		if (sethostname(argv[2], strlen(argv[2])) < 0)
			fail("clocks sethostname %s: %d\n", argv[2], errno);
		want = argv[2];
		check_hostname(want);
	}
	sigaction(SIGUSR2, &sa, NULL);
	mono = now(CLOCK_MONOTONIC);
	boot = now(CLOCK_BOOTTIME);
	real = now(CLOCK_REALTIME);
	next = mono;
	say("READY clocks host=%s mono_ms=%lld boot_ms=%lld\n", want, (long long)(mono / 1000000),
	    (long long)(boot / 1000000));
	for (;;) {
		struct timespec dl;
		int64_t m, b, r;
		int e;

		next += PERIOD_NS;
		dl.tv_sec = next / NSEC;
		dl.tv_nsec = next % NSEC;
		while ((e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &dl, NULL)) == EINTR)
			;
		if (e)
			fail("clocks clock_nanosleep: %d\n", e);
		m = now(CLOCK_MONOTONIC);
		b = now(CLOCK_BOOTTIME);
		r = now(CLOCK_REALTIME);
		if (m < next)
			fail("clocks woke %lld ns before its deadline\n", (long long)(next - m));
		if (m - next > MAX_STEP_NS)
			fail("clocks woke %lld ms after its deadline: the timer would fire %lld times at once\n",
			     (long long)((m - next) / 1000000), (long long)((m - next) / PERIOD_NS + 1));
		if (m - mono > MAX_STEP_NS || b - boot > MAX_STEP_NS || b - boot < 0)
			fail("clocks jumped: CLOCK_MONOTONIC by %lld ms, CLOCK_BOOTTIME by %lld ms in one step\n",
			     (long long)((m - mono) / 1000000), (long long)((b - boot) / 1000000));
		if ((r - real) - (m - mono) >= GAP_NS) {
			gaps++;
			say("gap %lu: realtime +%lld ms, monotonic +%lld ms, boottime +%lld ms\n", gaps,
			    (long long)((r - real) / 1000000), (long long)((m - mono) / 1000000),
			    (long long)((b - boot) / 1000000));
		}
		if (m - mono > max_step)
			max_step = m - mono;
		mono = m;
		boot = b;
		real = r;
		steps++;
		if (got_usr2) {
			got_usr2 = 0;
			check_hostname(want);
			say("PASS clocks host=%s gaps=%lu steps=%lu max_step_ms=%lld\n", want, gaps, steps,
			    (long long)(max_step / 1000000));
		}
	}
}
