// SPDX-License-Identifier: GPL-2.0-or-later
/* Creating restored tasks at their original pids, from inside the container. */
#include "fault.h"
#include "spawn.h"
#include "log.h"
#include "macro.h"
#include "wire.h"
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define SPAWN_MAGIC 0x4e505343u   /* "CSPN" */

enum { OP_POOL = 1, OP_SPAWN = 2, OP_DROP = 3, OP_NS = 4, OP_SEM = 5 };

struct spawn_msg {
	uint32_t magic, op;
	/* OP_POOL: fds ride along, for slots first..first+n-1 */
	int32_t base;
	uint32_t first, n;
	/* OP_SPAWN: the cwd fd rides along */
	int32_t pid, pgid, sid, exit_signal;
	uint32_t umask;
	uint32_t nfds;
	struct { int32_t target; uint32_t slot, cloexec; } fds[SPAWN_MAX_FDS];
};

struct spawn_ns_msg {
	uint32_t magic, op;
	struct cr_ns_config cfg;
};

struct spawn_sem_msg {
	uint32_t magic, op;
	struct cr_sem_set set;
};

struct spawn_reply {
	uint32_t magic;
	int32_t status;            /* 0, or -errno; a pidfd rides along on success */
};

/* Init's pool: slots at pool_base .. pool_base + pool_n - 1. */
static int pool_base = -1;
static uint32_t pool_n;
/* Namespaces are set up before the first task is born into them, once. */
static bool ns_done, spawned;

/* ---- inside the new task (ckptd code, until the worker takes over) ---- */

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every fd but the sorted `keep` list (all below the pool), the pool
 * and `above` (above the pool). */
static void close_all_but(const int *keep, size_t n, int above)
{
	unsigned lo = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	if ((unsigned)pool_base > lo)
		syscall(SYS_close_range, lo, pool_base - 1, 0);
	if (above > pool_base + (int)pool_n)
		syscall(SYS_close_range, pool_base + pool_n, above - 1, 0);
	syscall(SYS_close_range, above + 1, ~0u, 0);
}

static int child_setup(const struct spawn_msg *m, int cwd, int ready)
{
	int keep[SPAWN_MAX_FDS], hi = pool_base + pool_n;
	size_t i;

	/* Above the pool, nothing is a target: park our two fds there. */
	cwd = fcntl(cwd, F_DUPFD_CLOEXEC, hi);
	ready = fcntl(ready, F_DUPFD_CLOEXEC, hi);
	if (cwd < 0 || ready < 0)
		return -errno;
	for (i = 0; i < m->nfds; i++) {
		if (dup3(pool_base + m->fds[i].slot, m->fds[i].target, m->fds[i].cloexec ? O_CLOEXEC : 0) < 0)
			return -errno;
		keep[i] = m->fds[i].target;
	}
	if (fchdir(cwd) < 0)
		return -errno;
	qsort(keep, m->nfds, sizeof(int), cmp_int);
	close_all_but(keep, m->nfds, ready);
	umask(m->umask);
	if (m->sid == m->pid && setsid() < 0)
		return -errno;
	if (m->sid != m->pid && m->pgid == m->pid && setpgid(0, 0) < 0)
		return -errno;
	return ready;
}

static void __attribute__((noreturn)) child_main(const struct spawn_msg *m, int cwd, int ready)
{
	int r = child_setup(m, cwd, ready);
	char c = 0;

	if (r < 0)
		_exit(127);   /* init sees EOF on the ready pipe */
	/* Tell init we are ready and drop the last fd that is not the task's
	 * or the pool's (the worker closes the pool). */
	(void)!write(r, &c, 1);
	close(r);
	for (;;)
		pause();   /* the worker seizes us here and replaces everything */
}

/* ---- init side ---- */

static int spawn_clone(const struct spawn_msg *m, int *ret_pidfd)
{
	pid_t tid = m->pid;
	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = m->exit_signal,
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

static int validate_spawn(const struct spawn_msg *m, size_t len, size_t nrecv)
{
	size_t i;

	if (m->nfds > SPAWN_MAX_FDS || len != offsetof(struct spawn_msg, fds) + m->nfds * sizeof(m->fds[0]) || nrecv != 1)
		return -EBADMSG;
	if (m->pid < 2 || m->pid > (1 << 22) || m->pgid < 1 || m->sid < 1 || m->umask > 0777 ||
	    m->exit_signal < 0 || m->exit_signal > 64 || pool_base < 0)
		return -EINVAL;
	for (i = 0; i < m->nfds; i++)
		if (m->fds[i].target < 0 || m->fds[i].target >= pool_base || m->fds[i].slot >= pool_n)
			return -EINVAL;
	return 0;
}

static int reply(int ctl_fd, int status, int pidfd)
{
	struct spawn_reply rep = { .magic = SPAWN_MAGIC, .status = status };

	return wire_send(ctl_fd, &rep, sizeof(rep), pidfd >= 0 ? &pidfd : NULL, pidfd >= 0);
}

static int spawn_one(const struct spawn_msg *m, int cwd, int *ret_pidfd)
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
	r = spawn_clone(m, &pidfd);
	if (r == 0)
		child_main(m, cwd, wr);
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

/* Keep the pool above every fd a task will have; raise our fd limit to fit
 * it (up to the hard limit: the tasks inherit it, and get theirs back). */
static int pool_take(const struct spawn_msg *m, int *fds, size_t nrecv)
{
	struct rlimit rl;
	size_t i;

	if (nrecv != m->n || m->n > SPAWN_POOL_CHUNK || m->first != pool_n || m->first + m->n > SPAWN_MAX_POOL ||
	    m->base < 3 || (uint64_t)m->base + m->first + m->n + 16 > SPAWN_MAX_FD_NR || (pool_base >= 0 && m->base != pool_base))
		return -EINVAL;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < (rlim_t)m->base + m->first + m->n + 16) {
		rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)m->base + SPAWN_MAX_POOL + 16);
		if (rl.rlim_cur < (rlim_t)m->base + m->first + m->n + 16)
			return -EMFILE;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	pool_base = m->base;
	for (i = 0; i < m->n; i++)
		if (dup3(fds[i], pool_base + m->first + i, O_CLOEXEC) < 0)
			return -errno;
	pool_n += m->n;
	return 0;
}

static void pool_drop(void)
{
	if (pool_base >= 0 && pool_n)
		syscall(SYS_close_range, pool_base, pool_base + pool_n - 1, 0);
	pool_base = -1;
	pool_n = 0;
}

/* The worker's config is checked again here: init must not call the
 * namespace hook with unterminated names or clocks out of range. */
static int ns_setup_one(const void *m, size_t len, size_t nrecv, const struct spawn_ns_ops *ns)
{
	struct spawn_ns_msg nm;

	if (len != sizeof(nm) || nrecv != 0 || !ns)
		return -EBADMSG;
	if (ns_done || spawned)
		return -EBUSY;
	memcpy(&nm, m, sizeof(nm));
	if (memchr(nm.cfg.nodename, 0, sizeof(nm.cfg.nodename)) == NULL ||
	    memchr(nm.cfg.domainname, 0, sizeof(nm.cfg.domainname)) == NULL ||
	    (nm.cfg.has_clocks && (nm.cfg.monotonic_ns >= CR_CLOCK_MAX_NS || nm.cfg.boottime_ns >= CR_CLOCK_MAX_NS)))
		return -EINVAL;
	ns_done = true;
	return ns->setup(&nm.cfg);
}

static int sem_create_one(const void *m, size_t len, size_t nrecv, const struct spawn_ns_ops *ns)
{
	static struct spawn_sem_msg sm;
	uint32_t i;

	if (len != sizeof(sm) || nrecv != 0 || !ns)
		return -EBADMSG;
	if (!ns_done || spawned)
		return -EBUSY;
	memcpy(&sm, m, sizeof(sm));
	if (sm.set.id < 0 || sm.set.nsems < 1 || sm.set.nsems > CR_SEM_MAX_NSEMS || sm.set.mode > 0777)
		return -EINVAL;
	for (i = 0; i < sm.set.nsems; i++)
		if (sm.set.values[i] > CR_SEM_VALUE_MAX)
			return -EINVAL;
	return ns->sem_create(&sm.set);
}

int spawn_serve_one(int ctl_fd, const struct spawn_ns_ops *ns)
{
	static struct spawn_msg m;
	int fds[SPAWN_POOL_CHUNK + 1], pidfd = -1;
	size_t nrecv = 0, i;
	ssize_t len;
	int r = -EBADMSG;

	len = wire_recv(ctl_fd, &m, sizeof(m), fds, ARRAY_SIZE(fds), &nrecv);
	if (len == 0)
		pool_drop();
	if (len == 0)
		return 1;
	if (len < 0)
		return (int)len;
	if ((size_t)len >= offsetof(struct spawn_msg, pid) && m.magic == SPAWN_MAGIC) {
		switch (m.op) {
		case OP_POOL:
			r = pool_take(&m, fds, nrecv);
			break;
		case OP_SPAWN:
			r = validate_spawn(&m, len, nrecv);
			if (r == 0)
				r = spawn_one(&m, fds[0], &pidfd);
			spawned = true;
			break;
		case OP_NS:
			r = ns_setup_one(&m, len, nrecv, ns);
			break;
		case OP_SEM:
			r = sem_create_one(&m, len, nrecv, ns);
			break;
		case OP_DROP:
			pool_drop();
			r = 0;
			break;
		}
	}
	for (i = 0; i < nrecv; i++)
		close(fds[i]);
	reply(ctl_fd, r, pidfd);
	if (pidfd >= 0)
		close(pidfd);
	return r < 0 ? r : 0;
}

/* ---- worker side ---- */

static int call(int ctl_fd, const void *m, size_t len, const int *fds, size_t nfds, int *ret_fd)
{
	struct spawn_reply rep;
	int fd = -1, r;
	size_t n = 0;
	ssize_t got;

	r = wire_send(ctl_fd, m, len, fds, nfds);
	if (r < 0)
		return r;
	/* init answers in its own time: a cancel or the deadline ends the wait */
	r = cr_wait_readable(ctl_fd);
	if (r < 0)
		return r;
	got = wire_recv(ctl_fd, &rep, sizeof(rep), &fd, 1, &n);
	if (got < 0)
		return (int)got;
	if (got != sizeof(rep) || rep.magic != SPAWN_MAGIC || (n && !ret_fd) || (rep.status < 0 && n)) {
		if (n)
			close(fd);
		return -EPROTO;
	}
	if (rep.status < 0)
		return rep.status;
	if (ret_fd)
		*ret_fd = n ? fd : -1;
	return 0;
}

int spawn_pool_send(int ctl_fd, int base, const int *fds, size_t n)
{
	static struct spawn_msg m;
	size_t done = 0;
	int r;

	do {   /* at least once: an empty pool still sets the base */
		memset(&m, 0, offsetof(struct spawn_msg, pid));
		m.magic = SPAWN_MAGIC;
		m.op = OP_POOL;
		m.base = base;
		m.first = done;
		m.n = MIN(n - done, (size_t)SPAWN_POOL_CHUNK);
		r = call(ctl_fd, &m, offsetof(struct spawn_msg, pid), fds + done, m.n, NULL);
		if (r < 0)
			return r;
		done += m.n;
	} while (done < n);
	return 0;
}

int spawn_ns_setup(int ctl_fd, const struct cr_ns_config *cfg)
{
	struct spawn_ns_msg m = { .magic = SPAWN_MAGIC, .op = OP_NS, .cfg = *cfg };

	return call(ctl_fd, &m, sizeof(m), NULL, 0, NULL);
}

int spawn_sem_create(int ctl_fd, const struct cr_sem_set *set)
{
	static struct spawn_sem_msg m;

	m.magic = SPAWN_MAGIC;
	m.op = OP_SEM;
	m.set = *set;
	return call(ctl_fd, &m, sizeof(m), NULL, 0, NULL);
}

int spawn_pool_drop(int ctl_fd)
{
	struct spawn_msg m = { .magic = SPAWN_MAGIC, .op = OP_DROP };

	return call(ctl_fd, &m, offsetof(struct spawn_msg, pid), NULL, 0, NULL);
}

int spawn_task(int ctl_fd, const struct spawn_req *req)
{
	static struct spawn_msg m;
	int pidfd = -1, r;
	size_t i;

	if (req->nfds > SPAWN_MAX_FDS)
		return -EMFILE;
	memset(&m, 0, sizeof(m));
	m.magic = SPAWN_MAGIC;
	m.op = OP_SPAWN;
	m.pid = req->pid;
	m.pgid = req->pgid;
	m.sid = req->sid;
	m.exit_signal = req->exit_signal;
	m.umask = req->umask;
	m.nfds = req->nfds;
	for (i = 0; i < req->nfds; i++) {
		m.fds[i].target = req->fds[i].target;
		m.fds[i].slot = req->fds[i].slot;
		m.fds[i].cloexec = req->fds[i].cloexec;
	}
	r = call(ctl_fd, &m, offsetof(struct spawn_msg, fds) + m.nfds * sizeof(m.fds[0]), &req->cwd_fd, 1, &pidfd);
	if (r < 0)
		return r;
	return pidfd >= 0 ? pidfd : -EPROTO;
}
