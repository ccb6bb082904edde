// SPDX-License-Identifier: GPL-2.0-or-later
/* Recovery of borrowed registers (recover.h). */
#include "recover.h"
#include "arch.h"
#include "borrow.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include "rpc.pb-c.h"
#include "rtask.h"
#include "statefile.h"
#include "wire.h"
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A recovery that takes longer is stuck: the container is damaged. */
#define RECOVER_TIMEOUT_S 20

static int fail(char *why, size_t len, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return r;
}

bool recover_needed(int dir_fd)
{
	return faccessat(dir_fd, BORROW_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int recover_forget(int dir_fd)
{
	if (unlinkat(dir_fd, BORROW_FILE, 0) < 0 && errno != ENOENT)
		return -errno;
	return fsync(dir_fd) < 0 ? -errno : 0;
}

static int rec_read(int dir_fd, struct borrow_rec *rc)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = statefile_read(dir_fd, BORROW_FILE, BORROW_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	return borrow_parse(buf, len, rc);
}

static bool same_task(const struct borrow_rec_task *t)
{
	struct proc_stat st;
	struct proc_status ps;

	return proc_stat_pid(t->tid, &st) >= 0 && st.starttime == t->start && st.state != 'Z' && st.state != 'X' &&
	       proc_status_pid(t->tid, &ps) >= 0 && ps.tgid == t->tgid;
}

/* Its filters must not judge the munmap we inject. Bound to our life
 * from the start if it is to be thawed before its trap (wait_traps): a
 * task not yet stopped takes no PTRACE_SETOPTIONS. */
static int seize(struct borrow_rec_task *t, bool exitkill)
{
	long o = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP | (exitkill ? PTRACE_O_EXITKILL : 0);

	struct timespec ts = { 0, 20 * 1000 * 1000 };
	int i;

	for (i = 0;; i++) {
		if (ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)o) == 0 ||
		    ptrace(PTRACE_SEIZE, t->tid, NULL, (void *)(o & ~PTRACE_O_SUSPEND_SECCOMP)) == 0)
			break;
		/* a dying tracer (an earlier recovery) lets go when it is gone */
		if (errno != EPERM || i >= 100)
			return -errno;
		nanosleep(&ts, NULL);
	}
	t->seized = true;
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0)
		return -errno;
	return 0;
}

static int set_exitkill(struct borrow_rec *rc, bool on)
{
	long o = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP | (on ? PTRACE_O_EXITKILL : 0);

	for (size_t i = 0; i < rc->nt; i++)
		if (ptrace(PTRACE_SETOPTIONS, rc->t[i].tid, NULL, (void *)o) < 0 &&
		    ptrace(PTRACE_SETOPTIONS, rc->t[i].tid, NULL, (void *)(o & ~PTRACE_O_SUSPEND_SECCOMP)) < 0)
			return -errno;
	return 0;
}

/* munmap injected through one of the process's threads, in a window with
 * the cgroup thawed and every seized task bound to our life, as the
 * checkpoint's own injections are (borrow.h). */
static int unmap_scratch(struct borrow_rec *rc, const struct borrow_rec_scratch *s, const struct cgroup *cg, char *why, size_t len)
{
	const struct borrow_rec_task *t = NULL;
	unsigned long args[6] = { s->addr, s->len };
	uint64_t all = ~0ull;
	long ret = -1;
	int r, e;

	for (size_t i = 0; i < rc->nt && !t; i++)
		if (rc->t[i].tgid == s->tgid)
			t = &rc->t[i];
	if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(uint64_t), &all) < 0)
		return fail(why, len, -errno, "task %d: blocking its signals: %m", t->tid);
	r = set_exitkill(rc, true);
	if (r >= 0)
		r = cgroup_thaw(cg);
	if (r >= 0)
		r = arch_inject_syscall(t->tid, &t->regs, t->insn, __NR_munmap, args, &ret);
	e = cgroup_freeze(cg, 10000);
	if (r >= 0 && e < 0)
		r = e;
	if (r >= 0)
		r = set_exitkill(rc, false);
	if (r < 0)
		return fail(why, len, r, "task %d: removing the scratch area at %#" PRIx64 ": %s", t->tid, s->addr,
			    strerror(-r));
	if (ret != 0)
		return fail(why, len, -EIO, "task %d: munmap of the scratch area at %#" PRIx64 " returned %ld", t->tid,
			    s->addr, ret);
	return 0;
}

static int put_back(const struct borrow_rec_task *t, char *why, size_t len)
{
	struct user_regs_struct regs = t->regs;
	int r;

	/* as rtask_restore does: the task resumes where it was seized */
	arch_regs_prepare_resume(&regs, true);
	r = arch_set_regs(t->tid, &regs);
	if (r < 0)
		return fail(why, len, r, "task %d: writing its registers back: %s", t->tid, strerror(-r));
	if (ptrace(PTRACE_SETSIGMASK, t->tid, (void *)sizeof(uint64_t), &t->sigmask) < 0)
		return fail(why, len, -errno, "task %d: writing its signal mask back: %m", t->tid);
	return 0;
}

/* Every seized task in its interrupt trap. On cgroup2 the interrupt wakes
 * a frozen task into the trap. A task the v1 freezer froze stays in the
 * kernel until thawed, and takes the pending trap before it could return
 * to its own code: thawed for that moment, every task bound to our life
 * since its seize (a recovery killed then takes them with it), frozen
 * again after. */
static int wait_traps(struct borrow_rec *rc, const struct cgroup *cg, char *why, size_t len)
{
	int r = 0, e;

	if (cg->v1) {
		r = cgroup_thaw(cg);
		if (r < 0)
			return fail(why, len, r, "thawing cgroup %s for the tasks' traps: %s", cg->dir, strerror(-r));
	}
	for (size_t i = 0; i < rc->nt && r >= 0; i++) {
		r = rtask_wait_stop(rc->t[i].tid);
		if (r < 0)
			fail(why, len, r, "task %d: waiting for it to stop: %s", rc->t[i].tid, strerror(-r));
	}
	if (!cg->v1)
		return r;
	e = cgroup_freeze(cg, 10000);
	if (r >= 0 && e < 0)
		return fail(why, len, e, "freezing cgroup %s again: %s", cg->dir, strerror(-e));
	if (r >= 0 && (r = set_exitkill(rc, false)) < 0)
		return fail(why, len, r, "clearing PTRACE_O_EXITKILL: %s", strerror(-r));
	return r;
}

static int recover(struct borrow_rec *rc, int dir_fd, const struct cgroup *cg, char *why, size_t len)
{
	size_t i;
	int r;

	/* Frozen while we work: a task the dead worker left is frozen in the
	 * kernel, and stays there until it is put back. */
	r = cgroup_freeze(cg, 10000);
	if (r < 0)
		return fail(why, len, r, "freezing cgroup %s: %s", cg->dir, strerror(-r));
	/* every task checked before any is seized: on the v1 freezer a seize
	 * carries EXITKILL, and a recovery that stopped part-way would end
	 * the tasks it had seized (on cgroup2 they stay frozen) */
	for (i = 0; i < rc->nt; i++)
		if (!same_task(&rc->t[i]))
			return fail(why, len, -ESRCH, "task %d (process %d): gone, or no longer the task that was checkpointed",
				    rc->t[i].tid, rc->t[i].tgid);
	for (i = 0; i < rc->nt; i++) {
		struct borrow_rec_task *t = &rc->t[i];

		r = seize(t, cg->v1);
		/* seized, it can't be reaped and its pid reused: check again */
		if (r >= 0 && !same_task(t))
			r = -ESRCH;
		if (r < 0)
			return fail(why, len, r, "task %d: seizing it again: %s", t->tid, strerror(-r));
	}
	r = wait_traps(rc, cg, why, len);
	if (r < 0)
		return r;
	for (i = 0; i < rc->ns; i++) {
		r = unmap_scratch(rc, &rc->s[i], cg, why, len);
		if (r < 0)
			return r;
	}
	for (i = 0; i < rc->nt; i++) {
		r = put_back(&rc->t[i], why, len);
		if (r < 0)
			return r;
	}
	for (i = 0; i < rc->nt; i++) {
		if (ptrace(PTRACE_DETACH, rc->t[i].tid, NULL, NULL) < 0)
			return fail(why, len, -errno, "task %d: detaching it: %m", rc->t[i].tid);
		rc->t[i].seized = false;
	}
	/* the record first, then the thaw: nothing it names ever runs while
	 * it still says to put it back (a second recovery would do the same) */
	r = recover_forget(dir_fd);
	if (r < 0)
		return fail(why, len, r, "removing the borrow record: %s", strerror(-r));
	r = cgroup_thaw(cg);
	if (r < 0)
		return fail(why, len, r, "thawing cgroup %s: %s", cg->dir, strerror(-r));
	return 0;
}

static void on_alarm(int sig)
{
	cr_cancel(CR_CANCEL_DEADLINE);
}

int recover_borrowed(int dir_fd, const struct cgroup *cg, char *why, size_t len)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { RECOVER_TIMEOUT_S, 0 } };
	struct borrow_rec rc = { 0 };
	int r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	r = rec_read(dir_fd, &rc);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		r = fail(why, len, r, "reading the borrow record: %s", strerror(-r));
	else if (!cg->dir[0])
		r = fail(why, len, -ENOENT, "the container has no cgroup to freeze");
	else
		r = recover(&rc, dir_fd, cg, why, len);
	borrow_rec_free(&rc);
	return r;
}

int recover_borrowed_sync(int dir_fd, const struct cgroup *cg, char *why, size_t len)
{
	int p[2], st = 0;
	ssize_t n;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(why, len, -errno, "recovery: pipe: %m");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return fail(why, len, -errno, "recovery: fork: %m");
	}
	if (pid == 0) {
		char w[256] = "";
		int r;

		close(p[0]);
		r = recover_borrowed(dir_fd, cg, w, sizeof(w));
		if (r < 0 && write(p[1], w, strlen(w)) < 0)
			_exit(2);
		_exit(r < 0 ? 1 : 0);
	}
	close(p[1]);
	/* it bounds itself (RECOVER_TIMEOUT_S) */
	n = read(p[0], why, len - 1);
	close(p[0]);
	why[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (!why[0])
		snprintf(why, len, "the recovery process died (status %#x)", st);
	return -EIO;
}

int recover_worker(void *arg, int report_fd)
{
	const struct recover_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char why[256] = "";
	int r;

	r = recover_borrowed(job->dir_fd, &job->cg, why, sizeof(why));
	resp.final = true;
	if (r < 0) {
		e.code = CKPT__RPC__ERROR_CODE__ERR_INTERNAL;
		e.message = why;
		resp.error = &e;
	}
	if (wire_send_msg(report_fd, &resp.base, NULL, 0) < 0)
		return -EIO;
	return r;
}
