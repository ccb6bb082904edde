// SPDX-License-Identifier: GPL-2.0-or-later
/* refuse: workloads the engine must refuse to checkpoint (for now).
 *
 *   refuse socket | fifo | timer | sharedfiles | threadseccomp | threaduid |
 *          netns | utsns | timens | lease |
 *          sud | mempolicy
 *
 * socket: holds a connected unix socketpair; fifo: a named pipe opened
 * read-write; timer: a POSIX timer on the thread's CPU-time clock; sharedfiles: a child process sharing
 * its fd table (clone(CLONE_FILES)); threadseccomp: a second thread with a
 * seccomp filter of its own; threaduid: a second thread that changed its
 * uid alone (raw setresuid); netns, utsns: unshare(CLONE_NEWNET/NEWUTS);
 * timens: unshare(CLONE_NEWTIME) without a fork (a pending time namespace
 * for children); lease: a read lease on its own file; sud: syscall user dispatch on (every
 * call allowed by its selector); mempolicy: a NUMA policy (MPOL_BIND to
 * node 0). Writes READY, then "tick N" every 100 ms, so a test can see that
 * it keeps running after the refused checkpoint. */
#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "wl.h"

static pthread_barrier_t ready;

static void *thread_seccomp(void *arg)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { 1, &allow };

	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		fail("seccomp: %m\n");
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return arg;
}

static void *thread_uid(void *arg)
{
	/* the raw call: glibc's setresuid would change every thread */
	if (syscall(SYS_setresuid, 1000, 1000, 1000))
		fail("setresuid: %m\n");
	pthread_barrier_wait(&ready);
	for (;;)
		pause();
	return arg;
}

static void second_thread(void *(*fn)(void *))
{
	pthread_t t;

	pthread_barrier_init(&ready, NULL, 2);
	if (pthread_create(&t, NULL, fn, NULL))
		fail("pthread_create\n");
	pthread_barrier_wait(&ready);
}

static int lock_file(const char *name)
{
	int fd = open(name, O_RDWR | O_CREAT, 0600);

	if (fd < 0)
		fail("open %s: %m\n", name);
	return fd;
}

static int file_lease(const char *mode)
{
	int fd;

	if (strcmp(mode, "lease"))
		return 1;
	close(lock_file("refuse-lease"));
	fd = open("refuse-lease", O_RDONLY);
	return fd < 0 ? -1 : fcntl(fd, F_SETLEASE, F_RDLCK);
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	const char *mode = argc > 1 ? argv[1] : "";
	long n = 0;
	int p[2];

	if (!strcmp(mode, "socket")) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
			return 1;
	} else if (!strcmp(mode, "fifo")) {
		char path[64];

		snprintf(path, sizeof(path), "/tmp/refuse-fifo.%d", (int)getpid());
		unlink(path);
		if (mkfifo(path, 0600) || open(path, O_RDWR) < 0)
			return 1;
		unlink(path);   /* the open fifo is what must be refused */
	} else if (!strcmp(mode, "timer")) {
		struct sigevent sev = { .sigev_notify = SIGEV_NONE };
		timer_t t;

		if (timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &t))
			return 1;
	} else if (!strcmp(mode, "sharedfiles")) {
		long pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);

		if (pid < 0)
			return 1;
		if (pid == 0)
			for (;;)
				pause();
	} else if (!strcmp(mode, "threadseccomp")) {
		second_thread(thread_seccomp);
	} else if (!strcmp(mode, "threaduid")) {
		second_thread(thread_uid);
	} else if (!strcmp(mode, "netns") || !strcmp(mode, "utsns") || !strcmp(mode, "timens")) {
		int flag = mode[0] == 'n' ? CLONE_NEWNET : mode[0] == 'u' ? CLONE_NEWUTS : CLONE_NEWTIME;

		if (unshare(flag))
			fail("unshare %s: %m\n", mode);
	} else if (!strcmp(mode, "sud")) {
		static volatile char selector;   /* SYSCALL_DISPATCH_FILTER_ALLOW */

		if (prctl(59 /* PR_SET_SYSCALL_USER_DISPATCH */, 1 /* ON */, 0, 0, &selector))
			return 1;
	} else if (!strcmp(mode, "mempolicy")) {
		unsigned long nodes = 1;

		if (syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, &nodes, 2))
			return 1;
	} else if ((n = file_lease(mode)) <= 0) {
		if (n)
			fail("%s: %m\n", mode);
		n = 0;
	} else {
		say("FAIL usage: refuse socket|fifo|timer|sharedfiles|threadseccomp|threaduid|netns|utsns|timens|lease|sud|mempolicy\n");
		return 2;
	}
	say("READY %s\n", mode);
	for (;;) {
		nanosleep(&ts, NULL);
		say("tick %ld\n", ++n);
	}
}
