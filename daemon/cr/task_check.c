// SPDX-License-Identifier: GPL-2.0-or-later
/* What every thread must share with the container's init, because restart
 * makes each task from that init and gives it nothing of its own:
 * namespaces, cgroup, LSM label (credentials and seccomp are saved:
 * creds.c, seccomp.c). Read while the
 * container is frozen, before any task is seized. */
#include "dump.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

/* /proc/PID/ns entries, with how a difference is worded. */
static const struct { const char *name, *what; } ns_kinds[] = {
	{ "user", "its own user namespace" },
	{ "net", "its own network namespace" },
	{ "ipc", "its own IPC namespace" },
	{ "uts", "its own UTS (hostname) namespace" },
	{ "mnt", "its own mount namespace" },
	{ "cgroup", "its own cgroup namespace" },
	{ "time", "its own time namespace" },
	{ "time_for_children", "a pending time namespace for its children" },
	{ "pid", "its own pid namespace" },
	{ "pid_for_children", "a pending pid namespace for its children" },
};

#define LABEL_MAX 256
#define CGROUP_TEXT_MAX 4096

/* One thread's view of what it shares with init. An entry that can't be
 * read (a kernel without time namespaces, no LSM) keeps its errno, so
 * that equal absences compare equal. */
struct thread_view {
	struct { dev_t dev; ino_t ino; int err; } ns[ARRAY_SIZE(ns_kinds)];
	char label[LABEL_MAX];
	int label_err;
	char cgroup[CGROUP_TEXT_MAX];
	int cgroup_err;
};

struct check_base {
	struct thread_view init;
};

static void view_read(pid_t pid, pid_t tid, struct thread_view *v)
{
	char path[96];
	struct stat st;
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++) {
		snprintf(path, sizeof(path), "/proc/%d/task/%d/ns/%s", pid, tid, ns_kinds[i].name);
		if (stat(path, &st) < 0) {
			v->ns[i].err = errno;
			continue;
		}
		v->ns[i].dev = st.st_dev;
		v->ns[i].ino = st.st_ino;
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/attr/current", pid, tid);
	v->label_err = MAX(0, -proc_read_text(path, v->label, sizeof(v->label)));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/cgroup", pid, tid);
	v->cgroup_err = MAX(0, -proc_read_text(path, v->cgroup, sizeof(v->cgroup)));
}

int task_check_init(struct dump_ctx *ctx)
{
	pid_t init = ctx->req->init_pid;

	ctx->check = calloc(1, sizeof(*ctx->check));
	if (!ctx->check)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "init's namespaces");
	view_read(init, init, &ctx->check->init);
	if (ctx->check->init.cgroup_err)
		return cr_fail(ctx->err, CR_ERR_KERNEL, ctx->check->init.cgroup_err, "reading the cgroup of init %d", init);
	return 0;
}

void task_check_free(struct dump_ctx *ctx)
{
	free(ctx->check);
	ctx->check = NULL;
}

/* "task H:" or "task H: thread T (host pid X):", T as the task sees it. */
static void thread_name(const struct dump_proc *p, size_t k, char *buf, size_t len)
{
	if (k == 0)
		snprintf(buf, len, "task %d:", p->pid);
	else
		snprintf(buf, len, "task %d: thread %d (host pid %d):", p->pid, p->nstids[k], p->tids[k]);
}

static int check_status(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, const char *who)
{
	char path[96];
	_cleanup_close_ int fd = -1;
	struct proc_status st;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", p->pid, p->tids[k]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 ? -errno : proc_parse_status(fd, &st);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "%s reading its status", who);
	return 0;
}

static int check_view(struct dump_ctx *ctx, const struct thread_view *v, const char *who)
{
	const struct thread_view *init = &ctx->check->init;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(ns_kinds); i++)
		if (v->ns[i].err != init->ns[i].err || v->ns[i].dev != init->ns[i].dev || v->ns[i].ino != init->ns[i].ino)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s %s (ns/%s): nested namespaces are not supported",
				       who, ns_kinds[i].what, ns_kinds[i].name);
	if (v->cgroup_err || !streq(v->cgroup, init->cgroup))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s it left the container's cgroup: a process outside its cgroup is not supported",
			       who);
	if (v->label_err != init->label_err || !streq(v->label, init->label))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s its LSM label (attr/current) differs from the container's: not supported",
			       who);
	return 0;
}

/* Every thread of p (zombies have nothing left to compare). */
int task_check(struct dump_ctx *ctx, const struct dump_proc *p)
{
	_cleanup_free_ struct thread_view *v = malloc(sizeof(*v));
	char who[96];
	size_t k;
	int r = 0;

	if (!v)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "task %d: checks", p->pid);
	for (k = 0; k < p->ntids && r >= 0; k++) {
		thread_name(p, k, who, sizeof(who));
		r = check_status(ctx, p, k, who);
		if (r >= 0) {
			view_read(p->pid, p->tids[k], v);
			r = check_view(ctx, v, who);
		}
	}
	return r;
}

static const struct dump_proc *proc_of(const struct dump_ctx *ctx, pid_t pid)
{
	size_t i, k;

	for (i = 0; i < ctx->nprocs; i++)
		for (k = 0; k < ctx->procs[i].ntids; k++)
			if (ctx->procs[i].tids[k] == pid)
				return &ctx->procs[i];
	return NULL;
}

static bool same_lock(const struct proc_lock *a, const struct proc_lock *b)
{
	return streq(a->kind, b->kind) && streq(a->type, b->type) && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && a->ino == b->ino && a->start == b->start && a->end == b->end &&
	       (!streq(a->kind, "POSIX") || a->pid == b->pid);
}

/* Locks the fd checks can't see: one held through a description that no
 * fd holds any more (a file mapping keeps it). /proc/locks gives the pid
 * that took a POSIX or flock lock, as this process sees it: each such
 * lock of a task must be one the fds saved (one saved lock accounts for
 * one line). */
int task_check_locks(struct dump_ctx *ctx)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ bool *used = calloc(ctx->nlocks + 1, sizeof(bool));
	char *line, *save = NULL;
	size_t len = 0, i;
	int r;

	if (!used)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "lock checks");
	r = proc_read_file("/proc/locks", &buf, &len);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "reading /proc/locks");
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const struct dump_proc *p;
		struct proc_lock l;

		if (proc_parse_lock(line, &l) < 0 || l.waiter || l.pid <= 0)
			continue;
		p = proc_of(ctx, l.pid);
		if (!p)
			continue;
		for (i = 0; i < ctx->nlocks; i++)
			if (!used[i] && same_lock(&ctx->locks[i], &l))
				break;
		if (i < ctx->nlocks) {
			used[i] = true;
			continue;
		}
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: holds a file lock (%s %s on inode %02x:%02x:%lu) through a file it has no fd for: not supported",
			       p->pid, l.kind, l.type, l.dev_major, l.dev_minor, (unsigned long)l.ino);
	}
	return 0;
}
