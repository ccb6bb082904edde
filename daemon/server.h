// SPDX-License-Identifier: GPL-2.0-or-later
/* The ckptd service: one libevent loop owning the listening socket, the
 * client connections, the container table and the workers. */
#pragma once
#include "access.h"
#include "rpc.pb-c.h"
#include <errno.h>
#include <unistd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct event_base;
struct event;
struct container;
struct worker;
struct key_ring;
struct opqueue_entry;

/* Defaults of the bounds (ckptd --help). */
#define SERVER_MAX_CONNS 128
#define SERVER_MAX_CONNS_PER_UID 64
#define SERVER_MAX_OPS 8
#define SERVER_LOG_MAX_BYTES (64u << 20)

/* close() that leaves the variable at -1 (closep() doesn't reset it, and a
 * _cleanup_close_ variable closed early would be closed twice):
 * fd = safe_close(fd). */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

struct conn {
	struct conn *next;
	struct server *srv;
	int fd;
	struct event *ev;
	uid_t uid;                   /* SO_PEERCRED: owner of what it creates */
	pid_t pid;
	struct event *idle;          /* closes a connection that sends nothing */
	struct container *waiting;   /* an operation replies to us later */
	struct check_job *check;     /* a check worker replies to us later */
	struct container *wait_for;  /* wait: answered when its workload ends */
	struct container *canceling; /* cancel: answered when its operation ends */
	bool events;                 /* a subscriber of lifecycle events (events.c) */
	struct opqueue_entry *queued; /* its checkpoint or restart waits for a slot (opqueue.h) */
};

struct server {
	struct event_base *base;
	struct event *ev_listen;
	struct event *ev_sigterm, *ev_sigint;
	int listen_fd;
	const char *state_dir;
	int state_fd;                /* O_DIRECTORY of state_dir */
	struct conn *conns;
	size_t n_conns;
	struct container *containers;
	struct worker *workers;
	uint8_t *buf;                /* one datagram, CKPT_RPC_MAX_MSG */
	bool stopping;
	struct event *ev_stop_timeout;
	int idle_timeout_s;          /* a client silent this long is closed */
	int op_timeout_s;            /* default deadline of a checkpoint or restart */
	struct access_policy access; /* who may connect (access.h) */
	const struct key_ring *keys; /* images are signed with [0], accepted from all */
	int max_conns;               /* clients connected at once */
	int max_conns_per_uid;       /* ... of one uid */
	int max_ops;                 /* checkpoints and restarts at once */
	int max_queue;               /* ... waiting for one of those slots */
	struct opqueue_entry *queue; /* FIFO */
	size_t queue_len;
	struct event *ev_queue;      /* starts queued operations from the loop */
	uint64_t req_since_ms;       /* a queued request being started: when it came */
	uint64_t log_max_bytes;      /* a container log rotates beyond this (0: never) */
	bool incremental_auto;       /* ckptd.conf incremental = auto */
	struct event *ev_log_check;  /* looks at the logs' sizes now and then */
};

/* CLOCK_MONOTONIC ms at which an operation asked for now with timeout_s
 * (0: the server's default) must be over. */
uint64_t server_deadline_ms(const struct server *srv, uint32_t timeout_s);

#define SERVER_IDLE_TIMEOUT_S 60
#define SERVER_OP_TIMEOUT_S 600

/* Build the server around an already listening socket (taken over). */
int server_new(struct event_base *base, int listen_fd, const char *state_dir, struct server **ret);
/* Run until SIGTERM/SIGINT, then stop accepting and abort workers. */
int server_run(struct server *srv);
void server_free(struct server *srv);
/* A worker ended or an operation finished: if stopping and idle, leave the loop. */
void server_maybe_exit(struct server *srv);

/* Run a decoded request (a queued one, when its turn comes). */
void server_dispatch(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* Close a client's connection now (a subscriber that fell behind). */
void conn_close(struct conn *c);

/* Replies. Every function sends one Response on conn (NULL: client gone, no-op). */
int conn_send(struct conn *c, Ckpt__Rpc__Response *resp, const int *fds, size_t nfds);
/* Send a prepared final error (its message is cut to one line). */
int conn_reply_error_msg(struct conn *c, Ckpt__Rpc__Error *e);
int conn_reply_error(struct conn *c, Ckpt__Rpc__ErrorCode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
