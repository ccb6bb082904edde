// SPDX-License-Identifier: GPL-2.0-or-later
/* Threads each blocked in one kind of system call with a relative timeout
 * of MS milliseconds. Each measures on CLOCK_REALTIME how long its call
 * took (the container's CLOCK_MONOTONIC stops while it is checkpointed: it
 * has a time namespace of its own) and checks it against MS plus the time
 * the container spent checkpointed, which only the test knows: when the
 * call returns, the thread reads the file WINDOW ("LO HI": the least and
 * the most the downtime can have been, in ms; absent: no downtime) and
 * wants MS + LO - EARLY_MS <= took <= MS + HI + LATE_MS. Two more threads
 * wait for an absolute deadline MS ms after their start on the container's
 * CLOCK_MONOTONIC (clock_nanosleep TIMER_ABSTIME, FUTEX_WAIT_BITSET): that
 * clock does not count the downtime, so they end as late as the others.
 *
 * epoll_wait and semtimedop fail with EINTR when their thread is stopped
 * (SIGSTOP, the cgroup freezer: signal(7)), so for those two EINTR is
 * what the kernel does and passes; for every other call it fails.
 *
 *   sleepers MS WINDOW SEMKEY [semonly]
 * SEMKEY: a SysV IPC key for the semaphore set semtimedop waits on (the
 * test removes it); 0: no semtimedop thread. semonly: semtimedop alone,
 * in the main thread of a process that has no other: a process with
 * threads has a SysV undo list, which a container with semaphore sets
 * can't have checkpointed (ckptd can't read it). */

#include "wl.h"
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <time.h>

#define EARLY_MS 100    /* the window already holds the commands' durations */
#define LATE_MS 1000

static long ms;
static const char *window;
static int pipefd[2], epfd = -1, semid = -1;
static uint32_t futex_word;

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct timespec ts_of(long m)
{
	return (struct timespec){ m / 1000, (m % 1000) * 1000000 };
}

/* The calls whose deadline the kernel keeps in a restart block, exact ones
 * (rem) and those ckptd estimates alike, started together and must end
 * together: within what a loaded machine takes to wake a thread. */
#define SPREAD_MS 1000
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t took_min = INT64_MAX, took_max = INT64_MIN;

static void together(int64_t took)
{
	pthread_mutex_lock(&lock);
	took_min = took < took_min ? took : took_min;
	took_max = took > took_max ? took : took_max;
	pthread_mutex_unlock(&lock);
}

enum { EINTR_OK = 1 };

static int64_t check(const char *what, int64_t t0, long ret, int err, int how)
{
	int64_t took = now_ms() - t0;
	long lo = 0, hi = 0;
	int tries;
	FILE *f;

	if (ret < 0 && err == EINTR && (how & EINTR_OK)) {
		say("PASS sleepers %s: EINTR after %lld ms, as the kernel does on a stop\n", what, (long long)took);
		return took;
	}
	if (ret != 0 && !(ret < 0 && err == ETIMEDOUT) && !(ret < 0 && err == EAGAIN))
		fail("sleepers %s: returned %ld (%s) after %lld ms\n", what, ret, ret < 0 ? strerror(err) : "-", (long long)took);
	/* Late without a window yet: a call that ends right after the
	 * restart, before the test could tell the downtime. */
	for (tries = 0; !(f = fopen(window, "r")) && took > ms + LATE_MS && tries < 100; tries++)
		usleep(100000);
	if (f) {
		if (fscanf(f, "%ld %ld", &lo, &hi) != 2)
			fail("sleepers %s: bad window file %s\n", what, window);
		fclose(f);
	}
	if (took < ms + lo - EARLY_MS || took > ms + hi + LATE_MS)
		fail("sleepers %s: slept %lld ms, want %ld..%ld (%ld + downtime %ld..%ld)\n", what, (long long)took,
		     ms + lo - EARLY_MS, ms + hi + LATE_MS, ms, lo, hi);
	say("PASS sleepers %s: slept %lld ms, want %ld..%ld\n", what, (long long)took, ms + lo - EARLY_MS, ms + hi + LATE_MS);
	return took;
}

#define RUN(what, call, how) ({                                  \
	int64_t t0 = now_ms();                                  \
	long ret = (call);                                      \
	check(what, t0, ret, errno, how);                       \
})

/* Raw system calls: the kernel's behaviour, not a library's loop. */
static void *nanosleep_rem(void *a)
{
	struct timespec req = ts_of(ms), rem;

	together(RUN("nanosleep-rem", syscall(SYS_nanosleep, &req, &rem), 0));
	return a;
}

static void *nanosleep_norem(void *a)
{
	struct timespec req = ts_of(ms);

	together(RUN("nanosleep", syscall(SYS_nanosleep, &req, NULL), 0));
	return a;
}

static void *clock_nanosleep_rel(void *a)
{
	struct timespec req = ts_of(ms);

	together(RUN("clock_nanosleep", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &req, NULL), 0));
	return a;
}

static void *clock_nanosleep_rem(void *a)
{
	struct timespec req = ts_of(ms), rem;

	together(RUN("clock_nanosleep-rem", syscall(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &req, &rem), 0));
	return a;
}

static void *do_poll(void *a)
{
	struct pollfd p = { .fd = pipefd[0], .events = POLLIN };

	together(RUN("poll", syscall(SYS_poll, &p, 1, ms), 0));
	return a;
}

static void *do_ppoll(void *a)
{
	struct pollfd p = { .fd = pipefd[0], .events = POLLIN };
	struct timespec t = ts_of(ms);

	RUN("ppoll", syscall(SYS_ppoll, &p, 1, &t, NULL, 0), 0);
	return a;
}

static void *do_select(void *a)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	fd_set r;

	FD_ZERO(&r);
	FD_SET(pipefd[0], &r);
	RUN("select", syscall(SYS_select, pipefd[0] + 1, &r, NULL, NULL, &tv), 0);
	return a;
}

static void *do_futex(void *a)
{
	struct timespec t = ts_of(ms);

	together(RUN("futex", syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &t, NULL, 0), 0));
	return a;
}

/* Absolute deadlines on the container's CLOCK_MONOTONIC: the downtime
 * doesn't count there. */
static struct timespec deadline(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static void *clock_nanosleep_abs(void *a)
{
	struct timespec t = deadline();

	RUN("clock_nanosleep-abs", syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL), 0);
	return a;
}

static void *futex_abs(void *a)
{
	struct timespec t = deadline();

	RUN("futex-bitset-abs", syscall(SYS_futex, &futex_word, FUTEX_WAIT_BITSET_PRIVATE, 0, &t, NULL,
					FUTEX_BITSET_MATCH_ANY), 0);
	return a;
}

static void *do_epoll(void *a)
{
	struct epoll_event ev;

	RUN("epoll_wait", syscall(SYS_epoll_wait, epfd, &ev, 1, ms), EINTR_OK);
	return a;
}

static void *do_semtimedop(void *a)
{
	struct sembuf op = { .sem_num = 0, .sem_op = -1 };
	struct timespec t = ts_of(ms);

	RUN("semtimedop", syscall(SYS_semtimedop, semid, &op, 1, &t), EINTR_OK);
	return a;
}

int main(int argc, char **argv)
{
	void *(*fn[16])(void *) = { nanosleep_rem, nanosleep_norem, clock_nanosleep_rel, clock_nanosleep_rem,
				    do_poll, do_ppoll, do_select, do_futex, clock_nanosleep_abs, futex_abs };
	pthread_t t[16];
	int n = 10, i;
	long key;

	if (argc < 4 || argc > 5 || (ms = atol(argv[1])) <= 0 || (argc == 5 && strcmp(argv[4], "semonly")))
		fail("usage: sleepers MS WINDOW SEMKEY [semonly]\n");
	window = argv[2];
	key = atol(argv[3]);
	if (argc == 5) {
		if (!key)
			fail("sleepers: semonly needs a SEMKEY\n");
		semid = semget((key_t)key, 1, IPC_CREAT | IPC_EXCL | 0600);
		if (semid < 0)
			fail("semget: %s\n", strerror(errno));
		say("READY sleepers 1 threads, %ld ms\n", ms);
		do_semtimedop(NULL);
		semctl(semid, 0, IPC_RMID);
		say("PASS sleepers together: one call\n");
		say("DONE sleepers\n");
		return 0;
	}
	if (pipe(pipefd) < 0)
		fail("pipe: %s\n", strerror(errno));
	/* An epoll fd can't be checkpointed: epoll_wait runs only when
	 * WINDOW is "-" (no checkpoint: the kernel's own behaviour). */
	if (!strcmp(window, "-")) {
		epfd = epoll_create1(EPOLL_CLOEXEC);
		if (epfd < 0)
			fail("epoll_create1: %s\n", strerror(errno));
		fn[n++] = do_epoll;
	}
	if (key) {
		semid = semget((key_t)key, 1, IPC_CREAT | IPC_EXCL | 0600);
		if (semid < 0)
			fail("semget: %s\n", strerror(errno));
		fn[n++] = do_semtimedop;
	}
	for (i = 0; i < n; i++)
		if ((errno = pthread_create(&t[i], NULL, fn[i], NULL)))
			fail("pthread_create: %s\n", strerror(errno));
	say("READY sleepers %d threads, %ld ms\n", n, ms);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (semid >= 0)
		semctl(semid, 0, IPC_RMID);
	if (took_max - took_min > SPREAD_MS)
		fail("sleepers: the calls with a restart block took %lld..%lld ms, more apart than %d ms\n",
		     (long long)took_min, (long long)took_max, SPREAD_MS);
	say("PASS sleepers together: the calls with a restart block took %lld..%lld ms\n",
	    (long long)took_min, (long long)took_max);
	say("DONE sleepers\n");
	return 0;
}
