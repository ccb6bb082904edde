/* The TREE record: check it can be rebuilt (it is hostile input), set up a
 * struct rproc per process, and hand init the pool every task will take its
 * files from. */
#include "restore.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>

#define TREE_MAX_PROCS 32768
#define TREE_MAX_IDS (1u << 17)   /* pids and tids together */
#define PID_MAX (1 << 22)

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Signals whose default action ends the process (the ones a zombie can
 * have died of), without a core dump (refused at checkpoint). */
static bool kills(int sig)
{
	static const uint64_t no = 1ull << (SIGCHLD - 1) | 1ull << (SIGCONT - 1) | 1ull << (SIGURG - 1) |
				   1ull << (SIGWINCH - 1) | 1ull << (SIGSTOP - 1) | 1ull << (SIGTSTP - 1) |
				   1ull << (SIGTTIN - 1) | 1ull << (SIGTTOU - 1);

	return sig >= 1 && sig <= 64 && !(no & (1ull << (sig - 1)));
}

/* Every pid and tid in range and used once. */
static const char *check_ids_unique(const Ckpt__Img__Tree *t)
{
	_cleanup_free_ pid_t *ids = NULL;
	size_t n = 0, i, k;

	for (i = 0; i < t->n_tasks; i++) {
		n += 1 + t->tasks[i]->n_threads;
		if (n > TREE_MAX_IDS)
			return "too many threads";
	}
	ids = malloc(n * sizeof(pid_t));
	if (!ids)
		return "out of memory";
	n = 0;
	for (i = 0; i < t->n_tasks; i++) {
		ids[n++] = t->tasks[i]->pid;
		for (k = 0; k < t->tasks[i]->n_threads; k++)
			ids[n++] = t->tasks[i]->threads[k];
	}
	qsort(ids, n, sizeof(pid_t), cmp_pid);
	for (i = 0; i < n; i++)
		if (ids[i] < 2 || ids[i] > PID_MAX || (i && ids[i] == ids[i - 1]))
			return "a pid or tid out of range or used twice";
	return NULL;
}

/* Whether a process or thread of the tree has this id. */
static bool id_used(const Ckpt__Img__Tree *t, pid_t id)
{
	size_t i, k;

	for (i = 0; i < t->n_tasks; i++) {
		if (t->tasks[i]->pid == id)
			return true;
		for (k = 0; k < t->tasks[i]->n_threads; k++)
			if (t->tasks[i]->threads[k] == id)
				return true;
	}
	return false;
}

/* The index of the entry with this pid before `before`, or -1. */
static int find_before(const Ckpt__Img__Tree *t, size_t before, pid_t pid)
{
	size_t i;

	for (i = 0; i < before; i++)
		if (t->tasks[i]->pid == pid)
			return (int)i;
	return -1;
}

static const char *check_task(const Ckpt__Img__Tree *t, size_t i)
{
	const Ckpt__Img__TreeTask *e = t->tasks[i];
	int parent = e->ppid == 1 ? -1 : find_before(t, i, e->ppid);
	pid_t psid = parent < 0 ? 1 : t->tasks[parent]->sid;
	int leader;

	if (e->ppid != 1 && (parent < 0 || t->tasks[parent]->zombie))
		return "its parent is not a live process before it";
	if (e->exit_signal < 0 || e->exit_signal > 64)
		return "bad exit signal";
	if (e->zombie && (parent < 0 || e->n_threads || !e->has_wait_status || e->wait_status & ~0xffff || (e->wait_status & 0x80) ||
			  !(WIFEXITED(e->wait_status) || WIFSIGNALED(e->wait_status)) ||
			  (WIFSIGNALED(e->wait_status) && !kills(WTERMSIG(e->wait_status)))))
		return "bad zombie";
	if (e->sid == e->pid && e->pgid != e->pid)
		return "a session leader outside its own group";
	/* A child of init may be in a session whose leader exited: a helper
	 * takes the free pid (proc_restore.c). */
	bool helped = parent < 0 && e->sid != e->pid && e->sid != 1 && !id_used(t, e->sid);

	if (e->sid != e->pid && e->sid != psid && !helped)
		return "session neither its own nor its parent's";
	if (e->pgid == e->pid || (e->pgid == 1 && e->sid == 1) || (helped && e->pgid == e->sid) ||
	    (parent >= 0 && e->pgid == t->tasks[parent]->pgid))
		return NULL;
	for (leader = 0; (size_t)leader < t->n_tasks; leader++)
		if (t->tasks[leader]->pid == e->pgid)
			break;
	if ((size_t)leader == t->n_tasks || t->tasks[leader]->pgid != e->pgid || t->tasks[leader]->sid != e->sid)
		return "process group without its leader";
	return NULL;
}

static int check_tree(struct restore_ctx *ctx, const Ckpt__Img__Tree *t)
{
	const char *why = NULL;
	size_t i;

	if (t->n_tasks == 0 || t->n_tasks > TREE_MAX_PROCS || t->n_tasks != ctx->hdr->task_count)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "tree of %zu tasks (header: %u)", t->n_tasks, ctx->hdr->task_count);
	if (t->max_fd >= SPAWN_MAX_FD_NR / 2)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "fd numbers up to %u", t->max_fd);
	why = check_ids_unique(t);
	for (i = 0; i < t->n_tasks && !why; i++)
		why = check_task(t, i);
	if (why)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "process tree: task %d: %s", i ? t->tasks[i - 1]->pid : 0, why);
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
	if (r < 0)
		return r;
	ctx->pool_base = MAX(ALIGN_UP(t->max_fd + 1, 64u), 256u);
	r = spawn_pool_send(ctx->req->init_ctl_fd, ctx->pool_base, ctx->pool, ctx->npool);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "handing %zu files to the container's init", ctx->npool);
	return 0;
}
