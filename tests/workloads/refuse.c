// SPDX-License-Identifier: GPL-2.0-or-later
/* refuse: workloads the engine must refuse to checkpoint (for now).
 *
 *   refuse MODE...   (each of: socket | fanotify | timer | sharedfiles |
 *                     seccompnotif | netns | utsns | timens | lease | sud |
 *                     mempolicy | userns | pidns | tmpfile | kmsg | fakeshm |
 *                     cgroup CGROUP2_MOUNT; several at once in one process)
 *
 * socket: holds an AF_VSOCK socket (a family ckptd refuses); fanotify: a fanotify group
 * marking a file of its own in its cwd for permission events (FAN_OPEN_PERM); timer: a POSIX timer on the thread's CPU-time clock; sharedfiles: a child process sharing
 * its fd table (clone(CLONE_FILES)); seccompnotif: a seccomp filter that
 * hands getppid to a supervisor (SECCOMP_RET_USER_NOTIF; the listener fd
 * closed again); netns, utsns: unshare(CLONE_NEWNET/NEWUTS);
 * timens: unshare(CLONE_NEWTIME) without a fork (a pending time namespace
 * for children); lease: a read lease on its own file; sud: syscall user dispatch on (every
 * call allowed by its selector); mempolicy: a NUMA policy (MPOL_BIND to
 * node 0); vmapolicy: the same on one mapping of its own (mbind); userns: unshare(CLONE_NEWUSER); pidns: unshare(CLONE_NEWPID), then
 * a child (pid 1 of that namespace) that ticks while the parent waits;
 * tmpfile: an O_TMPFILE file never linked, open in its cwd; kmsg:
 * /dev/kmsg open (a device outside the allow list); fakeshm: an ordinary
 * file named "/dev/zero (deleted)" (the test makes it) mapped shared, its
 * fd closed: a file, whatever its name says; cgroup: moves itself into a
 * new child "moved" of its cgroup (cgroup v2, mounted at CGROUP2_MOUNT).
 * Writes READY, then "tick N" every 100 ms, so a test can see that it
 * keeps running after the refused checkpoint. */
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
#include <sys/mman.h>
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

static void move_cgroup(const char *mnt)
{
	char cg[512] = "", dir[1200];
	FILE *f = fopen("/proc/self/cgroup", "r");
	int fd;

	if (!mnt || !f)
		fail("cgroup: no /proc/self/cgroup (or no mount given)\n");
	while (fgets(cg, sizeof(cg), f) && strncmp(cg, "0::", 3))
		;
	if (strncmp(cg, "0::", 3))
		fail("cgroup: not in a cgroup v2 hierarchy\n");
	fclose(f);
	cg[strcspn(cg, "\n")] = 0;
	snprintf(dir, sizeof(dir), "%s%s/moved", mnt, cg + 3);
	if (mkdir(dir, 0755) < 0)
		fail("mkdir %s: %m\n", dir);
	strcat(dir, "/cgroup.procs");
	fd = open(dir, O_WRONLY);
	if (fd < 0 || write(fd, "0", 1) != 1)
		fail("moving into %s: %m\n", dir);
	close(fd);
}

/* Set up what mode names (arg: the word after it, for cgroup): 0, or the
 * exit status for a failure. */
static int setup(const char *mode, const char *arg)
{
	long n = 0;

	if (!strcmp(mode, "socket")) {
		if (socket(AF_VSOCK, SOCK_STREAM, 0) < 0)
			return 1;
	} else if (!strcmp(mode, "fanotify")) {
		/* on a file of its own: whoever opened it would wait for an answer */
		int fd = fanotify_init(FAN_CLASS_CONTENT, O_RDONLY);

		close(open("refuse-fanotify", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
		if (fd < 0 || fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD, "refuse-fanotify"))
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
	} else if (!strcmp(mode, "userns")) {
		if (unshare(CLONE_NEWUSER))
			fail("unshare %s: %m\n", mode);
	} else if (!strcmp(mode, "pidns")) {
		pid_t child;

		if (unshare(CLONE_NEWPID))
			fail("unshare %s: %m\n", mode);
		child = fork();
		if (child < 0)
			fail("fork: %m\n");
		if (child > 0)
			for (;;)
				if (waitpid(child, NULL, 0) == child)
					fail("pid 1 of the nested pid namespace exited\n");
	} else if (!strcmp(mode, "tmpfile")) {
		if (open(".", O_TMPFILE | O_RDWR, 0600) < 0)
			fail("O_TMPFILE: %m\n");
	} else if (!strcmp(mode, "kmsg")) {
		if (open("/dev/kmsg", O_RDONLY | O_NONBLOCK) < 0)
			fail("/dev/kmsg: %m\n");
	} else if (!strcmp(mode, "fakeshm")) {
		int fd = open("/dev/zero (deleted)", O_RDWR);

		if (fd < 0 || mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
			fail("fakeshm: %m\n");
		close(fd);
	} else if (!strcmp(mode, "cgroup")) {
		move_cgroup(arg);
	} else if (!strcmp(mode, "sud")) {
		static volatile char selector;   /* SYSCALL_DISPATCH_FILTER_ALLOW */

		if (prctl(59 /* PR_SET_SYSCALL_USER_DISPATCH */, 1 /* ON */, 0, 0, &selector))
			return 1;
	} else if (!strcmp(mode, "mempolicy")) {
		unsigned long nodes = 1;

		if (syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, &nodes, 2))
			return 1;
	} else if (!strcmp(mode, "vmapolicy")) {
		unsigned long nodes = 1;
		char *m = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		/* in the middle of more memory, so that it is a mapping of its own */
		if (m == MAP_FAILED || syscall(SYS_mbind, m + 4 * 4096, 4 * 4096, 2 /* MPOL_BIND */, &nodes, 2, 0))
			fail("vmapolicy: %m\n");
		memset(m, 1, 16 * 4096);
	} else if ((n = file_lease(mode)) <= 0) {
		if (n)
			fail("%s: %m\n", mode);
	} else {
		say("FAIL usage: refuse MODE... (socket|fanotify|timer|sharedfiles|seccompnotif|netns|utsns|timens|lease|sud|mempolicy|vmapolicy|userns|pidns|tmpfile|kmsg|fakeshm|cgroup MOUNT)\n");
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	long n = 0;

	for (int i = 1; i < argc || i == 1; i++) {
		const char *mode = i < argc ? argv[i] : "";
		const char *arg = !strcmp(mode, "cgroup") && i + 1 < argc ? argv[++i] : NULL;
		int r = setup(mode, arg);

		if (r)
			return r;
	}
	say("READY %s\n", argc > 1 ? argv[1] : "");
	for (;;) {
		nanosleep(&ts, NULL);
		say("tick %ld\n", ++n);
	}
}
