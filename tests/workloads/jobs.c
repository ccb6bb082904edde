// SPDX-License-Identifier: GPL-2.0-or-later
/* jobs stopped|leaders: job control state below the container's init.
 *
 * stopped: the main process forks A (stops itself with SIGSTOP), B (its
 * own process group, stopped by the main process with SIGTSTP) and C (two
 * threads, stopped with SIGSTOP). Each child counts in shared memory while
 * it runs. On SIGUSR2 the main process checks that each is stopped (state
 * T in /proc, its count still), continues them with SIGCONT, checks that
 * every thread counts again, stops them again the same way, and prints
 * "PASS jobs stopped n=...".
 *
 * leaders: the main process (pid 2, a child subreaper) forks D, which
 * makes a session (setsid) and forks E; E forks F; D exits, so E is the
 * main process's child again (subreaper), in session D whose leader is
 * gone, and F its child. The main process also forks G (leads group G) and
 * H, which joins group G; G exits and is reaped: H stays in a group whose
 * leader is gone. E, F and H check their pid, parent, group and session
 * every 10 ms, and on SIGUSR2 the main process asks each for its check
 * count through shared memory and prints "PASS jobs leaders n=...".
 *
 * leftsession: L makes a session and forks X; X forks Y, then makes a
 * session of its own; L exits. Y is in session L, whose leader is gone,
 * below X, which is no child subreaper: nothing can give it back (the
 * checkpoint must refuse it). */
#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define NSLOTS 8

struct shared {
	volatile uint64_t count[NSLOTS];   /* one per counting thread */
	volatile uint64_t asked, answered[NSLOTS];
	volatile int32_t pid[NSLOTS];
};

static struct shared *sh;

static void tick(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static char state_of(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	f = fopen(path, "re");
	if (!f)
		return '?';
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* ---- stopped ---- */

static void *counter(void *arg)
{
	int slot = (int)(intptr_t)arg;

	sh->pid[slot] = syscall(SYS_gettid);
	for (;;) {
		tick();
		sh->count[slot]++;
	}
	return NULL;
}

static pid_t stopped_child(int slot, bool thread, bool own_group)
{
	pid_t p = fork();

	if (p < 0)
		fail("jobs fork: %s\n", strerror(errno));
	if (p > 0)
		return p;
	if (own_group)
		setpgid(0, 0);
	if (thread) {
		pthread_t t;

		if (pthread_create(&t, NULL, counter, (void *)(intptr_t)(slot + 1)))
			fail("jobs pthread_create\n");
	}
	counter((void *)(intptr_t)slot);
	_exit(0);
}

static pid_t kids[3];
static const int stop_sig[3] = { SIGSTOP, SIGTSTP, SIGSTOP };
static const int slots[4] = { 0, 1, 2, 3 };   /* A, B, C and C's thread */

static void wait_state(int i, bool stopped)
{
	int k;

	for (k = 0; k < 500; k++) {
		if ((state_of(kids[i]) == 'T') == stopped)
			return;
		tick();
	}
	fail("jobs: child %d is '%c', want it %s\n", kids[i], state_of(kids[i]), stopped ? "stopped" : "running");
}

static void snapshot(uint64_t *c)
{
	for (int s = 0; s < 4; s++)
		c[s] = sh->count[slots[s]];
}

static void check_stopped(void)
{
	uint64_t before[4], after[4];
	int i, s, k;

	for (i = 0; i < 3; i++)
		if (state_of(kids[i]) != 'T')
			fail("jobs: child %d is '%c', not stopped\n", kids[i], state_of(kids[i]));
	if (state_of(sh->pid[3]) != 'T')
		fail("jobs: thread %d of child %d is '%c', not stopped\n", sh->pid[3], kids[2], state_of(sh->pid[3]));
	snapshot(before);
	for (k = 0; k < 20; k++)
		tick();
	snapshot(after);
	if (memcmp(before, after, sizeof(before)))
		fail("jobs: a stopped child counted on\n");
	for (i = 0; i < 3; i++)
		kill(kids[i], SIGCONT);
	for (i = 0; i < 3; i++)
		wait_state(i, false);
	for (s = 0; s < 4; s++)
		for (k = 0; k < 500 && sh->count[slots[s]] <= after[s] + 2; k++)
			tick();
	snapshot(before);
	for (s = 0; s < 4; s++)
		if (before[s] <= after[s] + 2)
			fail("jobs: counter %d does not count after SIGCONT\n", s);
	for (i = 0; i < 3; i++)
		kill(kids[i], stop_sig[i]);
	for (i = 0; i < 3; i++)
		wait_state(i, true);
	say("PASS jobs stopped n=%lu,%lu,%lu,%lu\n", (unsigned long)before[0], (unsigned long)before[1],
	    (unsigned long)before[2], (unsigned long)before[3]);
}

static void setup_stopped(void)
{
	int i;

	kids[0] = stopped_child(0, false, false);
	kids[1] = stopped_child(1, false, true);
	setpgid(kids[1], kids[1]);
	kids[2] = stopped_child(2, true, false);
	for (i = 0; i < 4; i++)
		while (!sh->count[slots[i]])
			tick();
	for (i = 0; i < 3; i++)
		kill(kids[i], stop_sig[i]);
	for (i = 0; i < 3; i++)
		wait_state(i, true);
}

/* ---- leaders ---- */

struct ids { pid_t pid, ppid, pgid, sid; };

static struct ids ids_now(void)
{
	return (struct ids){ getpid(), getppid(), getpgrp(), getsid(0) };
}

/* E, F, H: check ids every tick, answer the main process's asks. */
static void __attribute__((noreturn)) member(const char *who, int slot)
{
	struct ids want = ids_now(), is;

	sh->pid[slot] = want.pid;
	for (;;) {
		tick();
		is = ids_now();
		if (memcmp(&is, &want, sizeof(is)))
			fail("jobs %s: pid/ppid/pgid/sid %d/%d/%d/%d, want %d/%d/%d/%d\n", who, is.pid, is.ppid, is.pgid,
			     is.sid, want.pid, want.ppid, want.pgid, want.sid);
		sh->count[slot]++;
		if (sh->answered[slot] != sh->asked)
			sh->answered[slot] = sh->asked;
	}
}

static void setup_leaders(void)
{
	pid_t d, g, h, e, me = getpid();
	int st, k;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("jobs subreaper: %s\n", strerror(errno));
	d = fork();
	if (d == 0) {
		setsid();
		e = fork();
		if (e == 0) {
			if (fork() == 0)
				member("F", 1);
			while (getppid() != me)   /* D exits: the subreaper adopts E */
				tick();
			member("E", 0);
		}
		while (!sh->pid[1])
			tick();
		_exit(0);
	}
	if (d < 0 || waitpid(d, &st, 0) != d)
		fail("jobs: D: %s\n", strerror(errno));
	g = fork();
	if (g == 0) {
		setpgid(0, 0);
		pause();
		_exit(0);
	}
	setpgid(g, g);
	h = fork();
	if (h == 0) {
		setpgid(0, g);
		member("H", 2);
	}
	setpgid(h, g);
	for (k = 0; k < 500 && (!sh->pid[0] || !sh->pid[2]); k++)
		tick();
	kill(g, SIGTERM);
	if (waitpid(g, &st, 0) != g)
		fail("jobs: G: %s\n", strerror(errno));
	if (getpgid(h) != g || getsid(sh->pid[0]) != d)
		fail("jobs: H in group %d (want %d), E in session %d (want %d)\n", getpgid(h), g, getsid(sh->pid[0]), d);
}

/* L makes a session and forks X, X forks Y and leaves for a session of its
 * own, L exits: Y is in session L (its leader gone) below X, which is no
 * subreaper (the checkpoint must refuse it). */
static void setup_leftsession(void)
{
	pid_t l = fork(), x;
	int st;

	if (l == 0) {
		setsid();
		x = fork();
		if (x == 0) {
			if (fork() == 0)
				member("Y", 1);
			while (!sh->pid[1])
				tick();
			if (setsid() < 0)
				fail("jobs X: setsid: %s\n", strerror(errno));
			x = getppid();
			sh->pid[2] = getpid();
			while (getppid() == x)   /* L exits: init adopts X */
				tick();
			member("X", 0);
		}
		while (!sh->pid[2])
			tick();
		_exit(0);
	}
	if (l < 0 || waitpid(l, &st, 0) != l)
		fail("jobs: L: %s\n", strerror(errno));
	while (!sh->pid[0])
		tick();
}

static void check_leaders(void)
{
	uint64_t want = ++sh->asked;
	int s, k;

	for (s = 0; s < 3; s++) {
		for (k = 0; k < 500 && sh->answered[s] != want; k++)
			tick();
		if (sh->answered[s] != want)
			fail("jobs: member %d (pid %d) does not answer\n", s, sh->pid[s]);
	}
	say("PASS jobs leaders n=%lu,%lu,%lu\n", (unsigned long)sh->count[0], (unsigned long)sh->count[1],
	    (unsigned long)sh->count[2]);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	bool stopped;

	if (argc < 2 || (strcmp(argv[1], "stopped") && strcmp(argv[1], "leaders") && strcmp(argv[1], "leftsession")))
		fail("jobs usage: jobs stopped|leaders|leftsession\n");
	stopped = strcmp(argv[1], "stopped") == 0;
	sigaction(SIGUSR2, &sa, NULL);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		fail("jobs mmap: %s\n", strerror(errno));
	if (stopped)
		setup_stopped();
	else if (strcmp(argv[1], "leftsession") == 0)
		setup_leftsession();
	else
		setup_leaders();
	say("READY jobs %s\n", argv[1]);
	for (;;) {
		tick();
		if (got_usr2) {
			got_usr2 = 0;
			if (stopped)
				check_stopped();
			else if (strcmp(argv[1], "leaders") == 0)
				check_leaders();
			else
				say("PASS jobs %s\n", argv[1]);
		}
	}
}
