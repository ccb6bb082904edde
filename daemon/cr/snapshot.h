// SPDX-License-Identifier: GPL-2.0-or-later
/* Background snapshots: a --leave-running checkpoint write-protects the
 * private anonymous memory of every process through a userfaultfd while
 * the tasks are stopped, lets them run, and copies their pages while they
 * run. A fault handler saves each page the program writes before it
 * un-protects it, so the image holds every page as it was at the freeze.
 * What the mechanism cannot cover (memory that cannot be registered,
 * shared memory objects) is copied while the tasks are still stopped; a
 * kernel or task that cannot give a userfaultfd makes the whole copy a
 * frozen one, and the checkpoint says so (snapshot_mode). */
#pragma once
#include "dump.h"

struct snapshot;

/* While p's threads are prepared for injection (dump_tasks): give p a
 * userfaultfd, made in it and taken out of it (its fd table is left as it
 * was). A failure is no error: the copy is then a frozen one. */
void snapshot_take_uffd(struct dump_ctx *ctx, struct dump_proc *p);
/* The metadata is out; every task is still stopped. Protect what the page
 * jobs read, copy now what cannot be protected, start the fault handler.
 * *ret_first: the first page job that may run after the tasks are released
 * (ctx->njobs: all of them run now, the background copy is off). */
int snapshot_protect(struct dump_ctx *ctx, size_t *ret_first);
/* Is a background copy under way (the tasks running)? */
static inline bool snapshot_active(const struct dump_ctx *ctx)
{
	return ctx->snap != NULL;
}
/* p's pagemap for [start, end) as it was at the freeze, NULL if not kept. */
const uint64_t *snapshot_pagemap(const struct dump_ctx *ctx, const struct dump_proc *p, uint64_t start, uint64_t end);
/* Read nr pages of p at addr as they were at the freeze into buf. */
int snapshot_read(struct dump_ctx *ctx, const struct dump_proc *p, uint64_t addr, uint64_t nr, void *buf);
/* The page job is past [addr, addr + nr pages) of p: the program may write there freely
 * (its next write there no longer waits for a copy). */
int snapshot_done(struct dump_ctx *ctx, const struct dump_proc *p, uint64_t addr, uint64_t nr);
/* The tasks run again: hold a process's exit during the copy until the
 * rest of its memory is saved (snap_exit.h). Without it (no memory, no
 * thread), an exit during the copy fails the checkpoint, named. */
void snapshot_watch_exits(struct dump_ctx *ctx);
/* The copy is over (or failed): every task let go (every path; twice is
 * harmless). */
void snapshot_unwatch_exits(struct dump_ctx *ctx);
/* Stop the handler, unprotect and close everything (on every path; twice
 * is harmless). Returns the first error that made the copy inexact. */
int snapshot_end(struct dump_ctx *ctx);
/* How memory was copied, for the stats: "background" or "frozen: why". */
const char *snapshot_mode(const struct dump_ctx *ctx);
void snapshot_free(struct dump_ctx *ctx);
