// SPDX-License-Identifier: GPL-2.0-or-later
/* Recovery of what a dead checkpoint worker borrowed from a container's
 * tasks (daemon/cr/borrow.h): each recorded task is seized again while
 * its cgroup is frozen, checked to be the same task (pid and start time),
 * given back its registers and signal mask, rid of the scratch area (an
 * injected munmap), and detached; then the record goes and the cgroup
 * thaws. A task gone or changed makes the container damaged. */
#pragma once
#include "cgroup.h"
#include <stdbool.h>
#include <stddef.h>

/* dir_fd holds a borrow record. */
bool recover_needed(int dir_fd);
/* Put everything back. 0, or -errno with why (one line). Runs in a
 * process of its own: it becomes the tasks' tracer for a while. */
int recover_borrowed(int dir_fd, const struct cgroup *cg, char *why, size_t len);
/* recover_borrowed in a child, waited for (bounded): for ckptd's start. */
int recover_borrowed_sync(int dir_fd, const struct cgroup *cg, char *why, size_t len);
/* Remove the record (the tasks are killed anyway). */
int recover_forget(int dir_fd);
/* The worker_fn of a recovery worker: arg is a struct recover_job. It
 * ends with a Response whose error says why recovery failed, if it did. */
struct recover_job {
	int dir_fd;
	struct cgroup cg;
};
int recover_worker(void *arg, int report_fd);
