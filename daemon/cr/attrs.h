// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel knobs a program sets on its threads and its process: scheduling,
 * affinity, I/O priority, prctl settings, oom and audit state (the census
 * in docs/census.md lists each, with how it is read and restored or why it
 * is refused). Reads only a task can do join the injected batches of
 * task_dump.c; so do the setters on restart. */
#pragma once
#include "arch.h"
#include "dump.h"
#include "rbatch.h"
#include "restore.h"

#define ATTRS_ARCH_MAX 8
#define ATTRS_AFFINITY_MAX 1024   /* bytes of cpumask: 8192 CPUs */
#define ATTRS_SPEC_KINDS 3        /* PR_SPEC_STORE_BYPASS .. PR_SPEC_L1D_FLUSH */

/* What a thread's getters are, where in its batch. */
struct attrs_thread_calls {
	size_t first;
	uint64_t a_pdeath, a_core, a_mpol, a_arch[ATTRS_ARCH_MAX];
};

struct attrs_thread {
	Ckpt__Img__ThreadAttrs a;
	uint32_t spec[ATTRS_SPEC_KINDS];
	uint64_t arch[ATTRS_ARCH_MAX];
	uint8_t affinity[ATTRS_AFFINITY_MAX];
};

struct attrs_proc_calls {
	size_t first;
	uint64_t a_subreaper, a_arch[ATTRS_ARCH_MAX];
};

struct attrs_proc {
	Ckpt__Img__ProcAttrs a;
	uint64_t arch[ATTRS_ARCH_MAX];
};

/* Checkpoint: queue the getters into the thread's batch, then, once it
 * ran, take their results and read the rest from outside (host tid). */
void attrs_thread_queue(struct rbatch *b, struct attrs_thread_calls *c);
int attrs_thread_take(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, const struct rbatch *b,
		      const struct attrs_thread_calls *c, struct attrs_thread *s);
/* The same for the process-wide ones (in the main thread's batch). */
void attrs_proc_queue(struct rbatch *b, struct attrs_proc_calls *c);
int attrs_proc_take(struct dump_ctx *ctx, const struct dump_proc *p, const struct rbatch *b,
		    const struct attrs_proc_calls *c, struct attrs_proc *s);
/* Per-mapping NUMA policies (mbind), refused unless every one is the
 * default: get_mempolicy(MPOL_F_ADDR) at the start of each of p->vmas,
 * injected through b (which it reuses), not numa_maps, which walks every
 * page. */
int attrs_vma_policies(struct dump_ctx *ctx, const struct dump_proc *p, struct rbatch *b);

/* Restart: the records' fields, bounded and checked. */
int attrs_check_thread(struct restore_ctx *ctx, pid_t pid, pid_t tid, const Ckpt__Img__ThreadAttrs *a);
int attrs_check_proc(struct restore_ctx *ctx, pid_t pid, const Ckpt__Img__ProcAttrs *a);
/* Once the task tree is complete (nothing will fork from it or reparent
 * in it any more): the process's and each thread's settings, by injected
 * calls, parent-death signals last; oom and coredump settings from here. */
int attrs_restore_release(struct restore_ctx *ctx, struct rproc *p);
/* Just before hand-off: I/O priority, affinity, scheduling (set earlier,
 * a real-time policy or a narrow affinity would slow the restart itself). */
int attrs_restore_sched(struct restore_ctx *ctx, struct rproc *p);
