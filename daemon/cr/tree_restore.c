// SPDX-License-Identifier: GPL-2.0-or-later
/* The TREE record: check it can be rebuilt (it is hostile input), set up a
 * struct rproc per process, and hand init the pool every task will take its
 * files from. */
#include "restore.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "validate.h"

/* The index of the entry with this pid before `before`, or -1. */
static int find_before(const Ckpt__Img__Tree *t, size_t before, pid_t pid)
{
	size_t i;

	for (i = 0; i < before; i++)
		if (t->tasks[i]->pid == pid)
			return (int)i;
	return -1;
}

static int check_tree(struct restore_ctx *ctx, const Ckpt__Img__Tree *t)
{
	pid_t pid;
	const char *why = validate_tree(t, ctx->hdr->task_count, &pid);

	if (why && !pid)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "tree of %zu tasks (header: %u): %s", t->n_tasks, ctx->hdr->task_count, why);
	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "process tree: task %d: %s", pid, why);
	return 0;
}

int tree_restore(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Tree *t;
	size_t i;
	int r;

	if (!ctx->hdr || ctx->tree)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "tree record out of order");
	t = ctx->tree = image_unpack(&ctx->rd, &ckpt__img__tree__descriptor, payload, len);
	if (!t)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "tree record: %s", ctx->rd.error);
	r = check_tree(ctx, t);
	if (r < 0)
		return r;
	ctx->procs = calloc(t->n_tasks, sizeof(*ctx->procs));
	if (!ctx->procs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "process table");
	ctx->nprocs = t->n_tasks;
	for (i = 0; i < t->n_tasks; i++) {
		struct rproc *p = &ctx->procs[i];

		p->tt = t->tasks[i];
		p->parent = p->tt->ppid == 1 ? -1 : find_before(t, i, p->tt->ppid);
		p->pidfd = -1;
	}
	/* Every file is in: unused pipe ends close, the rest go to init. */
	pipe_restore_close_unused(ctx);
	r = shm_restore_seal(ctx, false);
	if (r >= 0)
		r = mm_restore_open_files(ctx);
	if (r < 0)
		return r;
	r = files_defer_channel(ctx);
	if (r < 0)
		return r;
	ctx->pool_base = MAX(ALIGN_UP(t->max_fd + 1, 64u), 256u);
	r = spawn_pool_send(ctx->req->init_ctl_fd, ctx->pool_base, ctx->pool, ctx->npool);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "handing %zu files to the container's init", ctx->npool);
	return 0;
}
