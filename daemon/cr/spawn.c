/* Creating restored tasks at their original pids, from inside the container. */
#include "spawn.h"
#include "log.h"
#include "macro.h"
#include "wire.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SPAWN_MAGIC 0x4e505343u   /* "CSPN" */

struct spawn_msg {
	uint32_t magic;
	int32_t pid, pgid, sid;
	uint32_t umask;
	uint32_t nfds;
	struct { int32_t target; uint32_t cloexec; } fds[SPAWN_MAX_FDS];
};

struct spawn_reply {
	uint32_t magic;
	int32_t status;            /* 0, or -errno; a pidfd rides along on success */
};

/* ---- inside the new task (ckptd code, until the worker takes over) ---- */

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd but the sorted `keep` list. */
static void close_all_but(const int *keep, size_t n)
{
	unsigned lo = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

static int child_setup(const struct spawn_msg *m, int *fds, size_t nrecv, int ready)
{
	int keep[SPAWN_MAX_FDS + 1], hi = 0;
	size_t i;

	/* Move everything we received above all targets and sources so that
	 * installing one target can't clobber a source still needed. */
	for (i = 0; i < nrecv; i++)
		hi = MAX(hi, fds[i]);
	for (i = 0; i < m->nfds; i++)
		hi = MAX(hi, m->fds[i].target);
	hi = MAX(hi, ready) + 1;
	for (i = 0; i < nrecv; i++) {
		fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, hi);
		if (fds[i] < 0)
			return -errno;
	}
	ready = fcntl(ready, F_DUPFD_CLOEXEC, hi);
	if (ready < 0)
		return -errno;
	/* fds[0] is the cwd, fds[1..] the task's files in m->fds order. */
	for (i = 0; i < m->nfds; i++) {
		if (dup3(fds[i + 1], m->fds[i].target, m->fds[i].cloexec ? O_CLOEXEC : 0) < 0)
			return -errno;
		keep[i] = m->fds[i].target;
	}
	if (fchdir(fds[0]) < 0)
		return -errno;
	keep[m->nfds] = ready;
	qsort(keep, m->nfds + 1, sizeof(int), cmp_int);
	close_all_but(keep, m->nfds + 1);
	umask(m->umask);
	if (m->sid == m->pid && setsid() < 0)
		return -errno;
	if (m->sid != m->pid && m->pgid == m->pid && setpgid(0, 0) < 0)
		return -errno;
	return ready;
}

static void __attribute__((noreturn)) child_main(const struct spawn_msg *m, int *fds, size_t nrecv, int ready)
{
	int r = child_setup(m, fds, nrecv, ready);
	char c = 0;

	if (r < 0)
		_exit(127);   /* init sees EOF on the ready pipe */
	/* Tell init we are ready and drop the last fd that is not the task's:
	 * from here the fd table is exactly the saved one. */
	(void)!write(r, &c, 1);
	close(r);
	for (;;)
		pause();   /* the worker seizes us here and replaces everything */
}

/* ---- init side ---- */

static int spawn_clone(pid_t pid, int *ret_pidfd)
{
	pid_t tid = pid;
	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = SIGCHLD,
		.set_tid = (uint64_t)(uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long r = syscall(SYS_clone3, &args, sizeof(args));

	if (r < 0)
		return -errno;
	if (r == 0)
		return 0;
	*ret_pidfd = pidfd;
	return (int)r;
}

static int validate(const struct spawn_msg *m, size_t len, size_t nrecv)
{
	size_t i;

	if (len < offsetof(struct spawn_msg, fds) || m->magic != SPAWN_MAGIC || m->nfds > SPAWN_MAX_FDS)
		return -EBADMSG;
	if (len != offsetof(struct spawn_msg, fds) + m->nfds * sizeof(m->fds[0]) || nrecv != m->nfds + 1)
		return -EBADMSG;
	if (m->pid < 2 || m->pid > (1 << 22) || m->pgid < 1 || m->sid < 1 || m->umask > 0777)
		return -EINVAL;
	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].target < 0 || m->fds[i].target > (1 << 20))
			return -EINVAL;
	return 0;
}

static int reply(int ctl_fd, int status, int pidfd)
{
	struct spawn_reply rep = { .magic = SPAWN_MAGIC, .status = status };

	return wire_send(ctl_fd, &rep, sizeof(rep), pidfd >= 0 ? &pidfd : NULL, pidfd >= 0);
}

static int spawn_one(const struct spawn_msg *m, int *fds, size_t nrecv, int *ret_pidfd)
{
	_cleanup_close_ int rd = -1, wr = -1, pidfd = -1;
	int p[2];
	char c;
	ssize_t n;
	int r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	rd = p[0];
	wr = p[1];
	r = spawn_clone(m->pid, &pidfd);
	if (r == 0)
		child_main(m, fds, nrecv, wr);
	if (r < 0)
		return log_errno(r, "spawn: clone3(set_tid=%d) failed: %m", m->pid);
	close(TAKE_FD(wr));
	do
		n = read(rd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)   /* it died before it was ready: init reaps it */
		return log_errno(-ECHILD, "spawn: task %d failed to install its files, cwd or session", m->pid);
	/* Ready, but the worker may seize it only once it dropped the ready
	 * fd too (else that fd would survive into the restored task): wait
	 * for EOF, which its close() gives. */
	do
		n = read(rd, &c, 1);
	while (n > 0 || (n < 0 && errno == EINTR));
	*ret_pidfd = TAKE_FD(pidfd);
	return 0;
}

int spawn_serve_one(int ctl_fd)
{
	static struct spawn_msg m;
	int fds[SPAWN_MAX_FDS + 1], pidfd = -1;
	size_t nrecv = 0, i;
	ssize_t len;
	int r;

	len = wire_recv(ctl_fd, &m, sizeof(m), fds, ARRAY_SIZE(fds), &nrecv);
	if (len == 0)
		return 1;
	if (len < 0)
		return (int)len;
	r = validate(&m, len, nrecv);
	if (r == 0)
		r = spawn_one(&m, fds, nrecv, &pidfd);
	for (i = 0; i < nrecv; i++)
		close(fds[i]);
	reply(ctl_fd, r, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	return r < 0 ? r : 0;
}

/* ---- worker side ---- */

int spawn_task(int ctl_fd, const struct spawn_req *req)
{
	static struct spawn_msg m;
	int fds[SPAWN_MAX_FDS + 1];
	struct spawn_reply rep;
	int pidfd = -1;
	size_t i, n = 0;
	ssize_t len;
	int r;

	if (req->nfds > SPAWN_MAX_FDS)
		return -EMFILE;
	memset(&m, 0, sizeof(m));
	m.magic = SPAWN_MAGIC;
	m.pid = req->pid;
	m.pgid = req->pgid;
	m.sid = req->sid;
	m.umask = req->umask;
	m.nfds = req->nfds;
	fds[0] = req->cwd_fd;
	for (i = 0; i < req->nfds; i++) {
		m.fds[i].target = req->fds[i].target;
		m.fds[i].cloexec = req->fds[i].cloexec;
		fds[i + 1] = req->fds[i].fd;
	}
	r = wire_send(ctl_fd, &m, offsetof(struct spawn_msg, fds) + m.nfds * sizeof(m.fds[0]), fds, req->nfds + 1);
	if (r < 0)
		return r;
	len = wire_recv(ctl_fd, &rep, sizeof(rep), &pidfd, 1, &n);
	if (len < 0)
		return (int)len;
	if (len != sizeof(rep) || rep.magic != SPAWN_MAGIC) {
		if (n)
			close(pidfd);
		return -EPROTO;
	}
	if (rep.status < 0)
		return rep.status;
	return n == 1 ? pidfd : -EPROTO;
}
