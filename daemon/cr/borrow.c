// SPDX-License-Identifier: GPL-2.0-or-later
/* The borrow record and the frozen cgroup around it (borrow.h). */
#include "borrow.h"
#include "fault.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <time.h>

struct borrowed_task {
	pid_t tid, tgid;
	uint64_t start;
	uint64_t sigmask, insn;
	bool blocked;
	long opts;                    /* its ptrace options but EXITKILL */
	struct user_regs_struct regs;
};

struct borrowed_scratch {
	pid_t tgid;
	uint64_t addr, len;
};

/* A task the checkpoint seized. own: it holds what is ours with no record
 * to put it back (prepared with nothing borrowed, or lost), so it carries
 * PTRACE_O_EXITKILL of its own and keeps it when an unsafe window ends. */
struct seized_task {
	pid_t tid;
	bool own;
};

static struct {
	struct borrow_store store;
	bool has_store;
	bool active;
	bool frozen;
	bool written;                 /* a record is on disk */
	bool dirty;                   /* ... older than this one */
	bool running;                 /* thawed for an injected call */
	unsigned unsafe;              /* borrow_unsafe_begin nesting */
	enum borrow_step step;        /* ... the outermost window's step */
	struct cgroup cg;
	struct borrowed_task *tasks;
	size_t ntasks, cap;
	struct borrowed_scratch *scratch;
	size_t nscratch, scap;
	pid_t *held;                  /* bystanders (hold_bystanders) */
	size_t nheld, hcap;
	struct seized_task *seized;   /* borrow_seized */
	size_t nseized, zcap;
	/* what keeping it frozen cost: thaw windows, time in thaw and freeze */
	unsigned windows, writes;
	uint64_t thaw_us, freeze_us, write_us;
} B;

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000ull + ts.tv_nsec / 1000;
}

static const struct {
	const char *word, *what;
} steps[BORROW_STEP_COUNT] = {
	[BORROW_STEP_TCP_REPAIR] = { "tcp-repair", "a TCP connection in repair mode" },
	[BORROW_STEP_SEM_UNDO] = { "sem-undo", "SysV semaphores raised to measure an undo list" },
	[BORROW_STEP_UNKNOWN] = { "unknown", "a step this ckptd does not know (recorded by another version)" },
};

const char *borrow_step_word(enum borrow_step s)
{
	return (unsigned)s < BORROW_STEP_COUNT ? steps[s].word : NULL;
}

const char *borrow_step_what(enum borrow_step s)
{
	return (unsigned)s < BORROW_STEP_COUNT ? steps[s].what : NULL;
}

enum borrow_step borrow_step_parse(const char *word)
{
	for (unsigned i = 1; i < BORROW_STEP_COUNT; i++)
		if (streq(steps[i].word, word))
			return (enum borrow_step)i;
	return BORROW_STEP_NONE;
}

void borrow_set_store(const struct borrow_store *s)
{
	B.store = *s;
	B.has_store = true;
}

bool borrow_active(void)
{
	return B.active;
}

bool borrow_begin(const struct cgroup *cg)
{
	if (!B.has_store || !cg->dir[0])
		return false;
	B.cg = *cg;
	B.active = true;
	return true;
}

/* Room for one more held task, made before it is seized: a task seized
 * and then not recorded would stay traced with no one to let it go. */
static int held_room(void)
{
	return GROW(B.held, B.hcap, B.nheld, 8);
}

/* Each thaw and freeze around an injected call would wait for every task
 * of the cgroup the checkpoint does not hold (the container's init) to
 * run out of the freezer's trap and back into it: a scheduling delay each
 * time on a busy machine. Held in an interrupt trap while anything is
 * borrowed, such a task counts as frozen (cgroup2; the v1 freezer freezes
 * it where it stops) and no thaw wakes it. Nothing of it is borrowed or
 * recorded: a worker that dies lets it go, frozen with the rest. The
 * checkpoint's own tasks refuse a second tracer. Best effort: a task not
 * held only makes the freeze wait for it. Called thawed. */
static int hold_bystanders(void)
{
	char path[PATH_MAX + 32];
	_cleanup_free_ char *buf = NULL;
	size_t len, i;
	char *p, *end;
	int r;

	snprintf(path, sizeof(path), "%s/%s", B.cg.dir, B.cg.v1 ? "tasks" : "cgroup.threads");
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	for (p = buf; *p; p = end + 1) {
		long v = strtol(p, &end, 10);

		if (end == p || *end != '\n' || v <= 0 || v > INT32_MAX)
			return -EINVAL;
		r = held_room();
		if (r < 0)
			return r;
		if (ptrace(PTRACE_SEIZE, (pid_t)v, NULL, (void *)(long)PTRACE_O_TRACESYSGOOD) < 0)
			continue;
		B.held[B.nheld++] = (pid_t)v;
		if (ptrace(PTRACE_INTERRUPT, (pid_t)v, NULL, NULL) < 0) {
			/* not stopped: let go by its trap at the end (release_bystanders) */
			return -errno;
		}
	}
	for (i = 0; i < B.nheld;) {
		r = rtask_wait_stop(B.held[i]);
		if (r == -ESRCH || r == -ECHILD) {
			B.held[i] = B.held[--B.nheld];   /* gone */
			continue;
		}
		if (r < 0)
			return r;
		i++;
	}
	return 0;
}

/* Detached while frozen, a bystander sits in the freezer's trap until the
 * thaw. One not stopped yet (a failure before its trap) takes the trap
 * once thawed: detached then. */
static void release_bystanders(bool thawed)
{
	size_t i, n = 0;

	for (i = 0; i < B.nheld; i++) {
		if (ptrace(PTRACE_DETACH, B.held[i], NULL, NULL) == 0 || errno != ESRCH)
			continue;
		if (thawed && rtask_wait_stop(B.held[i]) >= 0 && ptrace(PTRACE_DETACH, B.held[i], NULL, NULL) == 0)
			continue;
		B.held[n++] = B.held[i];
	}
	B.nheld = n;
}

int borrow_freeze(void)
{
	int r;

	if (!B.active || B.frozen)
		return 0;
	r = hold_bystanders();
	if (r < 0)
		log_info("borrowed tasks: the cgroup's other tasks are not all held (%s): each freeze waits for them",
			 strerror(-r));
	if (r < 0 && cr_cancel_errno() < 0)
		return cr_cancel_errno();
	r = cgroup_freeze(&B.cg, 10000);
	if (r < 0)
		return r;
	B.frozen = true;
	return 0;
}

int borrow_end(void)
{
	int r = 0;

	if (!B.active)
		return 0;
	B.ntasks = B.nscratch = 0;
	B.running = false;
	r = borrow_flush();
	/* The record gone first: a task recovery would put back must never
	 * have run in between. Never left frozen, though: a record that
	 * can't be removed is removed by ckptd when we answer. */
	release_bystanders(false);
	if (B.frozen) {
		int e = cgroup_thaw(&B.cg);

		r = r < 0 ? r : e;
		B.frozen = false;
	}
	release_bystanders(true);
	if (B.nheld)
		log_error("borrowed tasks: %zu task(s) of %s not let go (the worker's exit does)", B.nheld, B.cg.dir);
	B.nheld = 0;
	log_info("borrowed tasks: %u thaw windows, %" PRIu64 " us thawing, %" PRIu64 " us freezing, %u record writes, %" PRIu64
		 " us writing", B.windows, B.thaw_us, B.freeze_us, B.writes, B.write_us);
	B.windows = B.writes = 0;
	B.thaw_us = B.freeze_us = B.write_us = 0;
	B.active = false;
	return r;
}

static struct borrowed_task *find_task(pid_t tid)
{
	for (size_t i = 0; i < B.ntasks; i++)
		if (B.tasks[i].tid == tid)
			return &B.tasks[i];
	return NULL;
}

static struct seized_task *find_seized(pid_t tid)
{
	for (size_t i = 0; i < B.nseized; i++)
		if (B.seized[i].tid == tid)
			return &B.seized[i];
	return NULL;
}

static void set_own(pid_t tid, bool own)
{
	struct seized_task *z = find_seized(tid);

	if (z)
		z->own = own;
}

int borrow_seized(pid_t tid)
{
	if (find_seized(tid))
		return 0;
	if (GROW(B.seized, B.zcap, B.nseized, 16) < 0)
		return -ENOMEM;
	B.seized[B.nseized++] = (struct seized_task){ .tid = tid };
	return 0;
}

int borrow_note(const struct rtask *t, pid_t tgid)
{
	struct borrowed_task *bt;
	struct proc_stat st;
	int r;

	if (!B.active)
		return 0;
	r = proc_stat_pid(t->pid, &st);
	if (r < 0)
		return r;
	bt = find_task(t->pid);
	if (!bt) {
		if (B.ntasks >= BORROW_MAX_TASKS)
			return -E2BIG;
		if (B.ntasks == B.cap) {
			size_t cap = B.cap ? 2 * B.cap : 16;
			void *n = realloc(B.tasks, cap * sizeof(*B.tasks));

			if (!n)
				return -ENOMEM;
			B.tasks = n;
			B.cap = cap;
		}
		bt = &B.tasks[B.ntasks++];
	}
	*bt = (struct borrowed_task){ .tid = t->pid, .tgid = tgid, .start = st.starttime, .sigmask = t->sigmask,
				      .insn = t->insn, .opts = PTRACE_O_TRACESYSGOOD, .regs = t->regs };
	B.dirty = true;
	if ((B.unsafe || B.running) &&
	    ptrace(PTRACE_SETOPTIONS, bt->tid, NULL, (void *)(bt->opts | PTRACE_O_EXITKILL)) < 0)
		return -errno;
	return 0;
}

void borrow_blocked(pid_t tid)
{
	struct borrowed_task *bt = find_task(tid);

	if (!B.active)
		set_own(tid, true);   /* rtask_block tied it: no record names it */
	if (bt) {
		bt->blocked = true;
		B.dirty = true;
	}
}

void borrow_opts(pid_t tid, long opts)
{
	struct borrowed_task *bt = find_task(tid);

	if (bt)
		bt->opts = opts;
}

void borrow_drop(pid_t tid)
{
	struct borrowed_task *bt = find_task(tid);

	set_own(tid, false);
	if (bt) {
		*bt = B.tasks[--B.ntasks];
		B.dirty = true;
	}
}

int borrow_scratch(pid_t tgid, uint64_t addr, uint64_t len)
{
	if (!B.active)
		return 0;
	/* one scratch area per process at a time */
	for (size_t i = 0; i < B.nscratch; i++)
		if (B.scratch[i].tgid == tgid)
			return -EEXIST;
	if (B.nscratch == B.scap) {
		size_t cap = B.scap ? 2 * B.scap : 16;
		void *n = realloc(B.scratch, cap * sizeof(*B.scratch));

		if (!n)
			return -ENOMEM;
		B.scratch = n;
		B.scap = cap;
	}
	B.scratch[B.nscratch++] = (struct borrowed_scratch){ tgid, addr, len };
	B.dirty = true;   /* written before the injected mmap runs */
	return 0;
}

void borrow_scratch_gone(pid_t tgid)
{
	for (size_t i = 0; i < B.nscratch; i++)
		if (B.scratch[i].tgid == tgid) {
			B.scratch[i] = B.scratch[--B.nscratch];
			B.dirty = true;
			return;
		}
}

static int put_task(char *buf, size_t cap, size_t *off, const struct borrowed_task *t)
{
	const unsigned char *rb = (const unsigned char *)&t->regs;
	int n;

	n = snprintf(buf + *off, cap - *off, "task %d %d %" PRIu64 " %" PRIx64 " %" PRIx64 " %d ", (int)t->tid,
		     (int)t->tgid, t->start, t->sigmask, t->insn, t->blocked);
	if (n < 0 || (size_t)n >= cap - *off)
		return -E2BIG;
	*off += n;
	if (cap - *off < 2 * sizeof(t->regs) + 2)
		return -E2BIG;
	for (size_t i = 0; i < sizeof(t->regs); i++, *off += 2)
		snprintf(buf + *off, 3, "%02x", rb[i]);
	buf[(*off)++] = '\n';
	return 0;
}

int borrow_flush(void)
{
	_cleanup_free_ char *buf = NULL;
	size_t off = 0, cap;
	uint64_t t0;
	int r;

	if (!B.active)
		return 0;
	if (!B.ntasks && !B.nscratch) {
		if (!B.written)
			return 0;
		r = B.store.clear(B.store.arg);
		if (r >= 0)
			B.written = B.dirty = false;
		return r;
	}
	cap = B.ntasks * (2 * sizeof(struct user_regs_struct) + 160) + B.nscratch * 80 + 16;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (size_t i = 0; i < B.ntasks; i++) {
		r = put_task(buf, cap, &off, &B.tasks[i]);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < B.nscratch; i++) {
		int n = snprintf(buf + off, cap - off, "scratch %d %" PRIx64 " %" PRIx64 "\n", (int)B.scratch[i].tgid,
				 B.scratch[i].addr, B.scratch[i].len);

		if (n < 0 || (size_t)n >= cap - off)
			return -E2BIG;
		off += n;
	}
	t0 = now_us();
	r = B.store.save(B.store.arg, buf, off);
	B.write_us += now_us() - t0;
	B.writes++;
	if (r >= 0)
		B.written = true;
	B.dirty = r < 0;
	return r;
}

/* While an injection runs every borrowed task carries PTRACE_O_EXITKILL:
 * the cgroup is thawed, and one detached now would run on in our code. */
static int set_exitkill(bool on)
{
	for (size_t i = 0; i < B.ntasks; i++) {
		long o = B.tasks[i].opts | (on ? PTRACE_O_EXITKILL : 0);

		if (ptrace(PTRACE_SETOPTIONS, B.tasks[i].tid, NULL, (void *)o) < 0)
			return -errno;
	}
	return 0;
}

int borrow_run_begin(const struct rtask *t)
{
	uint64_t t0;
	int r;

	/* The record says exactly what is borrowed before anything runs. Only
	 * then: between two injections the tasks sit in their ptrace stops,
	 * and a record one change behind puts back what they are anyway (a
	 * task let go keeps the registers it is named with; a scratch area
	 * named and not mapped, or unmapped and still named, is a hole that
	 * recovery's munmap leaves as it is). Each write is synced: the
	 * changes since the last injection go in one. */
	if (B.active && B.dirty && (r = borrow_flush()) < 0)
		return r;
	if (!B.frozen)
		return 0;
	r = set_exitkill(true);
	if (r < 0)
		return r;
	t0 = now_us();
	r = cgroup_thaw(&B.cg);
	if (r < 0)
		return r;
	B.thaw_us += now_us() - t0;
	B.windows++;
	B.frozen = false;
	B.running = true;
	return 0;
}

int borrow_run_end(const struct rtask *t)
{
	uint64_t t0;
	int r;

	if (!B.running)
		return 0;
	B.running = false;
	t0 = now_us();
	r = cgroup_freeze(&B.cg, 10000);
	if (r < 0)
		return r;
	B.freeze_us += now_us() - t0;
	B.frozen = true;
	return B.unsafe ? 0 : set_exitkill(false);
}

/* The seized tasks nothing is borrowed from (not yet, or given back
 * already), tied to the worker or let go. One gone (killed at the end)
 * has nothing left to tie. */
static int tie_seized(bool on)
{
	long o = PTRACE_O_TRACESYSGOOD | (on ? PTRACE_O_EXITKILL : 0);

	for (size_t i = 0; i < B.nseized; i++) {
		if (B.seized[i].own || find_task(B.seized[i].tid))
			continue;
		if (ptrace(PTRACE_SETOPTIONS, B.seized[i].tid, NULL, (void *)o) < 0 && errno != ESRCH)
			return -errno;
	}
	return 0;
}

/* The window's step on disk (borrow_store.unsafe), where a ckptd that
 * died with the worker finds it. */
static int mark_unsafe(enum borrow_step step)
{
	return B.has_store && B.store.unsafe ? B.store.unsafe(B.store.arg, step) : 0;
}

/* Recorded, then counted in the ledger, before any task is tied; and
 * uncounted, then unrecorded, after all are let go: neither ckptd nor
 * the next one takes a window for closed while a task could still die
 * with the worker for it. */
int borrow_unsafe_begin(enum borrow_step step)
{
	int r;

	if (!B.unsafe) {
		r = mark_unsafe(step);
		if (r < 0)
			return r;
		B.step = step;
	}
	rtask_ledger_unsafe((int32_t)++B.unsafe, (int32_t)B.step);
	if (B.unsafe > 1)
		return 0;
	r = tie_seized(true);
	if (r >= 0 && B.active && !B.running)
		r = set_exitkill(true);
	/* the caller gives up its step: the window closes again, the tasks
	 * tied so far let go (should that fail too, it stays counted) */
	if (r < 0)
		(void)borrow_unsafe_end();
	return r;
}

int borrow_unsafe_end(void)
{
	int r = 0;

	if (!B.unsafe)
		return 0;
	if (B.unsafe == 1) {
		r = tie_seized(false);
		if (r >= 0 && B.active && !B.running)
			r = set_exitkill(false);
		if (r < 0)
			return r;   /* still counted: the tasks may still be tied */
	}
	if (--B.unsafe)
		rtask_ledger_unsafe((int32_t)B.unsafe, (int32_t)B.step);
	else {
		B.step = BORROW_STEP_NONE;
		rtask_ledger_unsafe(0, BORROW_STEP_NONE);
		/* left on disk, it only makes a recovery kill tasks that were
		 * safe: no reason to fail the checkpoint for it */
		r = mark_unsafe(BORROW_STEP_NONE);
		if (r < 0)
			log_errno(r, "recording the end of a step no recovery undoes: %m");
	}
	return 0;
}

bool borrow_tied(void)
{
	return B.unsafe || B.running;
}

long borrow_given_back_opts(pid_t tid)
{
	return PTRACE_O_TRACESYSGOOD | (B.unsafe && find_seized(tid) ? PTRACE_O_EXITKILL : 0);
}

void borrow_lost(pid_t tid)
{
	struct borrowed_task *bt = find_task(tid);
	long o = (bt ? bt->opts : PTRACE_O_TRACESYSGOOD) | PTRACE_O_EXITKILL;

	set_own(tid, true);
	ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)o);
}

/* ---- reading it back (recovery) ---- */

static int hexbytes(const char *h, void *out, size_t n)
{
	unsigned char *o = out;

	if (strlen(h) != 2 * n)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1 || !isxdigit((unsigned char)h[2 * i]) ||
		    !isxdigit((unsigned char)h[2 * i + 1]))
			return -EBADMSG;
		o[i] = v;
	}
	return 0;
}

static int parse_task(struct borrow_rec *rc, char *line)
{
	struct borrow_rec_task t = { 0 };
	char regs[2 * sizeof(t.regs) + 2];
	int tid, tgid, blocked, n = 0;

	if (rc->nt >= BORROW_MAX_TASKS)
		return -E2BIG;
	if (sscanf(line, "task %d %d %" SCNu64 " %" SCNx64 " %" SCNx64 " %d %*s%n", &tid, &tgid, &t.start, &t.sigmask,
		   &t.insn, &blocked, &n) != 6 || line[n] != '\0')
		return -EBADMSG;
	if (tid <= 0 || tgid <= 0 || !t.start || (blocked != 0 && blocked != 1) || t.insn >= BORROW_ADDR_MAX)
		return -EBADMSG;
	if (strlen(strrchr(line, ' ') + 1) >= sizeof(regs))
		return -EBADMSG;
	snprintf(regs, sizeof(regs), "%s", strrchr(line, ' ') + 1);
	if (hexbytes(regs, &t.regs, sizeof(t.regs)) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < rc->nt; i++)
		if (rc->t[i].tid == tid)
			return -EBADMSG;
	t.tid = tid;
	t.tgid = tgid;
	t.blocked = blocked;
	rc->t[rc->nt++] = t;
	return 0;
}

static int parse_scratch(struct borrow_rec *rc, const char *line)
{
	struct borrow_rec_scratch s;
	int tgid, n = 0;
	bool known = false;

	if (rc->ns >= BORROW_MAX_TASKS)
		return -E2BIG;
	if (sscanf(line, "scratch %d %" SCNx64 " %" SCNx64 "%n", &tgid, &s.addr, &s.len, &n) != 3 || line[n] != '\0')
		return -EBADMSG;
	if (tgid <= 0 || !s.len || s.len > BORROW_SCRATCH_MAX || s.addr % 4096 || s.len % 4096 || !s.addr ||
	    s.addr >= BORROW_ADDR_MAX - s.len)
		return -EBADMSG;
	for (size_t i = 0; i < rc->nt; i++)
		known |= rc->t[i].tgid == tgid;
	for (size_t i = 0; i < rc->ns; i++)
		if (rc->s[i].tgid == tgid)
			return -EBADMSG;
	if (!known)
		return -EBADMSG;   /* a scratch area is mapped through one of its threads */
	s.tgid = tgid;
	rc->s[rc->ns++] = s;
	return 0;
}

int borrow_parse(const char *text, size_t len, struct borrow_rec *rc)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	int r;

	*rc = (struct borrow_rec){ 0 };
	if (len > BORROW_FILE_MAX || strnlen(text, len) != len)
		return -EBADMSG;
	buf = strndup(text, len);
	rc->t = calloc(BORROW_MAX_TASKS, sizeof(*rc->t));
	rc->s = calloc(BORROW_MAX_TASKS, sizeof(*rc->s));
	if (!buf || !rc->t || !rc->s)
		return -ENOMEM;
	/* tasks first: a scratch line names a process already listed */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "task ", 5) == 0)
			r = parse_task(rc, line);
		else if (strncmp(line, "scratch ", 8) == 0)
			r = parse_scratch(rc, line);
		else
			r = -EBADMSG;
		if (r < 0)
			return r;
	}
	return rc->nt ? 0 : -EBADMSG;
}

void borrow_rec_free(struct borrow_rec *rc)
{
	free(rc->t);
	free(rc->s);
	*rc = (struct borrow_rec){ 0 };
}
