// SPDX-License-Identifier: GPL-2.0-or-later
/* Request handlers, one per Request body (the dispatch table is in server.c).
 * Each either answers at once or starts an operation that answers later; the
 * fds attached to the request are theirs (closed by the caller afterwards
 * unless the handler took them, setting the entry to -1). */
#pragma once
#include "rpc.pb-c.h"
#include <stdbool.h>
#include <stddef.h>

#include "container.h"

struct conn;
struct container;

/* A check runs in a worker (probes may fork and ptrace); conn is NULL once
 * the client left. */
struct check_job {
	struct conn *conn;
};

/* query.c: answered without waiting for any container operation */
void query_list(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_images(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_logs(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_version(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_check(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* query_proc.c: processes, stats, image removal, wait */
void query_ps(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_stats(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void query_image_rm(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
/* merge.c: images rm of image id, the parent of incremental image child:
 * the child takes its pages, in a worker; the answer comes from there. */
struct container;
void merge_image_rm(struct conn *cn, struct container *c, const char *id, const char *child);
void query_wait(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
/* The container's state changed: answer the waits its workload's end completes. */
void query_wait_wake(struct container *ct);
/* The container is going away: its waits fail. */
void query_wait_gone(struct container *ct);

/* console.c: hand the client the master of a container's console */
void console_attach(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* ops.c: container lifecycle */
/* Answer with an error whose hint (hint.h) hf describes; hf NULL: none. */
struct hint_facts;
void ops_refuse(struct conn *cn, Ckpt__Rpc__ErrorCode code, const struct hint_facts *hf, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Validate name and find it; on failure answered (INVALID_REQUEST, NOT_FOUND), NULL. */
struct container *ops_lookup(struct conn *cn, const char *name);
void ops_run(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void ops_checkpoint(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void ops_restart(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void ops_kill(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void ops_rm(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void ops_cancel(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* An operation starts (the container is busy until op_end) and ends
 * (the client answered). */
void op_begin(struct container *ct, enum op_kind kind, struct conn *cn);
void op_end(struct container *ct);

/* transfer.c: stored images out of and into the store */
void transfer_export(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);
void transfer_import(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* A datagram from a client whose checkpoint or restart runs: if it is the
 * PhaseAck the worker waits for, hand it over and return true. */
bool ops_phase_ack(struct conn *cn, const void *buf, size_t len);
/* The client of a checkpoint or restart left: a phase waiting for its
 * answer is aborted now, not at the deadline. */
void ops_client_gone(struct conn *cn);

/* The init of a container with an operation in progress exited. */
void ops_init_exited(struct container *ct);
/* Shutdown: end the operation now, killing its worker, leaving the container
 * consistent: thawed, or killed if half-restored. May free ct. */
void ops_abort(struct container *ct);
