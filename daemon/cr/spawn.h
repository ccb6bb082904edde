// SPDX-License-Identifier: GPL-2.0-or-later
/* Task creation inside a container being restored.
 *
 * The container init (pid 1, ckptd code) serves requests from the restart
 * worker on a SOCK_SEQPACKET socketpair:
 *  - POOL: fds (every open file description and shared memory object of
 *    the image) that init keeps at pool base + index, so that the tasks it
 *    forks inherit them all;
 *  - SPAWN: fork a task with clone3(set_tid) at its original pid; it takes
 *    its fds from the pool, its cwd, umask, session and group, then blocks
 *    in pause() for the worker to seize it and transplant its memory. The
 *    task's pidfd goes back to the worker;
 *  - DROP: close the pool (the tasks hold what they need);
 *  - NS: set up the container's namespaces (hostname, time namespace
 *    offsets) through the init's hook, once, before the first SPAWN;
 *  - SEM: create a SysV semaphore set in its IPC namespace, before the
 *    first SPAWN. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cr.h"
#include "cr_limits.h"

/* Init side: sets up the namespaces the tasks will be born into. */
struct spawn_ns_ops {
	int (*setup)(const struct cr_ns_config *cfg);
	int (*sem_create)(const struct cr_sem_set *set);
};

/* Init side: handle one request on ctl_fd; NS and SEM requests go to ns.
 * Returns 0 when handled, 1 on EOF (worker gone), -errno on failure. */
int spawn_serve_one(int ctl_fd, const struct spawn_ns_ops *ns);

struct spawn_fd {
	int slot;        /* pool index ... */
	int target;      /* ... installed at this number in the new task */
	bool cloexec;
};

struct spawn_req {
	pid_t pid;       /* pid inside the namespace */
	pid_t pgid;
	pid_t sid;
	int exit_signal;
	uint32_t umask;
	int cwd_fd;      /* O_PATH dir in the caller */
	const struct spawn_fd *fds;
	size_t nfds;
};

#define SPAWN_MAX_FDS CR_MAX_FDS /* entries of one task's fd table */
#define SPAWN_POOL_CHUNK 250     /* fds per POOL datagram (SCM_MAX_FD is 253) */
#define SPAWN_MAX_POOL (1u << 16)
#define SPAWN_MAX_FD_NR CR_MAX_FD_NR

/* Worker side. Hand init n fds to keep at base + index (sent in pieces). */
int spawn_pool_send(int ctl_fd, int base, const int *fds, size_t n);
/* Ask init to create a task. Returns a pidfd for it once the task has its
 * fds and sits in pause(), or -errno. */
int spawn_task(int ctl_fd, const struct spawn_req *req);
/* Init sets up the container's namespaces; before any spawn_task(). */
int spawn_ns_setup(int ctl_fd, const struct cr_ns_config *cfg);
/* Init creates a semaphore set; after spawn_ns_setup(), before any task. */
int spawn_sem_create(int ctl_fd, const struct cr_sem_set *set);
/* Init closes its pool. */
int spawn_pool_drop(int ctl_fd);
