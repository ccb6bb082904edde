// SPDX-License-Identifier: GPL-2.0-or-later
/* Three POSIX timers whose ids the program keeps:
 * - P: CLOCK_MONOTONIC, SIGEV_SIGNAL (SIGRTMIN, a pointer as sigev_value),
 *   every PERIOD_P ms;
 * - T: CLOCK_REALTIME, SIGEV_THREAD_ID to a second thread (SIGRTMIN+1),
 *   every PERIOD_T ms;
 * - N: CLOCK_MONOTONIC, SIGEV_NONE, one shot LONG_S seconds away.
 * On SIGUSR2: each kept id still answers timer_gettime with its interval;
 * every signal came with the right id, value and thread; over one second
 * P and T tick at their intervals (overruns counted); and N's time left
 * went down by the time the container ran: the time since the start less
 * the downtime the test writes into the file WINDOW ("LO HI" ms, summed
 * over the restarts; absent: none).
 *
 *   ptimers WINDOW [thread-cpu]
 * thread-cpu: one more timer, on the main thread's CPU-time clock (which a
 * checkpoint refuses: which thread it counts can't be read). */
#include "wl.h"
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>

#define PERIOD_P 50
#define PERIOD_T 100
#define LONG_S 1000
#define SLACK_MS 300

static timer_t tp, tt, tn;
static pid_t t_tid;
static volatile sig_atomic_t bad;
static volatile long ticks_p, ticks_t;
static int magic;
static const char *window;

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Wall time: it includes the downtime, which the container's own
 * CLOCK_MONOTONIC (its time namespace) does not. */
static int64_t wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_p(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig != SIGRTMIN || si->si_code != SI_TIMER || si->si_value.sival_ptr != &magic ||
	    si->si_timerid != (int)(intptr_t)tp)
		bad = 1;
	ticks_p += 1 + si->si_overrun;
}

static void on_t(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (sig != SIGRTMIN + 1 || si->si_code != SI_TIMER || si->si_value.sival_int != 42 ||
	    si->si_timerid != (int)(intptr_t)tt || gettid() != t_tid)
		bad = 2;
	ticks_t += 1 + si->si_overrun;
}

static void *thread_main(void *a)
{
	__atomic_store_n(&t_tid, gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return a;
}

static void make_timer(clockid_t clock, struct sigevent *ev, long first_ms, long every_ms, timer_t *ret)
{
	struct itimerspec its = {
		{ every_ms / 1000, (every_ms % 1000) * 1000000 },
		{ first_ms / 1000, (first_ms % 1000) * 1000000 },
	};

	if (timer_create(clock, ev, ret) || timer_settime(*ret, 0, &its, NULL))
		fail("ptimers: timer_create/settime: %s\n", strerror(errno));
}

static void wait_ms(long ms)
{
	int64_t end = now_ms() + ms;
	struct timespec ts;

	while (now_ms() < end) {
		ts = (struct timespec){ 0, 10 * 1000000 };
		nanosleep(&ts, NULL);
	}
}

static long interval_ms(timer_t t, const char *what, struct itimerspec *its)
{
	if (timer_gettime(t, its))
		fail("ptimers: timer_gettime %s (id %d): %s\n", what, (int)(intptr_t)t, strerror(errno));
	return its->it_interval.tv_sec * 1000 + its->it_interval.tv_nsec / 1000000;
}

static void check_rate(const char *what, long ticks, long period)
{
	long want = 1000 / period;

	if (ticks < want * 7 / 10 || ticks > want * 13 / 10)
		fail("ptimers: timer %s ticked %ld times in 1 s, want about %ld\n", what, ticks, want);
}

static void verify(int64_t t0)
{
	struct itimerspec its;
	long p0, t1, lo = 0, hi = 0, left, ran_lo, ran_hi;
	int64_t elapsed;
	FILE *f;

	if (interval_ms(tp, "P", &its) != PERIOD_P || interval_ms(tt, "T", &its) != PERIOD_T ||
	    interval_ms(tn, "N", &its) != 0)
		fail("ptimers: an interval changed\n");
	if (bad)
		fail("ptimers: a timer signal came with the wrong id, value or thread (%d)\n", (int)bad);
	p0 = ticks_p;
	t1 = ticks_t;
	wait_ms(1000);
	check_rate("P", ticks_p - p0, PERIOD_P);
	check_rate("T", ticks_t - t1, PERIOD_T);
	f = fopen(window, "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &lo, &hi) != 2)
			fail("ptimers: bad window file %s\n", window);
		fclose(f);
	}
	interval_ms(tn, "N", &its);
	elapsed = wall_ms() - t0;
	left = its.it_value.tv_sec * 1000 + its.it_value.tv_nsec / 1000000;
	ran_lo = elapsed - hi;
	ran_hi = elapsed - lo;
	if (LONG_S * 1000 - left < ran_lo - SLACK_MS || LONG_S * 1000 - left > ran_hi + SLACK_MS)
		fail("ptimers: N went down %ld ms, want %ld..%ld (ran %lld ms less downtime %ld..%ld)\n",
		     LONG_S * 1000 - left, ran_lo - SLACK_MS, ran_hi + SLACK_MS, (long long)elapsed, lo, hi);
	say("PASS ptimers ids:%d,%d,%d tid:%d ticks=%ld,%ld n_down_ms:ok\n", (int)(intptr_t)tp, (int)(intptr_t)tt,
	    (int)(intptr_t)tn, t_tid, ticks_p, ticks_t);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_flags = SA_SIGINFO | SA_RESTART };
	struct sigevent ev;
	pthread_t th;
	sigset_t none;
	int64_t t0;

	if (argc < 2)
		fail("usage: ptimers WINDOW [thread-cpu]\n");
	window = argv[1];
	sa.sa_sigaction = on_p;
	sigaction(SIGRTMIN, &sa, NULL);
	sa.sa_sigaction = on_t;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	signal(SIGUSR2, on_usr2);
	if (pthread_create(&th, NULL, thread_main, NULL))
		fail("ptimers: pthread_create\n");
	while (!__atomic_load_n(&t_tid, __ATOMIC_SEQ_CST))
		usleep(1000);

	/* a timer or two first, deleted, so the kept ids are not 0, 1, 2 */
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_NONE;
	make_timer(CLOCK_MONOTONIC, &ev, 0, 0, &tn);
	make_timer(CLOCK_MONOTONIC, &ev, 0, 0, &tp);
	timer_delete(tn);

	t0 = wall_ms();
	make_timer(CLOCK_MONOTONIC, &ev, LONG_S * 1000, 0, &tn);
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN;
	ev.sigev_value.sival_ptr = &magic;
	{
		timer_t spare = tp;

		make_timer(CLOCK_MONOTONIC, &ev, PERIOD_P, PERIOD_P, &tp);
		timer_delete(spare);
	}
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGRTMIN + 1;
	ev.sigev_value.sival_int = 42;
	ev._sigev_un._tid = t_tid;
	make_timer(CLOCK_REALTIME, &ev, PERIOD_T, PERIOD_T, &tt);

	if (argc > 2 && strcmp(argv[2], "thread-cpu") == 0) {
		timer_t tc;

		ev.sigev_notify = SIGEV_NONE;
		make_timer(CLOCK_THREAD_CPUTIME_ID, &ev, LONG_S * 1000, 0, &tc);
	}
	say("READY ptimers ids:%d,%d,%d\n", (int)(intptr_t)tp, (int)(intptr_t)tt, (int)(intptr_t)tn);
	sigemptyset(&none);
	for (;;) {
		sigsuspend(&none);
		if (got_usr2) {
			got_usr2 = 0;
			verify(t0);
		}
	}
}
