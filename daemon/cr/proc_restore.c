// SPDX-License-Identifier: GPL-2.0-or-later
/* Creating the processes of an image at their pids. Children of init are
 * spawned by init (spawn.h); every other process is forked by its parent,
 * already restored, through an injected clone3(set_tid): so it inherits
 * the parent's memory copy-on-write, as it did, and the pool of files. */
#include "restore.h"
#include "arch.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "rbatch.h"
#include "spawn.h"
#include "tty.h"
#include "validate.h"
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static int spawn_by_init(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *m)
{
	_cleanup_free_ struct spawn_fd *sfds = calloc(m->n_fds + 1, sizeof(*sfds));
	_cleanup_close_ int cwd = -1;
	struct spawn_req req;
	size_t i;
	int r;

	if (!sfds)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "fd table");
	for (i = 0; i < m->n_fds; i++) {
		struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, m->fds[i]->file_id);

		sfds[i] = (struct spawn_fd){ .slot = o->slot, .target = m->fds[i]->fd, .cloexec = m->fds[i]->cloexec };
	}
	if (p->task->has_cwd_ghost) {
		r = ghost_restore_cwd(ctx, p->task);
		if (r < 0)
			return r;
		cwd = fcntl(ctx->pool[r], F_DUPFD_CLOEXEC, 3);
	} else {
		cwd = files_open_cwd(ctx, p->task->cwd);
		if (cwd < 0)
			return cr_fail(ctx->err, CR_ERR_IO, -cwd, "task %d: working directory %s, as the owner (uid %u)",
				       p->tt->pid, p->task->cwd, ctx->req->owner_uid);
	}
	if (cwd < 0)
		return cr_fail(ctx->err, CR_ERR_IO, errno, "task %d: working directory %s", p->tt->pid, p->task->cwd);
	req = (struct spawn_req){ .pid = p->tt->pid, .pgid = p->tt->pgid, .sid = p->tt->sid, .exit_signal = p->tt->exit_signal,
				  .umask = p->task->umask, .cwd_fd = cwd, .fds = sfds, .nfds = m->n_fds };
	r = spawn_task(ctx->req->init_ctl_fd, &req);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: creating it in the container", p->tt->pid);
	p->pidfd = r;
	return 0;
}

/* clone3 arguments and results in the parent's scratch data area. */
struct fork_area {
	struct clone_args args;
	int32_t tid;
	int32_t pidfd;
};

/* Fork child c (tree entry c->tt) from its restored parent pp and seize it;
 * it waits in the scratch page's park loop. */
static int fork_from(struct restore_ctx *ctx, struct rproc *pp, struct rproc *c)
{
	struct fork_area fa = { .tid = c->tt->pid, .pidfd = -1 };
	long addr, ret;
	int r;

	fa.args.flags = CLONE_PIDFD;
	fa.args.exit_signal = c->tt->exit_signal;
	fa.args.set_tid_size = 1;
	fa.args.set_tid = pp->scratch + PAGE_SZ + offsetof(struct fork_area, tid);
	fa.args.pidfd = pp->scratch + PAGE_SZ + offsetof(struct fork_area, pidfd);
	addr = restore_scratch_put(pp, PAGE_SZ, &fa, sizeof(fa));
	ret = addr < 0 ? addr : rsys(&pp->rt, __NR_clone3, addr, sizeof(fa.args));
	if (ret != c->tt->pid)
		return cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EEXIST, "task %d: forking it from %d", c->tt->pid, pp->tt->pid);
	/* CLONE_PIDFD put a pidfd in the parent's table: take a copy, close it there. */
	r = rtask_read(pp->host_pid, addr, &fa, sizeof(fa));
	if (r >= 0) {
		int *v = realloc(pp->stale_fds, (pp->nstale + 1) * sizeof(int));

		c->pidfd = (int)syscall(SYS_pidfd_getfd, pp->pidfd, fa.pidfd, 0);
		r = c->pidfd < 0 ? -errno : 0;
		/* closed in the parent's last batch (later siblings close
		 * their copy with the rest of their parent's fds) */
		if (v) {
			v[pp->nstale++] = fa.pidfd;
			pp->stale_fds = v;
		} else {
			rsys(&pp->rt, __NR_close, fa.pidfd);
		}
	}
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: its pidfd", c->tt->pid);
	c->host_pid = proc_pidfd_pid(c->pidfd);
	c->scratch = pp->scratch;
	c->forked = true;
	r = c->host_pid > 0 ? rtask_seize(c->host_pid, true) : -ESRCH;
	if (r >= 0)
		r = rtask_wait_stop(c->host_pid);
	if (r >= 0)
		c->seized = true;
	if (r >= 0)
		r = rtask_prepare(&c->rt, c->host_pid);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: seizing it", c->tt->pid);
	c->rt.insn = c->scratch;
	return 0;
}

/* Session or group leadership, right after fork: its children come later
 * and inherit it. Joining another group waits until all exist. */
static void queue_lead(struct rbatch *b, const Ckpt__Img__TreeTask *tt)
{
	if (tt->sid == tt->pid)
		rbatch_add(b, __NR_setsid, 0, 0, 0, 0, 0, 0);
	else if (tt->pgid == tt->pid)
		rbatch_add(b, __NR_setpgid, 0, 0, 0, 0, 0, 0);
}

/* The fork left it its parent's fds, cwd and umask: make them its own,
 * in one batch. */
static int setup_forked(struct restore_ctx *ctx, struct rproc *c, const Ckpt__Img__Fds *m)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(c);
	size_t i;
	int r = 0, cwd = -1;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	rbatch_add(b, __NR_close_range, 0, ctx->pool_base - 1, 0, 0, 0, 0);
	for (i = 0; i < m->n_fds && r >= 0; i++) {
		struct restore_obj *o = objhash_find_id(ctx->objs, OBJ_FILE, m->fds[i]->file_id);

		r = restore_batch_room(ctx, c, &c->rt, b, 0, "installing its fds");
		rbatch_add(b, __NR_dup3, restore_pool_fd(ctx, o->slot), m->fds[i]->fd, m->fds[i]->cloexec ? O_CLOEXEC : 0, 0, 0, 0);
	}
	if (r >= 0)
		r = restore_batch_room(ctx, c, &c->rt, b, PATH_MAX, "installing its fds");
	if (r >= 0 && c->task->has_cwd_ghost)
		r = cwd = ghost_restore_cwd(ctx, c->task);
	/* the task changes to it itself, in its own root, but only into a
	 * directory its owner may enter */
	if (r >= 0 && !c->task->has_cwd_ghost) {
		r = files_open_cwd(ctx, c->task->cwd);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_IO, -r, "task %d: working directory %s, as the owner (uid %u)",
				       c->tt->pid, c->task->cwd, ctx->req->owner_uid);
		close(r);
	}
	if (r < 0)
		return r;
	/* a removed cwd has no path: the ghost made again, in the pool */
	if (c->task->has_cwd_ghost)
		rbatch_add(b, __NR_fchdir, restore_pool_fd(ctx, cwd), 0, 0, 0, 0, 0);
	else
		rbatch_add(b, __NR_chdir, rbatch_data(b, c->task->cwd, strlen(c->task->cwd) + 1), 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_umask, c->task->umask, 0, 0, 0, 0, 0);
	queue_lead(b, c->tt);
	return restore_batch_run(ctx, c, &c->rt, b, "installing its fds, cwd, umask, session or group");
}

/* ---- helpers ----
 * A process may belong to a session whose leader has exited (a shell that
 * started it in the background and ended, a daemon that forked and
 * exited). Nothing can join a session: a helper takes the leader's pid,
 * makes the session, forks such processes into it, and exits before the
 * container runs again. For init's children init spawns it; for the
 * children of a child subreaper the subreaper forks it: either way its
 * exit hands them back to their parent, as they were.
 * A process group whose leader has exited is made again the same way: a
 * helper forked at the leader's pid by a live member makes the group, the
 * others join it, and the helper exits. A helper's parent ignores SIGCHLD
 * while it exits, so nothing is left of it. */

#define HELPERS_MAX 64

static int plant_scratch(struct restore_ctx *ctx, struct rproc *h)
{
	long addr = rsys(&h->rt, __NR_mmap, 0, SCRATCH_LEN, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r;

	if (addr < 0 && addr > -4096)
		return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-addr, "session helper %d: scratch page", h->tt->pid);
	r = rtask_write(h->host_pid, addr, arch_scratch_code, arch_scratch_code_len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "session helper %d: scratch page", h->tt->pid);
	h->scratch = h->rt.insn = addr;
	h->mm_done = true;
	return 0;
}

static struct rproc *helper_find(struct restore_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nhelpers; i++)
		if (ctx->helpers[i].tt->pid == pid)
			return &ctx->helpers[i];
	return NULL;
}

/* A new helper entry at pid, child of procs[parent] (-1: init). */
static struct rproc *helper_new(struct restore_ctx *ctx, pid_t pid, pid_t pgid, pid_t sid, int parent)
{
	struct rproc *h;

	if (!ctx->helpers) {
		ctx->helpers = calloc(HELPERS_MAX, sizeof(*ctx->helpers));
		ctx->helper_tt = calloc(HELPERS_MAX, sizeof(*ctx->helper_tt));
	}
	if (!ctx->helpers || !ctx->helper_tt || ctx->nhelpers == HELPERS_MAX) {
		cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "more than %d sessions or groups whose leader exited", HELPERS_MAX);
		return NULL;
	}
	h = &ctx->helpers[ctx->nhelpers];
	ckpt__img__tree_task__init(&ctx->helper_tt[ctx->nhelpers]);
	h->tt = &ctx->helper_tt[ctx->nhelpers++];
	ctx->helper_tt[ctx->nhelpers - 1] = (Ckpt__Img__TreeTask){ .base = h->tt->base, .pid = pid,
								   .ppid = parent < 0 ? 1 : ctx->procs[parent].tt->pid,
								   .pgid = pgid, .sid = sid, .exit_signal = SIGCHLD };
	h->parent = parent;
	h->pidfd = -1;
	return h;
}

static struct rproc *spawned_helper(struct restore_ctx *ctx, pid_t sid)
{
	char buf[PATH_MAX + 64];
	_cleanup_close_ int cwd = -1;
	struct spawn_req req;
	struct rproc *h = helper_new(ctx, sid, sid, sid, -1);
	int r;

	if (!h)
		return NULL;
	cwd = !cr_task_path(ctx->req->init_pid, "/", buf, sizeof(buf)) ? -1 : open(buf, O_PATH | O_DIRECTORY | O_CLOEXEC);
	req = (struct spawn_req){ .pid = sid, .pgid = sid, .sid = sid, .exit_signal = SIGCHLD, .umask = 022, .cwd_fd = cwd };
	r = cwd < 0 ? -errno : spawn_task(ctx->req->init_ctl_fd, &req);
	if (r < 0) {
		cr_fail(ctx->err, CR_ERR_KERNEL, -r, "session %d: creating a leader for it", sid);
		return NULL;
	}
	h->pidfd = r;
	if (restore_seize_spawned(ctx, h) < 0 || plant_scratch(ctx, h) < 0)
		return NULL;
	return h;
}

/* A helper forked by a restored process pp, which leads what setsid or
 * setpgid(0, 0) (nr) makes. */
static struct rproc *forked_helper(struct restore_ctx *ctx, int parent, pid_t pid, long nr)
{
	struct rproc *pp = &ctx->procs[parent];
	struct rproc *h = helper_new(ctx, pid, pid, nr == __NR_setsid ? pid : pp->tt->sid, parent);
	long ret;

	if (!h || fork_from(ctx, pp, h) < 0)
		return NULL;
	h->mm_done = true;
	ret = nr == __NR_setsid ? rsys(&h->rt, __NR_setsid, 0) : rsys(&h->rt, __NR_setpgid, 0, 0);
	if (ret != (nr == __NR_setsid ? pid : 0)) {
		cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EPROTO, "%s %d: its helper leader making it",
			nr == __NR_setsid ? "session" : "process group", pid);
		return NULL;
	}
	return h;
}

static pid_t parent_sid(const struct restore_ctx *ctx, const struct rproc *p)
{
	return p->parent < 0 ? 1 : ctx->procs[p->parent].tt->sid;
}

/* The validated tree says no process has the session's id. */
static bool needs_helper(const struct restore_ctx *ctx, const struct rproc *p)
{
	return p->tt->sid != p->tt->pid && p->tt->sid != parent_sid(ctx, p);
}

static struct rproc *session_helper(struct restore_ctx *ctx, const struct rproc *p)
{
	struct rproc *h = helper_find(ctx, p->tt->sid);
	const struct rproc *pp = p->parent < 0 ? NULL : &ctx->procs[p->parent];
	long ret;

	if (h && h->parent != p->parent) {
		cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: session %d has members under two parents", p->tt->pid, p->tt->sid);
		return NULL;
	}
	if (h)
		return h;
	if (!pp)
		return spawned_helper(ctx, p->tt->sid);
	/* only a subreaper adopts what its helper leaves */
	if (!pp->task || !pp->task->attrs || !pp->task->attrs->child_subreaper) {
		cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: in session %d whose leader exited, but its parent %d is no subreaper",
			p->tt->pid, p->tt->sid, pp->tt->pid);
		return NULL;
	}
	ret = rsys(&ctx->procs[p->parent].rt, __NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	if (ret != 0) {
		cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EPROTO, "task %d: PR_SET_CHILD_SUBREAPER", pp->tt->pid);
		return NULL;
	}
	return forked_helper(ctx, p->parent, p->tt->sid, __NR_setsid);
}

int proc_restore_group_helpers(struct restore_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nprocs; i++) {
		const Ckpt__Img__TreeTask *tt = ctx->procs[i].tt;
		int creator;

		if (tt->pgid == tt->pid || (tt->pgid == 1 && tt->sid == 1) || tree_id_used(ctx->tree, tt->pgid) ||
		    helper_find(ctx, tt->pgid))
			continue;
		creator = tree_group_creator(ctx->tree, tt->pgid);
		if (creator < 0 || ctx->procs[creator].tt->zombie || !ctx->procs[creator].seized)
			return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: process group %d has no leader nor live member", tt->pid, tt->pgid);
		if (!forked_helper(ctx, creator, tt->pgid, __NR_setpgid))
			return -EIO;
	}
	return 0;
}

enum sigchld_mode { SIGCHLD_DFL, SIGCHLD_IGN, SIGCHLD_OWN };
static int sigchld_set(struct restore_ctx *ctx, struct rproc *pp, enum sigchld_mode mode);

/* The helpers' work is done once every process exists and joined its group. */
int proc_restore_end_helpers(struct restore_ctx *ctx)
{
	size_t i;
	int r = 0;

	for (i = 0; i < ctx->nhelpers && r >= 0; i++) {
		struct rproc *h = &ctx->helpers[i];
		struct rproc *pp = h->parent < 0 ? NULL : &ctx->procs[h->parent];
		long ret;

		if (pp && (r = sigchld_set(ctx, pp, SIGCHLD_IGN)) < 0)
			break;
		ret = rsys(&h->rt, __NR_exit_group, 0);
		if (ret != -ESRCH)
			return cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EBUSY, "helper leader %d: ending it", h->tt->pid);
		h->seized = false;   /* gone; init, or its parent ignoring SIGCHLD, reaps it */
		if (pp)
			r = sigchld_set(ctx, pp, SIGCHLD_OWN);
	}
	return r;
}

int proc_restore_create(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__Fds *m)
{
	struct rproc *pp = p->parent < 0 ? NULL : &ctx->procs[p->parent];
	int r;

	if (pp && (!pp->mm_done || !pp->seized || !pp->scratch))
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: its parent %d is not restored before it", p->tt->pid, pp->tt->pid);
	if (needs_helper(ctx, p)) {
		struct rproc *h = session_helper(ctx, p);

		r = h ? fork_from(ctx, h, p) : -EIO;
		if (r < 0)
			return r;
		/* spawned by init, the helper holds ckptd's image, not a
		 * restored parent's: replaced whole */
		if (!pp)
			p->forked = false;
		r = setup_forked(ctx, p, m);
	} else if (!pp) {
		r = spawn_by_init(ctx, p, m);
	} else {
		r = fork_from(ctx, pp, p);
		if (r >= 0)
			r = setup_forked(ctx, p, m);
	}
	/* a session leader's terminal, before anything is forked into its session */
	return r < 0 ? r : tty_restore_ctty(ctx, p, m);
}

/* Let a signal queued to the task kill it: pass it on at its
 * signal-delivery stop. Returns -ESRCH once it is dead. */
static long deliver(pid_t pid, int want)
{
	int st, sig = 0, i;

	for (i = 0; i < 16; i++) {
		if (ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig) < 0)
			return -errno;
		if (waitpid(pid, &st, __WALL) < 0)
			return -errno;
		if (WIFEXITED(st) || WIFSIGNALED(st))
			return st == want ? -ESRCH : -EPROTO;
		sig = WIFSTOPPED(st) && (st >> 16) == 0 ? WSTOPSIG(st) : 0;
	}
	kill(pid, SIGKILL);   /* it would not die of it: give up, loudly */
	return -EPROTO;
}

/* Kill the forked zombie-to-be the way it died; we see it exit first (as
 * its tracer), then its parent has it to wait for. */
static int die(struct restore_ctx *ctx, struct rproc *z)
{
	int ws = z->tt->wait_status;
	/* an exit leaves its saved mask; a signal must get through */
	uint64_t mask = WIFEXITED(ws) && z->tt->has_sigmask ? z->tt->sigmask : 0;
	long ret;

	ret = ptrace(PTRACE_SETSIGMASK, z->host_pid, (void *)sizeof(mask), &mask) < 0 ? -errno : 0;
	if (ret >= 0 && WIFEXITED(ws))
		ret = rsys(&z->rt, __NR_exit_group, WEXITSTATUS(ws));
	else if (ret >= 0)
		ret = rsys(&z->rt, __NR_tgkill, z->tt->pid, z->tt->pid, WTERMSIG(ws));
	if (ret == 0)
		ret = deliver(z->host_pid, ws);
	if (ret != -ESRCH)
		return cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EBUSY, "task %d: making it a zombie", z->tt->pid);
	z->seized = false;
	return 0;
}

/* Its parent did not get the exit signal of the zombie now (it had it at
 * checkpoint, or it is among the saved pending signals): take it back. */
static int drain_signal(struct restore_ctx *ctx, struct rproc *pp, int sig)
{
	uint64_t set = 1ull << (sig - 1);
	struct timespec zero = { 0, 0 };
	long a_set, a_ts, ret;

	a_set = restore_scratch_put(pp, PAGE_SZ, &set, sizeof(set));
	a_ts = restore_scratch_put(pp, PAGE_SZ + 64, &zero, sizeof(zero));
	if (a_set < 0 || a_ts < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, EIO, "task %d: scratch", pp->tt->pid);
	do
		ret = rsys(&pp->rt, __NR_rt_sigtimedwait, a_set, 0, a_ts, 8);
	while (ret == sig);
	return ret == -EAGAIN ? 0 : cr_fail(ctx->err, CR_ERR_KERNEL, ret < 0 ? (int)-ret : EIO, "task %d: taking back signal %d", pp->tt->pid, sig);
}

/* A parent ignoring SIGCHLD (or SA_NOCLDWAIT) would have its zombie reaped
 * at once: SIG_DFL while it is made, then its own action back (OWN). A
 * helper's parent ignores it while the helper exits (IGN): reaped at once. */
static int sigchld_set(struct restore_ctx *ctx, struct rproc *pp, enum sigchld_mode mode)
{
	const Ckpt__Img__Task *t = pp->task;
	struct arch_ksigaction k = { (uint64_t)(mode == SIGCHLD_IGN ? SIG_IGN : SIG_DFL), 0, 0, 0 };
	long addr, ret;
	size_t i;

	for (i = 0; mode == SIGCHLD_OWN && i < t->n_sigactions; i++)
		if (t->sigactions[i]->sig == SIGCHLD)
			k = (struct arch_ksigaction){ t->sigactions[i]->handler, t->sigactions[i]->flags,
						      t->sigactions[i]->restorer, t->sigactions[i]->mask };
	addr = restore_scratch_put(pp, PAGE_SZ, &k, sizeof(k));
	ret = addr < 0 ? addr : rsys(&pp->rt, __NR_rt_sigaction, SIGCHLD, addr, 0, 8);
	return ret < 0 ? cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: SIGCHLD action", pp->tt->pid) : 0;
}

/* Its session or group, its name, and for a signal death the default
 * action without a core file (nor the core flag in the status). */
static int prepare_zombie(struct restore_ctx *ctx, struct rproc *z)
{
	_cleanup_free_ struct rbatch *b = restore_batch_new(z);
	static const struct arch_ksigaction dfl = { (uint64_t)SIG_DFL, 0, 0, 0 };
	int ws = z->tt->wait_status;

	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	queue_lead(b, z->tt);
	if (z->tt->pgid != z->tt->pid && z->tt->sid != z->tt->pid)
		rbatch_add(b, __NR_setpgid, 0, z->tt->pgid, 0, 0, 0, 0);
	if (z->tt->comm && strlen(z->tt->comm) < 16)
		rbatch_add(b, __NR_prctl, PR_SET_NAME, rbatch_data(b, z->tt->comm, strlen(z->tt->comm) + 1), 0, 0, 0, 0);
	if (WIFSIGNALED(ws) && WTERMSIG(ws) != SIGKILL)
		rbatch_add(b, __NR_rt_sigaction, WTERMSIG(ws), rbatch_data(b, &dfl, sizeof(dfl)), 0, 8, 0, 0);
	if (WIFSIGNALED(ws))
		rbatch_add(b, __NR_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
	return restore_batch_run(ctx, z, &z->rt, b, "its session, group, name or signal action");
}

static int make_zombie(struct restore_ctx *ctx, struct rproc *z)
{
	struct rproc *pp = &ctx->procs[z->parent];
	int r;

	r = sigchld_set(ctx, pp, SIGCHLD_DFL);
	if (r >= 0)
		r = fork_from(ctx, pp, z);
	if (r < 0)
		return r;
	r = prepare_zombie(ctx, z);
	if (r >= 0)
		r = die(ctx, z);
	close(z->pidfd);
	z->pidfd = -1;
	if (r >= 0)
		r = sigchld_set(ctx, pp, SIGCHLD_OWN);
	if (r >= 0 && z->tt->exit_signal)
		r = drain_signal(ctx, pp, z->tt->exit_signal);
	return r;
}

int proc_restore_zombies(struct restore_ctx *ctx)
{
	size_t i;
	int r = 0;

	/* Zombies of init were init's to reap: they are not in the image. */
	for (i = 0; i < ctx->nprocs && r >= 0; i++)
		if (ctx->procs[i].tt->zombie)
			r = make_zombie(ctx, &ctx->procs[i]);
	return r;
}

int proc_restore_groups(struct restore_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nprocs; i++) {
		struct rproc *p = &ctx->procs[i];
		long ret;

		if (p->tt->zombie || p->tt->pgid == p->tt->pid || p->tt->sid == p->tt->pid)
			continue;
		ret = rsys(&p->rt, __NR_setpgid, 0, p->tt->pgid);
		if (ret < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, (int)-ret, "task %d: joining process group %d", p->tt->pid, p->tt->pgid);
	}
	return 0;
}
