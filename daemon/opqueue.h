// SPDX-License-Identifier: GPL-2.0-or-later
/* Checkpoints and restarts beyond --max-ops wait in a FIFO queue (bounded
 * by queue_length) instead of being refused: the client is told it is
 * queued and at which position, may cancel meanwhile, and its deadline
 * counts from its request, not from the moment it leaves the queue. */
#pragma once
#include "rpc.pb-c.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conn;
struct server;

/* Default of queue_length (ckptd.conf); 0 refuses beyond --max-ops. */
#define OPQUEUE_LENGTH_DEFAULT 64
#define OPQUEUE_LENGTH_MAX 65536

/* Checkpoints and restarts running in workers now. */
int opqueue_running(const struct server *srv);

/* A checkpoint or restart that finds every slot taken: queue it (true:
 * taken, with the fds, which become -1; or refused with ERR_BUSY beyond
 * the queue's length). false: it runs now. buf holds the request as it
 * came, len bytes. */
bool opqueue_offer(struct conn *c, const Ckpt__Rpc__Request *req, const uint8_t *buf, size_t len,
		   int *fds, size_t nfds);
/* A slot may have come free: start the oldest waiting requests (later,
 * from the loop, never inside the caller). */
void opqueue_kick(struct server *srv);
/* The client left: forget its queued request. */
void opqueue_conn_gone(struct conn *c);
/* ckptctl cancel NAME: true if a queued request of that container (one
 * the peer may act on) was removed; its client got ERR_CANCELED; *ret_op
 * names it ("checkpoint", "restart"). */
bool opqueue_cancel(struct server *srv, uid_t uid, const char *name, const char **ret_op);
/* ckptd stops: every waiting client gets ERR_BUSY. */
void opqueue_flush(struct server *srv, const char *why);
void opqueue_free(struct server *srv);
