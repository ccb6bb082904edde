// SPDX-License-Identifier: GPL-2.0-or-later
/* refuse: workloads the engine must refuse to checkpoint (for now).
 *
 *   refuse MODE...   (each of: socket | fanotify | timer | sharedfiles |
 *                     seccompnotif | netns | utsns | timens | lease | sud |
 *                     mempolicy; several at once in one process)
 *
 * socket: holds an AF_VSOCK socket (a family ckptd refuses); fanotify: a fanotify group
 * marking its cwd; timer: a POSIX timer on the thread's CPU-time clock; sharedfiles: a child process sharing
 * its fd table (clone(CLONE_FILES)); seccompnotif: a seccomp filter that
 * hands getppid to a supervisor (SECCOMP_RET_USER_NOTIF; the listener fd
 * closed again); netns, utsns: unshare(CLONE_NEWNET/NEWUTS);
 * timens: unshare(CLONE_NEWTIME) without a fork (a pending time namespace
 * for children); lease: a read lease on its own file; sud: syscall user dispatch on (every
 * call allowed by its selector); mempolicy: a NUMA policy (MPOL_BIND to
 * node 0). Writes READY, then "tick N" every 100 ms, so a test can see that
 * it keeps running after the refused checkpoint. */
#include <fcntl.h>
#include <stddef.h>
#include <sched.h>
#include <sys/syscall.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/fanotify.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "wl.h"

static void seccomp_notif(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
	long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);

	if (fd < 0)
		fail("seccomp: %m\n");
	close(fd);
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

/* Set up what mode names: 0, or the exit status for a failure. */
static int setup(const char *mode)
{
	long n = 0;

	if (!strcmp(mode, "socket")) {
		if (socket(AF_VSOCK, SOCK_STREAM, 0) < 0)
			return 1;
	} else if (!strcmp(mode, "fanotify")) {
		int fd = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);

		if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, FAN_MODIFY, AT_FDCWD, "."))
			fail("fanotify: %m\n");
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
	} else if (!strcmp(mode, "seccompnotif")) {
		seccomp_notif();
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
	} else {
		say("FAIL usage: refuse MODE... (socket|fanotify|timer|sharedfiles|seccompnotif|netns|utsns|timens|lease|sud|mempolicy)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	long n = 0;

	for (int i = 1; i < argc || i == 1; i++) {
		int r = setup(i < argc ? argv[i] : "");

		if (r)
			return r;
	}
	say("READY %s\n", argc > 1 ? argv[1] : "");
	for (;;) {
		nanosleep(&ts, NULL);
		say("tick %ld\n", ++n);
	}
}
