// SPDX-License-Identifier: GPL-2.0-or-later
/* Small helpers the engine's steps share: paths in a task's mount
 * namespace, time, stream tuning. */
#include "dump.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

uint64_t cr_now_us(void)
{
	return mono_us();
}

void cr_tune_stream(int fd)
{
	struct stat st;

	/* A 64 KiB pipe costs a context switch every 64 KiB of a GiB image;
	 * the largest an unprivileged reader could also set is plenty. */
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

const char *cr_task_path(pid_t pid, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/root%s", pid, path);

	return n > 0 && (size_t)n < len ? buf : NULL;
}

int cr_enter_netns(pid_t init_pid, struct cr_error *err)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/ns/net", init_pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		return cr_fail(err, CR_ERR_KERNEL, errno, "entering the network namespace of the container (init %d)", init_pid);
	return 0;
}
