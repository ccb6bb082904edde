/* refuse: workloads the engine must refuse to checkpoint (for now).
 *
 *   refuse socket | fifo | timer | sharedfiles | sud | mempolicy
 *
 * socket: holds a connected unix socketpair; fifo: a named pipe opened
 * read-write; timer: a POSIX timer; sharedfiles: a child process sharing
 * its fd table (clone(CLONE_FILES)); sud: syscall user dispatch on (every call allowed
 * by its selector); mempolicy: a NUMA policy (MPOL_BIND to node 0). Writes READY, then "tick N" every 100 ms, so a test can see that
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
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "wl.h"

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	const char *mode = argc > 1 ? argv[1] : "";
	unsigned long n = 0;
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

		if (timer_create(CLOCK_MONOTONIC, &sev, &t))
			return 1;
	} else if (!strcmp(mode, "sharedfiles")) {
		long pid = syscall(SYS_clone, CLONE_FILES | SIGCHLD, 0, 0, 0, 0);

		if (pid < 0)
			return 1;
		if (pid == 0)
			for (;;)
				pause();
	} else if (!strcmp(mode, "sud")) {
		static volatile char selector;   /* SYSCALL_DISPATCH_FILTER_ALLOW */

		if (prctl(59 /* PR_SET_SYSCALL_USER_DISPATCH */, 1 /* ON */, 0, 0, &selector))
			return 1;
	} else if (!strcmp(mode, "mempolicy")) {
		unsigned long nodes = 1;

		if (syscall(SYS_set_mempolicy, 2 /* MPOL_BIND */, &nodes, 2))
			return 1;
	} else {
		say("FAIL usage: refuse socket|fifo|timer|sharedfiles|sud|mempolicy\n");
		return 2;
	}
	say("READY %s\n", mode);
	for (;;) {
		nanosleep(&ts, NULL);
		say("tick %lu\n", ++n);
	}
}
