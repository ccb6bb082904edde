// SPDX-License-Identifier: GPL-2.0-or-later
/* SysV semaphore undo lists (SEM_UNDO): read by applying them with
 * unshare(CLONE_SYSVSEM) and making them again (sem_undo.c). */
#pragma once
#include "image.pb-c.h"
#include <stddef.h>

struct dump_ctx;
struct dump_proc;
struct restore_ctx;
struct rproc;
struct rbatch;

struct sem_undo {
	Ckpt__Img__SemUndo *ents;
	Ckpt__Img__SemUndo **ptrs;
	size_t n;
};

/* Checkpoint, first pass: refuse a list that can't be read and made
 * again (shared by threads or processes), when the container has sets. */
int sem_undo_check(struct dump_ctx *ctx, const struct dump_proc *p);
/* Checkpoint, frozen, p seized and prepared for b: its list into out (the
 * process keeps it). */
int sem_undo_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct sem_undo *out);
void sem_undo_free(struct sem_undo *u);
/* Restart, before the hand-off, with the worker in the container's IPC
 * namespace and p's memory in place: its list made again, the values
 * unchanged. */
int sem_undo_restore(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b);
