// SPDX-License-Identifier: GPL-2.0-or-later
/* procfds: fds on the process's own /proc entries, opened once and read
 * again through the same descriptions, which must go on describing this
 * process (not a task of another pid namespace, not a helper, not the
 * container's init):
 *   opendir("/proc/self/fd")          its fd list
 *   /proc/self/status, /proc/self/stat, /proc/PID/status (its own pid)
 *   /proc/thread-self/comm and /proc/thread-self/status, opened by a
 *   second thread (named, blocked with every signal blocked)
 * Each verification first renames both threads (a name nobody else has)
 * and opens a marker fd at a number it never held, then reads every fd
 * from offset 0 (rewinddir, pread): the names, Pid, Tgid and NSpid must be
 * this process's and thread's now, the NSpid line the one it read at
 * start, and the fd directory must list exactly the fds fcntl finds, the
 * same as at start plus the marker.
 * "procfds reused" also holds /proc/A/status of a child A that exited and
 * was reaped, its pid A since taken by another child (clone3 set_tid: run
 * with CAP_CHECKPOINT_RESTORE): that fd must go on failing with ESRCH,
 * never read the new child's status.
 * SIGUSR2: "PASS procfds n=<passes> pid=<pid> tid=<second thread's tid>". */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

#define MAX_FD 1024
#define MARKER_FD 900

static DIR *fd_dir;
static int status_fd, stat_fd, own_fd, tcomm_fd = -1, tstatus_fd = -1;
static pid_t second_tid;
static pthread_t second;
static char nspid0[128], tnspid0[128];
static bool fds0[MAX_FD];
static int stale_fd = -1;
static pid_t stale_pid;

static void *second_main(void *arg)
{
	sigset_t all;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	tcomm_fd = open("/proc/thread-self/comm", O_RDONLY | O_CLOEXEC);
	tstatus_fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
	if (tcomm_fd < 0 || tstatus_fd < 0)
		fail("procfds: open /proc/thread-self: %s\n", strerror(errno));
	__atomic_store_n(&second_tid, gettid(), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

/* A child that waits to be killed; pid: its pid in this namespace, or 0 for
 * any (clone3 with set_tid takes CAP_CHECKPOINT_RESTORE). */
static pid_t child(pid_t pid)
{
	struct clone_args ca = { .exit_signal = SIGCHLD, .set_tid = pid ? (uintptr_t)&pid : 0, .set_tid_size = pid ? 1 : 0 };
	long r = syscall(SYS_clone3, &ca, sizeof(ca));

	if (r < 0)
		fail("procfds: clone3 (pid %d): %s\n", pid, strerror(errno));
	if (r)
		return (pid_t)r;
	/* a /proc description shared by two processes is refused */
	close_range(3, ~0U, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;)
		pause();
}

/* A child A whose /proc/A/status it keeps open, killed and reaped, then
 * another child made with A's pid. */
static void hold_reused(void)
{
	char path[64];
	pid_t a = child(0);

	snprintf(path, sizeof(path), "/proc/%d/status", a);
	stale_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (stale_fd < 0)
		fail("procfds: open %s: %s\n", path, strerror(errno));
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);
	child(a);
	stale_pid = a;
}

static void check_stale(void)
{
	char buf[256];

	if (stale_fd < 0)
		return;
	if (pread(stale_fd, buf, sizeof(buf), 0) >= 0)
		fail("procfds: /proc/%d/status of the child that exited reads a live task's\n", stale_pid);
	if (errno != ESRCH)
		fail("procfds: /proc/%d/status of the child that exited: %s, want ESRCH\n", stale_pid, strerror(errno));
}

/* The whole file, from offset 0, through fd. */
static void read_all(int fd, const char *what, char *buf, size_t len)
{
	ssize_t n = pread(fd, buf, len - 1, 0);

	if (n <= 0)
		fail("procfds: reading %s (fd %d): %s\n", what, fd, n < 0 ? strerror(errno) : "empty");
	buf[n] = 0;
}

/* The value of "key:\t..." in a status file, up to the end of its line. */
static void status_field(const char *buf, const char *key, const char *what, char *out, size_t len)
{
	char k[32];
	const char *p, *e;

	snprintf(k, sizeof(k), "\n%s:\t", key);
	p = strstr(buf, k);
	if (!p)
		fail("procfds: %s has no %s line\n", what, key);
	p += strlen(k);
	e = strchrnul(p, '\n');
	snprintf(out, len, "%.*s", (int)(e - p), p);
}

/* saved: the NSpid line it read first, kept there on the first call */
static void check_status(int fd, const char *what, const char *name, pid_t pid, char *saved)
{
	char buf[4096], v[128], want[32];

	read_all(fd, what, buf, sizeof(buf));
	if (strncmp(buf, "Name:\t", 6) || strncmp(buf + 6, name, strlen(name)) || buf[6 + strlen(name)] != '\n')
		fail("procfds: %s names '%.20s', want '%s'\n", what, buf, name);
	status_field(buf, "Pid", what, v, sizeof(v));
	snprintf(want, sizeof(want), "%d", pid);
	if (strcmp(v, want))
		fail("procfds: %s says Pid %s, want %s\n", what, v, want);
	status_field(buf, "Tgid", what, v, sizeof(v));
	snprintf(want, sizeof(want), "%d", getpid());
	if (strcmp(v, want))
		fail("procfds: %s says Tgid %s, want %s\n", what, v, want);
	status_field(buf, "NSpid", what, v, sizeof(v));
	if (!saved[0])
		snprintf(saved, sizeof(nspid0), "%s", v);
	else if (strcmp(v, saved))
		fail("procfds: %s says NSpid '%s', it said '%s'\n", what, v, saved);
	snprintf(want, sizeof(want), "%d", pid);
	if (strcmp(strrchr(v, '\t') ? strrchr(v, '\t') + 1 : v, want))
		fail("procfds: %s says NSpid '%s', want it to end in %s\n", what, v, want);
}

/* Its fd list through the fd dir, checked against what fcntl finds. */
static void check_fd_dir(bool *now)
{
	struct dirent *d;
	bool probe;
	int i, n = 0;

	memset(now, 0, MAX_FD * sizeof(*now));
	rewinddir(fd_dir);
	errno = 0;
	while ((d = readdir(fd_dir))) {
		char *end;
		long fd;

		if (d->d_name[0] == '.')
			continue;
		fd = strtol(d->d_name, &end, 10);
		if (*end || fd < 0 || fd >= MAX_FD)
			fail("procfds: /proc/self/fd lists '%s'\n", d->d_name);
		now[fd] = true;
		n++;
	}
	if (errno)
		fail("procfds: reading /proc/self/fd: %s\n", strerror(errno));
	for (i = 0; i < MAX_FD; i++) {
		probe = fcntl(i, F_GETFD) >= 0;
		if (probe != now[i])
			fail("procfds: /proc/self/fd %s fd %d, which it %s (%d listed)\n", now[i] ? "lists" : "lacks",
			     i, probe ? "has" : "does not have", n);
	}
}

static void verify(unsigned n)
{
	char buf[4096], name[16], tname[16], want[64];
	bool now[MAX_FD];
	int i;

	snprintf(name, sizeof(name), "pfdm-%u", n);
	snprintf(tname, sizeof(tname), "pfds-%u", n);
	if (prctl(PR_SET_NAME, name) < 0 || pthread_setname_np(second, tname))
		fail("procfds: renaming the threads: %s\n", strerror(errno));

	check_status(status_fd, "/proc/self/status", name, getpid(), nspid0);
	check_status(own_fd, "/proc/PID/status", name, getpid(), nspid0);
	check_status(tstatus_fd, "/proc/thread-self/status", tname, second_tid, tnspid0);
	read_all(stat_fd, "/proc/self/stat", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%d (%s) ", getpid(), name);
	if (strncmp(buf, want, strlen(want)))
		fail("procfds: /proc/self/stat reads '%.40s', want '%s'\n", buf, want);
	read_all(tcomm_fd, "/proc/thread-self/comm", buf, sizeof(buf));
	snprintf(want, sizeof(want), "%s\n", tname);
	if (strcmp(buf, want))
		fail("procfds: /proc/thread-self/comm reads '%.20s', want '%s'\n", buf, tname);

	check_stale();
	if (dup2(0, MARKER_FD + (int)(n % 100)) < 0)
		fail("procfds: dup2 marker: %s\n", strerror(errno));
	check_fd_dir(now);
	close(MARKER_FD + (int)(n % 100));
	now[MARKER_FD + n % 100] = false;
	for (i = 0; i < MAX_FD; i++)
		if (n && now[i] != fds0[i])
			fail("procfds: fd %d %s since the start\n", i, now[i] ? "appeared" : "went away");
	if (!n)
		memcpy(fds0, now, sizeof(fds0));
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2 };
	sigset_t usr2, old;
	char path[64];
	unsigned n = 0;

	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, &old);
	sigaction(SIGUSR2, &sa, NULL);
	snprintf(path, sizeof(path), "/proc/%d/status", getpid());
	fd_dir = opendir("/proc/self/fd");
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	stat_fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	own_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!fd_dir || status_fd < 0 || stat_fd < 0 || own_fd < 0)
		fail("procfds: opening /proc/self files: %s\n", strerror(errno));
	if (argc > 1 && !strcmp(argv[1], "reused"))
		hold_reused();
	if (pthread_create(&second, NULL, second_main, NULL))
		fail("procfds: pthread_create\n");
	while (!__atomic_load_n(&second_tid, __ATOMIC_ACQUIRE))
		usleep(1000);
	verify(n++);
	say("READY procfds pid=%d tid=%d\n", getpid(), second_tid);
	if (stale_fd >= 0)
		say("stale fd %d: /proc/%d/status, its pid now another child's\n", stale_fd, stale_pid);
	for (;;) {
		sigsuspend(&old);
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		verify(n);
		say("PASS procfds n=%u pid=%d tid=%d\n", n++, getpid(), second_tid);
	}
}
