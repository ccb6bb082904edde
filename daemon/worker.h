// SPDX-License-Identifier: GPL-2.0-or-later
/* Workers: one forked process per checkpoint or restart, so the event loop
 * never blocks on C/R work and never ptraces. The worker reports progress and
 * its final result as ckpt.rpc.Response messages on a socketpair; the loop
 * watches it through a pidfd. */
#pragma once
#include "cr.h"
#include "intent.h"
#include "rpc.pb-c.h"
#include "store.h"
#include <stdbool.h>
#include <sys/types.h>

struct server;
struct worker;

/* Runs in the child; report_fd takes Response messages. Returns 0 or -errno. */
typedef int (*worker_fn)(void *arg, int report_fd);

struct worker_ops {
	/* A progress message (final = false). */
	void (*progress)(void *ud, Ckpt__Rpc__Response *resp);
	/* The worker is gone. final: its last Response (the callee owns it; free
	 * with ckpt__rpc__response__free_unpacked), NULL if it sent none (crash).
	 * wait_status as from waitpid. */
	void (*done)(void *ud, Ckpt__Rpc__Response *final, int wait_status);
	/* fds the worker handed over (a report without a body); the callee
	 * owns them. NULL: a worker may send none. */
	void (*fds)(void *ud, int *fds, size_t n);
};

/* Fork a worker running fn(arg). It keeps only the fds in keep[] (and its
 * report socket), dies with ckptd (PR_SET_PDEATHSIG) and must not touch the
 * event loop. */
int worker_start(struct server *srv, const char *what, worker_fn fn, void *arg,
		 const int *keep, size_t nkeep, const struct worker_ops *ops, void *ud,
		 struct worker **ret);
/* SIGKILL it; done() still follows, from the loop. */
void worker_kill(struct worker *w);
/* Tasks whose registers the worker held when last it said (rtask.h),
 * and the last of them in *ret_pid; read once it died. */
int worker_borrowed(const struct worker *w, pid_t *ret_pid);
/* Steps no recovery undoes (borrow_unsafe_begin) it had open when last
 * it said, and the outermost in *ret_step: read once it died. */
int worker_unsafe(const struct worker *w, enum borrow_step *ret_step);
/* Ask a checkpoint or restart worker to stop at its next safe point
 * (SIGTERM): it rolls back and answers ERR_CANCELED, unless it is past
 * its point of no return. */
void worker_cancel(struct worker *w);
/* Kill and reap synchronously (shutdown); done() is called. */
void worker_abort(struct worker *w);

/* The phases a checkpoint or restart request asked to be told of (rpc.proto
 * PhaseNotify), as bits of worker_phase_names[]. */
struct worker_phases {
	uint32_t notify, wait;
	const char *container;
	pid_t init_pid;            /* the container's init (restart: the fresh one) */
	uint64_t deadline_ms;      /* CLOCK_MONOTONIC: the answer must come by then */
};
/* The bit of phase name for a checkpoint (restart = false) or a restart;
 * -1 if it has none. */
int worker_phase_bit(const char *name, bool restart);
/* A phase where waiting is allowed. */
bool worker_phase_waitable(const char *name);
/* Hand the client's PhaseAck (a packed Request) to the worker waiting for it. */
int worker_phase_ack(struct worker *w, const Ckpt__Rpc__Request *req);

/* Job bodies (run in the worker). */
struct worker_checkpoint_job {
	struct cr_checkpoint_req req;
	int dir_fd;                    /* container dir, for the store */
	const char *image_id;          /* into the store (req.image_fd = tmp file), or NULL */
	struct intent intent;          /* ckptd's record: the worker adds itself and the commit */
	struct worker_phases phases;
	const char *full_reason;       /* --incremental, yet no parent: why */
};
int worker_checkpoint(void *arg, int report_fd);

struct worker_restart_job {
	struct cr_restart_req req;
	const struct net_busy *net_busy;   /* addresses of containers running on */
	size_t net_nbusy;
	int dir_fd;                    /* container dir, for the intent record */
	struct intent intent;
	struct worker_phases phases;
};
int worker_restart(void *arg, int report_fd);

Ckpt__Rpc__ErrorCode worker_errcode(enum cr_errcode code);
