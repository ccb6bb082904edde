/* Task creation inside a container being restored.
 *
 * The container init (pid 1, ckptd code) serves requests from the restart
 * worker on a SOCK_SEQPACKET socketpair. For each task it forks it with
 * clone3(set_tid) at its original pid; the new task installs its fds, cwd,
 * umask, session and group, then blocks; the worker seizes it and
 * transplants the address space. The task's pidfd goes back to the worker. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Init side: handle one request on ctl_fd.
 * Returns 0 when handled, 1 on EOF (worker gone), -errno on failure. */
int spawn_serve_one(int ctl_fd);

struct spawn_fd {
	int fd;          /* an fd in the caller, to be installed ... */
	int target;      /* ... at this number in the new task */
	bool cloexec;
};

struct spawn_req {
	pid_t pid;       /* pid inside the namespace */
	pid_t pgid;
	pid_t sid;
	uint32_t umask;
	int cwd_fd;      /* O_PATH dir in the caller */
	const struct spawn_fd *fds;
	size_t nfds;
};

#define SPAWN_MAX_FDS 250   /* one SCM_RIGHTS datagram (SCM_MAX_FD 253) */

/* Worker side: ask init to create a task. Returns a pidfd for it once the
 * task has its fds and sits in pause(), or -errno. */
int spawn_task(int ctl_fd, const struct spawn_req *req);
