// SPDX-License-Identifier: GPL-2.0-or-later
/* session: a session leader with two process groups.
 *
 * The workload (started in init's session) calls setsid(), then forks a
 * (its own group: setpgid(0, 0)), b (joins a's group) and c (its own
 * group). Every process checks getpid/getppid/getpgrp/getsid(0) against what
 * it recorded every 10 ms and sends one heartbeat byte ('a', 'b', 'c') into
 * a pipe to the leader per check; the leader checks getpgid()/getsid() of
 * each child, that each child's heartbeats keep coming, and that every child
 * is alive (a child that dies is reaped and is a FAIL). SIGUSR2 (the
 * children take it too and ignore it):
 * "PASS session n=<checks> beats=<a,b,c> sid:<leader> a:<pid>/<pgid> b:... c:..." once
 * each child has beaten since the last PASS (within 10 s). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define WAIT_NS (10000ULL * 1000 * 1000)

struct ids {
	pid_t pid, ppid, pgid, sid;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_10ms(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static void check_self(const struct ids *want, char who)
{
	if (getpid() != want->pid || getppid() != want->ppid || getpgrp() != want->pgid ||
	    getsid(0) != want->sid)
		fail("session %c: pid %d ppid %d pgid %d sid %d, want %d %d %d %d\n", who, getpid(),
		     getppid(), getpgrp(), getsid(0), want->pid, want->ppid, want->pgid, want->sid);
}

static _Noreturn void child_loop(char who, pid_t pgid, int beat_fd)
{
	struct ids me;

	/* The leader calls setpgid for us too: whichever runs first wins, and
	 * the group is right before anyone looks. */
	if (setpgid(0, pgid) < 0)
		fail("session %c: setpgid(0, %d): %d\n", who, pgid, errno);
	me.pid = getpid();
	me.ppid = getppid();
	me.pgid = pgid ? pgid : me.pid;
	me.sid = me.ppid;
	for (;;) {
		check_self(&me, who);
		if (write(beat_fd, &who, 1) != 1 && errno != EINTR)
			fail("session %c: heartbeat: %d\n", who, errno);
		sleep_10ms();
	}
}

static pid_t spawn(char who, pid_t pgid, int beat_fd, int read_fd)
{
	pid_t pid = fork();

	if (pid < 0)
		fail("session: fork %c: %d\n", who, errno);
	if (pid == 0) {
		close(read_fd);
		child_loop(who, pgid, beat_fd);
	}
	if (setpgid(pid, pgid ? pgid : pid) < 0 && errno != EACCES)
		fail("session: setpgid(%c=%d): %d\n", who, pid, errno);
	return pid;
}

static void check_child(pid_t pid, pid_t pgid, pid_t sid, char who)
{
	if (getpgid(pid) != pgid || getsid(pid) != sid)
		fail("session: %c (pid %d) is in group %d session %d, want %d %d\n", who, pid,
		     getpgid(pid), getsid(pid), pgid, sid);
}

static void check_alive(void)
{
	int st;
	pid_t p = waitpid(-1, &st, WNOHANG);

	if (p > 0)
		fail("session: child %d died (%s %d)\n", p, WIFEXITED(st) ? "exit" : "signal",
		     WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	if (p < 0)
		fail("session: waitpid: %d\n", errno);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	uint64_t beats[3] = { 0 }, pass_beats[3] = { 0 }, pending_until = 0, checks = 0;
	struct ids me;
	pid_t a, b, c;
	int p[2];

	sigaction(SIGUSR2, &sa, NULL);
	if (getsid(0) == getpid())
		fail("session: already a session leader at start\n");
	if (setsid() < 0)
		fail("session: setsid: %d\n", errno);
	me.pid = getpid();
	me.ppid = getppid();
	me.pgid = me.pid;
	me.sid = me.pid;
	check_self(&me, 'L');
	if (pipe(p) < 0 || fcntl(p[0], F_SETFL, O_NONBLOCK) < 0)
		fail("session: pipe: %d\n", errno);
	a = spawn('a', 0, p[1], p[0]);
	b = spawn('b', a, p[1], p[0]);
	c = spawn('c', 0, p[1], p[0]);
	close(p[1]);
	say("READY session sid:%d a:%d/%d b:%d/%d c:%d/%d\n", me.sid, a, a, b, a, c, c);
	for (;;) {
		char buf[256];
		ssize_t n;

		sleep_10ms();
		check_self(&me, 'L');
		check_alive();
		check_child(a, a, me.sid, 'a');
		check_child(b, a, me.sid, 'b');
		check_child(c, c, me.sid, 'c');
		checks++;
		while ((n = read(p[0], buf, sizeof(buf))) > 0)
			for (ssize_t i = 0; i < n; i++) {
				if (buf[i] < 'a' || buf[i] > 'c')
					fail("session: heartbeat byte %#x\n", buf[i]);
				beats[buf[i] - 'a']++;
			}
		if (n == 0)
			fail("session: heartbeat pipe EOF\n");
		if (got_usr2) {
			got_usr2 = 0;
			if (!pending_until)
				pending_until = now_ns() + WAIT_NS;
		}
		if (!pending_until)
			continue;
		if (beats[0] <= pass_beats[0] || beats[1] <= pass_beats[1] || beats[2] <= pass_beats[2]) {
			if (now_ns() > pending_until)
				fail("session: no heartbeat for 10 s: a %lu b %lu c %lu\n",
				     (unsigned long)beats[0], (unsigned long)beats[1],
				     (unsigned long)beats[2]);
			continue;
		}
		pending_until = 0;
		for (int i = 0; i < 3; i++)
			pass_beats[i] = beats[i];
		say("PASS session n=%lu beats=%lu,%lu,%lu sid:%d a:%d/%d b:%d/%d c:%d/%d\n",
		    (unsigned long)checks, (unsigned long)beats[0], (unsigned long)beats[1],
		    (unsigned long)beats[2], me.sid, a, getpgid(a), b, getpgid(b), c, getpgid(c));
	}
}
