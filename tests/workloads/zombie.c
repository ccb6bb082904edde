// SPDX-License-Identifier: GPL-2.0-or-later
/* zombie: two zombies whose parent reaps them only when asked.
 *
 * Child a exits at once with status 42; child b waits to be killed by
 * SIGTERM (not a core-dumping signal). The parent does not reap: both must
 * stay zombies through any number of checkpoints. Once both are zombies
 * (state Z in /proc/PID/stat) it prints "zombies ready" and READY.
 *
 * SIGUSR2 before the reap: both are still zombies, and waitid(WNOWAIT)
 * (which looks without reaping) reports exactly a: exited 42, b: killed by
 * SIGTERM -> "PASS zombie waiting n=<checks> a:<pid>/42 b:<pid>/15".
 * SIGUSR1: waitpid() on each pid, the statuses checked, the pids gone ->
 * "PASS zombie reaped a:<pid>/42 b:<pid>/15"; later SIGUSR2s print
 * "PASS zombie reaped n=<checks> ...". The parent's own identity is checked
 * every 20 ms. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

static volatile sig_atomic_t got_usr1;
static pid_t pid_a, pid_b;
static pid_t my_pid, my_ppid, my_pgid, my_sid;

static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

/* The state letter of /proc/PID/stat, or 0 if there is no such process. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* comm may hold anything, even ") " */
	return p && p[1] == ' ' ? p[2] : '?';
}

static void check_identity(void)
{
	if (getpid() != my_pid || getppid() != my_ppid || getpgrp() != my_pgid || getsid(0) != my_sid)
		fail("zombie: identity pid %d ppid %d pgid %d sid %d, was %d %d %d %d\n", getpid(),
		     getppid(), getpgrp(), getsid(0), my_pid, my_ppid, my_pgid, my_sid);
}

/* Look at a zombie's status without reaping it. */
static void peek(pid_t pid, int code, int status, const char *what)
{
	siginfo_t si;
	char st = proc_state(pid);

	if (st != 'Z')
		fail("zombie: %s (pid %d) is in state '%c', want Z\n", what, pid, st ? st : '-');
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
		fail("zombie: waitid(%s, WNOWAIT): %d\n", what, errno);
	if (si.si_pid != pid || si.si_code != code || si.si_status != status)
		fail("zombie: %s (pid %d): waitid says pid %d code %d status %d, want code %d status %d\n",
		     what, pid, si.si_pid, si.si_code, si.si_status, code, status);
}

static void reap(void)
{
	int st;

	if (waitpid(pid_a, &st, 0) != pid_a)
		fail("zombie: waitpid(a=%d): %d\n", pid_a, errno);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 42)
		fail("zombie: a (pid %d): status %#x, want exit 42\n", pid_a, st);
	if (waitpid(pid_b, &st, 0) != pid_b)
		fail("zombie: waitpid(b=%d): %d\n", pid_b, errno);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM || WCOREDUMP(st))
		fail("zombie: b (pid %d): status %#x, want killed by SIGTERM, no core\n", pid_b, st);
	if (proc_state(pid_a) || proc_state(pid_b))
		fail("zombie: reaped, but /proc still shows %d or %d\n", pid_a, pid_b);
	if (waitpid(-1, &st, WNOHANG) != -1 || errno != ECHILD)
		fail("zombie: a third child to reap\n");
	say("PASS zombie reaped a:%d/42 b:%d/15\n", pid_a, pid_b);
}

static void sleep_20ms(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	unsigned long checks = 0;
	int reaped = 0, i;

	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	my_pid = getpid();
	my_ppid = getppid();
	my_pgid = getpgrp();
	my_sid = getsid(0);

	pid_a = fork();
	if (pid_a < 0)
		fail("zombie: fork: %d\n", errno);
	if (pid_a == 0)
		_exit(42);
	pid_b = fork();
	if (pid_b < 0)
		fail("zombie: fork: %d\n", errno);
	if (pid_b == 0) {
		signal(SIGTERM, SIG_DFL);
		for (;;)
			pause();
	}
	if (kill(pid_b, SIGTERM) < 0)
		fail("zombie: kill(b): %d\n", errno);
	for (i = 0; proc_state(pid_a) != 'Z' || proc_state(pid_b) != 'Z'; i++) {
		if (i == 500)
			fail("zombie: no two zombies after 10 s (%c %c)\n", proc_state(pid_a),
			     proc_state(pid_b));
		sleep_20ms();
	}
	peek(pid_a, CLD_EXITED, 42, "a");
	peek(pid_b, CLD_KILLED, SIGTERM, "b");
	say("zombies ready a:%d b:%d\n", pid_a, pid_b);
	say("READY\n");
	for (;;) {
		sleep_20ms();
		check_identity();
		checks++;
		if (got_usr1 && !reaped) {
			got_usr1 = 0;
			peek(pid_a, CLD_EXITED, 42, "a");
			peek(pid_b, CLD_KILLED, SIGTERM, "b");
			reap();
			reaped = 1;
		}
		if (got_usr2) {
			got_usr2 = 0;
			if (!reaped) {
				peek(pid_a, CLD_EXITED, 42, "a");
				peek(pid_b, CLD_KILLED, SIGTERM, "b");
			}
			say("PASS zombie %s n=%lu a:%d/42 b:%d/15\n", reaped ? "reaped" : "waiting",
			    checks, pid_a, pid_b);
		}
	}
}
