// SPDX-License-Identifier: GPL-2.0-or-later
/* Checkpoint: freeze, seize, write the image (all of its metadata, checked
 * as a whole, then the pages), then detach and thaw, or kill.
 * Everything done to the container is recorded in struct ckpt_job and undone
 * in ckpt_finish(), whatever failed: the container is never left frozen. */
#include "arch.h"
#include "borrow.h"
#include "sock.h"
#include "cgroup.h"
#include "contain.h"
#include "dump.h"
#include "fault.h"
#include "ipc.h"
#include "log.h"
#include "macro.h"
#include "netcfg.h"
#include "proc.h"
#include "sem_undo.h"
#include "incr.h"
#include "snapshot.h"
#include "sleep.h"
#include "sock.h"
#include "tty.h"
#include "validate.h"
#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where the time of a checkpoint goes (its log line). */
enum { PH_FREEZE, PH_SEIZE, PH_META, PH_PAGES, PH_UNPROTECT, PH_ARM, PH_TAIL, PH_COMMIT, CKPT_PHASES };

struct ckpt_job {
	struct dump_ctx ctx;
	struct cgroup cg;
	bool frozen;
	bool held;                 /* its traffic is dropped (cr_net_ops.hold) */
	uint64_t t_start, t_frozen;
	uint64_t t_released;       /* the tasks run again (0: not yet) */
	uint64_t t_phase[CKPT_PHASES]; /* when each of ckpt_phase_names ended (log_info) */
	struct cr_ns_config ns;    /* read when frozen: its clocks stop there */
	struct ns_ipc ipc;         /* its IPC namespace's objects */
	bool *refused;             /* --check: per process, something of it was refused */
};

/* checkpoint --check: a step that failed with refusals only has had them
 * collected, and the check goes on; any other failure ends it. Without
 * --check nothing is collected and r is returned as it is. */
#define STEP(j, call) ({ size_t _before = cr_refusal_count((j)->ctx.err); int _r = (call); \
			 cr_refusal_absorbed((j)->ctx.err, _r, _before) ? 0 : _r; })

/* Each mark is the end of the phase of that name, counted from the one
 * before. */
static const char *const ckpt_phase_names[CKPT_PHASES] = {
	"freeze", "seize", "metadata", "pages", "unprotect", "arm", "tail+sync", "commit",
};

static void mark(struct ckpt_job *j, int phase)
{
	j->t_phase[phase] = cr_now_us();
}

static void log_phases(const struct ckpt_job *j)
{
	char buf[256];
	size_t n = 0;
	uint64_t prev = j->t_start;

	for (int i = 0; i < CKPT_PHASES && n < sizeof(buf); i++) {
		if (!j->t_phase[i])
			continue;
		n += snprintf(buf + n, sizeof(buf) - n, " %s %" PRIu64, ckpt_phase_names[i], j->t_phase[i] - prev);
		prev = j->t_phase[i];
	}
	log_info("checkpoint %s: us by phase:%s", j->ctx.req->name, buf);
}

static void progress(struct ckpt_job *j, const char *phase)
{
	if (j->ctx.req->progress)
		j->ctx.req->progress(j->ctx.req->progress_arg, phase, 0, 0);
}

/* What was made inside a private network would be lost: refused. Its
 * traffic is dropped from before the freeze on, so no
 * peer hears a reset or an answer from a half-saved container; peers
 * retransmit. The host's network can't be held for one container. */
static int hold_traffic(struct ckpt_job *j)
{
	const struct cr_checkpoint_req *req = j->ctx.req;
	int r;

	if (!req->net || !req->net->private_ns || !req->net_ops)
		return 0;
	r = STEP(j, req->net_ops->check(req->net_ops->arg, req->init_pid, req->net, j->ctx.err));
	if (r < 0 || !req->net->addr || req->check_only)
		return r;    /* without a veth no peer is outside; a check saves nothing */
	r = req->net_ops->hold(req->net_ops->arg, req->init_pid, true, j->ctx.err);
	if (r < 0)
		return r;
	j->held = true;
	return cr_phase(req->phase, req->phase_arg, "network-locked", j->ctx.err);
}

static int freeze(struct ckpt_job *j)
{
	int r;

	snprintf(j->cg.dir, sizeof(j->cg.dir), "%s", j->ctx.req->cgroup_dir);
	j->cg.v1 = j->ctx.req->cgroup_v1;
	/* When its sleepers went to sleep: the freeze wakes them. */
	j->ctx.sleeps = sleep_census_before(j->cg.dir, j->cg.v1);
	r = cgroup_freeze(&j->cg, 10000);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "freezing cgroup %s", j->cg.dir);
	j->frozen = true;
	j->t_frozen = cr_now_us();
	sleep_census_after(j->ctx.sleeps);
	r = cr_ns_read(j->ctx.req->init_pid, &j->ns);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "reading the UTS names and clocks of the container (init %d)",
			       j->ctx.req->init_pid);
	r = STEP(j, ns_ipc_read(j->ctx.req->init_pid, j->ctx.err, &j->ipc));
	j->ctx.ipc = &j->ipc;
	if (r < 0)
		return r;
	return cr_enter_netns(j->ctx.req->init_pid, j->ctx.err);
}

static int borrow_tasks(struct ckpt_job *j);

/* Freeze, list the tree and check it. */
static int freeze_tree(struct ckpt_job *j)
{
	int r = freeze(j);

	if (r >= 0)
		r = tree_collect(&j->ctx);
	if (r >= 0 && j->ctx.req->check_only && !(j->refused = calloc(j->ctx.nprocs + 1, sizeof(bool))))
		r = cr_fail(j->ctx.err, CR_ERR_INTERNAL, ENOMEM, "checkpoint --check table");
	if (r >= 0)
		r = STEP(j, tree_check(&j->ctx));
	return r;
}

/* Forget what freeze_tree read and let the container run again. */
static int unfreeze(struct ckpt_job *j)
{
	int r;

	tree_free(&j->ctx);
	ipc_free(&j->ipc);
	sleep_census_free(j->ctx.sleeps);
	j->ctx.sleeps = NULL;
	free(j->refused);
	j->refused = NULL;
	r = cgroup_thaw(&j->cg);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "thawing cgroup %s", j->cg.dir);
	j->frozen = false;
	return 0;
}

/* Connections wait in an accept queue as the dump would refuse them (it
 * names each): a running server accepts them in a moment. Only a network
 * of the container's own is looked at; the host's queues are not its. */
static bool queue_unsettled(struct ckpt_job *j)
{
	const struct cr_checkpoint_req *req = j->ctx.req;
	int n;

	if (!req->net || !req->net->private_ns)
		return false;
	n = sock_tcp_pending_unsettled(req->tcp_pending_reset && (!req->leave_running || req->check_only));
	if (n > 0)
		log_info("container %s: %d connection(s) wait in an accept queue with bytes, a closed side or a peer outside",
			 req->name, n);
	return n > 0;
}

/* The freeze may catch a state that passes by itself (cr_mark_transient:
 * a shell between its vfork and its child's exec). Then the container
 * runs on for a moment, longer each time, and is frozen again: the
 * workload sees only the pause. Bounded by CR_TRANSIENT_* and the
 * operation's deadline; past them the refusal stands and says so. */
static int freeze_settled(struct ckpt_job *j)
{
	const struct cr_checkpoint_req *req = j->ctx.req;
	struct cr_error *err = j->ctx.err;
	uint64_t t0 = cr_now_us(), wait_ms = CR_TRANSIENT_WAIT_MS, budget_ms = CR_TRANSIENT_MAX_MS, spent_ms;
	unsigned tries;
	int r;

	/* at most half of what is left to the operation: the rest is the image's */
	if (req->deadline_ms)
		budget_ms = MIN(budget_ms, req->deadline_ms > t0 / 1000 ? (req->deadline_ms - t0 / 1000) / 2 : 0);
	progress(j, "freeze");
	for (tries = 1;; tries++) {
		r = freeze_tree(j);
		if (!cr_error_transient(err) && !(r >= 0 && queue_unsettled(j)))
			return r;
		spent_ms = (cr_now_us() - t0) / 1000;
		if (tries >= CR_TRANSIENT_TRIES || spent_ms + wait_ms > budget_ms)
			break;
		log_info("container %s: %s; trying again in %llu ms", req->name, err->code != CR_OK ? err->msg : "a transient state",
			 (unsigned long long)wait_ms);
		cr_error_reset(err);
		r = unfreeze(j);
		if (r < 0)
			return r;
		usleep(wait_ms * 1000);
		wait_ms *= 2;
	}
	cr_error_append(err, " (still so after %u freezes in %llu ms)", tries,
			(unsigned long long)((cr_now_us() - t0) / 1000));
	return r;
}

/* Seize every thread while frozen (a trap is then pending in each), thaw
 * so the traps can be taken, and wait for each stop. */
static int seize(struct ckpt_job *j)
{
	struct dump_ctx *ctx = &j->ctx;
	size_t i, k;
	int r;

	progress(j, "seize");
	for (i = 0; i < ctx->nprocs; i++) {
		struct dump_proc *p = &ctx->procs[i];

		for (k = 0; k < p->ntids; k++) {
			r = borrow_seized(p->tids[k]);
			if (r >= 0)
				r = rtask_seize(p->tids[k], false);
			if (r < 0)
				return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: PTRACE_SEIZE", p->pid, p->tids[k]);
			p->seized[k] = true;
		}
	}
	r = cgroup_thaw(&j->cg);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "thawing cgroup %s", j->cg.dir);
	j->frozen = false;
	for (i = 0; i < ctx->nprocs; i++) {
		struct dump_proc *p = &ctx->procs[i];

		for (k = 0; k < p->ntids; k++) {
			r = rtask_wait_stop(p->tids[k]);
			if (r >= 0)
				r = rtask_save(&p->rt[k], p->tids[k]);
			if (r >= 0 && k == 0)
				r = rtask_find_insn(&p->rt[0]);
			if (r < 0)
				return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: stopping it for injection", p->pid, p->tids[k]);
			p->rt[k].insn = p->rt[0].insn;   /* one mm: one syscall instruction for all */
		}
	}
	return borrow_tasks(j);
}

/* Frozen again: every task sits in its ptrace stop. Nothing is borrowed
 * yet: a worker that dies now leaves frozen tasks that no record names,
 * which a thaw resumes as they were. */
static int borrow_tasks(struct ckpt_job *j)
{
	int r;

	if (borrow_begin(&j->cg)) {
		r = borrow_freeze();
		if (r < 0)
			return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "freezing cgroup %s", j->cg.dir);
	}
	return 0;
}

/* One process borrowed at a time, just before its injections: what is
 * about to be borrowed recorded, then its signals blocked. The record and
 * the thaw windows' PTRACE_O_EXITKILL then cover its threads alone, not
 * the whole container: the cost per process stays the same however many
 * there are. A task not borrowed yet (or given back) is the container's
 * as it was, and may run on whatever happens to the worker; but while a
 * step no recovery undoes is under way (a connection in TCP repair mode,
 * semaphores raised to measure an undo list) it is tied to the worker
 * all the same (borrow_unsafe_begin), and ckptd, told by the worker's
 * ledger, reports the container damaged. */
static int borrow_proc(struct ckpt_job *j, struct dump_proc *p)
{
	size_t k;
	int r;

	for (k = 0; k < p->ntids; k++)
		if ((r = borrow_note(&p->rt[k], p->pid)) < 0)
			return cr_fail(j->ctx.err, CR_ERR_INTERNAL, -r, "task %d: thread %d: its borrow record", p->pid,
				       p->tids[k]);
	r = borrow_flush();
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_IO, -r, "task %d: writing the record of its threads' registers", p->pid);
	for (k = 0; k < p->ntids; k++) {
		r = rtask_block(&p->rt[k]);
		if (r < 0)
			return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "task %d: thread %d: blocking its signals", p->pid, p->tids[k]);
	}
	fault_crash_worker("ckpt-borrowed");
	return 0;
}

/* Every borrowed register and mask back, the record gone, the cgroup thawed. */
static int put_back(struct ckpt_job *j)
{
	size_t i, k;
	int r = 0;

	for (i = 0; i < j->ctx.nprocs; i++)
		for (k = 0; k < j->ctx.procs[i].ntids; k++)
			if (j->ctx.procs[i].seized && j->ctx.procs[i].seized[k] && rtask_restore(&j->ctx.procs[i].rt[k]) < 0) {
				log_error("task %d: thread %d: restoring its registers failed", j->ctx.procs[i].pid,
					  j->ctx.procs[i].tids[k]);
				/* it would run on in our code once we detach */
				borrow_lost(j->ctx.procs[i].tids[k]);
				r = -EIO;
			}
	if (borrow_end() < 0)
		r = r < 0 ? r : -EIO;
	return r;
}

/* Header.sysv_sems: one allocation for the messages and their values
 * (sysv_sems[0] points to its start). */
static int header_sems(struct ckpt_job *j, Ckpt__Img__Header *h)
{
	size_t i, k, total = 0;
	Ckpt__Img__SysvSem *m;
	uint32_t *v;

	if (!j->ipc.nsems)
		return 0;
	for (i = 0; i < j->ipc.nsems; i++)
		total += j->ipc.sems[i].nsems;
	h->sysv_sems = calloc(j->ipc.nsems, sizeof(*h->sysv_sems));
	m = malloc(j->ipc.nsems * sizeof(*m) + total * sizeof(*v));
	if (!h->sysv_sems || !m) {
		free(m);
		return -ENOMEM;
	}
	v = (uint32_t *)(m + j->ipc.nsems);
	for (i = 0; i < j->ipc.nsems; i++) {
		const struct cr_sem_set *s = &j->ipc.sems[i];

		m[i] = (Ckpt__Img__SysvSem)CKPT__IMG__SYSV_SEM__INIT;
		m[i].key = s->key;
		m[i].id = s->id;
		m[i].mode = s->mode;
		m[i].uid = s->uid;
		m[i].gid = s->gid;
		m[i].n_values = s->nsems;
		m[i].values = v;
		for (k = 0; k < s->nsems; k++)
			*v++ = s->values[k];
		h->sysv_sems[i] = &m[i];
	}
	h->n_sysv_sems = j->ipc.nsems;
	return 0;
}

static int write_header(struct ckpt_job *j)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	static struct netcfg_msg net;
	static struct contain_hdr contain;
	const char *why;
	struct utsname u;
	uint64_t xf;
	uint32_t xs;
	int r;

	struct dump_proc *first = NULL;
	size_t i;

	for (i = 0; i < j->ctx.nprocs && !first; i++)
		if (!j->ctx.procs[i].zombie)
			first = &j->ctx.procs[i];
	if (!first)
		return cr_fail(j->ctx.err, CR_ERR_BAD_STATE, 0, "the container has no live process to checkpoint");
	r = mm_dump_vdso_info(&j->ctx, first->pid);
	if (r < 0)
		return r;
	if (arch_xstate_info(&xf, &xs) < 0)
		return cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "this CPU has no XSAVE");
	uname(&u);
	h.format_version = IMAGE_FORMAT_VERSION;
	h.arch = (char *)arch_name;
	h.has_pages_lazy_last = h.pages_lazy_last = true;   /* mm_dump_pages */
	h.page_size = PAGE_SZ;
	h.kernel_release = u.release;
	h.hostname = u.nodename;
	h.container = (char *)j->ctx.req->name;
	if (j->ctx.req->incremental && j->ctx.req->parent_id) {
		h.parent_id = (char *)j->ctx.req->parent_id;
		h.has_parent_digest = true;
		h.parent_digest = j->ctx.req->parent_digest;
	}
	h.has_created = true;
	h.created = time(NULL);
	h.has_xfeatures = h.has_xstate_size = true;
	h.xfeatures = xf;
	h.xstate_size = xs;
	h.has_vdso_size = h.has_vvar_size = h.has_vvar_vclock_size = h.has_vdso_hash = true;
	h.vdso_size = j->ctx.vdso_size;
	h.vvar_size = j->ctx.vvar_size;
	h.vvar_vclock_size = j->ctx.vvar_vclock_size;
	h.vdso_hash = j->ctx.vdso_hash;
	h.has_task_count = true;
	h.task_count = j->ctx.nprocs;
	h.uts_nodename = j->ns.nodename;
	h.uts_domainname = j->ns.domainname;
	h.has_clock_monotonic_ns = h.has_clock_boottime_ns = true;
	h.clock_monotonic_ns = j->ns.monotonic_ns;
	h.clock_boottime_ns = j->ns.boottime_ns;
	if (j->ctx.req->net) {
		netcfg_to_image(j->ctx.req->net, &net);
		h.net = &net.m;
	}
	if (j->ctx.req->contain)
		contain_to_header(j->ctx.req->contain, &h, &contain);
	if (j->ctx.req->limits) {
		const struct cg_limits *l = j->ctx.req->limits;

		h.has_limit_memory = l->memory != 0;
		h.limit_memory = l->memory;
		h.has_limit_pids = l->pids != 0;
		h.limit_pids = l->pids;
		h.has_limit_cpus_milli = l->cpus_milli != 0;
		h.limit_cpus_milli = l->cpus_milli;
	}
	h.n_sysv_msqs = j->ipc.nmsqs;
	h.sysv_msqs = j->ipc.msqs;
	h.n_posix_mqs = j->ipc.nmqs;
	h.posix_mqs = j->ipc.mqs;
	h.n_ipc_sysctls = j->ipc.nsysctls;
	h.ipc_sysctls = j->ipc.sysctls;
	r = header_sems(j, &h);
	if (r < 0) {
		free(h.sysv_sems);
		return cr_fail(j->ctx.err, CR_ERR_INTERNAL, -r, "the container's semaphore sets");
	}
	r = tty_dump_header(&j->ctx, &h);
	if (r < 0) {
		free(h.sysv_sems ? h.sysv_sems[0] : NULL);
		free(h.sysv_sems);
		return r;
	}
	/* what restart would refuse is refused now, before anything is killed */
	why = validate_header_ns(&h);
	if (why)
		r = cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "the container's namespaces: %s", why);
	else if ((r = dump_write_msg(&j->ctx, 0, IMG_HEADER, &h.base)) >= 0)
		r = ipc_dump_shms(&j->ctx, &j->ipc);
	free(h.sysv_sems ? h.sysv_sems[0] : NULL);
	free(h.sysv_sems);
	tty_dump_header_free(&h);
	return r < 0 ? r : 0;
}

/* First pass: every shared object (file descriptions, pipes, shared
 * memory) once, so that restore has them all before it creates a task. */
static int dump_objects(struct ckpt_job *j)
{
	size_t i;
	int r = 0;

	progress(j, "objects");
	for (i = 0; i < j->ctx.nprocs && r >= 0; i++) {
		struct dump_proc *p = &j->ctx.procs[i];
		size_t before = cr_refusal_count(j->ctx.err);

		if (p->zombie)
			continue;
		cr_error_scope(j->ctx.err, p->nspid, p->pid);
		r = STEP(j, ipc_check_undo(&j->ctx, p));
		if (r >= 0)
			r = STEP(j, files_collect(&j->ctx, p));
		if (r >= 0)
			r = STEP(j, ghost_dump_cwd(&j->ctx, p));
		if (r >= 0)
			r = STEP(j, mm_collect(&j->ctx, p));
		if (j->refused && cr_refusal_count(j->ctx.err) > before)
			j->refused[i] = true;
	}
	/* what fails from here on is no one task's */
	cr_error_scope(j->ctx.err, 0, 0);
	return r;
}

/* Second pass: each live process, parents first. */
static int dump_tasks(struct ckpt_job *j)
{
	size_t i, k;
	int r = 0;

	progress(j, "dump");
	for (i = 0; i < j->ctx.nprocs && r >= 0; i++) {
		struct dump_proc *p = &j->ctx.procs[i];
		size_t before = cr_refusal_count(j->ctx.err);

		/* --check: what was refused of it is not there to dump */
		if (p->zombie || (j->refused && j->refused[i]))
			continue;
		cr_error_scope(j->ctx.err, p->nspid, p->pid);
		r = borrow_proc(j, p);
		if (r >= 0)
			r = task_dump(&j->ctx, p);
		if (r >= 0)
			snapshot_take_uffd(&j->ctx, p);
		if (r >= 0)
			incr_take_uffd(&j->ctx, p);
		for (k = 0; k < p->ntids && r >= 0; k++)
			r = rtask_restore(&p->rt[k]);   /* injections done: back to the seized state */
		/* out of the record with the next process's first injection
		 * (borrow_run_begin): still stopped, they are what it says */
		if (r >= 0)
			r = files_dump_fds(&j->ctx, p);
		if (r >= 0)
			r = mm_dump(&j->ctx, p);
		if (cr_refusal_absorbed(j->ctx.err, r, before))
			r = 0;
	}
	cr_error_scope(j->ctx.err, 0, 0);
	/* nothing is borrowed any more (--check's refused tasks neither) */
	if (r >= 0 && put_back(j) < 0)
		r = cr_fail(j->ctx.err, CR_ERR_KERNEL, EIO, "putting the tasks' registers back");
	return r;
}

static int write_tail(struct ckpt_job *j)
{
	struct stat st;
	int r = image_write_tail(&j->ctx.w);

	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_IO, -r, "writing the image tail");
	/* The image must be on disk before the processes it saves are killed. */
	if (fstat(j->ctx.req->image_fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(j->ctx.req->image_fd) < 0)
		return cr_fail(j->ctx.err, CR_ERR_IO, errno, "syncing the image");
	return 0;
}

/* Engine messages name tasks by host pid, which is what /proc knows them by;
 * the user knows them by their pid in the container: give both. */
static void name_task(struct ckpt_job *j, char *emsg, size_t msg_len, char *reason, pid_t *task_pid,
		      pid_t *task_host_pid)
{
	char prefix[32], msg[512];
	size_t i, n;

	for (i = 0; i < j->ctx.nprocs; i++) {
		const struct dump_proc *p = &j->ctx.procs[i];

		n = snprintf(prefix, sizeof(prefix), "task %d:", p->pid);
		if (!p->nspid || strncmp(emsg, prefix, n) != 0)
			continue;
		snprintf(msg, sizeof(msg), "task %d (host pid %d):%s", p->nspid, p->pid, emsg + n);
		snprintf(emsg, msg_len, "%s", msg);
		*task_pid = p->nspid;
		*task_host_pid = p->pid;
		if (strncmp(reason, prefix, n) == 0)
			memmove(reason, reason + n + (reason[n] == ' '), strlen(reason + n) + 1);
		return;
	}
}

static void name_tasks_in_error(struct ckpt_job *j)
{
	struct cr_error *e = j->ctx.err;

	if (e->code != CR_OK)
		name_task(j, e->msg, sizeof(e->msg), e->reason, &e->task_pid, &e->task_host_pid);
	for (size_t i = 0; e->collect && i < e->collect->n; i++) {
		struct cr_refusal *f = &e->collect->v[i];

		name_task(j, f->msg, sizeof(f->msg), f->reason, &f->task_pid, &f->task_host_pid);
	}
}

/* As its tracer we see a killed thread's exit first; until we do, its
 * parent can't reap it. */
static void kill_proc(struct dump_proc *p)
{
	size_t k;
	int st;

	kill(p->pid, SIGKILL);
	/* The main thread last: it is reported only after the others are. */
	for (k = p->ntids; k-- > 0;)
		if (p->seized[k])
			while (waitpid(p->tids[k], &st, __WALL) < 0 && errno == EINTR)
				;
}

static void release_proc(struct dump_proc *p)
{
	size_t k;

	for (k = 0; k < p->ntids; k++) {
		if (!p->seized[k])
			continue;
		if (rtask_restore(&p->rt[k]) < 0)
			log_error("task %d: thread %d: restoring its registers failed", p->pid, p->tids[k]);
		/* Seized but not yet stopped (a failure while frozen): it stops
		 * at its trap once thawed; detach it then. */
		if (ptrace(PTRACE_DETACH, p->tids[k], NULL, NULL) < 0 &&
		    (errno != ESRCH || rtask_wait_stop(p->tids[k]) < 0 || ptrace(PTRACE_DETACH, p->tids[k], NULL, NULL) < 0))
			log_error("task %d: thread %d: PTRACE_DETACH: %m", p->pid, p->tids[k]);
		p->seized[k] = false;   /* released once: a background copy releases early */
	}
}

/* Undo in reverse: detach (or kill), thaw. */
static void ckpt_finish(struct ckpt_job *j, bool ok)
{
	bool kill_them = ok && !j->ctx.req->leave_running && !j->ctx.req->check_only;
	size_t i;

	if (!ok || j->ctx.req->check_only)
		name_tasks_in_error(j);
	if (!ok && !j->ctx.w.ended)
		image_write_error(&j->ctx.w, j->ctx.err->msg[0] ? j->ctx.err->msg : "checkpoint failed");
	/* registers first, while still frozen; then the record goes */
	if (borrow_active())
		(void)put_back(j);
	/* --tcp-pending=reset: the image is whole and the tasks die next */
	if (kill_them)
		sock_tcp_pending_reset(&j->ctx, j->held ? j->ctx.req->net_ops : NULL);
	/* Thaw first: a task seized while frozen takes its trap only then
	 * (the others stay in their ptrace stops). */
	if (j->frozen && cgroup_thaw(&j->cg) < 0)
		log_error("thawing %s failed", j->cg.dir);
	j->frozen = false;
	/* Connections read in repair mode: out of it before their tasks run
	 * again; closed in it (silently) once their tasks are dead. */
	if (!kill_them)
		sock_tcp_dump_end(&j->ctx, true);
	/* Children first: a killed parent must not see its children die. */
	for (i = j->ctx.nprocs; i-- > 0;) {
		struct dump_proc *p = &j->ctx.procs[i];

		if (!p->seized)
			continue;
		if (kill_them)
			kill_proc(p);
		else
			release_proc(p);
	}
	sock_tcp_dump_end(&j->ctx, false);
	if (j->frozen && cgroup_thaw(&j->cg) < 0)
		log_error("thawing %s failed", j->cg.dir);
	j->frozen = false;
	/* killed, its network namespace goes with it */
	if (j->held && !kill_them) {
		const struct cr_net_ops *ops = j->ctx.req->net_ops;
		struct cr_error e = { 0 };

		if (ops->hold(ops->arg, j->ctx.req->init_pid, false, &e) < 0)
			log_error("container %s: %s", j->ctx.req->name, e.msg);
	}
	j->held = false;
	if (!j->t_released)
		j->t_released = cr_now_us();
}

/* The page jobs, and the moment the tasks run again: after the metadata
 * for a plain checkpoint (they die at the end), before the memory for a
 * background copy (snapshot.h) — what it protected, once protected. */
static int write_pages(struct ckpt_job *j)
{
	size_t first;
	int r, e;

	r = snapshot_protect(&j->ctx, &first);
	if (r >= 0)
		r = dump_page_jobs_run(&j->ctx, 0, first);
	if (r >= 0 && first < j->ctx.njobs) {
		progress(j, "background");
		ckpt_finish(j, true);
		snapshot_watch_exits(&j->ctx);
		r = dump_page_jobs_run(&j->ctx, first, j->ctx.njobs);
	}
	/* every task's job ran before (a background copy's too): what it
	 * protected stays so until snapshot_end */
	if (r >= 0)
		r = dump_lazy_parts_run(&j->ctx);
	snapshot_unwatch_exits(&j->ctx);
	mark(j, PH_PAGES);
	/* on every path: nothing of the program may stay protected */
	e = snapshot_end(&j->ctx);
	return r < 0 ? r : e;
}

static void free_obj(uint32_t type, void *obj)
{
	free(obj);
}

/* A page buffer (free()d): PAGEBUF_LEN, aligned to it and asked to be one
 * huge page. A worker's buffers are new memory, and filling one a small
 * page at a time took 512 faults, some 13 ms of CPU on this project's
 * paravirtualised VM (an incremental image's pages all pass through
 * pagebuf); a huge page is one fault. Without transparent huge pages it
 * is small pages, as before. */
static void *page_buffer(void)
{
	void *b = aligned_alloc(PAGEBUF_LEN, PAGEBUF_LEN);

	if (b)
		(void)madvise(b, PAGEBUF_LEN, MADV_HUGEPAGE);
	return b;
}

int cr_checkpoint(const struct cr_checkpoint_req *req, struct cr_checkpoint_stats *ret_stats, struct cr_error *err)
{
	struct ckpt_job j = { .ctx = { .req = req, .err = err } };
	int r;

	j.t_start = cr_now_us();
	image_writer_init(&j.ctx.w, req->image_fd);
	cr_tune_stream(req->image_fd);
	j.ctx.files = objhash_new(free_obj);
	j.ctx.pagebuf = page_buffer();
	j.ctx.pagering[0] = page_buffer();
	j.ctx.pagering[1] = page_buffer();
	image_writer_set_compress(&j.ctx.w, req->compress && !req->check_only);
	/* A lazy restart reads a page record alone, so each is a page-MAC
	 * segment of its own; it refuses an image with a parent (lazy.c), and
	 * images rm rewrites a child that loses its parent with a writer of
	 * its own: here a segment may hold many records, and a MAC record
	 * after each small one would cost more than the pages. */
	j.ctx.w.page_seg_bound = req->parent_id ? CR_INCR_SEG_BYTES : 0;
	if (!j.ctx.files || !j.ctx.pagebuf || !j.ctx.pagering[0] || !j.ctx.pagering[1])
		r = cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "checkpoint buffers");
	else if (req->deadline_ms && (r = image_io_set_deadline(&j.ctx.w.io, req->image_fd, true, req->deadline_ms)) < 0)
		r = cr_fail(err, CR_ERR_IO, -r, "preparing the image stream");
	else if (req->key && (r = image_writer_set_key(&j.ctx.w, req->key)) < 0)
		r = cr_fail(err, CR_ERR_INTERNAL, -r, "the image's MAC");
	else
		r = hold_traffic(&j);
	if (r >= 0)
		r = freeze_settled(&j);
	mark(&j, PH_FREEZE);
	if (r >= 0)
		r = cr_phase(req->phase, req->phase_arg, "frozen", err);
	if (r >= 0)
		r = fault_inject(err, "ckpt-frozen");
	if (r >= 0)
		r = seize(&j);
	mark(&j, PH_SEIZE);
	if (r >= 0)
		r = fault_inject(err, "ckpt-seized");
	if (r >= 0)
		r = STEP(&j, write_header(&j));
	if (r >= 0)
		r = dump_objects(&j);
	if (r >= 0)
		r = STEP(&j, task_check_locks(&j.ctx));
	if (r >= 0)
		r = STEP(&j, tree_dump(&j.ctx));
	if (r >= 0)
		r = dump_tasks(&j);
	/* all of the metadata, checked as restart will check it, then the pages */
	if (r >= 0)
		r = dump_meta_write(&j.ctx);
	mark(&j, PH_META);
	if (r >= 0)
		r = write_pages(&j);
	else
		snapshot_end(&j.ctx);
	mark(&j, PH_UNPROTECT);
	/* still stopped: what is written from now on is the next image's */
	if (r >= 0 && req->incremental && !req->check_only)
		incr_arm(&j.ctx);
	mark(&j, PH_ARM);
	if (r >= 0)
		r = fault_inject(err, "ckpt-tail");
	/* a check writes into a sink: no tail, nothing to sync */
	if (r >= 0 && !req->check_only)
		r = write_tail(&j);
	mark(&j, PH_TAIL);
	if (r >= 0)
		r = cr_phase(req->phase, req->phase_arg, "dumped", err);
	if (r >= 0 && req->leave_running)
		r = cr_phase(req->phase, req->phase_arg, "before-resume", err);
	if (r >= 0)
		r = fault_inject(err, "ckpt-commit");
	if (r >= 0 && req->commit)
		r = req->commit(req->commit_arg, err);
	if (r < 0)
		sem_undo_note_failure(&j.ctx);
	ckpt_finish(&j, r >= 0);
	mark(&j, PH_COMMIT);
	if (r >= 0)
		log_phases(&j);
	/* nothing is left to undo: told, never waited at */
	if (r >= 0 && !req->leave_running)
		(void)cr_phase(req->phase, req->phase_arg, "killed", err);
	if (r >= 0 && ret_stats) {
		uint64_t t = cr_now_us();

		/* frozen: from the freeze to the tasks' release (or their death) */
		*ret_stats = (struct cr_checkpoint_stats){
			.frozen_us = (j.t_released ? j.t_released : t) - j.t_frozen, .total_us = t - j.t_start,
			.image_bytes = j.ctx.w.offset, .pages = j.ctx.pages, .tasks = j.ctx.nprocs,
		};
		snprintf(ret_stats->copy, sizeof(ret_stats->copy), "%s", snapshot_mode(&j.ctx));
		ret_stats->digest = j.ctx.w.chain;
		ret_stats->pages_raw = j.ctx.w.pages_in;
		ret_stats->pages_stored = j.ctx.w.pages_out;
		if (req->leave_running)
			ret_stats->nuffds = incr_take_fds(&j.ctx, &ret_stats->uffds);
	}
	incr_free(&j.ctx);
	snapshot_free(&j.ctx);
	image_writer_free(&j.ctx.w);
	dump_page_jobs_free(&j.ctx);
	if (j.ctx.files)
		objhash_free(j.ctx.files);
	free(j.ctx.pagebuf);
	/* after image_writer_free: its MAC thread may read them until then */
	free(j.ctx.pagering[0]);
	free(j.ctx.pagering[1]);
	free(j.refused);
	tty_dump_done(&j.ctx);
	tree_free(&j.ctx);
	sock_unix_dump_done(&j.ctx);
	sleep_census_free(j.ctx.sleeps);
	ipc_free(&j.ipc);
	return r < 0 ? r : 0;
}
