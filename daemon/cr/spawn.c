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

#include <stdarg.h>
#include <stdio.h>

_Static_assert(offsetof(struct spawn_msg, fds) == sizeof(struct spawn_head), "entries follow the head");

struct spawn_reply {
	uint32_t magic;
	int32_t status;            /* 0, or -errno; a pidfd rides along on success */
};

/* Init's pool (slots at pool_base .. pool_base + pool_n - 1) and whether
 * namespaces are set up, which happens once, before the first task is born
 * into them. */
static struct spawn_state st = { .pool_base = -1 };

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
	if ((unsigned)st.pool_base > lo)
		syscall(SYS_close_range, lo, st.pool_base - 1, 0);
	if (above > st.pool_base + (int)st.pool_n)
		syscall(SYS_close_range, st.pool_base + st.pool_n, above - 1, 0);
	syscall(SYS_close_range, above + 1, ~0u, 0);
}

static int child_setup(const struct spawn_msg *m, int cwd, int ready)
{
	int keep[SPAWN_MAX_FDS], hi = st.pool_base + st.pool_n;
	size_t i;

	/* Above the pool, nothing is a target: park our two fds there. */
	cwd = fcntl(cwd, F_DUPFD_CLOEXEC, hi);
	ready = fcntl(ready, F_DUPFD_CLOEXEC, hi);
	if (cwd < 0 || ready < 0)
		return -errno;
	for (i = 0; i < m->h.nfds; i++) {
		if (dup3(st.pool_base + m->fds[i].slot, m->fds[i].target, m->fds[i].cloexec ? O_CLOEXEC : 0) < 0)
			return -errno;
		keep[i] = m->fds[i].target;
	}
	if (fchdir(cwd) < 0)
		return -errno;
	qsort(keep, m->h.nfds, sizeof(int), cmp_int);
	close_all_but(keep, m->h.nfds, ready);
	umask(m->h.umask);
	if (m->h.sid == m->h.pid && setsid() < 0)
		return -errno;
	if (m->h.sid != m->h.pid && m->h.pgid == m->h.pid && setpgid(0, 0) < 0)
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
	pid_t tid = m->h.pid;
	int pidfd = -1;
	struct clone_args args = {
		.flags = CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)&pidfd,
		.exit_signal = m->h.exit_signal,
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

static int __attribute__((format(printf, 4, 5)))
refuse(char *why, size_t whylen, int r, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return r;
}

static int check_pool(const struct spawn_state *s, const struct spawn_head *h, size_t len, size_t nfds,
		      char *why, size_t whylen)
{
	if (len != SPAWN_HEAD_MIN || nfds != h->n || h->n > SPAWN_POOL_CHUNK)
		return refuse(why, whylen, -EBADMSG, "pool: %zu bytes, %zu fds for %u slots", len, nfds, h->n);
	if (h->first != s->pool_n || h->first + h->n > SPAWN_MAX_POOL)
		return refuse(why, whylen, -EINVAL, "pool: slots from %u, the pool has %u", h->first, s->pool_n);
	if (h->base < 3 || (uint64_t)h->base + h->first + h->n + 16 > SPAWN_MAX_FD_NR ||
	    (s->pool_base >= 0 && h->base != s->pool_base))
		return refuse(why, whylen, -EINVAL, "pool: base %d out of range", h->base);
	return 0;
}

static int check_spawn(const struct spawn_state *s, const void *msg, const struct spawn_head *h, size_t len,
		       size_t nfds, char *why, size_t whylen)
{
	struct spawn_fd_wire e;
	uint32_t i;

	if (len < sizeof(*h) || h->nfds > SPAWN_MAX_FDS || len != sizeof(*h) + h->nfds * sizeof(e) || nfds != 1)
		return refuse(why, whylen, -EBADMSG, "spawn: %zu bytes, %zu fds for %u entries", len, nfds, h->nfds);
	if (h->pid < 2 || h->pid > (1 << 22) || h->pgid < 1 || h->sid < 1 || h->umask > 0777 ||
	    h->exit_signal < 0 || h->exit_signal > 64)
		return refuse(why, whylen, -EINVAL, "spawn: pid %d, pgid %d, sid %d, umask %#o or exit signal %d out of range",
			      h->pid, h->pgid, h->sid, h->umask, h->exit_signal);
	if (s->pool_base < 0)
		return refuse(why, whylen, -EINVAL, "spawn: no pool");
	for (i = 0; i < h->nfds; i++) {
		memcpy(&e, (const char *)msg + sizeof(*h) + i * sizeof(e), sizeof(e));
		if (e.target < 0 || e.target >= s->pool_base || e.slot >= s->pool_n || e.cloexec > 1)
			return refuse(why, whylen, -EINVAL, "spawn: fd %d from slot %u (cloexec %u) out of range",
				      e.target, e.slot, e.cloexec);
	}
	return 0;
}

/* The worker's config is checked again here: init must not call the
 * namespace hook with unterminated names, clocks out of range or a bool
 * that is neither (read as bytes: any other value is not a bool). */
static int check_ns(const struct spawn_state *s, const void *msg, size_t len, size_t nfds, char *why, size_t whylen)
{
	const char *p = msg;
	const size_t cfg = offsetof(struct spawn_ns_msg, cfg);
	struct cr_ns_config c;
	uint8_t has_clocks, net_private;

	if (len != sizeof(struct spawn_ns_msg) || nfds != 0)
		return refuse(why, whylen, -EBADMSG, "ns: %zu bytes, %zu fds", len, nfds);
	if (s->ns_done || s->spawned)
		return refuse(why, whylen, -EBUSY, "ns: namespaces already set up or in use");
	memcpy(&has_clocks, p + cfg + offsetof(struct cr_ns_config, has_clocks), 1);
	memcpy(&net_private, p + cfg + offsetof(struct cr_ns_config, net_private), 1);
	if (has_clocks > 1 || net_private > 1)
		return refuse(why, whylen, -EINVAL, "ns: flags %u, %u are not booleans", has_clocks, net_private);
	memcpy(&c, p + cfg, sizeof(c));
	if (memchr(c.nodename, 0, sizeof(c.nodename)) == NULL || memchr(c.domainname, 0, sizeof(c.domainname)) == NULL)
		return refuse(why, whylen, -EINVAL, "ns: unterminated host or domain name");
	if (c.has_clocks && (c.monotonic_ns >= CR_CLOCK_MAX_NS || c.boottime_ns >= CR_CLOCK_MAX_NS))
		return refuse(why, whylen, -EINVAL, "ns: clock offsets out of range");
	return 0;
}

static int check_sem(const struct spawn_state *s, const void *msg, size_t len, size_t nfds, char *why, size_t whylen)
{
	static struct cr_sem_set set;   /* init is single-threaded; 2 KiB off its stack */
	uint32_t i;

	if (len != sizeof(struct spawn_sem_msg) || nfds != 0)
		return refuse(why, whylen, -EBADMSG, "sem: %zu bytes, %zu fds", len, nfds);
	if (!s->ns_done || s->spawned)
		return refuse(why, whylen, -EBUSY, "sem: before the namespaces or after the first task");
	memcpy(&set, (const char *)msg + offsetof(struct spawn_sem_msg, set), sizeof(set));
	if (set.id < 0 || set.nsems < 1 || set.nsems > CR_SEM_MAX_NSEMS || set.mode > 0777)
		return refuse(why, whylen, -EINVAL, "sem: id %d, %u semaphores or mode %#o out of range",
			      set.id, set.nsems, set.mode);
	for (i = 0; i < set.nsems; i++)
		if (set.values[i] > CR_SEM_VALUE_MAX)
			return refuse(why, whylen, -EINVAL, "sem: value %u of semaphore %u out of range", set.values[i], i);
	return 0;
}

int spawn_check(const struct spawn_state *s, const void *msg, size_t len, size_t nfds, char *why, size_t whylen)
{
	struct spawn_head h = { 0 };

	if (len < SPAWN_HEAD_MIN)
		return refuse(why, whylen, -EBADMSG, "%zu bytes, shorter than a request", len);
	if (nfds > SPAWN_MAX_RECV)
		return refuse(why, whylen, -EBADMSG, "%zu fds", nfds);
	memcpy(&h, msg, MIN(len, sizeof(h)));
	if (h.magic != SPAWN_MAGIC)
		return refuse(why, whylen, -EBADMSG, "bad magic %#x", h.magic);
	switch (h.op) {
	case SPAWN_OP_POOL:
		return check_pool(s, &h, len, nfds, why, whylen);
	case SPAWN_OP_SPAWN:
		return check_spawn(s, msg, &h, len, nfds, why, whylen);
	case SPAWN_OP_DROP:
		if (len != SPAWN_HEAD_MIN || nfds != 0)
			return refuse(why, whylen, -EBADMSG, "drop: %zu bytes, %zu fds", len, nfds);
		return 0;
	case SPAWN_OP_NS:
		return check_ns(s, msg, len, nfds, why, whylen);
	case SPAWN_OP_SEM:
		return check_sem(s, msg, len, nfds, why, whylen);
	}
	return refuse(why, whylen, -EBADMSG, "unknown request %u", h.op);
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
		return log_errno(r, "spawn: clone3(set_tid=%d) failed: %m", m->h.pid);
	close(TAKE_FD(wr));
	do
		n = read(rd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)   /* it died before it was ready: init reaps it */
		return log_errno(-ECHILD, "spawn: task %d failed to install its files, cwd or session", m->h.pid);
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
static int pool_take(const struct spawn_head *h, int *fds)
{
	rlim_t need = (rlim_t)h->base + h->first + h->n + 16;
	struct rlimit rl;
	size_t i;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < need) {
		rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)h->base + SPAWN_MAX_POOL + 16);
		if (rl.rlim_cur < need)
			return -EMFILE;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	st.pool_base = h->base;
	for (i = 0; i < h->n; i++)
		if (dup3(fds[i], st.pool_base + h->first + i, O_CLOEXEC) < 0)
			return -errno;
	st.pool_n += h->n;
	return 0;
}

static void pool_drop(void)
{
	if (st.pool_base >= 0 && st.pool_n)
		syscall(SYS_close_range, st.pool_base, st.pool_base + st.pool_n - 1, 0);
	st.pool_base = -1;
	st.pool_n = 0;
}

int spawn_serve_one(int ctl_fd, const struct spawn_ns_ops *ns)
{
	/* every kind of request, aligned for each */
	static union {
		struct spawn_msg spawn;
		struct spawn_ns_msg ns;
		struct spawn_sem_msg sem;
	} u;
	struct spawn_msg *m = &u.spawn;
	int fds[SPAWN_MAX_RECV], pidfd = -1;
	size_t nrecv = 0, i;
	char why[160];
	ssize_t len;
	int r;

	len = wire_recv(ctl_fd, &u, sizeof(u), fds, ARRAY_SIZE(fds), &nrecv);
	if (len == 0)
		pool_drop();
	if (len == 0)
		return 1;
	if (len < 0)
		return (int)len;
	r = spawn_check(&st, &u, len, nrecv, why, sizeof(why));
	if (r < 0)
		log_errno(r, "spawn: request refused: %s", why);
	else if ((m->h.op == SPAWN_OP_NS || m->h.op == SPAWN_OP_SEM) && !ns)
		r = -EBADMSG;
	else if (m->h.op == SPAWN_OP_POOL)
		r = pool_take(&m->h, fds);
	else if (m->h.op == SPAWN_OP_SPAWN)
		r = spawn_one(m, fds[0], &pidfd);
	else if (m->h.op == SPAWN_OP_NS) {
		st.ns_done = true;
		r = ns->setup(&u.ns.cfg);
	} else if (m->h.op == SPAWN_OP_SEM)
		r = ns->sem_create(&u.sem.set);
	else
		pool_drop();
	/* a task asked for, even one refused, closes the namespace setup */
	if ((size_t)len >= SPAWN_HEAD_MIN && m->h.magic == SPAWN_MAGIC && m->h.op == SPAWN_OP_SPAWN)
		st.spawned = true;
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
		memset(&m, 0, SPAWN_HEAD_MIN);
		m.h.magic = SPAWN_MAGIC;
		m.h.op = SPAWN_OP_POOL;
		m.h.base = base;
		m.h.first = done;
		m.h.n = MIN(n - done, (size_t)SPAWN_POOL_CHUNK);
		r = call(ctl_fd, &m, SPAWN_HEAD_MIN, fds + done, m.h.n, NULL);
		if (r < 0)
			return r;
		done += m.h.n;
	} while (done < n);
	return 0;
}

int spawn_ns_setup(int ctl_fd, const struct cr_ns_config *cfg)
{
	struct spawn_ns_msg m = { .magic = SPAWN_MAGIC, .op = SPAWN_OP_NS, .cfg = *cfg };

	return call(ctl_fd, &m, sizeof(m), NULL, 0, NULL);
}

int spawn_sem_create(int ctl_fd, const struct cr_sem_set *set)
{
	static struct spawn_sem_msg m;

	m.magic = SPAWN_MAGIC;
	m.op = SPAWN_OP_SEM;
	m.set = *set;
	return call(ctl_fd, &m, sizeof(m), NULL, 0, NULL);
}

int spawn_pool_drop(int ctl_fd)
{
	struct spawn_head m = { .magic = SPAWN_MAGIC, .op = SPAWN_OP_DROP };

	return call(ctl_fd, &m, SPAWN_HEAD_MIN, NULL, 0, NULL);
}

int spawn_task(int ctl_fd, const struct spawn_req *req)
{
	static struct spawn_msg m;
	int pidfd = -1, r;
	size_t i;

	if (req->nfds > SPAWN_MAX_FDS)
		return -EMFILE;
	memset(&m, 0, sizeof(m));
	m.h.magic = SPAWN_MAGIC;
	m.h.op = SPAWN_OP_SPAWN;
	m.h.pid = req->pid;
	m.h.pgid = req->pgid;
	m.h.sid = req->sid;
	m.h.exit_signal = req->exit_signal;
	m.h.umask = req->umask;
	m.h.nfds = req->nfds;
	for (i = 0; i < req->nfds; i++) {
		m.fds[i].target = req->fds[i].target;
		m.fds[i].slot = req->fds[i].slot;
		m.fds[i].cloexec = req->fds[i].cloexec;
	}
	r = call(ctl_fd, &m, offsetof(struct spawn_msg, fds) + m.h.nfds * sizeof(m.fds[0]), &req->cwd_fd, 1, &pidfd);
	if (r < 0)
		return r;
	return pidfd >= 0 ? pidfd : -EPROTO;
}
