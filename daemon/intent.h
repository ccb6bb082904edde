// SPDX-License-Identifier: GPL-2.0-or-later
/* Intent records: before an operation changes a container (run, checkpoint,
 * restart, rm), ckptd writes what it is about to do into the container's
 * dir (STATE/containers/NAME/intent, durably); the worker moves it past the
 * operation's point of no return; the outcome, once saved, removes it. A
 * ckptd that finds one at start finishes or undoes the operation
 * (intent_recover) before it reports the container to anyone. */
#pragma once
#include "borrow.h"
#include "container.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum intent_phase {
	INTENT_BEGUN = 0,          /* nothing durable yet: undo */
	INTENT_COMMITTED,          /* checkpoint: its image is stored; the tasks are killed next */
	INTENT_HANDED_OFF,         /* restart: its tasks run */
};

struct intent {
	enum op_kind op;
	enum intent_phase phase;
	enum container_state prev;   /* the container's state before */
	bool created;                /* the operation created the container's entry */
	bool leave_running;
	char image_id[24];           /* checkpoint into the store: the image being written */
	char cgroup[PATH_MAX];       /* the container's cgroup ("" if none yet) */
	bool cgroup_v1;
	pid_t init_pid;              /* the init the operation works on (0: none yet) */
	uint64_t init_start;
	pid_t worker_pid;            /* its worker, which outlives ckptd long enough to roll back */
	uint64_t worker_start;
	/* checkpoint: the worker is in a step no recovery undoes (borrow.h):
	 * should it die now, every task it seized dies with it */
	enum borrow_step unsafe;
};

/* Write it durably (statefile_write). Returns 0 or -errno. */
int intent_write(int dir_fd, const struct intent *in);
/* The record, -ENOENT if none; -EBADMSG if it can't be read as one. */
int intent_read(int dir_fd, struct intent *ret);
/* The operation is over and its outcome saved. */
int intent_clear(int dir_fd);
/* From the operation's own state: everything but the worker. */
void intent_from(struct intent *in, const struct container *c, enum op_kind op);

/* In the worker: record its own pid (an ckptd that dies leaves it rolling
 * back; the next one waits for it), then each phase. */
int intent_worker_begin(int dir_fd, struct intent *in);
int intent_phase(int dir_fd, struct intent *in, enum intent_phase phase);
/* ... and, before it begins one, the step no recovery undoes it is in
 * (BORROW_STEP_NONE: none any more), itself among the record's fields. */
int intent_unsafe(int dir_fd, struct intent *in, enum borrow_step step);

/* At load, before the container's state is believed: finish or undo what
 * the record says was under way. Returns 1 if the container is gone (an
 * rm, or a creation undone), 0 if it stays, <0 on error. */
int intent_recover(struct container *c);
