// SPDX-License-Identifier: GPL-2.0-or-later
/* waits timeouts|overrun
 *
 * timeouts: single-threaded children, each asleep in one call that a stop
 * ends with EINTR and that has no restart block:
 *   epoll      epoll_wait(20 s) on an epoll of an eventfd nobody writes,
 *   pwait2     epoll_pwait2(20 s, a timespec),
 *   pwait      epoll_pwait(20 s) with a signal mask,
 *   semtimed   semtimedop(20 s) taking a semaphore that stays 0,
 *   semop      semop() without timeout, until the parent releases it,
 *   forever    epoll_wait(-1), until the parent writes the eventfd.
 * The timed ones must return 0 (or EAGAIN for semtimedop) 20 s after they
 * started (+-1 s, on the container's CLOCK_MONOTONIC), the others with
 * success after the release (the parent does it 25 s in); none may see
 * EINTR. Each child prints "DONE NAME ret=R errno=E ms=M" and exits 0 if
 * right; the parent prints "READY waits timeouts" when all are asleep and
 * "PASS waits timeouts" once every child came back right.
 *
 * overrun: a POSIX timer whose last signal was accepted with overruns
 * (1 ms period, the signal blocked for 50 ms, then sigwaitinfo()):
 * timer_getoverrun() answers non-zero, which a checkpoint must refuse.
 * Prints "READY waits overrun N", then ticks. */
#include "wl.h"
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define TIMED_MS 20000
#define RELEASE_MS 25000
#define SLACK_MS 1000

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

struct child {
	const char *name;
	pid_t pid;
};

static int efd, semid, ep;

/* What one child waits in; its result and errno. */
static long wait_in(const char *name, int *ret_errno)
{
	struct timespec ts = { TIMED_MS / 1000, 0 };
	struct epoll_event ev;
	struct sembuf take0 = { 0, -1, 0 }, take1 = { 1, -1, 0 };
	sigset_t mask;
	long r = -1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	errno = 0;
	if (!strcmp(name, "epoll"))
		r = epoll_wait(ep, &ev, 1, TIMED_MS);
	else if (!strcmp(name, "pwait2"))
		r = syscall(SYS_epoll_pwait2, ep, &ev, 1, &ts, NULL, 8);
	else if (!strcmp(name, "pwait"))
		r = epoll_pwait(ep, &ev, 1, TIMED_MS, &mask);
	else if (!strcmp(name, "semtimed"))
		r = semtimedop(semid, &take0, 1, &ts);
	else if (!strcmp(name, "semop"))
		r = semop(semid, &take1, 1);
	else if (!strcmp(name, "forever"))
		r = epoll_wait(ep, &ev, 1, -1);
	*ret_errno = errno;
	return r;
}

static int check(const char *name, long r, int e, int64_t ms)
{
	bool timed = strcmp(name, "semop") && strcmp(name, "forever");

	if (e == EINTR)
		return say("FAIL waits %s: EINTR after %lld ms\n", name, (long long)ms), 1;
	if (timed && (ms < TIMED_MS - SLACK_MS || ms > TIMED_MS + SLACK_MS))
		return say("FAIL waits %s: woke after %lld ms, not %d\n", name, (long long)ms, TIMED_MS), 1;
	if (!timed && ms < RELEASE_MS - SLACK_MS)
		return say("FAIL waits %s: back after %lld ms, before the release\n", name, (long long)ms), 1;
	if (!strcmp(name, "semtimed") ? !(r == -1 && e == EAGAIN) : timed ? r != 0 : !strcmp(name, "forever") ? r != 1 : r != 0)
		return say("FAIL waits %s: returned %ld (%s)\n", name, r, strerror(e)), 1;
	return 0;
}

static pid_t spawn(const char *name)
{
	pid_t pid = fork();
	int64_t t0;
	long r;
	int e;

	if (pid)
		return pid;
	t0 = now_ms();
	r = wait_in(name, &e);
	say("DONE %s ret=%ld errno=%d ms=%lld\n", name, r, e, (long long)(now_ms() - t0));
	_exit(check(name, r, e, now_ms() - t0));
}

/* A child is asleep in its call (state S in /proc/PID/stat). */
static bool asleep(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] == 'S';
}

static int timeouts(void)
{
	static struct child kids[] = { { "epoll", 0 }, { "pwait2", 0 }, { "pwait", 0 }, { "semtimed", 0 }, { "semop", 0 }, { "forever", 0 } };
	const size_t n = sizeof(kids) / sizeof(kids[0]);
	struct epoll_event ev = { .events = EPOLLIN };
	struct sembuf give1 = { 1, 1, 0 };
	unsigned short zero[2] = { 0, 0 };
	uint64_t one = 1;
	int64_t t0 = now_ms(), tick = 0;
	size_t i, done = 0, bad = 0;
	bool released = false;

	efd = eventfd(0, 0);
	ep = epoll_create1(0);
	semid = semget(IPC_PRIVATE, 2, 0600);
	if (efd < 0 || ep < 0 || semid < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0 ||
	    semctl(semid, 0, SETALL, zero) < 0)
		fail("waits: setting up: %s\n", strerror(errno));
	for (i = 0; i < n; i++)
		if ((kids[i].pid = spawn(kids[i].name)) < 0)
			fail("waits: fork: %s\n", strerror(errno));
	for (i = 0; i < n; i++)
		while (!asleep(kids[i].pid))
			usleep(1000);
	say("READY waits timeouts\n");
	while (done < n) {
		int st;
		pid_t w = waitpid(-1, &st, WNOHANG);

		if (w > 0) {
			done++;
			bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
			continue;
		}
		if (!released && now_ms() - t0 >= RELEASE_MS) {
			if (semop(semid, &give1, 1) < 0 || write(efd, &one, sizeof(one)) != sizeof(one))
				fail("waits: releasing: %s\n", strerror(errno));
			released = true;
		}
		if (now_ms() - t0 > RELEASE_MS + 30000)
			fail("waits: children still waiting %lld ms in\n", (long long)(now_ms() - t0));
		if (now_ms() - tick >= 1000) {
			say("tick\n");
			tick = now_ms();
		}
		usleep(20000);
	}
	if (bad)
		fail("waits timeouts: %zu of %zu children came back wrong\n", bad, n);
	say("PASS waits timeouts\n");
	semctl(semid, 0, IPC_RMID);
	for (;;)
		pause();
}

static int overrun(void)
{
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGRTMIN };
	struct itimerspec its = { { 0, 1000000 }, { 0, 1000000 } };
	sigset_t set;
	siginfo_t si;
	timer_t t;
	int o;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 || timer_create(CLOCK_MONOTONIC, &sev, &t) < 0 ||
	    timer_settime(t, 0, &its, NULL) < 0)
		fail("waits overrun: %s\n", strerror(errno));
	usleep(50000);
	if (sigwaitinfo(&set, &si) < 0)
		fail("waits overrun: sigwaitinfo: %s\n", strerror(errno));
	o = timer_getoverrun(t);
	if (o <= 0 || si.si_overrun != o)
		fail("waits overrun: timer_getoverrun %d, si_overrun %d\n", o, si.si_overrun);
	say("READY waits overrun %d\n", o);
	for (;;) {
		sleep(1);
		if (timer_getoverrun(t) != o)
			fail("waits overrun: timer_getoverrun now %d, was %d\n", timer_getoverrun(t), o);
		say("tick\n");
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "timeouts"))
		return timeouts();
	if (argc == 2 && !strcmp(argv[1], "overrun"))
		return overrun();
	fail("usage: waits timeouts|overrun\n");
}
