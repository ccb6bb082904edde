// SPDX-License-Identifier: GPL-2.0-or-later
/* The event loop: accept, check the peer, decode, dispatch, reply. */
#include "server.h"
#include "access.h"
#include "container.h"
#include "events.h"
#include "handlers.h"
#include "hint.h"
#include "log.h"
#include "logrot.h"
#include "loopwatch.h"
#include "opqueue.h"
#include "macro.h"
#include "wire.h"
#include "worker.h"
#include <event2/event.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x
/* How long a SIGTERM waits for operations in flight before aborting them:
 * a killed checkpoint worker can't restore the registers it borrowed. */
#define SERVER_STOP_GRACE_S 20
/* How long a final answer may wait for a client that does not read. */
#define SERVER_SEND_TIMEOUT_MS 5000

typedef void (*handler_fn)(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

static const struct handler {
	const char *name;
	handler_fn fn;
	bool takes_fd;         /* may carry an image fd */
	bool changes;          /* starts work: refused while stopping */
} handlers[] = {
	[CKPT__RPC__REQUEST__BODY_RUN] = { "run", ops_run, false, true },
	[CKPT__RPC__REQUEST__BODY_LIST] = { "list", query_list, false, false },
	[CKPT__RPC__REQUEST__BODY_CHECKPOINT] = { "checkpoint", ops_checkpoint, true, true },
	[CKPT__RPC__REQUEST__BODY_RESTART] = { "restart", ops_restart, true, true },
	[CKPT__RPC__REQUEST__BODY_LOGS] = { "logs", query_logs, false, false },
	[CKPT__RPC__REQUEST__BODY_IMAGES] = { "images", query_images, false, false },
	[CKPT__RPC__REQUEST__BODY_KILL] = { "kill", ops_kill, false, true },
	[CKPT__RPC__REQUEST__BODY_RM] = { "rm", ops_rm, false, true },
	[CKPT__RPC__REQUEST__BODY_VERSION] = { "version", query_version, false, false },
	[CKPT__RPC__REQUEST__BODY_CHECK] = { "check", query_check, false, true },
	[CKPT__RPC__REQUEST__BODY_ATTACH] = { "attach", console_attach, false, false },
	[CKPT__RPC__REQUEST__BODY_PS] = { "ps", query_ps, false, false },
	[CKPT__RPC__REQUEST__BODY_WAIT] = { "wait", query_wait, false, false },
	[CKPT__RPC__REQUEST__BODY_IMAGE_RM] = { "images rm", query_image_rm, false, true },
	[CKPT__RPC__REQUEST__BODY_STATS] = { "stats", query_stats, false, false },
	[CKPT__RPC__REQUEST__BODY_EXPORT_IMAGE] = { "export", transfer_export, false, false },
	[CKPT__RPC__REQUEST__BODY_IMPORT_IMAGE] = { "import", transfer_import, true, true },
	[CKPT__RPC__REQUEST__BODY_CANCEL] = { "cancel", ops_cancel, false, false },
	[CKPT__RPC__REQUEST__BODY_EVENTS] = { "events", events_subscribe, false, false },
};

/* ---- replies ---- */

int conn_send(struct conn *c, Ckpt__Rpc__Response *resp, const int *fds, size_t nfds)
{
	struct pollfd p;
	int r;

	if (!c || c->fd < 0)
		return 0;
	r = wire_send_msg(c->fd, &resp->base, fds, nfds);
	/* Progress may be dropped for a slow reader; a final answer or a
	 * phase may not. */
	if (r == -EAGAIN && (resp->final || resp->phase)) {
		p = (struct pollfd){ .fd = c->fd, .events = POLLOUT };
		if (poll(&p, 1, SERVER_SEND_TIMEOUT_MS) > 0)
			r = wire_send_msg(c->fd, &resp->base, fds, nfds);
	}
	if (r < 0 && (r != -EAGAIN || resp->final || resp->phase))
		log_debug("client pid %d: sending a reply: %s", (int)c->pid, strerror(-r));
	return r;
}

int conn_reply_error(struct conn *c, Ckpt__Rpc__ErrorCode code, const char *fmt, ...)
{
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.code = code;
	e.message = msg;
	return conn_reply_error_msg(c, &e);
}

int conn_reply_error_msg(struct conn *c, Ckpt__Rpc__Error *e)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;

	/* one line, always */
	e->message[strcspn(e->message, "\n")] = '\0';
	log_info("client pid %d: %s", c ? (int)c->pid : 0, e->message);
	resp.final = true;
	resp.error = e;
	return conn_send(c, &resp, NULL, 0);
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
	struct conn **p;

	for (p = &c->srv->conns; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	c->srv->n_conns--;
	/* an operation outlives its client: it just has nobody to tell */
	ops_client_gone(c);
	opqueue_conn_gone(c);
	if (c->waiting && c->waiting->pending_conn == c) {
		c->waiting->pending_conn = NULL;
		c->waiting->pending_fd = safe_close(c->waiting->pending_fd);
	} else if (c->waiting)
		c->waiting->op_conn = NULL;
	if (c->check)
		c->check->conn = NULL;
	if (c->canceling)
		c->canceling->cancel_conn = NULL;
	if (c->ev)
		event_free(c->ev);
	if (c->idle)
		event_free(c->idle);
	c->fd = safe_close(c->fd);
	free(c);
}

void conn_close(struct conn *c)
{
	conn_free(c);
}

static void close_fds(int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fds[i] = safe_close(fds[i]);
}

void server_dispatch(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const struct handler *h = &handlers[req->body_case];

	if (nfds && !h->takes_fd)
		conn_reply_error(c, E(ERR_INVALID_REQUEST), "%s: takes no fd, %zu attached", h->name, nfds);
	else if (h->changes && c->srv->stopping)
		conn_reply_error(c, E(ERR_BUSY), "%s: ckptd is shutting down", h->name);
	else
		h->fn(c, req, fds, nfds);
}

static void conn_dispatch(struct conn *c, size_t len, int *fds, size_t nfds, const char **ret_verb)
{
	Ckpt__Rpc__Request *req;

	req = ckpt__rpc__request__unpack(NULL, len, c->srv->buf);
	if (!req) {
		conn_reply_error(c, E(ERR_INVALID_REQUEST), "malformed request: not a ckpt.rpc.Request");
		return;
	}
	if ((size_t)req->body_case >= ARRAY_SIZE(handlers) || !handlers[req->body_case].fn) {
		conn_reply_error(c, E(ERR_INVALID_REQUEST), "request with no known body (%d)", (int)req->body_case);
		goto out;
	}
	log_debug("client pid %d: %s", (int)c->pid, handlers[req->body_case].name);
	*ret_verb = handlers[req->body_case].name;
	if (c->srv->stopping || !opqueue_offer(c, req, c->srv->buf, len, fds, nfds))
		server_dispatch(c, req, fds, nfds);
out:
	ckpt__rpc__request__free_unpacked(req, NULL);
}

/* A client that sends nothing while nothing is running for it loses its
 * slot; one waiting for an operation or a check keeps it. */
static void conn_on_idle(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	struct timeval tv = { c->srv->idle_timeout_s, 0 };

	if (c->waiting || c->check || c->wait_for || c->canceling || c->events || c->queued) {
		evtimer_add(c->idle, &tv);
		return;
	}
	log_info("client pid %d: idle for %d s, closing", (int)c->pid, c->srv->idle_timeout_s);
	conn_free(c);
}

static void conn_touch(struct conn *c)
{
	struct timeval tv = { c->srv->idle_timeout_s, 0 };

	evtimer_add(c->idle, &tv);
}

static void conn_read(struct conn *c, const char **ret_verb)
{
	int fds[CKPT_RPC_MAX_FDS];
	size_t nfds = 0;
	ssize_t n;

	n = wire_recv(c->fd, c->srv->buf, CKPT_RPC_MAX_MSG, fds, CKPT_RPC_MAX_FDS, &nfds);
	if (n == -EAGAIN || n == -EINTR)
		return;
	conn_touch(c);
	if (n == -EMSGSIZE || n == -EBADMSG) {
		conn_reply_error(c, E(ERR_INVALID_REQUEST), n == -EMSGSIZE ? "request larger than %u bytes" :
				 "request with more than %u fds", n == -EMSGSIZE ? CKPT_RPC_MAX_MSG : CKPT_RPC_MAX_FDS);
		return;
	}
	if (n <= 0) {
		if (n < 0)
			log_debug("client pid %d: %s", (int)c->pid, strerror((int)-n));
		conn_free(c);
		return;
	}
	if (c->waiting && !nfds && ops_phase_ack(c, c->srv->buf, n))
		return;
	if (c->waiting || c->check || c->wait_for || c->canceling || c->events || c->queued) {
		/* one request at a time: answering out of order would confuse it */
		log_warn("client pid %d: request before the previous answer; closing", (int)c->pid);
		close_fds(fds, nfds);
		conn_free(c);
		return;
	}
	conn_dispatch(c, n, fds, nfds, ret_verb);
	close_fds(fds, nfds);
}

static void conn_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	const char *verb = "a read";
	pid_t pid = c->pid;
	struct loopwatch lw;

	loopwatch_begin(&lw);
	conn_read(c, &verb);
	loopwatch_end(&lw, "%s from client pid %d", verb, (int)pid);
}

/* A peer that may not use ckptd gets its answer at once and is closed: it
 * holds no slot, and nothing it sends is read. The reply waits in its
 * socket for the request it is about to send. */
static void refuse_peer(struct server *srv, int fd, const struct ucred *cred)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	struct passwd pw, *user = NULL;
	char msg[160], hint[256], pwbuf[1024];

	/* the fix: join the group (or have it made), named as it is configured */
	(void)getpwuid_r(cred->uid, &pw, pwbuf, sizeof(pwbuf), &user);
	if (hint_format(&(struct hint_facts){ .kind = srv->access.has_group ? HINT_DENIED : HINT_DENIED_NO_GROUP,
					       .arg = srv->access.group, .user = user ? user->pw_name : NULL },
			hint, sizeof(hint)))
		e.hint = hint;
	if (srv->access.has_group)
		snprintf(msg, sizeof(msg), "permission denied: uid %u may not use ckptd: it is neither root "
			 "nor in group %s", (unsigned)cred->uid, srv->access.group);
	else
		snprintf(msg, sizeof(msg), "permission denied: uid %u may not use ckptd: only root may "
			 "(group %s does not exist)", (unsigned)cred->uid, srv->access.group);
	e.code = E(ERR_PERMISSION_DENIED);
	e.message = msg;
	resp.final = true;
	resp.error = &e;
	(void)wire_send_msg(fd, &resp.base, NULL, 0);
	log_warn("client pid %d uid %u: neither root nor in group %s, refused", (int)cred->pid,
		 (unsigned)cred->uid, srv->access.group);
	close(fd);
}

/* Over a bound: the client hears why at once (its request is never read)
 * and holds no slot. */
static void refuse_busy(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse_busy(int fd, const char *fmt, ...)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.code = E(ERR_BUSY);
	e.message = msg;
	resp.final = true;
	resp.error = &e;
	(void)wire_send_msg(fd, &resp.base, NULL, 0);
	log_warn("refused a client: %s", msg);
	close(fd);
}

static int server_conns_of(const struct server *srv, uid_t uid)
{
	const struct conn *c;
	int n = 0;

	for (c = srv->conns; c; c = c->next)
		n += c->uid == uid;
	return n;
}

static void server_accept(struct server *srv, int lfd)
{
	_cleanup_free_ gid_t *groups = NULL;
	enum access_class who;
	struct ucred cred;
	size_t ngroups = 0;
	struct conn *c;
	int fd, r, sz = 2 * CKPT_RPC_MAX_MSG;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_error("accept: %m");
		return;
	}
	if (srv->n_conns >= (size_t)srv->max_conns) {
		refuse_busy(fd, "too many clients connected (--max-conns %d)", srv->max_conns);
		return;
	}
	/* peer credentials come first: nothing a stranger sends is ever decoded */
	r = access_peer_read(fd, &cred, &groups, &ngroups);
	if (r < 0) {
		log_error("reading the peer's credentials: %s", strerror(-r));
		close(fd);
		return;
	}
	if (server_conns_of(srv, cred.uid) >= srv->max_conns_per_uid) {
		refuse_busy(fd, "too many clients of uid %u connected (--max-conns-per-uid %d)",
			    (unsigned)cred.uid, srv->max_conns_per_uid);
		return;
	}
	who = access_classify(&srv->access, cred.uid, cred.gid, groups, ngroups);
	if (who == ACCESS_DENIED) {
		refuse_peer(srv, fd, &cred);
		return;
	}
	/* a final answer (a big list) must fit the socket in one datagram */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	*c = (struct conn){ .srv = srv, .fd = fd, .uid = cred.uid, .pid = cred.pid };
	c->next = srv->conns;
	srv->conns = c;
	srv->n_conns++;
	c->ev = event_new(srv->base, fd, EV_READ | EV_PERSIST, conn_on_read, c);
	c->idle = evtimer_new(srv->base, conn_on_idle, c);
	if (!c->ev || !c->idle || event_add(c->ev, NULL) < 0) {
		conn_free(c);
		return;
	}
	conn_touch(c);
}

static void server_on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct loopwatch lw;

	loopwatch_begin(&lw);
	server_accept(arg, lfd);
	loopwatch_end(&lw, "accepting a client");
}

uint64_t server_deadline_ms(const struct server *srv, uint32_t timeout_s)
{
	struct timespec ts;
	uint64_t from;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	/* a request that waited in the queue: its deadline counts from its arrival */
	from = srv->req_since_ms ? srv->req_since_ms : (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return from + (uint64_t)(timeout_s ? timeout_s : (uint32_t)srv->op_timeout_s) * 1000;
}

/* ---- stopping ---- */

static bool server_busy(struct server *srv)
{
	struct container *c;

	if (srv->workers)
		return true;
	for (c = srv->containers; c; c = c->next)
		if (c->op != OP_NONE)
			return true;
	return false;
}

void server_maybe_exit(struct server *srv)
{
	if (srv->stopping && !server_busy(srv))
		event_base_loopbreak(srv->base);
}

/* Grace is over: end every operation now, leaving containers consistent. */
static void server_abort_all(struct server *srv)
{
	struct container *c, *next;

	for (c = srv->containers; c; c = next) {
		next = c->next;
		ops_abort(c);
	}
	while (srv->workers)
		worker_abort(srv->workers);
	event_base_loopbreak(srv->base);
}

static void server_on_stop_timeout(evutil_socket_t fd, short what, void *arg)
{
	log_warn("operations still running after %ds, aborting them", SERVER_STOP_GRACE_S);
	server_abort_all(arg);
}

static void server_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv = { .tv_sec = SERVER_STOP_GRACE_S };

	if (srv->stopping) {
		log_info("signal %d again: aborting", (int)sig);
		server_abort_all(srv);
		return;
	}
	log_info("signal %d: stopping; containers keep running", (int)sig);
	srv->stopping = true;
	sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
	/* stop accepting; clients already here still get their answers */
	event_del(srv->ev_listen);
	opqueue_flush(srv, "ckptd is shutting down");
	if (!server_busy(srv)) {
		event_base_loopbreak(srv->base);
		return;
	}
	sd_notify(0, "STATUS=Stopping: waiting for operations in progress");
	srv->ev_stop_timeout = evtimer_new(srv->base, server_on_stop_timeout, srv);
	if (!srv->ev_stop_timeout || evtimer_add(srv->ev_stop_timeout, &tv) < 0)
		server_abort_all(srv);
}

/* ---- life cycle ---- */

int server_new(struct event_base *base, int listen_fd, const char *state_dir, struct server **ret)
{
	struct server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return -ENOMEM;
	srv->base = base;
	srv->listen_fd = listen_fd;
	srv->state_dir = state_dir;
	srv->idle_timeout_s = SERVER_IDLE_TIMEOUT_S;
	srv->op_timeout_s = SERVER_OP_TIMEOUT_S;
	srv->max_conns = SERVER_MAX_CONNS;
	srv->max_conns_per_uid = SERVER_MAX_CONNS_PER_UID;
	srv->max_ops = SERVER_MAX_OPS;
	srv->max_queue = OPQUEUE_LENGTH_DEFAULT;
	srv->log_max_bytes = SERVER_LOG_MAX_BYTES;
	srv->state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	srv->buf = malloc(CKPT_RPC_MAX_MSG);
	if (srv->state_fd < 0) {
		int r = log_errno(-errno, "opening state dir %s: %m", state_dir);

		server_free(srv);
		return r;
	}
	srv->ev_listen = event_new(base, listen_fd, EV_READ | EV_PERSIST, server_on_accept, srv);
	srv->ev_sigterm = evsignal_new(base, SIGTERM, server_on_signal, srv);
	srv->ev_sigint = evsignal_new(base, SIGINT, server_on_signal, srv);
	if (!srv->buf || !srv->ev_listen || !srv->ev_sigterm || !srv->ev_sigint ||
	    event_add(srv->ev_sigterm, NULL) < 0 || event_add(srv->ev_sigint, NULL) < 0) {
		server_free(srv);
		return -ENOMEM;
	}
	*ret = srv;
	return 0;
}

int server_run(struct server *srv)
{
	if (event_add(srv->ev_listen, NULL) < 0 || logrot_start(srv) < 0)
		return -ENOMEM;
	if (event_base_dispatch(srv->base) < 0)
		return log_errno(-EIO, "event loop failed");
	return 0;
}

void server_free(struct server *srv)
{
	if (!srv)
		return;
	while (srv->workers)
		worker_abort(srv->workers);
	opqueue_free(srv);
	while (srv->conns)
		conn_free(srv->conns);
	/* containers keep running: only our bookkeeping goes */
	while (srv->containers) {
		struct container *c = srv->containers;

		srv->containers = c->next;
		container_free(c);
	}
	if (srv->ev_listen)
		event_free(srv->ev_listen);
	if (srv->ev_sigterm)
		event_free(srv->ev_sigterm);
	if (srv->ev_sigint)
		event_free(srv->ev_sigint);
	if (srv->ev_stop_timeout)
		event_free(srv->ev_stop_timeout);
	if (srv->ev_log_check)
		event_free(srv->ev_log_check);
	srv->state_fd = safe_close(srv->state_fd);
	free(srv->buf);
	free(srv);
}
