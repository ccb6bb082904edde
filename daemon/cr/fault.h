// SPDX-License-Identifier: GPL-2.0-or-later
/* Fault injection for tests (CRIU's CKPT-style switch): CKPTD_FAULT=<point>
 * in ckptd's environment makes the engine fail at that point, so the tests
 * can drive every rollback path. Points: ckpt-frozen, ckpt-seized,
 * ckpt-pages, ckpt-tail, ckpt-commit, restore-spawned, restore-pages,
 * restore-handoff; the worker adds ckpt-borrowed (the tasks' registers
 * and signal masks borrowed), ckpt-injecting (and a scratch area mapped),
 * ckpt-batched (a batch of calls just run in it), ckpt-repair (the
 * first TCP connection put in repair mode), ckpt-committed and
 * restore-done (after
 * the point of no return), ckptd ckpt-saving, restore-saving and run-saving
 * (before it records the outcome). images rm of a parent (merge.c):
 * merge-copy (both images checked), merge-written (the merged child
 * synced, not yet in place), merge-renamed (in place, the parent not yet
 * removed). lazy-fill-slow paces the background fill of a lazy restart
 * (one extent per 100 ms) so that a test can act while it runs;
 * ckpt-copy-slow paces a checkpoint's background copy of memory the same
 * way (100 ms before each read); snap-lift-outside makes its end lift
 * the write-protection from outside, as a failure to borrow a thread
 * would (snap_lift.h), and snap-lift-slow paces the lifting from inside
 * (one chunk a moment, 50 ms more between two).
 * lazy-hand-over and incr-hand-over break the worker's hand-over of a
 * lazy restart's fill and of a checkpoint's write tracking partway.
 * lazy-guard-seize makes the filler's guard fail to seize the container's
 * init, as if another tracer held it (ptguard.h).
 *
 * Several points may be named at once, separated by commas.
 *
 * CKPTD_FAULT=<point>:crash kills ckptd (SIGKILL) there instead, and
 * <point>:kill-worker the worker, <point>:kill-both (worker points only)
 * both at once: what the next ckptd, or this one, finds must be
 * consistent (intent.h, recover.h).
 * <point>:stop-worker (worker points) stops the worker there (SIGSTOP):
 * a test can then act while it sits at that point, e.g. stop ckptd and
 * kill the worker, to see what the worker's death alone does.
 *
 * The same points are where a canceled operation stops (cr_cancel). */
#pragma once
#include "cr.h"
#include <stdbool.h>

bool fault_at(const char *point);
/* Cancellation first; then fault_at() and, if so, fail the job with a
 * message naming the point, or crash as CKPTD_FAULT asks. */
int fault_inject(struct cr_error *err, const char *point);
/* In ckptd itself: SIGKILL ourselves if CKPTD_FAULT=<point>:crash. */
void fault_crash(const char *point);
/* In a worker past its point of no return: kill ckptd (and wait to
 * hear of it) or ourselves, as CKPTD_FAULT asks; never fails the job. */
void fault_crash_worker(const char *point);

/* Why an operation stops at its next safe point. */
enum cr_cancel_why {
	CR_CANCEL_NONE = 0,
	CR_CANCEL_REQUEST,         /* ckptctl cancel */
	CR_CANCEL_DEADLINE,        /* its --timeout passed */
	CR_CANCEL_ORPHAN,          /* ckptd died */
};
/* Async-signal-safe: the worker's signal handlers call it. The first
 * reason stays. */
void cr_cancel(enum cr_cancel_why why);
enum cr_cancel_why cr_canceled(void);
/* Fail the job if it was canceled (0 otherwise). Every wait of the engine
 * that can't be interrupted checks it in its loop. */
int cr_cancel_check(struct cr_error *err);
/* For a wait interrupted by a signal: -ETIMEDOUT (deadline) or -ECANCELED
 * if the operation was canceled, 0 to wait on. */
int cr_cancel_errno(void);
/* Wait until fd is readable, or the operation is canceled. */
int cr_wait_readable(int fd);
