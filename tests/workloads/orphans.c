// SPDX-License-Identifier: GPL-2.0-or-later
/* orphans: children of init in a session whose leader has exited.
 *
 * The main process (pid 2) makes a session (setsid), forks A and C, and
 * exits: A and C become children of init, still in session 2 (its leader
 * gone) and, for A, in process group 2 (its leader gone too). A has a child
 * B (same session and group); C leads its own group. Every process checks
 * its pid, parent, group and session every 10 ms and prints FAIL at once if
 * one changed. On SIGUSR2, A asks B and C (through a pipe) for their check
 * counts and prints "PASS orphans n=A,B,C ids:...". */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

struct ids { pid_t pid, ppid, pgid, sid; };
struct report { pid_t pid; uint64_t n; };

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static struct ids now(void)
{
	return (struct ids){ getpid(), getppid(), getpgrp(), getsid(0) };
}

static void check(const char *who, const struct ids *want)
{
	struct ids is = now();

	if (memcmp(&is, want, sizeof(is)))
		fail("%s: pid/ppid/pgid/sid %d/%d/%d/%d, want %d/%d/%d/%d\n", who, is.pid, is.ppid, is.pgid, is.sid,
		     want->pid, want->ppid, want->pgid, want->sid);
}

static void tick(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* B and C: check, and report to A when it asks (SIGUSR1). */
static void __attribute__((noreturn)) member(const char *who, struct ids want, int wfd)
{
	uint64_t n = 0;

	for (;;) {
		tick();
		check(who, &want);
		n++;
		if (got_usr1) {
			struct report r = { getpid(), n };

			got_usr1 = 0;
			if (write(wfd, &r, sizeof(r)) != sizeof(r))
				fail("%s: report: %d\n", who, errno);
		}
	}
}

static uint64_t ask(pid_t pid, int rfd)
{
	struct report r;

	if (kill(pid, SIGUSR1) < 0)
		fail("A: member %d is gone\n", pid);
	if (read(rfd, &r, sizeof(r)) != sizeof(r) || r.pid != pid)
		fail("A: no report from %d\n", pid);
	return r.n;
}

static void __attribute__((noreturn)) run_a(pid_t sid, pid_t c, int p[2])
{
	struct ids want;
	pid_t b;
	uint64_t n = 0;

	b = fork();
	if (b == 0) {
		close(p[0]);
		member("B", now(), p[1]);
	}
	while (getppid() != 1)   /* until the session leader has exited */
		tick();
	want = now();
	say("READY orphans a:%d b:%d c:%d sid:%d\n", want.pid, b, c, sid);
	for (;;) {
		tick();
		check("A", &want);
		if (want.sid != sid || want.pgid != sid)
			fail("A: session %d group %d, want %d\n", want.sid, want.pgid, sid);
		n++;
		if (got_usr2) {
			uint64_t nb, nc;

			got_usr2 = 0;
			nb = ask(b, p[0]);
			nc = ask(c, p[0]);
			say("PASS orphans n=%lu,%lu,%lu ids:%d/%d/%d/%d\n", (unsigned long)n, (unsigned long)nb,
			    (unsigned long)nc, want.pid, want.ppid, want.pgid, want.sid);
		}
	}
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct sigaction s1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART };
	struct ids want;
	pid_t sid, c, a;
	int p[2];

	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGUSR1, &s1, NULL);
	sid = setsid();
	if (sid < 0 || pipe(p) < 0)
		fail("setsid/pipe: %d\n", errno);
	c = fork();
	if (c == 0) {
		setpgid(0, 0);
		while (getppid() != 1)
			tick();
		want = now();
		close(p[0]);
		signal(SIGUSR2, SIG_IGN);
		member("C", want, p[1]);
	}
	a = fork();
	if (a == 0)
		run_a(sid, c, p);
	/* The leader leaves: A and C go to init, the session stays. */
	return 0;
}
