// SPDX-License-Identifier: GPL-2.0-or-later
/* limits: checks its container's cgroup limits from inside.
 *   limits pids=N   on start and on each SIGUSR2, forks children that wait
 *                   until fork fails; it must fail with EAGAIN with at most N
 *                   processes in the container (its init, itself and the
 *                   children): "PASS limits pids N". The children are then
 *                   killed and reaped, so a checkpoint sees two tasks.
 *   limits mem=MB   allocates and touches MB MiB; under a smaller --memory
 *                   it is OOM-killed before "FAIL ... not killed". */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wl.h"

#define FORK_MAX 512

static void fork_until_refused(int max)
{
	static pid_t kids[FORK_MAX];
	int n = 0, err = 0, i;

	while (n < FORK_MAX) {
		pid_t p = fork();

		if (p < 0) {
			err = errno;
			break;
		}
		if (p == 0) {
			for (;;)
				pause();
		}
		kids[n++] = p;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	if (n == FORK_MAX)
		fail("limits pids: %d children forked, no limit\n", n);
	if (err != EAGAIN)
		fail("limits pids: fork failed with errno %d, want EAGAIN\n", err);
	/* init and this process count too */
	if (n + 2 > max)
		fail("limits pids: %d processes before EAGAIN, limit %d\n", n + 2, max);
	say("PASS limits pids %d\n", n + 2);
}

static void touch_mem(long mb)
{
	size_t len = (size_t)mb << 20, off;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		fail("limits mem: mmap %ld MiB: errno %d\n", mb, errno);
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	fail("limits mem: touched %ld MiB, not killed\n", mb);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	int max = 0;

	sigaction(SIGUSR2, &sa, NULL);
	if (argc == 2 && !strncmp(argv[1], "mem=", 4)) {
		say("READY\n");
		touch_mem(atol(argv[1] + 4));
	}
	if (argc != 2 || strncmp(argv[1], "pids=", 5) || (max = atoi(argv[1] + 5)) <= 0)
		fail("usage: limits pids=N | mem=MB\n");
	fork_until_refused(max);
	say("READY\n");
	for (;;) {
		pause();
		if (got_usr2) {
			got_usr2 = 0;
			fork_until_refused(max);
		}
	}
}
