// SPDX-License-Identifier: GPL-2.0-or-later
/* The queue of checkpoints and restarts waiting for a slot (opqueue.h). */
#include "opqueue.h"
#include "access.h"
#include "container.h"
#include "log.h"
#include "loopwatch.h"
#include "macro.h"
#include "server.h"
#include "wire.h"
#include <event2/event.h>
#include <time.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x

struct opqueue_entry {
	struct opqueue_entry *next;
	struct conn *conn;
	uint8_t *req;                /* the request as it came: decoded again when it runs */
	size_t len;
	int fds[CKPT_RPC_MAX_FDS];
	size_t nfds;
	char name[CONTAINER_NAME_MAX + 1];
	const char *op;              /* "checkpoint", "restart" */
	uint64_t since_ms;           /* its arrival: the deadline counts from here */
};

int opqueue_running(const struct server *srv)
{
	const struct container *c;
	int n = 0;

	for (c = srv->containers; c; c = c->next)
		n += c->op_worker != NULL;
	return n;
}

static void entry_free(struct opqueue_entry *q)
{
	for (size_t i = 0; i < q->nfds; i++)
		q->fds[i] = safe_close(q->fds[i]);
	free(q->req);
	free(q);
}

/* Take q out of the queue (not freed). */
static void entry_unlink(struct server *srv, struct opqueue_entry *q)
{
	struct opqueue_entry **p;

	for (p = &srv->queue; *p; p = &(*p)->next)
		if (*p == q) {
			*p = q->next;
			srv->queue_len--;
			break;
		}
	if (q->conn)
		q->conn->queued = NULL;
}

/* Every waiting client hears where it stands now. */
static void opqueue_tell_positions(struct server *srv)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Progress pr = CKPT__RPC__PROGRESS__INIT;
	struct opqueue_entry *q;
	uint64_t pos = 0;

	pr.phase = "queued";
	pr.has_done = pr.has_total = true;
	pr.total = srv->queue_len;
	resp.progress = &pr;
	for (q = srv->queue; q; q = q->next) {
		pr.done = ++pos;
		(void)conn_send(q->conn, &resp, NULL, 0);
	}
}

static const char *request_name(const Ckpt__Rpc__Request *req, const char **ret_op)
{
	if (req->body_case == CKPT__RPC__REQUEST__BODY_CHECKPOINT && req->checkpoint) {
		*ret_op = "checkpoint";
		return req->checkpoint->name;
	}
	if (req->body_case == CKPT__RPC__REQUEST__BODY_RESTART && req->restart) {
		*ret_op = "restart";
		return req->restart->name;
	}
	return NULL;
}

bool opqueue_offer(struct conn *c, const Ckpt__Rpc__Request *req, const uint8_t *buf, size_t len,
		   int *fds, size_t nfds)
{
	struct server *srv = c->srv;
	struct opqueue_entry *q, **tail;
	const struct container *ct;
	const char *name, *op = NULL;

	name = request_name(req, &op);
	/* first come, first served: none overtakes a request already waiting */
	if (!name || !container_name_valid(name) || (!srv->queue && opqueue_running(srv) < srv->max_ops))
		return false;
	/* what is refused anyway is refused now, not after a wait: a busy
	 * container, and a restart that waits for the checkpoint feeding it */
	ct = container_find(srv, name);
	if (ct && (ct->op != OP_NONE || ct->pending_conn))
		return false;
	if (srv->queue_len >= (size_t)srv->max_queue) {
		conn_reply_error(c, E(ERR_BUSY), "container %s: ckptd runs %d checkpoints and restarts and %zu more wait "
				 "(--max-ops, queue_length); try again later", name, opqueue_running(srv), srv->queue_len);
		return true;
	}
	q = calloc(1, sizeof(*q));
	if (!q || !(q->req = malloc(len ? len : 1))) {
		free(q);
		conn_reply_error(c, E(ERR_INTERNAL), "container %s: queueing the %s: out of memory", name, op);
		return true;
	}
	memcpy(q->req, buf, len);
	q->len = len;
	q->conn = c;
	q->op = op;
	q->since_ms = (mono_us() / 1000);
	snprintf(q->name, sizeof(q->name), "%s", name);
	for (size_t i = 0; i < nfds; i++) {
		q->fds[i] = fds[i];
		fds[i] = -1;
	}
	q->nfds = nfds;
	for (tail = &srv->queue; *tail; tail = &(*tail)->next)
		;
	*tail = q;
	srv->queue_len++;
	c->queued = q;
	log_info("container %s: %s queued at position %zu (%d running, --max-ops %d)", name, op, srv->queue_len,
		 opqueue_running(srv), srv->max_ops);
	opqueue_tell_positions(srv);
	opqueue_kick(srv);     /* a slot may be free already: the queue runs in order */
	return true;
}

/* Run the head of the queue, as if it had just come, with its deadline
 * counted from its arrival. */
static void opqueue_start(struct server *srv, struct opqueue_entry *q)
{
	Ckpt__Rpc__Request *req = ckpt__rpc__request__unpack(NULL, q->len, q->req);
	struct conn *c = q->conn;
	uint32_t timeout_s;

	if (!req) {
		conn_reply_error(c, E(ERR_INTERNAL), "container %s: its queued %s can't be read back", q->name, q->op);
		return;
	}
	timeout_s = req->body_case == CKPT__RPC__REQUEST__BODY_CHECKPOINT ? req->checkpoint->timeout_s :
		    req->restart->timeout_s;
	if ((mono_us() / 1000) >= q->since_ms + (uint64_t)(timeout_s ? timeout_s : (uint32_t)srv->op_timeout_s) * 1000) {
		Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
		char msg[256];

		snprintf(msg, sizeof(msg), "container %s: its %s waited in the queue past its deadline (--timeout); "
			 "the container is as it was", q->name, q->op);
		e.code = E(ERR_IO);
		e.has_sys_errno = true;
		e.sys_errno = ETIMEDOUT;
		e.message = msg;
		conn_reply_error_msg(c, &e);
	} else {
		srv->req_since_ms = q->since_ms;
		log_info("container %s: its queued %s starts after %llu ms", q->name, q->op,
			 (unsigned long long)((mono_us() / 1000) - q->since_ms));
		server_dispatch(c, req, q->fds, q->nfds);
		srv->req_since_ms = 0;
	}
	ckpt__rpc__request__free_unpacked(req, NULL);
}

static void opqueue_on_kick(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;
	struct opqueue_entry *q;
	bool moved = false;
	struct loopwatch lw;

	loopwatch_begin(&lw);
	while ((q = srv->queue) && opqueue_running(srv) < srv->max_ops && !srv->stopping) {
		entry_unlink(srv, q);
		opqueue_start(srv, q);
		entry_free(q);
		moved = true;
	}
	if (moved && srv->queue)
		opqueue_tell_positions(srv);
	loopwatch_end(&lw, "starting queued operations");
}

void opqueue_kick(struct server *srv)
{
	if (!srv->queue)
		return;
	if (!srv->ev_queue)
		srv->ev_queue = evtimer_new(srv->base, opqueue_on_kick, srv);
	if (srv->ev_queue)
		event_active(srv->ev_queue, EV_TIMEOUT, 0);
	else
		log_error("the queue of operations can't be woken: out of memory");
}

void opqueue_conn_gone(struct conn *c)
{
	struct opqueue_entry *q = c->queued;
	struct server *srv = c->srv;

	if (!q)
		return;
	log_info("container %s: its queued %s is dropped: the client left", q->name, q->op);
	entry_unlink(srv, q);
	entry_free(q);
	opqueue_tell_positions(srv);
}

bool opqueue_cancel(struct server *srv, uid_t uid, const char *name, const char **ret_op)
{
	const struct container *c = container_find(srv, name);
	struct opqueue_entry *q;

	for (q = srv->queue; q; q = q->next)
		if (streq(q->name, name) &&
		    (c ? access_may_act(uid, c->owner_uid) : access_may_act(uid, q->conn->uid)))
			break;
	if (!q)
		return false;
	*ret_op = q->op;
	entry_unlink(srv, q);
	conn_reply_error(q->conn, E(ERR_CANCELED), "container %s: %s canceled (ckptctl cancel) while it waited in the queue",
			 q->name, q->op);
	entry_free(q);
	opqueue_tell_positions(srv);
	return true;
}

void opqueue_flush(struct server *srv, const char *why)
{
	struct opqueue_entry *q;

	while ((q = srv->queue)) {
		entry_unlink(srv, q);
		conn_reply_error(q->conn, E(ERR_BUSY), "container %s: %s: %s", q->name, q->op, why);
		entry_free(q);
	}
}

void opqueue_free(struct server *srv)
{
	struct opqueue_entry *q;

	while ((q = srv->queue)) {
		entry_unlink(srv, q);
		entry_free(q);
	}
	if (srv->ev_queue)
		event_free(srv->ev_queue);
	srv->ev_queue = NULL;
}
