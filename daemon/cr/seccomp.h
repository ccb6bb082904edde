// SPDX-License-Identifier: GPL-2.0-or-later
/* Seccomp mode and filters of a thread: saved and installed again. */
#pragma once
#include "image.pb-c.h"
#include <stdbool.h>
#include <sys/types.h>

struct dump_ctx;
struct restore_ctx;
struct rproc;

/* One thread's filters, oldest first, as the image records them. */
struct seccomp_state {
	int mode;
	Ckpt__Img__SeccompFilter *filters, **ptrs;
	size_t n;
};

/* Keep a seized thread's filters from judging the calls we inject. */
int seccomp_suspend(pid_t tid, bool exitkill);
/* Read thread tid's filters (mode: its status's Seccomp); who names it. */
int seccomp_dump_thread(struct dump_ctx *ctx, pid_t tid, int mode, const char *who, struct seccomp_state *s);
void seccomp_state_free(struct seccomp_state *s);
/* Install every thread's filters again, each in itself. */
int seccomp_restore(struct restore_ctx *ctx, struct rproc *p);
