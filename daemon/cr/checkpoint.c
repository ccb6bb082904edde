/* Checkpoint: freeze, seize, write the image, then detach and thaw, or kill.
 * Everything done to the container is recorded in struct ckpt_job and undone
 * in ckpt_finish(), whatever failed: the container is never left frozen. */
#include "arch.h"
#include "cgroup.h"
#include "dump.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

struct ckpt_job {
	struct dump_ctx ctx;
	struct cgroup cg;
	bool frozen;
	pid_t *pids;                  /* host pids of the tasks below init */
	size_t n;
	bool *seized;
	struct rtask *rt;
	struct proc_status *st;       /* each task's status, read once while frozen */
	uint64_t t_start, t_frozen;
};

static void progress(struct ckpt_job *j, const char *phase)
{
	if (j->ctx.req->progress)
		j->ctx.req->progress(j->ctx.req->progress_arg, phase, 0, 0);
}

static int freeze(struct ckpt_job *j)
{
	int r;

	progress(j, "freeze");
	snprintf(j->cg.dir, sizeof(j->cg.dir), "%s", j->ctx.req->cgroup_dir);
	j->cg.v1 = j->ctx.req->cgroup_v1;
	r = cgroup_freeze(&j->cg, 10000);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "freezing cgroup %s", j->cg.dir);
	j->frozen = true;
	j->t_frozen = cr_now_us();
	return 0;
}

/* The tasks below init, listed while frozen so none can fork or slip away. */
static int collect(struct ckpt_job *j)
{
	pid_t init = j->ctx.req->init_pid;
	_cleanup_free_ pid_t *grand = NULL;
	size_t ng = 0;
	int r;

	r = proc_children(init, &j->pids, &j->n);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "listing the tasks of init %d", init);
	if (j->n == 0)
		return cr_fail(j->ctx.err, CR_ERR_BAD_STATE, 0, "the container has no process to checkpoint");
	if (j->n > 1)
		return cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "task %d: the container has %zu processes below init: process trees are not supported yet", j->pids[1], j->n);
	j->st = calloc(j->n, sizeof(*j->st));
	if (!j->st)
		return cr_fail(j->ctx.err, CR_ERR_INTERNAL, ENOMEM, "task table");
	r = proc_status_pid(j->pids[0], &j->st[0]);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "task %d: status", j->pids[0]);
	if (j->st[0].state == 'T' || j->st[0].state == 't' || j->st[0].tracer_pid)
		return cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "task %d: stopped or traced tasks are not supported yet", j->pids[0]);
	r = proc_children(j->pids[0], &grand, &ng);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "listing the children of %d", j->pids[0]);
	if (ng)
		return cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "task %d: child process %d: process trees are not supported yet", j->pids[0], grand[0]);
	j->seized = calloc(j->n, sizeof(bool));
	j->rt = calloc(j->n, sizeof(struct rtask));
	return j->seized && j->rt ? 0 : cr_fail(j->ctx.err, CR_ERR_INTERNAL, ENOMEM, "task table");
}

static int seize(struct ckpt_job *j)
{
	size_t i;
	int r;

	progress(j, "seize");
	for (i = 0; i < j->n; i++) {
		r = rtask_seize(j->pids[i], false);
		if (r < 0)
			return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "task %d: PTRACE_SEIZE", j->pids[i]);
		j->seized[i] = true;
	}
	/* Every task has a trap pending and can only stop in it: thaw so the
	 * traps (and our injected calls) can run. */
	r = cgroup_thaw(&j->cg);
	if (r < 0)
		return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "thawing cgroup %s", j->cg.dir);
	j->frozen = false;
	for (i = 0; i < j->n; i++) {
		r = rtask_wait_stop(j->pids[i]);
		if (r < 0)
			return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "task %d: waiting for it to stop", j->pids[i]);
		r = rtask_prepare(&j->rt[i], j->pids[i]);
		if (r >= 0)
			r = rtask_find_insn(&j->rt[i]);
		if (r < 0)
			return cr_fail(j->ctx.err, CR_ERR_KERNEL, -r, "task %d: preparing for injection", j->pids[i]);
	}
	return 0;
}

static int write_header(struct ckpt_job *j)
{
	Ckpt__Img__Header h = CKPT__IMG__HEADER__INIT;
	struct utsname u;
	uint64_t xf;
	uint32_t xs;
	int r;

	r = mm_dump_vdso_info(&j->ctx, j->pids[0]);
	if (r < 0)
		return r;
	if (arch_xstate_info(&xf, &xs) < 0)
		return cr_fail(j->ctx.err, CR_ERR_UNSUPPORTED, 0, "this CPU has no XSAVE");
	uname(&u);
	h.format_version = IMAGE_FORMAT_VERSION;
	h.arch = (char *)arch_name;
	h.page_size = PAGE_SZ;
	h.kernel_release = u.release;
	h.hostname = u.nodename;
	h.container = (char *)j->ctx.req->name;
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
	h.task_count = j->n;
	r = image_write_msg(&j->ctx.w, IMG_HEADER, &h.base);
	return r < 0 ? cr_fail(j->ctx.err, CR_ERR_IO, -r, "writing the image") : 0;
}

static int dump_tasks(struct ckpt_job *j)
{
	size_t i;
	int r = 0;

	progress(j, "dump");
	for (i = 0; i < j->n && r >= 0; i++) {
		r = task_dump(&j->ctx, &j->rt[i], &j->st[i], 1);
		if (r >= 0)
			r = rtask_restore(&j->rt[i]);   /* injections done: back to the seized state */
		if (r >= 0)
			r = files_dump(&j->ctx, j->pids[i]);
		if (r >= 0)
			r = mm_dump(&j->ctx, j->pids[i]);
	}
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
static void name_tasks_in_error(struct ckpt_job *j)
{
	struct cr_error *e = j->ctx.err;
	char prefix[32], msg[sizeof(e->msg)];
	size_t i, n;

	for (i = 0; j->st && i < j->n && e->code != CR_OK; i++) {
		const struct proc_status *st = &j->st[i];

		n = snprintf(prefix, sizeof(prefix), "task %d:", j->pids[i]);
		if (!st->nspid_n || strncmp(e->msg, prefix, n) != 0)
			continue;
		snprintf(msg, sizeof(msg), "task %d (host pid %d):%s", st->nspid[st->nspid_n - 1], j->pids[i], e->msg + n);
		memcpy(e->msg, msg, sizeof(msg));
		return;
	}
}

/* Undo in reverse: detach (or kill), thaw. */
static void ckpt_finish(struct ckpt_job *j, bool ok)
{
	bool kill_them = ok && !j->ctx.req->leave_running;
	size_t i;

	if (!ok)
		name_tasks_in_error(j);
	if (!ok && !j->ctx.w.ended)
		image_write_error(&j->ctx.w, j->ctx.err->msg[0] ? j->ctx.err->msg : "checkpoint failed");
	for (i = 0; i < j->n; i++) {
		if (!j->seized || !j->seized[i])
			continue;
		if (kill_them) {
			int st;

			kill(j->pids[i], SIGKILL);
			/* As its tracer we see the exit first; until we do, its
			 * parent (init) can't reap it. */
			while (waitpid(j->pids[i], &st, __WALL) < 0 && errno == EINTR)
				;
			continue;
		}
		if (j->rt && rtask_restore(&j->rt[i]) < 0)
			log_error("task %d: restoring its registers failed", j->pids[i]);
		if (ptrace(PTRACE_DETACH, j->pids[i], NULL, NULL) < 0)
			log_error("task %d: PTRACE_DETACH: %m", j->pids[i]);
	}
	if (j->frozen && cgroup_thaw(&j->cg) < 0)
		log_error("thawing %s failed", j->cg.dir);
	j->frozen = false;
}

static void free_obj(uint32_t type, void *obj)
{
	free(obj);
}

int cr_checkpoint(const struct cr_checkpoint_req *req, struct cr_checkpoint_stats *ret_stats, struct cr_error *err)
{
	struct ckpt_job j = { .ctx = { .req = req, .err = err } };
	int r;

	j.t_start = cr_now_us();
	image_writer_init(&j.ctx.w, req->image_fd);
	cr_tune_stream(req->image_fd);
	j.ctx.files = objhash_new(free_obj);
	j.ctx.pagebuf = malloc(PAGEBUF_LEN);
	if (!j.ctx.files || !j.ctx.pagebuf)
		r = cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "checkpoint buffers");
	else
		r = freeze(&j);
	if (r >= 0)
		r = fault_inject(err, "ckpt-frozen");
	if (r >= 0)
		r = collect(&j);
	if (r >= 0)
		r = seize(&j);
	if (r >= 0)
		r = fault_inject(err, "ckpt-seized");
	if (r >= 0)
		r = write_header(&j);
	if (r >= 0)
		r = dump_tasks(&j);
	if (r >= 0)
		r = fault_inject(err, "ckpt-tail");
	if (r >= 0)
		r = write_tail(&j);
	ckpt_finish(&j, r >= 0);
	if (r >= 0 && ret_stats) {
		uint64_t t = cr_now_us();

		*ret_stats = (struct cr_checkpoint_stats){
			.frozen_us = t - j.t_frozen, .total_us = t - j.t_start,
			.image_bytes = j.ctx.w.offset, .pages = j.ctx.pages, .tasks = j.n,
		};
	}
	image_writer_free(&j.ctx.w);
	if (j.ctx.files)
		objhash_free(j.ctx.files);
	free(j.ctx.pagebuf);
	free(j.pids);
	free(j.seized);
	free(j.rt);
	free(j.st);
	return r < 0 ? r : 0;
}
