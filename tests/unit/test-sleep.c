// SPDX-License-Identifier: GPL-2.0-or-later
/* Sleeping calls: the /proc/TID/sched parser on a captured fixture and on
 * malformed text, the check of a time left from an image (x86_64
 * registers), and, live, that a sleeping thread's stamp mapped through its
 * CPU's offset lands on CLOCK_MONOTONIC where the thread went to sleep. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "proc.h"
#include "sleep.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void parse_fixture(void **state)
{
	_cleanup_free_ char *buf = NULL;
	uint64_t exec = 0, nv = 0;
	size_t len;

	(void)state;
	assert_int_equal(proc_read_file(FIXTURES "/sched-cat.txt", &buf, &len), 0);
	assert_int_equal(sleep_parse_sched(buf, &exec, &nv), 0);
	assert_int_equal(exec, 1450821746951ull);
	assert_int_equal(nv, 1);
}

static void parse_malformed(void **state)
{
	uint64_t exec = 7, nv = 7;

	(void)state;
	assert_int_equal(sleep_parse_sched("", &exec, &nv), -EINVAL);
	/* no switch count */
	assert_int_equal(sleep_parse_sched("se.exec_start   :   12.000001\n", &exec, &nv), -EINVAL);
	/* nanoseconds must be the six digits the kernel prints */
	assert_int_equal(sleep_parse_sched("se.exec_start : 12.1\nnr_voluntary_switches : 3\n", &exec, &nv), -EINVAL);
	assert_int_equal(sleep_parse_sched("se.exec_start : 12\nnr_voluntary_switches : 3\n", &exec, &nv), -EINVAL);
	/* a longer key is another field */
	assert_int_equal(sleep_parse_sched("se.exec_start_x : 1.000000\nnr_voluntary_switches : 3\n", &exec, &nv), -EINVAL);
	assert_int_equal(sleep_parse_sched("se.exec_start : 1.000000\nnr_voluntary_switches : x\n", &exec, &nv), -EINVAL);
	assert_int_equal(sleep_parse_sched("se.exec_start : 1.000002\nnr_voluntary_switches : 3\n", &exec, &nv), 0);
	assert_int_equal(exec, 1000002);
	assert_int_equal(nv, 3);
}

/* Images are hostile: a time left only goes with registers stopped in a
 * call with a relative timeout that the kernel continues by restart block. */
static void restore_check(void **state)
{
	struct user_regs_struct r = { 0 };
	char why[128];

	(void)state;
	r.orig_rax = __NR_nanosleep;
	r.rax = (unsigned long long)-516;   /* -ERESTART_RESTARTBLOCK */
	r.rdi = 0x1000;
	assert_int_equal(sleep_restore_check(&r, 5000000000ull, why, sizeof(why)), 0);
	/* out of range */
	assert_int_equal(sleep_restore_check(&r, ~0ull, why, sizeof(why)), -ERANGE);
	/* not interrupted by a stop, or no timeout to give */
	r.rax = 0;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.rax = (unsigned long long)-516;
	r.rdi = 0;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	/* not in a system call */
	r.orig_rax = (unsigned long long)-1;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	/* absolute deadlines and CPU-time clocks restart as they are */
	r.orig_rax = __NR_clock_nanosleep;
	r.rdi = CLOCK_MONOTONIC;
	r.rsi = TIMER_ABSTIME;
	r.rdx = 0x1000;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.rsi = 0;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), 0);
	r.rdi = CLOCK_PROCESS_CPUTIME_ID;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.orig_rax = __NR_futex;
	r.rsi = FUTEX_WAIT_BITSET_PRIVATE;
	r.r10 = 0x1000;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.rsi = FUTEX_WAIT_PRIVATE;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), 0);
	/* poll: no timeout (-1) has nothing left to count */
	r.orig_rax = __NR_poll;
	r.rdx = (unsigned long long)-1;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.rdx = 100;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), 0);
}

/* The waits a stop ends with -EINTR: a time left only with -EINTR in the
 * registers, and none for a call without a timeout. */
static void restore_check_eintr(void **state)
{
	struct user_regs_struct r = { 0 };
	char why[128];

	(void)state;
	r.orig_rax = __NR_epoll_wait;
	r.rax = (unsigned long long)-EINTR;
	r.r10 = 20000;
	assert_int_equal(sleep_restore_check(&r, 12000000000ull, why, sizeof(why)), 0);
	r.rax = (unsigned long long)-516;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.rax = 0;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	/* timeout 0 never sleeps; -1 has none: 0 left only */
	r.rax = (unsigned long long)-EINTR;
	r.r10 = 0;
	assert_int_equal(sleep_restore_check(&r, 0, why, sizeof(why)), -EINVAL);
	r.r10 = (unsigned long long)-1;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	assert_int_equal(sleep_restore_check(&r, 0, why, sizeof(why)), 0);
	r.orig_rax = __NR_semtimedop;
	r.r10 = 0x1000;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), 0);
	assert_int_equal(sleep_restore_check(&r, ~0ull, why, sizeof(why)), -ERANGE);
	r.r10 = 0;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	r.orig_rax = __NR_semop;
	assert_int_equal(sleep_restore_check(&r, 1, why, sizeof(why)), -EINVAL);
	assert_int_equal(sleep_restore_check(&r, 0, why, sizeof(why)), 0);
	r.orig_rax = __NR_epoll_pwait2;
	r.r10 = 0x1000;
	assert_int_equal(sleep_restore_check(&r, 5, why, sizeof(why)), 0);
}

static volatile pid_t sleeper_tid;
static volatile uint64_t sleeper_t0;

static void *sleeper(void *arg)
{
	struct timespec t = { 0, 400 * 1000000 };

	sleeper_tid = gettid();
	sleeper_t0 = mono_ns();
	nanosleep(&t, NULL);
	return arg;
}

static void live_stamp(void **state)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	uint64_t exec, nv, t;
	int64_t off;
	cpu_set_t keep;
	pthread_t th;
	size_t len;
	int cpu;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(keep), &keep), 0);
	assert_int_equal(pthread_create(&th, NULL, sleeper, NULL), 0);
	usleep(150 * 1000);
	snprintf(path, sizeof(path), "/proc/%d/sched", sleeper_tid);
	assert_int_equal(proc_read_file(path, &buf, &len), 0);
	assert_int_equal(sleep_parse_sched(buf, &exec, &nv), 0);
	cpu = sleep_thread_cpu(sleeper_tid);
	assert_true(cpu >= 0);
	if (sleep_cpu_offset(cpu, &off) < 0) {
		sched_setaffinity(0, sizeof(keep), &keep);
		pthread_join(th, NULL);
		skip();
	}
	assert_int_equal(sched_setaffinity(0, sizeof(keep), &keep), 0);
	t = exec + (uint64_t)off;
	/* It switched out right after it read the clock and armed its
	 * timer: within a few ms on a loaded machine, never before. */
	assert_true(t + 100000 >= sleeper_t0);
	assert_true(t <= sleeper_t0 + 20 * 1000000ull);
	pthread_join(th, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_fixture),
		cmocka_unit_test(parse_malformed),
		cmocka_unit_test(restore_check_eintr),
		cmocka_unit_test(restore_check),
		cmocka_unit_test(live_stamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
