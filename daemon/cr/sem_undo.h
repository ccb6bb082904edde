// SPDX-License-Identifier: GPL-2.0-or-later
/* SysV semaphore undo lists (SEM_UNDO): read by applying them with
 * unshare(CLONE_SYSVSEM) and making them again (sem_undo.c). */
#pragma once
#include "image.pb-c.h"
#include <stdbool.h>
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

/* Checkpoint, first pass, when the container has sets: refuse a list
 * that can't be read and made again (shared by processes, or by threads
 * unless the checkpoint ends the container), or mark p's for
 * sem_undo_dump_shared. */
int sem_undo_check(struct dump_ctx *ctx, struct dump_proc *p);
/* Checkpoint, frozen, p seized and prepared for b: its list into out (the
 * process keeps it). */
int sem_undo_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct sem_undo *out);
void sem_undo_free(struct sem_undo *u);
/* Some process's threads share a list that sem_undo_dump_shared reads. */
bool sem_undo_shared(const struct dump_ctx *ctx);
/* A checkpoint that ends the container, the metadata held and checked,
 * nothing left to refuse: each list the threads of a process share read by
 * applying it, taken back by the main thread alone, and put in the
 * process's TASK record. The last step that may refuse: it changes the
 * container. */
int sem_undo_dump_shared(struct dump_ctx *ctx);
/* The checkpoint failed: add to its error what sem_undo_dump_shared
 * changed (the threads that share their list no more). */
void sem_undo_note_failure(struct dump_ctx *ctx);
/* Restart, before the hand-off, with the worker in the container's IPC
 * namespace and p's memory in place: its list made again, the values
 * unchanged. */
int sem_undo_restore(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b);
