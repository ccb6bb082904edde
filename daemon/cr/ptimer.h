// SPDX-License-Identifier: GPL-2.0-or-later
/* POSIX timers (timer_create): read from /proc/PID/timers and by injected
 * timer_gettime/timer_getoverrun; recreated with their ids by injected
 * timer_create under PR_TIMER_CREATE_RESTORE_IDS, then armed with the time
 * they had left. */
#pragma once
#include "image.pb-c.h"
#include "rbatch.h"
#include <stddef.h>

struct dump_ctx;
struct dump_proc;
struct restore_ctx;
struct rproc;

struct ptimer_dump {
	Ckpt__Img__PosixTimer *ents;
	Ckpt__Img__PosixTimer **ptrs;
	size_t n;
};

/* Timers of p (seized, b an empty batch in its scratch memory); refuses
 * those that can't be recreated faithfully. */
int ptimer_dump(struct dump_ctx *ctx, struct dump_proc *p, struct rbatch *b, struct ptimer_dump *out);
void ptimer_dump_free(struct ptimer_dump *d);
/* Why a clock can't be restored, NULL if it can. */
const char *ptimer_clock_refusal(int clock);
/* Timers of p->task, queued in b (threads must exist: SIGEV_THREAD_ID). */
int ptimer_restore(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b);
