// SPDX-License-Identifier: GPL-2.0-or-later
/* The container init: pid 1 of each container's pid namespace, ckptd code. */
#pragma once
#include <stdbool.h>

/* What a `run` init starts as pid 2. */
struct init_run {
	char *const *argv;
	char *const *envp;           /* NULL: a minimal default environment */
	const char *cwd;
	const char *hostname;        /* of its UTS namespace */
	unsigned rows, cols;         /* the console's first window size (0: leave it) */
};

/* With a console, init keeps the master of its pty at this fd (ckptd
 * takes its copy with pidfd_getfd, again after a ckptd restart). */
#define INIT_CONSOLE_FD 7

/* Runs in the child of clone3(CLONE_NEWPID|CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC, and
 * CLONE_NEWNET for a run with a private network): never returns.
 * log_fd: the container log; ctl_fd: spawn requests (restart) or -1 (run);
 * sync_fd: if >= 0, wait for EOF on it first (cgroup v1: attached by pid);
 * ready_fd: closed once the workload is forked (run) or init serves ctl_fd;
 * console: make the console pty (the first of the container's devpts) and
 * give its slave to the workload as stdio and controlling terminal. */
/* fs: its mounts and what the workload may do (rootfs.h). */
struct rootfs_config;
_Noreturn void init_main(int log_fd, int ctl_fd, int sync_fd, int ready_fd, bool console, const struct init_run *run,
			 const struct rootfs_config *fs);
