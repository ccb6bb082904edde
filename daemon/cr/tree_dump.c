// SPDX-License-Identifier: GPL-2.0-or-later
/* The container's process tree at checkpoint: who is there (listed while
 * frozen, so nothing forks or exits meanwhile), whether restart can rebuild
 * their relations, and the TREE record. */
#include "dump.h"
#include "creds.h"
#include "log.h"
#include "macro.h"
#include <linux/kcmp.h>
#include <linux/sched.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "cr_limits.h"
#define TREE_MAX_PROCS CR_MAX_TASKS
#define TREE_MAX_THREADS 65536   /* over the whole container */

static pid_t ns_last(const pid_t *v, int n)
{
	return n > 0 ? v[n - 1] : 0;
}

/* A thread's pid inside the container: the last NSpid of its status. */
static int ns_tid(pid_t tid, pid_t *ret, char *ret_state, pid_t *ret_tracer)
{
	struct proc_status st;
	int r = proc_status_pid(tid, &st);

	if (r < 0)
		return r;
	*ret = ns_last(st.nspid, st.nspid_n);
	*ret_state = st.state;
	*ret_tracer = st.tracer_pid;
	return *ret > 0 ? 0 : -EINVAL;
}

static int collect_threads(struct dump_ctx *ctx, struct dump_proc *p, size_t *total)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t n = 0, i, main_at = SIZE_MAX;
	int r;

	r = proc_threads(p->pid, &tids, &n);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: listing its threads", p->pid);
	for (i = 0; i < n; i++)
		if (tids[i] == p->pid)
			main_at = i;
	if (main_at == SIZE_MAX)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its main thread has exited while others run: not supported", p->pid);
	*total += n;
	if (*total > TREE_MAX_THREADS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: more than %d threads in the container", p->pid, TREE_MAX_THREADS);
	/* the main thread first */
	tids[main_at] = tids[0];
	tids[0] = p->pid;
	p->nstids = calloc(n, sizeof(pid_t));
	p->rt = calloc(n, sizeof(struct rtask));
	p->seized = calloc(n, sizeof(bool));
	if (!p->nstids || !p->rt || !p->seized)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: thread table", p->pid);
	for (i = 0; i < n; i++) {
		char state;
		pid_t tracer;

		r = ns_tid(tids[i], &p->nstids[i], &state, &tracer);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: status", p->pid, tids[i]);
		if (tracer || state == 't')
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d is traced by host pid %d (a debugger or tracer): not supported",
				       p->pid, p->nstids[i], tracer);
		/* a group stop stops every thread; one half done is not a state */
		if ((state == 'T') != (p->st.state == 'T'))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d is %s while its main thread is %s: a group stop in progress",
				       p->pid, p->nstids[i], state == 'T' ? "stopped" : "not", p->st.state == 'T' ? "stopped" : "not");
	}
	p->ntids = n;
	p->tids = TAKE_PTR(tids);
	return 0;
}

static int collect_one(struct dump_ctx *ctx, struct dump_proc *p, pid_t ppid, size_t *total)
{
	const struct proc_stat *ps = &p->ps;
	uint32_t bad;
	size_t i;
	int r;

	r = proc_status_pid(p->pid, &p->st);
	if (r >= 0)
		r = proc_stat_pid(p->pid, &p->ps);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading its status", p->pid);
	if (creds_status_inside(ctx->req->contain, &p->st, &bad) < 0)
		return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, "its credentials",
				   "task (host pid %d): id %u is not mapped in the container's user namespace", p->pid, bad);
	p->nspid = ns_last(p->st.nspid, p->st.nspid_n);
	p->nspgid = ns_last(p->st.nspgid, p->st.nspgid_n);
	p->nssid = ns_last(p->st.nssid, p->st.nssid_n);
	p->exit_signal = ps->exit_signal;
	p->parent = -1;
	p->nsppid = 1;
	for (i = 0; ctx->procs + i < p; i++)
		if (ctx->procs[i].pid == ppid) {
			p->parent = i;
			p->nsppid = ctx->procs[i].nspid;
		}
	if (ppid != ctx->req->init_pid && p->parent < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, EIO, "task %d: parent %d is not in the container", p->pid, ppid);
	if (p->st.state == 'Z' && p->st.threads > 1)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its main thread has exited while %d others run: not supported",
			       p->pid, p->st.threads - 1);
	if (p->st.state == 'Z') {
		p->zombie = true;
		p->wait_status = ps->exit_code;
		memcpy(p->comm, ps->comm, sizeof(p->comm) - 1);
		return 0;
	}
	if (p->st.tracer_pid || p->st.state == 't')
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: traced by host pid %d (a debugger or tracer): not supported",
			       p->pid, p->st.tracer_pid);
	return collect_threads(ctx, p, total);
}

int tree_collect(struct dump_ctx *ctx)
{
	pid_t init = ctx->req->init_pid;
	_cleanup_free_ pid_t *pids = NULL, *ppids = NULL;
	size_t n = 0, i, out = 0, threads = 0;
	int r;

	r = proc_descendants(init, &pids, &ppids, &n);
	if (r >= 0)
		r = proc_status_pid(init, &ctx->init_st);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "listing the tasks of init %d", init);
	r = task_check_init(ctx);
	if (r < 0)
		return r;
	if (n == 0)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "the container has no process to checkpoint");
	if (n > TREE_MAX_PROCS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "the container has %zu processes, at most %d are supported", n, TREE_MAX_PROCS);
	ctx->procs = calloc(n, sizeof(*ctx->procs));
	if (!ctx->procs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task table");
	for (i = 0; i < n; i++) {
		struct dump_proc *p = &ctx->procs[out];
		struct proc_status st;

		/* A zombie child of init is init's to reap, now or right
		 * after restart: it is not part of the saved state. */
		if (ppids[i] == init && proc_status_pid(pids[i], &st) >= 0 && st.state == 'Z')
			continue;
		p->pid = pids[i];
		ctx->nprocs = ++out;
		r = collect_one(ctx, p, ppids[i], &threads);
		if (r < 0)
			return r;
	}
	if (out == 0)
		return cr_fail(ctx->err, CR_ERR_BAD_STATE, 0, "the container has no process to checkpoint");
	return 0;
}

static bool kcmp_same(pid_t a, pid_t b, int type)
{
	return syscall(SYS_kcmp, a, b, type, 0, 0) == 0;
}

/* What fork, clone and setsid/setpgid can rebuild, in the order restart
 * does it: a child gets its parent's session unless it leads its own. */
static bool id_used(const struct dump_ctx *ctx, pid_t id)
{
	size_t i, k;

	for (i = 0; i < ctx->nprocs; i++)
		for (k = 0; k < MAX(ctx->procs[i].ntids, (size_t)1); k++)
			if ((ctx->procs[i].ntids ? ctx->procs[i].nstids[k] : ctx->procs[i].nspid) == id)
				return true;
	return false;
}

/* A session whose leader is gone (no process has its id): restart makes
 * a helper leader at that id, a child of the process's parent, which
 * forks the process into the session and exits (the parent, init or a
 * child subreaper, adopts it back). */
static bool session_helped(const struct dump_ctx *ctx, const struct dump_proc *p)
{
	pid_t parent_sid = p->parent < 0 ? 1 : ctx->procs[p->parent].nssid;

	return p->nssid != p->nspid && p->nssid != parent_sid && !id_used(ctx, p->nssid);
}

/* A group whose leader is gone: restart forks a helper at its id from its
 * first live member, which makes the group for the others to join. */
static const struct dump_proc *group_creator(const struct dump_ctx *ctx, pid_t pgid)
{
	for (size_t i = 0; i < ctx->nprocs; i++)
		if (!ctx->procs[i].zombie && ctx->procs[i].nspgid == pgid)
			return &ctx->procs[i];
	return NULL;
}

static int check_ids(struct dump_ctx *ctx, const struct dump_proc *p)
{
	pid_t parent_sid = p->parent < 0 ? 1 : ctx->procs[p->parent].nssid;
	bool helped = session_helped(ctx, p);
	const struct dump_proc *c;
	size_t i;

	for (i = 0; helped && i < ctx->nprocs; i++)
		if (ctx->procs[i].nssid == p->nssid && ctx->procs[i].parent != p->parent && session_helped(ctx, &ctx->procs[i]))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: session %d, whose leader exited, has members under two parents (%d and %d): not supported",
				       p->pid, p->nssid, p->nsppid, ctx->procs[i].nsppid);
	if (helped && (p->nspgid == p->nspid || p->nspgid == p->nssid))
		return 0;
	if (p->nssid != p->nspid && p->nssid != parent_sid && !helped)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its session %d is neither its own nor its parent's (%d): not supported yet",
			       p->pid, p->nssid, parent_sid);
	/* its own group, init's, or its parent's (which fork gives it) */
	if (p->nspgid == p->nspid || (p->nspgid == 1 && p->nssid == 1) ||
	    (p->parent >= 0 && p->nspgid == ctx->procs[p->parent].nspgid))
		return 0;
	if (!id_used(ctx, p->nspgid)) {
		c = group_creator(ctx, p->nspgid);
		if (c && c->nssid == p->nssid)
			return 0;
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its process group %d, whose leader exited, has no live process to make it again: not supported",
			       p->pid, p->nspgid);
	}
	for (i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *l = &ctx->procs[i];

		if (l->nspid != p->nspgid)
			continue;
		if (l->nspgid != l->nspid || l->nssid != p->nssid)
			break;
		return 0;
	}
	return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its process group %d has no leader in it any more: not supported yet",
		       p->pid, p->nspgid);
}

int tree_check_reaper(struct dump_ctx *ctx, const struct dump_proc *p, bool subreaper)
{
	for (size_t i = 0; i < ctx->nprocs && !subreaper; i++) {
		const struct dump_proc *c = &ctx->procs[i];

		if (c->parent >= 0 && &ctx->procs[c->parent] == p && session_helped(ctx, c))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: its child %d is in session %d, whose leader exited, and it is no child subreaper (it left that session after the fork?): not supported",
				       p->pid, c->nspid, c->nssid);
	}
	return 0;
}

/* Threads share their process's fd table and cwd; restart can't give a
 * thread its own. */
static int check_threads_sharing(struct dump_ctx *ctx, const struct dump_proc *p)
{
	size_t k;

	for (k = 1; k < p->ntids; k++) {
		if (!kcmp_same(p->pid, p->tids[k], KCMP_FILES))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d has its own fd table: not supported", p->pid, p->nstids[k]);
		if (!kcmp_same(p->pid, p->tids[k], KCMP_FS))
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d has its own cwd/umask (unshare(CLONE_FS)): not supported", p->pid, p->nstids[k]);
	}
	return 0;
}

static int kcmp_type;

/* kcmp orders kernel objects: sort by it, equal ones end up side by side. */
static int cmp_kcmp(const void *a, const void *b)
{
	const struct dump_proc *x = *(struct dump_proc *const *)a, *y = *(struct dump_proc *const *)b;
	long r = syscall(SYS_kcmp, x->pid, y->pid, kcmp_type, 0, 0);

	return r == 1 ? -1 : r == 2 ? 1 : 0;
}

/* Thread tid of process pid is in a clone that waits for its child to
 * exec or exit: vfork, or clone or clone3 with CLONE_VFORK. A blocked
 * thread's /proc/TID/syscall names its call and arguments; clone3's flags
 * are the first word of the struct its first argument points to. */
static bool thread_in_vfork(pid_t pid, pid_t tid)
{
	_cleanup_free_ char *buf = NULL;
	unsigned long long a0 = 0;
	uint64_t flags = 0;
	char path[64];
	size_t len;
	long nr;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	if (proc_read_file(path, &buf, &len) < 0 || sscanf(buf, "%ld %llx", &nr, &a0) != 2)
		return false;    /* "running", or no call: not waiting in one */
#ifdef SYS_vfork
	if (nr == SYS_vfork)
		return true;
#endif
	if (nr == SYS_clone)
		return a0 & CLONE_VFORK;
	if (nr == SYS_clone3) {
		struct iovec local = { &flags, sizeof(flags) }, remote = { (void *)(uintptr_t)a0, sizeof(flags) };

		return process_vm_readv(pid, &local, 1, &remote, 1, 0) == sizeof(flags) && (flags & CLONE_VFORK);
	}
	return false;
}

/* c is the child of a vfork still in progress: its parent shares its
 * memory and one of the parent's threads waits in that vfork. */
static bool vfork_child(const struct dump_ctx *ctx, const struct dump_proc *c)
{
	const struct dump_proc *p = c->parent >= 0 ? &ctx->procs[c->parent] : NULL;

	if (!p || p->zombie || !kcmp_same(p->pid, c->pid, KCMP_VM))
		return false;
	for (size_t k = 0; k < p->ntids; k++)
		if (thread_in_vfork(p->pid, p->tids[k]))
			return true;
	return false;
}

/* Processes that share memory: restart would make them separate copies,
 * which is refused, unless all of them but one are children of a vfork in
 * progress (between a shell's vfork and its child's exec): that passes by
 * itself, so the refusal is marked transient and the checkpoint tries
 * again a moment later. v[s..e) share one mm. */
static int check_vm_group(struct dump_ctx *ctx, struct dump_proc **v, size_t s, size_t e)
{
	size_t i, vforked = 0;
	int r;

	for (i = s; i < e; i++)
		vforked += vfork_child(ctx, v[i]);
	if (vforked + 1 < e - s)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: shares memory with task %d (CLONE_VM without vfork): not supported",
			       v[s + 1]->pid, v[s]->nspid);
	for (i = s; i < e && !vfork_child(ctx, v[i]); i++)
		;
	r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: shares memory with its parent %d in a vfork: its exec or exit has not come yet",
		    v[i]->pid, v[i]->nsppid);
	cr_mark_transient(ctx->err);
	return r;
}

/* Processes that share memory, an fd table or cwd/umask without being one
 * process's threads (vfork in progress, CLONE_VM, CLONE_FILES, CLONE_FS):
 * restart would make them separate copies. */
static int check_process_sharing(struct dump_ctx *ctx)
{
	static const struct { int type; const char *what; } kinds[] = {
		{ KCMP_FILES, "an fd table (CLONE_FILES)" },
		{ KCMP_FS, "cwd and umask (CLONE_FS)" },
	};
	_cleanup_free_ struct dump_proc **v = calloc(ctx->nprocs + 1, sizeof(*v));
	size_t n = 0, i, k, s;

	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task table");
	for (i = 0; i < ctx->nprocs; i++)
		if (!ctx->procs[i].zombie)
			v[n++] = &ctx->procs[i];
	for (k = 0; k < ARRAY_SIZE(kinds); k++) {
		kcmp_type = kinds[k].type;
		qsort(v, n, sizeof(*v), cmp_kcmp);
		for (i = 1; i < n; i++)
			if (kcmp_same(v[i - 1]->pid, v[i]->pid, kinds[k].type))
				return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: shares %s with task %d: not supported",
					       v[i]->pid, kinds[k].what, v[i - 1]->nspid);
	}
	/* memory last: a vfork child shares nothing else, and only its
	 * refusal may be tried again */
	kcmp_type = KCMP_VM;
	qsort(v, n, sizeof(*v), cmp_kcmp);
	for (s = 0; s < n; s = i) {
		for (i = s + 1; i < n && kcmp_same(v[s]->pid, v[i]->pid, KCMP_VM); i++)
			;
		if (i - s > 1)
			return check_vm_group(ctx, v, s, i);
	}
	return 0;
}

/* Every process of the container's cgroup must be in the tree (nothing
 * entered it from outside, with setns): else it would run on during the
 * dump, unseen. Zombies are not listed in cgroup.procs. */
static int check_cgroup_members(struct dump_ctx *ctx)
{
	char path[4200], *buf = NULL, *line, *save = NULL;
	size_t len = 0, i;
	int r, n;

	n = snprintf(path, sizeof(path), "%s/cgroup.procs", ctx->req->cgroup_dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENAMETOOLONG, "cgroup path");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "reading %s", path);
	for (line = strtok_r(buf, "\n", &save); line && r >= 0; line = strtok_r(NULL, "\n", &save)) {
		pid_t pid = atoi(line);
		bool known = pid == ctx->req->init_pid;

		for (i = 0; i < ctx->nprocs && !known; i++)
			known = ctx->procs[i].pid == pid;
		if (!known)
			r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: in the container's cgroup but not below its init (entered from outside?): not supported", pid);
	}
	free(buf);
	return r;
}

int tree_check(struct dump_ctx *ctx)
{
	size_t i;
	size_t before = cr_refusal_count(ctx->err);
	int r = check_cgroup_members(ctx);

	if (r < 0 && !cr_refusal_absorbed(ctx->err, r, before))
		return r;
	r = 0;
	for (i = 0; i < ctx->nprocs && r >= 0; i++) {
		const struct dump_proc *p = &ctx->procs[i];

		before = cr_refusal_count(ctx->err);
		if (p->zombie && (p->wait_status & 0x80))
			r = cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: a zombie that dumped core: not supported", p->pid);
		else
			r = check_ids(ctx, p);
		if (r >= 0 && !p->zombie)
			r = check_threads_sharing(ctx, p);
		if (r >= 0 && !p->zombie)
			r = task_check(ctx, p);
		/* checkpoint --check: on to the next task */
		if (cr_refusal_absorbed(ctx->err, r, before))
			r = 0;
	}
	if (r < 0)
		return r;
	before = cr_refusal_count(ctx->err);
	r = check_process_sharing(ctx);
	return cr_refusal_absorbed(ctx->err, r, before) ? 0 : r;
}

int tree_dump(struct dump_ctx *ctx)
{
	Ckpt__Img__Tree tree = CKPT__IMG__TREE__INIT;
	_cleanup_free_ Ckpt__Img__TreeTask *ents = calloc(ctx->nprocs, sizeof(*ents));
	_cleanup_free_ Ckpt__Img__TreeTask **ptrs = calloc(ctx->nprocs, sizeof(*ptrs));
	size_t i;

	if (!ents || !ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "tree record");
	for (i = 0; i < ctx->nprocs; i++) {
		const struct dump_proc *p = &ctx->procs[i];
		Ckpt__Img__TreeTask *t = &ents[i];

		ckpt__img__tree_task__init(t);
		t->pid = p->nspid;
		t->ppid = p->nsppid;
		t->pgid = p->nspgid;
		t->sid = p->nssid;
		t->exit_signal = p->exit_signal;
		if (p->zombie) {
			t->has_zombie = t->has_wait_status = true;
			t->zombie = true;
			t->wait_status = p->wait_status;
			t->comm = (char *)p->comm;
			t->has_sigmask = true;
			t->sigmask = p->st.sigblk;
		} else {
			t->n_threads = p->ntids - 1;
			t->threads = p->nstids + 1;
			t->has_stopped = t->stopped = p->st.state == 'T';
		}
		ptrs[i] = t;
	}
	tree.tasks = ptrs;
	tree.n_tasks = ctx->nprocs;
	tree.max_fd = ctx->max_fd;
	return dump_write_msg(ctx, 0, IMG_TREE, &tree.base);
}

void tree_free(struct dump_ctx *ctx)
{
	size_t i;

	for (i = 0; i < ctx->nprocs; i++) {
		struct dump_proc *p = &ctx->procs[i];

		free(p->tids);
		free(p->nstids);
		free(p->rt);
		free(p->seized);
		proc_vmas_free(p->vmas, p->nvmas);
		for (size_t k = 0; k < p->nvma_ents; k++)
			free(p->vma_ents[k].anon_name);
		free(p->vma_ents);
		free(p->rseq);
		free(p->vma_ptrs);
		for (size_t k = 0; p->fds && k < p->nfds; k++) {
			free(p->fds[k].posix_locks);   /* one block with the locks */
			free(p->fds[k].fown);
		}
		free(p->fds);
	}
	free(ctx->procs);
	free(ctx->locks);
	ctx->locks = NULL;
	task_check_free(ctx);
	ctx->procs = NULL;
	ctx->nprocs = 0;
}
