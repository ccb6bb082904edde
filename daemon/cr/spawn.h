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

/* The wire format: one SOCK_SEQPACKET datagram per request, a reply to
 * each (the worker and init are the same binary). */
#define SPAWN_MAGIC 0x4e505343u   /* "CSPN" */
enum { SPAWN_OP_POOL = 1, SPAWN_OP_SPAWN = 2, SPAWN_OP_DROP = 3, SPAWN_OP_NS = 4, SPAWN_OP_SEM = 5 };

struct spawn_head {
	uint32_t magic, op;
	/* POOL: fds ride along, for slots first..first+n-1 */
	int32_t base;
	uint32_t first, n;
	/* SPAWN: the cwd fd rides along, then nfds entries follow */
	int32_t pid, pgid, sid, exit_signal;
	uint32_t umask;
	uint32_t nfds;
};
/* POOL and DROP requests end here */
#define SPAWN_HEAD_MIN offsetof(struct spawn_head, pid)

struct spawn_fd_wire {
	int32_t target;
	uint32_t slot, cloexec;
};

struct spawn_msg {
	struct spawn_head h;
	struct spawn_fd_wire fds[SPAWN_MAX_FDS];
};

struct spawn_ns_msg {
	uint32_t magic, op;
	struct cr_ns_config cfg;
};

struct spawn_sem_msg {
	uint32_t magic, op;
	struct cr_sem_set set;
};

/* Most fds one request may carry (a POOL chunk, a SPAWN's cwd). */
#define SPAWN_MAX_RECV (SPAWN_POOL_CHUNK + 1)

/* What init has been told so far, which decides what it accepts next. */
struct spawn_state {
	int pool_base;        /* -1: no pool yet */
	uint32_t pool_n;
	bool ns_done, spawned;
};

/* Init side: every check of a received request (len bytes, nfds fds with
 * it) against state st, before anything is changed: 0, or -EBADMSG
 * (malformed), -EINVAL (out of range), -EBUSY (out of order) with the
 * reason in why. Reads only len bytes of msg; no system call. */
int spawn_check(const struct spawn_state *st, const void *msg, size_t len, size_t nfds, char *why, size_t whylen);

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
