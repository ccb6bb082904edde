// SPDX-License-Identifier: GPL-2.0-or-later
/* What a checkpoint borrows from the container's tasks, recorded before it
 * is borrowed: a worker that dies holding it leaves a record from which
 * the next recovery (daemon/recover.c) puts every task back.
 *
 * The checkpoint borrows one process at a time (its threads noted, the
 * record written, their signals blocked), gives it back, and goes on to
 * the next: the record, and what each thaw window does, stay the size of
 * one process.
 *
 * While anything is borrowed the container's cgroup stays frozen (cgroup2
 * counts ptrace-stopped tasks as frozen; the v1 freezer freezes them in
 * their stops): a task the kernel detaches from a dead worker then stays
 * in the kernel, frozen, until recovery seizes it again. Only while an injected call or batch runs is the cgroup thawed;
 * for that window alone the running task carries PTRACE_O_EXITKILL, since
 * a task resumed in the middle of our code can't be put back.
 *
 * The record (BORROW_FILE in the container's dir) is text, one line each:
 *   task TID TGID STARTTIME SIGMASK INSN BLOCKED REGS
 *   scratch TGID ADDR LEN
 * numbers in decimal but SIGMASK, INSN, ADDR and LEN (hex), REGS the
 * arch's general registers (struct user_regs_struct) as hex bytes. */
#pragma once
#include "cgroup.h"
#include "rtask.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BORROW_FILE "borrowed"
#define BORROW_MAX_TASKS 4096
#define BORROW_FILE_MAX (BORROW_MAX_TASKS * (2 * sizeof(struct user_regs_struct) + 160) + 4096)

/* The steps no recovery undoes (borrow_unsafe_begin). */
enum borrow_step {
	BORROW_STEP_NONE = 0,
	BORROW_STEP_TCP_REPAIR,      /* a TCP connection in repair mode */
	BORROW_STEP_SEM_UNDO,        /* SysV semaphores raised to measure an undo list */
	BORROW_STEP_UNKNOWN,         /* read from a record: a step this ckptd does not know */
	BORROW_STEP_COUNT
};
/* Its word in a record ("tcp-repair"), and what it is in words for people;
 * NULL for none or one unknown. */
const char *borrow_step_word(enum borrow_step s);
const char *borrow_step_what(enum borrow_step s);
/* The step a word names; BORROW_STEP_NONE if it names none. */
enum borrow_step borrow_step_parse(const char *word);

/* Where the record goes: save writes it whole and durably, clear removes
 * it (both 0 or -errno). Set by the worker; without it nothing is
 * recorded and borrowed tasks keep PTRACE_O_EXITKILL throughout.
 * unsafe (may be NULL) records durably that a step no recovery undoes is
 * about to begin, or (BORROW_STEP_NONE) that none is open any more: a
 * worker that dies with ckptd leaves no ledger, only that (0 or -errno). */
struct borrow_store {
	int (*save)(void *arg, const char *buf, size_t len);
	int (*clear)(void *arg);
	int (*unsafe)(void *arg, enum borrow_step step);
	void *arg;
};
void borrow_set_store(const struct borrow_store *s);

/* Take charge of cg for a checkpoint: from borrow_freeze on, it is frozen
 * whenever nothing injected runs (cgroup2 or the v1 freezer). False
 * without a store. */
bool borrow_begin(const struct cgroup *cg);
/* Freeze cg (the tasks sit in their ptrace stops). 0 or -errno. */
int borrow_freeze(void);
/* Every task put back: the record goes, then the cgroup thaws. */
int borrow_end(void);
bool borrow_active(void);

/* rtask hooks. note: t's saved registers and mask, before any change
 * (tgid: its process). */
int borrow_note(const struct rtask *t, pid_t tgid);
void borrow_blocked(pid_t tid);
/* tid's ptrace options changed (PTRACE_O_SUSPEND_SECCOMP). */
void borrow_opts(pid_t tid, long opts);
void borrow_drop(pid_t tid);
/* A scratch area at [addr, addr + len) in tgid, recorded before the mmap
 * that makes it (at a fixed address, over a hole: borrow_run_begin writes
 * the record) and dropped after the munmap. */
int borrow_scratch(pid_t tgid, uint64_t addr, uint64_t len);
void borrow_scratch_gone(pid_t tgid);
/* Write the record as it now is (removed when empty). Changes since the
 * last write are written by borrow_run_begin at the latest. */
int borrow_flush(void);

/* An injected call or batch in t runs between these two: the record
 * written, the cgroup thawed, every borrowed task with PTRACE_O_EXITKILL.
 * No-ops when the cgroup is not frozen. */
int borrow_run_begin(const struct rtask *t);
int borrow_run_end(const struct rtask *t);

/* Every task the checkpoint seized, borrowed or not (borrow_unsafe_begin
 * ties them all). */
int borrow_seized(pid_t tid);

/* A step recovery could not undo (a SysV undo list taken out and not yet
 * back, a TCP socket in repair mode): between these two every seized
 * task, borrowed or not, carries PTRACE_O_EXITKILL, and the worker's
 * ledger counts the window (rtask_ledger.unsafe). A worker that dies in
 * it takes every task with it, none runs on with the step half done, and
 * ckptd reports the container damaged. The first window is recorded
 * (borrow_store.unsafe) before anything is tied, the last one's end after
 * everything is let go: a ckptd that died with the worker learns it
 * from there. They nest (the outermost step is the one named); they
 * count even before borrow_begin and after borrow_end. 0 or -errno. */
int borrow_unsafe_begin(enum borrow_step step);
int borrow_unsafe_end(void);
/* A window is open, or an injected call runs: a task that changes its
 * ptrace options now keeps PTRACE_O_EXITKILL. */
bool borrow_tied(void);
/* The ptrace options of a seized task given back (rtask_restore). */
long borrow_given_back_opts(pid_t tid);
/* tid's registers could not be put back: it must not outlive the worker
 * (PTRACE_O_EXITKILL), whatever the record says. */
void borrow_lost(pid_t tid);

/* The record read back (recovery): every field bounded, or -EBADMSG. */
#define BORROW_SCRATCH_MAX (1u << 20)
#define BORROW_ADDR_MAX (1ull << 47)
struct borrow_rec_task {
	pid_t tid, tgid;
	uint64_t start, sigmask, insn;
	bool blocked, seized;
	struct user_regs_struct regs;
};

struct borrow_rec_scratch {
	pid_t tgid;
	uint64_t addr, len;
};

struct borrow_rec {
	struct borrow_rec_task *t;
	size_t nt;
	struct borrow_rec_scratch *s;
	size_t ns;
};

int borrow_parse(const char *text, size_t len, struct borrow_rec *rc);
void borrow_rec_free(struct borrow_rec *rc);
