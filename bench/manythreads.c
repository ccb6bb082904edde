// SPDX-License-Identifier: GPL-2.0-or-later
/* manythreads: one process with N threads, each blocked in a wait, for
 * bench/tree.sh.
 *
 *   manythreads N
 *
 * Thread i waits, by i % 4, in pthread_cond_wait (a futex), nanosleep, read
 * on a pipe of its own, or poll on one. Each keeps state only it can check:
 * its tid, a thread-local value, a pattern on its stack, its own blocked
 * signal (one of SIGRTMIN..+7) and its name. "READY manythreads threads=N"
 * once all are up. SIGUSR2 (taken by the main thread only) starts a round:
 * the main thread wakes every thread the way it waits (broadcast, SIGUSR1,
 * a write on its pipe); each checks its state and checks in; the main thread
 * prints "PASS manythreads threads=N ..." once all N checked in good and
 * /proc/self/task lists exactly N + 1 threads, "FAIL ..." otherwise. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "../tests/workloads/wl.h"

#define CHECKIN_TIMEOUT_S 300
#define STACK_WORDS 32

enum wait_kind { WAIT_COND, WAIT_SLEEP, WAIT_READ, WAIT_POLL, WAIT_KINDS };

static const char *const kind_name[WAIT_KINDS] = { "condvar", "nanosleep", "read", "poll" };

struct th {
	pthread_t t;
	int idx;
	enum wait_kind kind;
	pid_t tid;			/* as the thread saw it when it started */
	int pfd[2];			/* WAIT_READ, WAIT_POLL: the main thread writes the round */
	int checked_round;		/* under the lock */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cv = PTHREAD_COND_INITIALIZER;	/* WAIT_COND threads */
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;	/* the main thread */
static int round_no, started, checked;
static char first_failure[160];

static __thread uint64_t tls_val;

static struct th *ths;
static int nth;

static void on_usr1(int sig) { (void)sig; }

static uint64_t pattern(int idx, int k)
{
	return ((uint64_t)idx << 32 | (unsigned)k) * 0x9e3779b97f4a7c15ULL ^ 0xa5a5f00dULL;
}

static int own_signal(int idx)
{
	return SIGRTMIN + idx % 8;
}

/* Under the lock: the first failure of a round is the one reported. */
static void check_in(struct th *th, int round, const char *failure)
{
	pthread_mutex_lock(&lock);
	if (failure && !first_failure[0])
		snprintf(first_failure, sizeof(first_failure), "thread %d (%s): %s", th->idx,
			 kind_name[th->kind], failure);
	if (round == round_no && th->checked_round != round) {
		th->checked_round = round;
		checked++;
	}
	pthread_cond_signal(&done_cv);
	pthread_mutex_unlock(&lock);
}

/* NULL if the thread's state is what it set up; else what differs, in BUF */
static const char *thread_problem(const struct th *th, const uint64_t *stk, const sigset_t *mask,
				  char *buf, size_t len)
{
	char name[17] = "", want[17];
	sigset_t now;

	snprintf(want, sizeof(want), "mt-%d", th->idx);
	prctl(PR_GET_NAME, name);
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	if (gettid() != th->tid) {
		snprintf(buf, len, "tid %d, was %d", gettid(), th->tid);
		return buf;
	}
	if (tls_val != pattern(th->idx, -1)) {
		snprintf(buf, len, "thread-local value %#lx", (unsigned long)tls_val);
		return buf;
	}
	for (int k = 0; k < STACK_WORDS; k++)
		if (stk[k] != pattern(th->idx, k)) {
			snprintf(buf, len, "stack word %d", k);
			return buf;
		}
	for (int s = 1; s < NSIG; s++)
		if (sigismember(&now, s) != sigismember(mask, s)) {
			snprintf(buf, len, "signal %d %sblocked", s, sigismember(&now, s) ? "" : "not ");
			return buf;
		}
	if (strcmp(name, want)) {
		snprintf(buf, len, "name '%s'", name);
		return buf;
	}
	return NULL;
}

/* Blocks the way this thread waits until a round after SEEN; returns it. */
static int wait_round(struct th *th, int seen)
{
	struct timespec ts = { 10, 0 };	/* SIGUSR1 cuts it short */
	struct pollfd pfd = { .fd = th->pfd[0], .events = POLLIN };
	int r = seen;

	switch (th->kind) {
	case WAIT_COND:
		pthread_mutex_lock(&lock);
		while (round_no == seen)
			pthread_cond_wait(&wake_cv, &lock);
		r = round_no;
		pthread_mutex_unlock(&lock);
		return r;
	case WAIT_SLEEP:
		while ((r = __atomic_load_n(&round_no, __ATOMIC_ACQUIRE)) == seen)
			nanosleep(&ts, NULL);
		return r;
	case WAIT_POLL:
		while (poll(&pfd, 1, -1) < 0)
			if (errno != EINTR)
				fail("manythreads: thread %d: poll: %d\n", th->idx, errno);
		/* fall through */
	case WAIT_READ:
		for (;;) {
			ssize_t n = read(th->pfd[0], &r, sizeof(r));

			if (n == sizeof(r))
				return r;
			if (n < 0 && errno == EINTR)
				continue;
			fail("manythreads: thread %d: read %zd (%d)\n", th->idx, n, n < 0 ? errno : 0);
		}
	default:
		fail("manythreads: thread %d: bad kind\n", th->idx);
	}
}

static void *thread_main(void *arg)
{
	struct th *th = arg;
	uint64_t stk[STACK_WORDS];
	sigset_t mask;
	char name[17], why[96];
	int seen = 0;

	th->tid = gettid();
	tls_val = pattern(th->idx, -1);
	for (int k = 0; k < STACK_WORDS; k++)
		stk[k] = pattern(th->idx, k);
	snprintf(name, sizeof(name), "mt-%d", th->idx);
	prctl(PR_SET_NAME, name);
	/* SIGUSR2 stays blocked (for the main thread only); SIGUSR1 wakes
	 * the sleepers; every thread blocks one RT signal of its own */
	sigemptyset(&mask);
	sigaddset(&mask, own_signal(th->idx));
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	pthread_sigmask(th->kind == WAIT_SLEEP ? SIG_UNBLOCK : SIG_BLOCK, &mask, NULL);
	pthread_sigmask(SIG_BLOCK, NULL, &mask);

	pthread_mutex_lock(&lock);
	started++;
	pthread_cond_signal(&done_cv);
	pthread_mutex_unlock(&lock);
	for (;;) {
		seen = wait_round(th, seen);
		check_in(th, seen, thread_problem(th, stk, &mask, why, sizeof(why)));
	}
	return NULL;
}

static void start_threads(void)
{
	int r;

	ths = calloc(nth, sizeof(*ths));
	if (!ths)
		fail("calloc\n");
	for (int i = 0; i < nth; i++) {
		struct th *th = &ths[i];

		th->idx = i;
		th->kind = i % WAIT_KINDS;
		if ((th->kind == WAIT_READ || th->kind == WAIT_POLL) && pipe(th->pfd) < 0)
			fail("manythreads: pipe: %d\n", errno);
		r = pthread_create(&th->t, NULL, thread_main, th);
		if (r)
			fail("manythreads: pthread_create %d: %d\n", i, r);
	}
	pthread_mutex_lock(&lock);
	while (started < nth)
		pthread_cond_wait(&done_cv, &lock);
	pthread_mutex_unlock(&lock);
}

static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -errno;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void wake_all(int round)
{
	pthread_mutex_lock(&lock);
	round_no = round;
	checked = 0;
	pthread_cond_broadcast(&wake_cv);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < nth; i++) {
		struct th *th = &ths[i];

		if (th->kind == WAIT_SLEEP)
			pthread_kill(th->t, SIGUSR1);
		else if (th->kind != WAIT_COND && write(th->pfd[1], &round, sizeof(round)) != sizeof(round))
			fail("manythreads: write to thread %d: %d\n", i, errno);
	}
}

static void verify_round(int round, pid_t me)
{
	struct timespec deadline;
	int n;

	wake_all(round);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CHECKIN_TIMEOUT_S;
	pthread_mutex_lock(&lock);
	while (checked < nth && !first_failure[0])
		if (pthread_cond_timedwait(&done_cv, &lock, &deadline) == ETIMEDOUT)
			break;
	n = checked;
	pthread_mutex_unlock(&lock);
	if (first_failure[0])
		fail("manythreads: round %d: %s\n", round, first_failure);
	if (n < nth) {
		for (int i = 0; i < nth; i++)
			if (ths[i].checked_round != round) {
				n = i;
				break;
			}
		fail("manythreads: round %d: %d of %d threads checked in; thread %d (%s) did not\n",
		     round, checked, nth, n, kind_name[ths[n].kind]);
	}
	if (getpid() != me || gettid() != me)
		fail("manythreads: pid %d tid %d, was %d\n", getpid(), gettid(), me);
	n = count_tasks();
	if (n != nth + 1)
		fail("manythreads: /proc/self/task lists %d threads, expected %d\n", n, nth + 1);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	struct timespec t0, t1;
	sigset_t block, wait_mask;
	pid_t me = getpid();
	int round = 0;

	nth = argc > 1 ? atoi(argv[1]) : 0;
	if (argc != 2 || nth < 1)
		fail("usage: manythreads N\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: nanosleep returns */
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	start_threads();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	say("READY manythreads threads=%d setup_ms=%ld\n", nth,
	    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	for (;;) {
		while (!got_usr2)
			sigsuspend(&wait_mask);
		got_usr2 = 0;
		round++;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		verify_round(round, me);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		say("PASS manythreads threads=%d round=%d check_ms=%ld\n", nth, round,
		    (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
}
