// SPDX-License-Identifier: GPL-2.0-or-later
/* Container lifecycle requests: run, checkpoint, restart, kill, rm.
 *
 * An operation marks its container busy (c->op) until it has answered; a
 * second operation on the same container gets ERR_BUSY meanwhile, while the
 * loop keeps serving everything else. Checkpoint and restart run in a worker;
 * when the outcome also needs init gone (a checkpoint that kills, a failed
 * restart, kill, rm), the answer waits for init's exit (op_wait_init). */
#include "access.h"
#include "container.h"
#include "cr_limits.h"
#include "fault.h"
#include "intent.h"
#include "recover.h"
#include "events.h"
#include "handlers.h"
#include "hint.h"
#include "init.h"
#include "key.h"
#include "lazyfill.h"
#include "log.h"
#include "macro.h"
#include "net.h"
#include "ns.h"
#include "opqueue.h"
#include "server.h"
#include "store.h"
#include "userns.h"
#include "validate.h"
#include "wire.h"
#include "worker.h"
#include <linux/capability.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define E(x) CKPT__RPC__ERROR_CODE__##x
#define OPS_MAX_ARGS 4096

static const char *const op_names[] = {
	[OP_NONE] = "nothing", [OP_CHECKPOINT] = "checkpoint", [OP_RESTART] = "restart",
	[OP_KILL] = "kill", [OP_RM] = "rm", [OP_IMPORT] = "import", [OP_RUN] = "run",
	[OP_IMAGE_RM] = "images rm",
};

void ops_refuse(struct conn *cn, Ckpt__Rpc__ErrorCode code, const struct hint_facts *hf, const char *fmt, ...)
{
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char msg[1024], hint[256] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e.code = code;
	e.message = msg;
	if (hf && hint_format(hf, hint, sizeof(hint)))
		e.hint = hint;
	conn_reply_error_msg(cn, &e);
}

#define HINT(...) (&(struct hint_facts){ __VA_ARGS__ })

struct container *ops_lookup(struct conn *cn, const char *name)
{
	struct container *c;

	if (!name || !container_name_valid(name)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST),
				 "invalid container name '%.80s': use 1-64 of [A-Za-z0-9_.-], not starting with '.'",
				 name ? name : "");
		return NULL;
	}
	c = container_find(cn->srv, name);
	/* someone else's is not there for this peer: not even its name leaks */
	if (c && !access_may_act(cn->uid, c->owner_uid))
		c = NULL;
	if (!c)
		ops_refuse(cn, E(ERR_NOT_FOUND), HINT(.kind = HINT_NO_CONTAINER, .name = name),
			   "container %s: no such container", name);
	return c;
}

/* run or restart into a name someone else's container holds: names are
 * shared by all, so that it is taken is all this peer may learn. */
static bool ops_name_free_for(struct conn *cn, const char *verb, struct container *c)
{
	if (!c || access_may_act(cn->uid, c->owner_uid))
		return true;
	ops_refuse(cn, E(ERR_EXISTS), HINT(.kind = HINT_NAME_TAKEN_OTHER, .name = c->name),
		   "%s %s: the name is taken by another user's container", verb, c->name);
	return false;
}

/* An operation that needs its processes, on a container without them;
 * fmt has one %s, its state. */
static void ops_refuse_not_running(struct conn *cn, struct container *c, const char *fmt)
{
	bool ckpt = c->state == CONTAINER_CHECKPOINTED;
	char what[128];

	snprintf(what, sizeof(what), fmt, ckpt ? "checkpointed" : "stopped");
	ops_refuse(cn, E(ERR_BAD_STATE), HINT(.kind = ckpt ? HINT_CHECKPOINTED : HINT_STOPPED, .name = c->name),
		   "container %s: %s", c->name, what);
}

static bool ops_idle(struct conn *cn, struct container *c)
{
	if (c->op == OP_NONE)
		return true;
	/* ckptctl cancel stops a checkpoint or restart; the rest are short */
	ops_refuse(cn, E(ERR_BUSY),
		   HINT(.kind = c->op == OP_CHECKPOINT || c->op == OP_RESTART ? HINT_BUSY : HINT_BUSY_WAIT,
			.name = c->name, .arg = op_names[c->op]),
		   "container %s: busy with a %s", c->name, op_names[c->op]);
	return false;
}

void op_begin(struct container *c, enum op_kind kind, struct conn *cn)
{
	c->op = kind;
	c->op_conn = cn;
	cn->waiting = c;
	c->op_prev_state = c->state;
	c->op_wait_init = false;
	c->op_err_code = E(ERR_NONE);
	c->op_err_msg[0] = '\0';
}

static void op_reply_cancel(struct container *c);

void op_end(struct container *c)
{
	int r;

	/* the outcome is saved (or there was nothing to save): the intent is spent */
	if (c->op == OP_CHECKPOINT || c->op == OP_RESTART) {
		r = intent_clear(c->dir_fd);
		if (r < 0)
			log_errno(r, "container %s: clearing its intent record: %m", c->name);
	}
	c->op_t_req = 0;
	op_reply_cancel(c);
	if (c->op_conn)
		c->op_conn->waiting = NULL;
	c->op_conn = NULL;
	c->op = OP_NONE;
	c->op_worker = NULL;
	c->op_wait_init = false;
	c->op_new = false;
	c->op_check = false;
	c->op_from_fd = false;
	c->op_image_id[0] = '\0';
	if (c->op_result)
		ckpt__rpc__response__free_unpacked(c->op_result, NULL);
	c->op_result = NULL;
	query_wait_wake(c);
	server_maybe_exit(c->srv);
}

static void op_set_error(struct container *c, Ckpt__Rpc__ErrorCode code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void op_set_error(struct container *c, Ckpt__Rpc__ErrorCode code, const char *fmt, ...)
{
	va_list ap;

	if (c->op_err_code != E(ERR_NONE))
		return;    /* the first error is the cause */
	c->op_err_code = code;
	memset(&c->op_err_detail, 0, sizeof(c->op_err_detail));
	va_start(ap, fmt);
	vsnprintf(c->op_err_msg, sizeof(c->op_err_msg), fmt, ap);
	va_end(ap);
}

/* The hint for an engine error of c's operation, as hint_classify
 * reads it, with what only ckptd knows filled in. */
static size_t op_hint(const struct container *c, int code, int sys_errno, const char *reason,
		      char *buf, size_t len)
{
	char arg[64];
	struct hint_facts hf = {
		.kind = hint_classify(op_names[c->op], code, sys_errno, reason, arg, sizeof(arg)),
		.name = c->name, .arg = arg[0] ? arg : NULL, .from_file = c->op_from_fd,
	};

	if (hf.kind == HINT_UNTRUSTED)
		hf.arg = c->srv->keys ? c->srv->keys->trusted_dir : NULL;
	/* a full disk that is not the store's is the client's to free */
	if (hf.kind == HINT_STORE_FULL && c->op == OP_CHECKPOINT && !c->op_image_id[0])
		hf.kind = HINT_NONE;
	/* one that ran --check has seen the whole list */
	if (hf.kind == HINT_REFUSED && c->op_check)
		hf.kind = HINT_NONE;
	return hint_format(&hf, buf, len);
}

static void op_reply_error(struct container *c)
{
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	struct op_err_detail *d = &c->op_err_detail;
	char msg[sizeof(c->op_err_msg)], hint[256];

	snprintf(msg, sizeof(msg), "%s", c->op_err_msg[0] ? c->op_err_msg : "operation failed");
	e.code = c->op_err_code ? c->op_err_code : E(ERR_INTERNAL);
	e.message = msg;
	e.has_sys_errno = d->sys_errno != 0;
	e.sys_errno = d->sys_errno;
	e.has_task_pid = d->task_pid != 0;
	e.task_pid = d->task_pid;
	e.has_task_host_pid = d->task_host_pid != 0;
	e.task_host_pid = d->task_host_pid;
	e.object = d->object[0] ? d->object : NULL;
	e.reason = d->reason[0] ? d->reason : NULL;
	if (op_hint(c, e.code, d->sys_errno, d->reason[0] ? d->reason : msg, hint, sizeof(hint)))
		e.hint = hint;
	conn_reply_error_msg(c->op_conn, &e);
}

/* Progress and phases go to the client; a phase it must answer that
 * can't reach it is answered here, with an abort. */
static void op_relay_progress(void *ud, Ckpt__Rpc__Response *resp)
{
	struct container *c = ud;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__PhaseAck ack = CKPT__RPC__PHASE_ACK__INIT;

	if (conn_send(c->op_conn, resp, NULL, 0) >= 0 && c->op_conn)
		return;
	if (!resp->phase || !resp->phase->wait || !c->op_worker)
		return;
	ack.name = resp->phase->name;
	ack.ok = false;
	ack.reason = "the client that asked to be told of it is gone";
	req.body_case = CKPT__RPC__REQUEST__BODY_PHASE_ACK;
	req.phase_ack = &ack;
	(void)worker_phase_ack(c->op_worker, &req);
}

void ops_client_gone(struct conn *cn)
{
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__PhaseAck ack = CKPT__RPC__PHASE_ACK__INIT;
	struct container *c = cn->waiting;

	if (!c || c->op_conn != cn || !c->op_worker || (c->op != OP_CHECKPOINT && c->op != OP_RESTART))
		return;
	/* read only if the worker waits at a phase, now or later */
	ack.name = "";
	ack.ok = false;
	ack.reason = "the client that asked to be told of its phases left";
	req.body_case = CKPT__RPC__REQUEST__BODY_PHASE_ACK;
	req.phase_ack = &ack;
	(void)worker_phase_ack(c->op_worker, &req);
}

bool ops_phase_ack(struct conn *cn, const void *buf, size_t len)
{
	struct container *c = cn->waiting;
	Ckpt__Rpc__Request *req;
	bool ok;

	if (!c || c->op_conn != cn || !c->op_worker || (c->op != OP_CHECKPOINT && c->op != OP_RESTART))
		return false;
	req = ckpt__rpc__request__unpack(NULL, len, buf);
	ok = req && req->body_case == CKPT__RPC__REQUEST__BODY_PHASE_ACK;
	if (ok && worker_phase_ack(c->op_worker, req) < 0)
		log_warn("container %s: handing the client's answer to the worker failed", c->name);
	if (req)
		ckpt__rpc__request__free_unpacked(req, NULL);
	return ok;
}

/* The phases a request asked for, checked whole; false: refused (answered). */
static bool ops_phases(struct conn *cn, const char *what, const char *name,
		       const Ckpt__Rpc__PhaseNotify *n, bool restart, struct worker_phases *ret)
{
	int bit;

	*ret = (struct worker_phases){ 0 };
	if (!n)
		return true;
	for (size_t i = 0; i < n->n_phases; i++) {
		bit = worker_phase_bit(n->phases[i], restart);
		if (bit < 0) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: a %s has no phase '%.40s'", what, name,
					 what, n->phases[i]);
			return false;
		}
		ret->notify |= 1u << bit;
	}
	for (size_t i = 0; i < n->n_wait; i++) {
		bit = worker_phase_bit(n->wait[i], restart);
		if (bit < 0 || !(ret->notify & (1u << bit))) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: waiting at phase '%.40s' that it is not told of",
					 what, name, n->wait[i]);
			return false;
		}
		if (!worker_phase_waitable(n->wait[i])) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: phase '%s' can't be waited at: nothing is left to undo",
					 what, name, n->wait[i]);
			return false;
		}
		ret->wait |= 1u << bit;
	}
	return true;
}

static void op_worker_died(struct container *c, const char *what, int wait_status)
{
	if (WIFSIGNALED(wait_status))
		op_set_error(c, E(ERR_INTERNAL), "container %s: the %s worker was killed by signal %d",
			     c->name, what, WTERMSIG(wait_status));
	else
		op_set_error(c, E(ERR_INTERNAL), "container %s: the %s worker exited with %d without an answer",
			     c->name, what, WEXITSTATUS(wait_status));
}

static void op_error_from(struct container *c, const Ckpt__Rpc__Response *final)
{
	const Ckpt__Rpc__Error *e = final->error;
	struct op_err_detail *d = &c->op_err_detail;

	if (c->op_err_code != E(ERR_NONE))
		return;
	op_set_error(c, e->code, "%s", e->message);
	d->sys_errno = e->has_sys_errno ? e->sys_errno : 0;
	d->task_pid = e->has_task_pid ? e->task_pid : 0;
	d->task_host_pid = e->has_task_host_pid ? e->task_host_pid : 0;
	snprintf(d->object, sizeof(d->object), "%s", e->object ? e->object : "");
	snprintf(d->reason, sizeof(d->reason), "%s", e->reason ? e->reason : "");
}

/* Record what is about to happen (intent.h); refuse the operation if it
 * can't be, since a ckptd dying in it could not put things back. */
static bool ops_intent(struct conn *cn, struct container *c, const struct intent *in)
{
	int r = intent_write(c->dir_fd, in);

	if (r < 0)
		conn_reply_error(cn, E(ERR_IO), "container %s: saving its state (the %s's intent record): %s", c->name,
				 op_names[in->op], strerror(-r));
	return r >= 0;
}

/* Checkpoints and restarts in flight, against --max-ops. */
static bool ops_slot(struct conn *cn, const char *name)
{
	struct container *c;
	int n = 0;

	for (c = cn->srv->containers; c; c = c->next)
		n += c->op_worker != NULL;
	if (n < cn->srv->max_ops)
		return true;
	ops_refuse(cn, E(ERR_BUSY), HINT(.kind = HINT_MAX_OPS),
		   "container %s: ckptd runs %d checkpoints and restarts already (--max-ops)", name, n);
	return false;
}

/* Answer with the container's info (run, restart). */
static void ops_reply_container(struct container *c, struct conn *cn, bool restart,
				const Ckpt__Rpc__RestartResponse *stats)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__RunResponse run = CKPT__RPC__RUN_RESPONSE__INIT;
	Ckpt__Rpc__RestartResponse rr = CKPT__RPC__RESTART_RESPONSE__INIT;
	Ckpt__Rpc__ContainerInfo *ci;
	int r;

	r = container_info(c, &ci);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: reading its state: %s", c->name, strerror(-r));
		return;
	}
	resp.final = true;
	if (restart) {
		if (stats)
			rr = *stats;
		rr.container = ci;
		resp.body_case = CKPT__RPC__RESPONSE__BODY_RESTART;
		resp.restart = &rr;
	} else {
		run.container = ci;
		resp.body_case = CKPT__RPC__RESPONSE__BODY_RUN;
		resp.run = &run;
	}
	conn_send(cn, &resp, NULL, 0);
	container_info_free(ci);
}

/* ---- run ---- */

static bool ops_find_program(const char *prog, const char *cwd, char *const *envp)
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char buf[PATH_MAX];
	size_t i;

	if (strchr(prog, '/')) {
		if (prog[0] != '/')
			snprintf(buf, sizeof(buf), "%s/%s", cwd, prog);
		return access(prog[0] == '/' ? prog : buf, X_OK) == 0;
	}
	for (i = 0; envp && envp[i]; i++)
		if (strncmp(envp[i], "PATH=", 5) == 0)
			path = envp[i] + 5;
	while (*path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, prog);
		if (n && access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

static bool ops_run_valid(struct conn *cn, const Ckpt__Rpc__RunRequest *r)
{
	size_t i;

	if (r->n_argv == 0 || !r->argv[0][0]) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: no program given", r->name);
		return false;
	}
	if (r->n_argv > OPS_MAX_ARGS || r->n_env > OPS_MAX_ARGS) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: more than %d arguments or variables",
				 r->name, OPS_MAX_ARGS);
		return false;
	}
	for (i = 0; i < r->n_env; i++)
		if (!strchr(r->env[i], '=') || r->env[i][0] == '=') {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: environment entry '%.80s' is not NAME=VALUE",
					 r->name, r->env[i]);
			return false;
		}
	if (r->hostname && !ns_hostname_valid(r->hostname)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST),
				 "run %s: hostname '%.80s' is not a hostname: 1-64 bytes of dot-separated [A-Za-z0-9-] labels, none starting or ending with '-'",
				 r->name, r->hostname);
		return false;
	}
	if (r->has_net && r->net != CKPT__RPC__NET_MODE__NET_DEFAULT && r->net != CKPT__RPC__NET_MODE__NET_PRIVATE &&
	    r->net != CKPT__RPC__NET_MODE__NET_HOST) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: unknown network mode %d", r->name, r->net);
		return false;
	}
	if (r->n_publish && r->has_net && r->net == CKPT__RPC__NET_MODE__NET_HOST) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: --publish needs --net private (with --net host the container's ports are the host's)", r->name);
		return false;
	}
	if (r->n_publish > CR_NET_MAX_PUBLISH) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: more than %d published ports", r->name, CR_NET_MAX_PUBLISH);
		return false;
	}
	if (r->cwd && r->cwd[0] != '/') {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: cwd '%.200s' is not an absolute path",
				 r->name, r->cwd);
		return false;
	}
	return true;
}

/* The network a run asks for; its addresses come later (ops_run_addr). */
static bool ops_run_net(struct conn *cn, const Ckpt__Rpc__RunRequest *r, struct cr_net_config *net)
{
	size_t i, k;

	*net = (struct cr_net_config){ .private_ns = !r->has_net || r->net != CKPT__RPC__NET_MODE__NET_HOST };
	for (i = 0; i < r->n_publish; i++) {
		struct cr_net_publish *p = &net->publish[i];

		if (net_parse_publish(r->publish[i], p) < 0) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: --publish '%.40s': not HOSTPORT:PORT[/tcp|/udp] with ports 1-65535",
					 r->name, r->publish[i]);
			return false;
		}
		for (k = 0; k < i; k++)
			if (net->publish[k].host_port == p->host_port && net->publish[k].protocol == p->protocol) {
				conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: host port %s twice in --publish",
						 r->name, r->publish[i]);
				return false;
			}
	}
	net->npublish = r->n_publish;
	return true;
}

/* A host port serves one container. */
static bool ops_run_ports_free(struct conn *cn, const char *name, struct container *c, const struct cr_net_config *net)
{
	_cleanup_free_ struct net_busy *busy = NULL;
	char p[NET_PUBLISH_STR_MAX];
	size_t n = 0, i;

	if (!net->npublish || net_busy_list(cn->srv, c, cn->uid, &busy, &n) < 0)
		return true;
	for (i = 0; i < net->npublish; i++) {
		const struct net_busy *b = net_busy_port(busy, n, &net->publish[i]);

		if (b) {
			net_format_publish(&net->publish[i], p);
			ops_refuse(cn, E(ERR_EXISTS), HINT(.kind = HINT_PORT_TAKEN, .arg = b->name),
				   "run %s: host port %s is published by container %s", name, p, b->name);
			return false;
		}
	}
	return true;
}

/* Its init has said its workload exists (or could not start it, and is
 * gone): the run is recorded and answered. A run that waited for its init
 * (OP_RUN) ends once its state is set, so that its answer and any wait
 * woken see the container as it is. */
static void ops_run_started(struct container *c, struct conn *cn)
{
	int k;

	if (c->init_pid <= 0) {
		/* its exit found the run still busy and left the rest to us */
		c->state = CONTAINER_STOPPED;
		if (c->op == OP_RUN)
			op_end(c);
		container_save(c);
		events_publish(c->srv, "exited", c, "status %d", c->exit_status);
		intent_clear(c->dir_fd);
		conn_reply_error(cn, E(ERR_KERNEL), "run %s: its init exited while starting (status %d)", c->name,
				 c->has_exit_status ? c->exit_status : -1);
		return;
	}
	c->state = CONTAINER_RUNNING;
	if (c->op == OP_RUN)
		op_end(c);
	fault_crash("run-saving");
	k = container_save(c);
	if (k < 0) {
		/* a container ckptd can't record would be lost at its next start */
		conn_reply_error(cn, E(ERR_IO), "run %s: saving its state: %s; stopped it", c->name, strerror(-k));
		container_kill_all(c);
		return;
	}
	k = intent_clear(c->dir_fd);
	if (k < 0)
		log_errno(k, "container %s: clearing its intent record: %m", c->name);
	events_publish(c->srv, "started", c, "host pid %d", (int)c->workload_pid);
	ops_reply_container(c, cn, false, NULL);
}

/* The wait for its init is over (container_watch_ready): answer. */
static void ops_run_ready(struct container *c)
{
	struct conn *cn = c->op_conn;

	container_unwatch_ready(c);
	if (c->init_pid > 0)
		container_find_workload(c);
	/* the answer goes to whoever still waits; the run happens regardless */
	c->op_conn = NULL;
	if (cn)
		cn->waiting = NULL;
	ops_run_started(c, cn);
}

void ops_run(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	char why[512] = "";
	struct cr_net_config net;
	const Ckpt__Rpc__RunRequest *r = req->run;
	_cleanup_free_ char **envp = NULL;
	const char *cwd = r->cwd ? r->cwd : "/";
	struct init_run run = { .cwd = cwd };
	static struct cr_contain contain;
	struct cg_limits limits = { 0 };
	struct container *c;
	struct stat st;
	bool created = false;
	int k;

	if (!container_name_valid(r->name)) {
		ops_lookup(cn, r->name);
		return;
	}
	if (!ops_run_valid(cn, r) || !ops_run_net(cn, r, &net))
		return;
	if (r->n_env) {
		envp = calloc(r->n_env + 1, sizeof(char *));
		if (!envp) {
			conn_reply_error(cn, E(ERR_INTERNAL), "run %s: out of memory", r->name);
			return;
		}
		memcpy(envp, r->env, r->n_env * sizeof(char *));
	}
	c = container_find(cn->srv, r->name);
	if (!ops_name_free_for(cn, "run", c))
		return;
	if (c && !ops_idle(cn, c))
		return;
	/* A stopped container is replaced: new argv and init, same log and images. */
	if (c && c->state != CONTAINER_STOPPED) {
		ops_refuse(cn, E(ERR_EXISTS), HINT(.kind = HINT_NAME_TAKEN, .name = r->name),
			   "container %s: already exists and is %s", r->name,
			   c->state == CONTAINER_RUNNING ? "running" : "checkpointed");
		return;
	}
	if (container_contain_from_run(r, &contain, why, sizeof(why)) < 0 ||
	    container_limits_from_run(r, &limits, why, sizeof(why)) < 0) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: %s", r->name, why);
		return;
	}
	if (cn->uid != 0 && container_contain_member(cn->uid, &contain, why, sizeof(why)) < 0) {
		conn_reply_error(cn, E(ERR_PERMISSION_DENIED), "run %s: %s", r->name, why);
		return;
	}
	if (container_userns_assign(cn->srv, c, &contain, why, sizeof(why)) < 0) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "run %s: %s", r->name, why);
		return;
	}
	why[0] = '\0';
	/* with --root, cwd and program are the root's: init says if they fail */
	if (!contain.root[0] && (stat(cwd, &st) < 0 || !S_ISDIR(st.st_mode))) {
		conn_reply_error(cn, E(ERR_NOT_FOUND), "run %s: cwd %.200s: not a directory", r->name, cwd);
		return;
	}
	if (!contain.root[0] && !ops_find_program(r->argv[0], cwd, envp)) {
		conn_reply_error(cn, E(ERR_NOT_FOUND), "run %s: program %.200s: not found or not executable",
				 r->name, r->argv[0]);
		return;
	}
	if (!ops_run_ports_free(cn, r->name, c, &net))
		return;
	if (!c) {
		k = container_new(cn->srv, r->name, cn->uid, &c);
		if (k < 0) {
			conn_reply_error(cn, E(ERR_IO), "run %s: creating its state: %s", r->name, strerror(-k));
			return;
		}
		created = true;
	}
	{
		struct intent in;

		intent_from(&in, c, OP_RUN);
		in.created = created;
		if (!ops_intent(cn, c, &in)) {
			if (created)
				container_destroy(c);
			return;
		}
	}
	if (r->hostname)
		snprintf(c->hostname, sizeof(c->hostname), "%s", r->hostname);
	else
		ns_default_hostname(c->name, c->hostname);
	run.hostname = c->hostname;
	c->contain = contain;
	c->limits = limits;
	c->net = net;
	k = net.npublish ? net_alloc(cn->srv, c, &c->net) : 0;
	if (k < 0)
		snprintf(why, sizeof(why), "no free address left in ckptd's range for its veth");
	c->tty = r->has_tty && r->tty;
	run.rows = MIN(r->rows, 0xffffu);
	run.cols = MIN(r->cols, 0xffffu);
	if (k >= 0)
		k = container_set_argv(c, r->argv, r->n_argv);
	if (k >= 0) {
		run.argv = c->argv;
		run.envp = envp;
		k = container_spawn(c, &run, NULL, why, sizeof(why));
	}
	if (k < 0) {
		c->init_ready_fd = safe_close(c->init_ready_fd);
		if (why[0])
			conn_reply_error(cn, E(ERR_KERNEL), "run %s: setting up its network: %s", r->name, why);
		else
			conn_reply_error(cn, E(ERR_KERNEL), "run %s: starting the container: %s", r->name, strerror(-k));
		if (c->init_pid > 0)
			container_kill_all(c);
		else if (created) {
			container_destroy(c);
			return;
		}
		intent_clear(c->dir_fd);
		return;
	}
	/* a stopped container run again is whoever ran it last's (root may reuse a member's) */
	container_set_owner(c, cn->uid);
	if (c->init_ready_fd < 0) {
		ops_run_started(c, cn);
		return;
	}
	op_begin(c, OP_RUN, cn);
	if (container_watch_ready(c, ops_run_ready) < 0)
		ops_run_ready(c);
}

/* One line per finished checkpoint or restart, with the journal fields an
 * operator filters on (CKPT_CONTAINER=, CKPT_OPERATION=, ...). bytes and
 * total_us are those of the response; a failure carries its error instead. */
static void ops_log_done(const struct container *c, const char *op, bool ok, const char *image_id,
			 uint64_t bytes, uint64_t total_us)
{
	char ms[24], nbytes[24];
	struct log_field f[] = {
		{ "CKPT_CONTAINER", c->name },
		{ "CKPT_OPERATION", op },
		{ "CKPT_RESULT", ok ? "ok" : "failed" },
		{ "CKPT_DURATION_MS", ok ? ms : NULL },
		{ "CKPT_BYTES", ok ? nbytes : NULL },
		{ "CKPT_IMAGE", image_id && image_id[0] ? image_id : NULL },
	};

	snprintf(ms, sizeof(ms), "%" PRIu64, total_us / 1000);
	snprintf(nbytes, sizeof(nbytes), "%" PRIu64, bytes);
	if (ok)
		log_fields(LOG_LVL_INFO, f, ARRAY_SIZE(f), "container %s: %s done in %s ms, %s bytes%s%s",
			   c->name, op, ms, nbytes, f[5].value ? ", image " : "", f[5].value ? f[5].value : "");
	else
		log_fields(LOG_LVL_WARN, f, ARRAY_SIZE(f), "container %s: %s failed: %s", c->name, op,
			   c->op_err_msg[0] ? c->op_err_msg : "no reason given");
}

/* ---- checkpoint ---- */

static void ops_run_pending(struct container *c);

static void ops_checkpoint_event(struct container *c)
{
	const Ckpt__Rpc__CheckpointResponse *cr = c->op_result ? c->op_result->checkpoint : NULL;

	events_publish(c->srv, "checkpointed", c, "%s%s%s, %llu bytes",
		       cr && cr->image_id ? "image " : "into a stream",
		       cr && cr->image_id ? cr->image_id : "",
		       c->op_leave_running ? ", left running" : "",
		       cr ? (unsigned long long)cr->image_bytes : 0ull);
}

static void ops_checkpointed(struct container *c)
{
	int r;

	c->state = CONTAINER_CHECKPOINTED;
	fault_crash("ckpt-saving");
	r = container_save(c);
	if (r < 0) {
		op_set_error(c, E(ERR_IO), "container %s: checkpointed into %s, but saving its state failed: %s",
			     c->name, c->op_result->checkpoint && c->op_result->checkpoint->image_id ?
			     c->op_result->checkpoint->image_id : "the output", strerror(-r));
		op_reply_error(c);
	} else {
		ops_checkpoint_event(c);
		conn_send(c->op_conn, c->op_result, NULL, 0);
	}
	op_end(c);
	ops_run_pending(c);
}

static void ops_incr_fds(void *ud, int *fds, size_t n)
{
	struct container *c = ud;
	int *v;

	/* the worker lost a part of it: the chain ends, the next one is full */
	if (!n) {
		log_error("container %s: write tracking: a part was not handed over", c->name);
		c->incr_lost = true;
		return;
	}
	v = realloc(c->incr_new, (c->incr_nnew + n) * sizeof(int));
	if (!v || c->incr_nnew + n > CONTAINER_INCR_FDS_MAX) {
		log_error("container %s: write tracking: too many userfaultfds", c->name);
		c->incr_new = v ? v : c->incr_new;
		for (size_t i = 0; i < n; i++)
			close(fds[i]);
		c->incr_lost = true;
		return;
	}
	c->incr_new = v;
	for (size_t i = 0; i < n; i++)
		c->incr_new[c->incr_nnew++] = fds[i];
}

/* A checkpoint's end: its write tracking joins the container's (an
 * incremental one that leaves it running, stored), or the chain ends (a
 * failed checkpoint may have cleared written bits its image never got). */
static void ops_incr_done(struct container *c, const Ckpt__Rpc__CheckpointResponse *cr)
{
	bool keep = cr && c->op_incremental && c->op_leave_running && !c->op_check && cr->image_id && !c->incr_lost &&
		    (c->incr_nnew || c->incr_nfds);

	if (keep)
		container_incr_keep(c, c->incr_new, c->incr_nnew, cr->image_id, cr->image_digest);
	else {
		for (size_t i = 0; i < c->incr_nnew; i++)
			close(c->incr_new[i]);
		if (!c->op_check)
			container_incr_drop(c);
	}
	free(c->incr_new);
	c->incr_new = NULL;
	c->incr_nnew = 0;
	c->incr_lost = false;
}

/* The worker died holding tasks' registers and signal masks, and they
 * could not be put back (recover.h): the kernel killed them with it
 * (PTRACE_O_EXITKILL, rtask.h), or recovery found them gone or changed
 * (why). Or it died inside a step no recovery undoes (borrow.h,
 * borrow_unsafe_begin): every task it had seized died with it (held < 0:
 * the number of such steps open). What is left of the container goes
 * too, and it is reported damaged, never running. */
static void ops_checkpoint_damaged(struct container *c, int wait_status, int held, pid_t held_pid, enum borrow_step step,
				   const char *why)
{
	char how[48], what[200];

	if (WIFSIGNALED(wait_status))
		snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(wait_status));
	else
		snprintf(how, sizeof(how), "exited with %d", WEXITSTATUS(wait_status));
	if (held < 0 && step != BORROW_STEP_NONE)
		snprintf(what, sizeof(what), "in %d step%s no recovery undoes (%s%s)", -held, held == -1 ? "" : "s",
			 held == -1 ? "" : "the first: ", borrow_step_what(step));
	else if (held < 0)
		snprintf(what, sizeof(what), "in %d step%s no recovery undoes (a TCP connection in repair mode, or SysV "
			 "semaphores raised to measure an undo list)", -held, held == -1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "while it held the registers of %d task%s (host pid %d among them), which "
			 "could not be put back", held, held == 1 ? "" : "s", (int)held_pid);
	op_set_error(c, E(ERR_INTERNAL), "container %s: the checkpoint worker %s %s (%s); the container is damaged and stopped",
		     c->name, how, what, why);
	ops_log_done(c, "checkpoint", false, NULL, 0, 0);
	if (c->op_image_id[0])
		store_abort(c->dir_fd, c->op_image_id);
	recover_forget(c->dir_fd);
	container_kill_all(c);
	c->state = CONTAINER_STOPPED;
	container_save(c);
	events_publish(c->srv, "damaged", c, "%s", c->op_err_msg);
	op_reply_error(c);
	op_end(c);
	ops_run_pending(c);
}

/* A failed checkpoint whose container is as it was (or has no init left). */
static void ops_checkpoint_failed(struct container *c)
{
	ops_log_done(c, "checkpoint", false, NULL, 0, 0);
	/* A worker that died can't have thawed; the engine already did otherwise. */
	if (c->has_cgroup)
		cgroup_thaw(&c->cg);
	if (c->op_image_id[0])
		store_abort(c->dir_fd, c->op_image_id);
	if (c->init_pid == 0) {
		c->state = CONTAINER_STOPPED;
		container_save(c);
		events_publish(c->srv, "damaged", c, "%s", c->op_err_msg);
	}
	op_reply_error(c);
	op_end(c);
	ops_run_pending(c);
}

/* A recovery worker (recover.h) after a checkpoint worker's death. */
struct ops_recovery {
	struct container *c;
	int wait_status, held;
	pid_t held_pid;
};

static void ops_recovery_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct ops_recovery *rv = ud;
	struct container *c = rv->c;
	bool ok = final && !final->error && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
	char why[sizeof(c->op_err_msg) + 100];

	c->op_worker = NULL;
	if (!ok) {
		if (final && final->error && final->error->message)
			snprintf(why, sizeof(why), "%s", final->error->message);
		else
			snprintf(why, sizeof(why), "the recovery worker died (status %#x)", wait_status);
		log_error("container %s: recovery: %s", c->name, why);
		ops_checkpoint_damaged(c, rv->wait_status, rv->held, rv->held_pid, BORROW_STEP_NONE, why);
	} else {
		op_worker_died(c, "checkpoint", rv->wait_status);
		snprintf(why, sizeof(why), "%s; it held the registers of %d task%s, put back: the container runs on",
			 c->op_err_msg, rv->held, rv->held == 1 ? "" : "s");
		c->op_err_code = E(ERR_NONE);
		op_set_error(c, E(ERR_INTERNAL), "%s", why);
		log_info("container %s: the tasks' registers a dead checkpoint worker held are put back", c->name);
		ops_checkpoint_failed(c);
	}
	if (final)
		ckpt__rpc__response__free_unpacked(final, NULL);
	free(rv);
}

static const struct worker_ops ops_recovery_ops = { .done = ops_recovery_done };

/* The checkpoint worker died with a borrow record: a recovery worker puts
 * the tasks back. False if none could be started. */
static bool ops_checkpoint_recover(struct container *c, int wait_status, int held, pid_t held_pid)
{
	struct recover_job job = { .dir_fd = c->dir_fd, .cg = c->cg };
	struct ops_recovery *rv = calloc(1, sizeof(*rv));
	char what[96];
	struct worker *w;
	int keep[1] = { c->dir_fd };

	if (!rv || !c->has_cgroup) {
		free(rv);
		return false;
	}
	*rv = (struct ops_recovery){ .c = c, .wait_status = wait_status, .held = held, .held_pid = held_pid };
	snprintf(what, sizeof(what), "recovery of %s", c->name);
	if (worker_start(c->srv, what, recover_worker, &job, keep, 1, &ops_recovery_ops, rv, &w) < 0) {
		free(rv);
		return false;
	}
	log_warn("container %s: the checkpoint worker died holding the registers of %d task%s: putting them back",
		 c->name, held, held == 1 ? "" : "s");
	c->op_worker = w;
	return true;
}

/* Each refusal a --check found gets the hint of its own kind. */
static void ops_check_hints(const struct container *c, Ckpt__Rpc__CheckpointResponse *cr)
{
	char hint[256];

	for (size_t i = 0; i < cr->n_errors; i++) {
		Ckpt__Rpc__Error *e = cr->errors[i];

		if (e->hint || !op_hint(c, e->code, e->has_sys_errno ? e->sys_errno : 0, e->reason ? e->reason : e->message,
					hint, sizeof(hint)))
			continue;
		/* freed with the reply, by protobuf-c's default allocator */
		e->hint = strdup(hint);
	}
}

static void ops_checkpoint_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;
	bool ok = final && !final->error && final->body_case == CKPT__RPC__RESPONSE__BODY_CHECKPOINT;
	pid_t held_pid = 0;
	enum borrow_step step;
	int held = worker_borrowed(c->op_worker, &held_pid), unsafe = worker_unsafe(c->op_worker, &step);

	c->op_worker = NULL;
	/* a worker that answered put its tasks back itself */
	if (final)
		recover_forget(c->dir_fd);
	ops_incr_done(c, ok ? final->checkpoint : NULL);
	/* Before any recovery: its record, if any, can't undo such a step,
	 * and the tasks it would put back died with the worker (borrow.h). */
	if (!ok && !final && unsafe > 0) {
		ops_checkpoint_damaged(c, wait_status, -unsafe, 0, step, "every task it had seized died with it");
		return;
	}
	if (!ok && !final && recover_needed(c->dir_fd)) {
		if (ops_checkpoint_recover(c, wait_status, held, held_pid))
			return;
		ops_checkpoint_damaged(c, wait_status, held, held_pid, BORROW_STEP_NONE, "no recovery worker could be started");
		return;
	}
	if (!ok && !final && held > 0) {
		ops_checkpoint_damaged(c, wait_status, held, held_pid, BORROW_STEP_NONE, "they died with it");
		return;
	}
	if (!ok) {
		if (final && final->error)
			op_error_from(c, final);
		else
			op_worker_died(c, "checkpoint", wait_status);
		if (final)
			ckpt__rpc__response__free_unpacked(final, NULL);
		ops_checkpoint_failed(c);
		return;
	}
	c->op_result = final;
	if (final->checkpoint && c->op_check)
		ops_check_hints(c, final->checkpoint);
	if (final->checkpoint && c->op_check)
		log_fields(LOG_LVL_INFO, (struct log_field[]){ { "CKPT_CONTAINER", c->name }, { "CKPT_OPERATION", "check" } },
			   2, "container %s: checkpoint --check found %zu refusals", c->name, final->checkpoint->n_errors);
	else if (final->checkpoint)
		ops_log_done(c, "checkpoint", true, final->checkpoint->image_id, final->checkpoint->image_bytes,
			     final->checkpoint->total_us);
	if (c->op_leave_running) {
		if (c->init_pid == 0) {
			c->state = CONTAINER_STOPPED;
			container_save(c);
		}
		/* a --check wrote nothing: nothing was checkpointed */
		if (!c->op_check)
			ops_checkpoint_event(c);
		conn_send(c->op_conn, final, NULL, 0);
		op_end(c);
		return;
	}
	/* The engine killed the tasks; the answer goes out once init is gone, so
	 * the client can restart right away. */
	if (c->init_pid == 0) {
		ops_checkpointed(c);
		return;
	}
	c->op_wait_init = true;
	container_kill_all(c);
}

static const struct worker_ops ops_checkpoint_ops = {
	.progress = op_relay_progress,
	.done = ops_checkpoint_done,
	.fds = ops_incr_fds,
};

static int ops_fd_mode_ok(int fd, bool want_write)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || (fl & O_PATH))
		return false;
	fl &= O_ACCMODE;
	return fl == O_RDWR || fl == (want_write ? O_WRONLY : O_RDONLY);
}

/* Check the attached fds against the request's from_fd/to_fd. */
static bool ops_fds_ok(struct conn *cn, const char *what, const char *name, bool want_fd, bool write,
		       size_t nfds, const int *fds)
{
	if (!want_fd && nfds) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: %zu fds attached but none asked for",
				 what, name, nfds);
		return false;
	}
	if (want_fd && nfds != 1) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: exactly one image fd must be attached, got %zu",
				 what, name, nfds);
		return false;
	}
	if (want_fd && !ops_fd_mode_ok(fds[0], write)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "%s %s: the attached fd is not open for %s",
				 what, name, write ? "writing" : "reading");
		return false;
	}
	return true;
}

/* The incremental part of a checkpoint request: the parent, if the chain
 * still holds (its tracking kept, its image stored), or why not. A plain
 * checkpoint ends the chain. */
static void ops_incr_request(struct container *c, const Ckpt__Rpc__CheckpointRequest *r, bool incremental,
			     struct worker_checkpoint_job *job)
{
	static char parent[24];
	int fd;

	job->req.incr_tracked = c->incr_nfds > 0;
	if (r->check_only)
		return;
	if (!incremental || r->full) {
		container_incr_drop(c);
		job->req.incr_tracked = false;
	}
	if (!incremental)
		return;
	job->req.incremental = true;
	if (r->full) {
		job->full_reason = "--full: the first image of a new chain";
		return;
	}
	if (!c->incr_parent[0]) {
		job->full_reason = "the first image of a chain (no write tracking armed in the container)";
		return;
	}
	fd = store_open(c->dir_fd, c->incr_parent);
	if (fd < 0) {
		job->full_reason = "the previous image of the chain is gone from the store";
		return;
	}
	close(fd);
	snprintf(parent, sizeof(parent), "%s", c->incr_parent);
	job->req.parent_id = parent;
	job->req.parent_digest = c->incr_digest;
}

/* --incremental, or (ckptd.conf incremental = auto) a stored checkpoint
 * that leaves the container running: it continues the chain, or begins
 * one (arming the write tracking) if there is none or --full says so. */
static bool ops_incremental(const struct conn *cn, const Ckpt__Rpc__CheckpointRequest *r)
{
	return r->incremental || (cn->srv->incremental_auto && r->leave_running && !r->to_fd && !r->check_only);
}

void ops_checkpoint(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__CheckpointRequest *r = req->checkpoint;
	struct worker_checkpoint_job job = { 0 };
	static struct cr_creds_limit limit;   /* the worker's copy is taken at fork */
	_cleanup_close_ int tmp_fd = -1;
	char id[STORE_ID_MAX] = "", what[128];
	struct container *c;
	struct worker *w;
	struct stat st;
	int keep[3], k;

	c = ops_lookup(cn, r->name);
	if (!c || !ops_idle(cn, c) || !ops_fds_ok(cn, "checkpoint", c->name, r->to_fd, true, nfds, fds) ||
	    !ops_phases(cn, "checkpoint", c->name, r->notify, false, &job.phases))
		return;
	if (c->state != CONTAINER_RUNNING || c->init_pid <= 0) {
		ops_refuse_not_running(cn, c, "is %s, not running");
		return;
	}
	if (lazyfill_running(c)) {
		ops_refuse(cn, E(ERR_BUSY), HINT(.kind = HINT_BUSY_WAIT, .name = c->name, .arg = "lazy restart's fill"),
			   "container %s: its memory is still being filled (restart --lazy): checkpoint it once the fill "
			   "is done (the fill-done event)", c->name);
		return;
	}
	if (!ops_slot(cn, c->name))
		return;
	if (r->check_only && r->to_fd) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "checkpoint %s: --check writes no image: no fd may be attached",
				 c->name);
		return;
	}
	if (r->incremental && r->to_fd) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "checkpoint %s: --incremental images live in the store, where "
				 "their parents are: drop --output",
				 c->name);
		return;
	}
	if (r->compress && strcmp(r->compress, "zstd") && strcmp(r->compress, "none")) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "checkpoint %s: compress wants zstd or none, not '%.40s'",
				 c->name, r->compress);
		return;
	}
	if (r->check_only) {
		/* the engine goes through the motions: its image goes nowhere */
		k = tmp_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (k < 0) {
			conn_reply_error(cn, E(ERR_IO), "container %s: opening /dev/null: %m", c->name);
			return;
		}
	} else if (!r->to_fd) {
		k = store_next_id(c->dir_fd, id);
		if (k >= 0)
			k = tmp_fd = store_create_tmp(c->dir_fd, id, c->owner_uid);
		if (k < 0) {
			conn_reply_error(cn, E(ERR_IO), "container %s: creating image %s in the store: %s",
					 c->name, id, strerror(-k));
			return;
		}
	}
	if ((k = container_creds_limit(c, &limit)) < 0) {
		conn_reply_error(cn, E(ERR_INTERNAL), "container %s: its owner's credentials: %s", c->name, strerror(-k));
		if (id[0])
			store_abort(c->dir_fd, id);
		return;
	}
	if (fstat(c->log_fd, &st) < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: stat of its log: %m", c->name);
		if (id[0])
			store_abort(c->dir_fd, id);
		return;
	}
	job.req = (struct cr_checkpoint_req){
		.name = c->name, .init_pid = c->init_pid, .cgroup_dir = c->cg.dir, .cgroup_v1 = c->cg.v1,
		.image_fd = r->to_fd ? fds[0] : tmp_fd, .leave_running = r->leave_running || r->check_only,
		.check_only = r->check_only,
		.compress = r->compress && !strcmp(r->compress, "zstd"),
		.deadline_ms = server_deadline_ms(cn->srv, r->timeout_s),
		.log_dev = st.st_dev, .log_ino = st.st_ino, .net = &c->net, .console_fd = c->console_fd,
		.ghost_limit = r->has_ghost_limit ? r->ghost_limit : CR_GHOST_LIMIT_DEFAULT,
		.key = cn->srv->keys ? &cn->srv->keys->keys[0] : NULL,
		.contain = &c->contain, .creds_limit = &limit, .limits = &c->limits,
		.owner_uid = container_file_uid(c), .owner_gid = container_file_gid(c),
		.external_unix_drop = r->external_unix_drop,
		.tcp_pending_reset = r->tcp_pending_reset,
	};
	ops_incr_request(c, r, ops_incremental(cn, r), &job);
	job.dir_fd = c->dir_fd;
	job.image_id = id[0] ? id : NULL;
	intent_from(&job.intent, c, OP_CHECKPOINT);
	job.intent.leave_running = r->leave_running;
	snprintf(job.intent.image_id, sizeof(job.intent.image_id), "%s", id);
	if (!ops_intent(cn, c, &job.intent)) {
		if (id[0])
			store_abort(c->dir_fd, id);
		return;
	}
	job.phases.container = c->name;
	job.phases.init_pid = c->init_pid;
	job.phases.deadline_ms = job.req.deadline_ms;
	keep[0] = job.req.image_fd;
	keep[1] = c->dir_fd;
	keep[2] = c->console_fd;
	snprintf(what, sizeof(what), "checkpoint %s", c->name);
	k = worker_start(cn->srv, what, worker_checkpoint, &job, keep, 3, &ops_checkpoint_ops, c, &w);
	if (k < 0) {
		conn_reply_error(cn, E(ERR_INTERNAL), "container %s: starting the checkpoint worker: %s",
				 c->name, strerror(-k));
		if (id[0])
			store_abort(c->dir_fd, id);
		intent_clear(c->dir_fd);
		return;
	}
	/* Only the worker holds the image now: the reader sees EOF when it ends. */
	if (r->to_fd)
		fds[0] = safe_close(fds[0]);
	op_begin(c, OP_CHECKPOINT, cn);
	c->op_worker = w;
	c->op_leave_running = r->leave_running || r->check_only;
	c->op_check = r->check_only;
	c->op_incremental = ops_incremental(cn, r);
	memcpy(c->op_image_id, id, sizeof(id));
}

/* ---- restart ---- */

static void ops_restart_failed(struct container *c)
{
	c->state = c->op_prev_state;
	op_reply_error(c);
	if (c->op_new) {
		op_end(c);
		container_destroy(c);
		return;
	}
	container_save(c);
	op_end(c);
}

static void ops_restart_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;
	bool ok = final && !final->error && final->body_case == CKPT__RPC__RESPONSE__BODY_RESTART &&
		  final->restart && final->restart->container;
	int r;

	c->op_worker = NULL;
	if (!ok) {
		if (final && final->error)
			op_error_from(c, final);
		else
			op_worker_died(c, "restart", wait_status);
		if (final)
			ckpt__rpc__response__free_unpacked(final, NULL);
		ops_log_done(c, "restart", false, NULL, 0, 0);
		/* kill what was built; the answer goes out once init is gone, and
		 * the userfaultfds go with it (container_init_exited), not before:
		 * a task still running would read its missing pages as zeroes */
		if (c->init_pid == 0) {
			lazyfill_stop(c);
			ops_restart_failed(c);
			return;
		}
		c->op_wait_init = true;
		container_kill_all(c);
		return;
	}
	ops_log_done(c, "restart", true, NULL, final->restart->image_bytes, final->restart->total_us);
	net_from_info(&c->net, final->restart->container);
	c->limits = (struct cg_limits){
		.memory = final->restart->container->memory_limit,
		.pids = final->restart->container->pids_limit,
		.cpus_milli = final->restart->container->cpus_milli,
	};
	fault_crash("restore-saving");
	if (c->init_pid > 0) {
		c->state = CONTAINER_RUNNING;
		c->workload_pid = final->restart->container->host_pid;
		c->workload_nspid = final->restart->container->pid;
	} else {
		/* restored, and already finished: not an error of ours */
		c->state = CONTAINER_STOPPED;
	}
	r = container_save(c);
	if (r < 0) {
		op_set_error(c, E(ERR_IO), "container %s: restarted, but saving its state failed: %s",
			     c->name, strerror(-r));
		op_reply_error(c);
	} else {
		events_publish(c->srv, "restarted", c, "host pid %d, %llu bytes", (int)c->workload_pid,
			       (unsigned long long)final->restart->image_bytes);
		ops_reply_container(c, c->op_conn, true, final->restart);
		if (c->op_t_req)
			log_info("restart %s: answered %" PRIu64 " us after the request", c->name, mono_us() - c->op_t_req);
	}
	ckpt__rpc__response__free_unpacked(final, NULL);
	op_end(c);
}

/* restart --lazy: the filler, held from before the tasks run */
static void ops_restart_fds(void *ud, int *fds, size_t n)
{
	/* a hand-over lost partway: the worker fails the restart itself */
	if (n)
		lazyfill_take(ud, fds, n);
}

static const struct worker_ops ops_restart_ops = {
	.progress = op_relay_progress,
	.done = ops_restart_done,
	.fds = ops_restart_fds,
};

/* The image to restart from: the attached fd, --image ID, or the newest. */
static int ops_restart_image(struct conn *cn, struct container *c, const Ckpt__Rpc__RestartRequest *r,
			     int *fds, char id[STORE_ID_MAX])
{
	struct stat st;
	int fd;

	id[0] = 0;
	if (r->from_fd)
		return TAKE_FD(fds[0]);
	if (r->image_id) {
		if (!store_id_valid(r->image_id)) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "container %s: invalid image id '%.40s'",
					 c->name, r->image_id);
			return -EINVAL;
		}
		snprintf(id, STORE_ID_MAX, "%s", r->image_id);
	} else if (store_newest(c->dir_fd, id) < 0) {
		ops_refuse(cn, E(ERR_NOT_FOUND), HINT(.kind = HINT_NO_STORED_IMAGE, .name = c->name),
			   "container %s: has no stored image", c->name);
		return -ENOENT;
	}
	fd = store_open(c->dir_fd, id);
	/* an image that is not the peer's is not there for it */
	if (fd >= 0 && (fstat(fd, &st) < 0 || !access_may_act(cn->uid, st.st_uid))) {
		close(fd);
		fd = -ENOENT;
	}
	if (fd < 0)
		ops_refuse(cn, fd == -ENOENT ? E(ERR_NOT_FOUND) : E(ERR_IO),
			   fd == -ENOENT ? HINT(.kind = HINT_NO_IMAGE, .name = c->name) : NULL,
			   "container %s: image %s: %s", c->name, id, strerror(-fd));
	return fd;
}

/* The parents of stored image id (an incremental one), opened, parent
 * first; how many, or -errno with the answer sent. */
static int ops_restart_chain(struct conn *cn, struct container *c, const char *id, int fds[CR_INCR_CHAIN_MAX],
			     char ids[CR_INCR_CHAIN_MAX][STORE_ID_MAX])
{
	char cur[STORE_ID_MAX];
	char next[STORE_ID_MAX];
	struct stat st;
	int n = 0, r;

	snprintf(cur, sizeof(cur), "%s", id);
	for (;;) {
		r = store_parent(c->dir_fd, cur, next);
		/* the image itself unreadable: the restart says what is wrong with it */
		if (r < 0 && n == 0)
			r = 0;
		if (r < 0) {
			conn_reply_error(cn, E(ERR_BAD_IMAGE), "container %s: image %s: reading which image is its "
					 "parent: %s", c->name, cur, strerror(-r));
			break;
		}
		if (r == 0)
			break;
		if (n == CR_INCR_CHAIN_MAX) {
			conn_reply_error(cn, E(ERR_BAD_IMAGE), "container %s: image %s: a chain of more than %d parent "
					 "images", c->name, id, CR_INCR_CHAIN_MAX);
			r = -ELOOP;
			break;
		}
		r = store_open(c->dir_fd, next);
		if (r >= 0 && (fstat(r, &st) < 0 || !access_may_act(cn->uid, st.st_uid))) {
			close(r);
			r = -ENOENT;
		}
		if (r < 0) {
			conn_reply_error(cn, E(ERR_NOT_FOUND), "container %s: image %s is incremental and its parent image "
					 "%s is gone: %s", c->name, id, next, strerror(-r));
			break;
		}
		fds[n] = r;
		memcpy(ids[n++], next, STORE_ID_MAX);
		memcpy(cur, next, STORE_ID_MAX);
	}
	if (r < 0) {
		while (n-- > 0)
			close(fds[n]);
		return r;
	}
	return n;
}

/* Spawn a fresh init and a worker restoring fd (image_id's, with its parents when stored) into it. */
static void ops_restart_start(struct conn *cn, struct container *c, bool created, bool from_fd, int fd,
			      const char *image_id, uint32_t timeout_s, bool allow_changed, bool trust_image, const struct worker_phases *phases,
			      bool lazy)
{
	static int pfds[CR_INCR_CHAIN_MAX];
	static char pids[CR_INCR_CHAIN_MAX][STORE_ID_MAX];
	static const char *pidp[CR_INCR_CHAIN_MAX];
	int npar = 0;
	struct worker_restart_job job = { 0 };
	static struct cr_creds_limit limit;   /* the worker's copy is taken at fork */
	_cleanup_free_ struct net_busy *busy = NULL;
	_cleanup_close_ int image_fd = fd, ctl_fd = -1;
	struct worker *w;
	char what[128];
	int keep[5 + CR_INCR_CHAIN_MAX], k;

	char why[512];

	if (!c->op_t_req)
		c->op_t_req = mono_us();
	if (image_id && image_id[0] && (npar = ops_restart_chain(cn, c, image_id, pfds, pids)) < 0) {
		npar = 0;
		goto fail;
	}
	if (lazy && npar) {
		conn_reply_error(cn, E(ERR_UNSUPPORTED), "container %s: image %s is incremental: --lazy restarts a full "
				 "image (restart without --lazy)", c->name, image_id);
		goto fail;
	}
	k = container_creds_limit(c, &limit);
	if (k < 0) {
		conn_reply_error(cn, E(ERR_INTERNAL), "container %s: its owner's credentials: %s", c->name, strerror(-k));
		goto fail;
	}
	if (!ops_slot(cn, c->name))
		goto fail;
	intent_from(&job.intent, c, OP_RESTART);
	job.intent.created = created;
	if (!ops_intent(cn, c, &job.intent))
		goto fail;
	k = container_spawn(c, NULL, &ctl_fd, why, sizeof(why));
	if (k < 0) {
		conn_reply_error(cn, E(ERR_KERNEL), "container %s: starting its init: %s", c->name, strerror(-k));
		intent_clear(c->dir_fd);
		goto fail;
	}
	/* now with the init and cgroup a recovery kills */
	intent_from(&job.intent, c, OP_RESTART);
	job.intent.created = created;
	job.dir_fd = c->dir_fd;
	job.req = (struct cr_restart_req){
		.name = c->name, .image_fd = image_fd, .init_pid = c->init_pid,
		.contain = &c->contain, .creds_limit = &limit, .cgroup = &c->cg,
		.owner_uid = container_file_uid(c), .owner_gid = container_file_gid(c),
		.init_ctl_fd = ctl_fd, .log_fd = c->log_fd, .console_fd = c->console_fd,
		.deadline_ms = server_deadline_ms(cn->srv, timeout_s), .allow_changed_files = allow_changed,
		.keys = cn->srv->keys ? cn->srv->keys->keys : NULL,
		.nkeys = cn->srv->keys ? cn->srv->keys->n : 0,
		.trust_image = trust_image,
		.parent_fds = pfds, .parent_ids = pidp, .nparents = (size_t)npar,
		.lazy = lazy,
	};
	for (k = 0; k < npar; k++) {
		pidp[k] = pids[k];
		keep[5 + k] = pfds[k];
	}
	if (trust_image)
		log_warn("container %s: restart of an image root trusts without its MAC (--trust-image)", c->name);
	if (phases)
		job.phases = *phases;
	job.phases.container = c->name;
	job.phases.init_pid = c->init_pid;
	job.phases.deadline_ms = job.req.deadline_ms;
	keep[0] = image_fd;
	keep[1] = ctl_fd;
	keep[2] = c->log_fd;
	keep[3] = c->console_fd;
	keep[4] = c->dir_fd;
	snprintf(what, sizeof(what), "restart %s", c->name);
	op_begin(c, OP_RESTART, cn);
	c->op_new = created;
	c->op_from_fd = from_fd;
	k = intent_write(c->dir_fd, &job.intent);
	if (k >= 0)
		k = net_busy_list(cn->srv, c, cn->uid, &busy, &job.net_nbusy);
	job.net_busy = busy;
	if (k >= 0)
		k = worker_start(cn->srv, what, worker_restart, &job, keep, 5 + npar, &ops_restart_ops, c, &w);
	/* image_fd, ctl_fd and the parents are closed here: the worker holds
	 * them, and init sees EOF on its control socket when the worker is done. */
	while (npar-- > 0)
		close(pfds[npar]);
	if (k < 0) {
		op_set_error(c, E(ERR_INTERNAL), "container %s: starting the restart worker: %s",
			     c->name, strerror(-k));
		c->op_wait_init = true;
		container_kill_all(c);
		return;
	}
	c->op_worker = w;
	log_info("restart %s: worker started %" PRIu64 " us after the request", c->name, mono_us() - c->op_t_req);
	return;
fail:
	while (npar-- > 0)
		close(pfds[npar]);
	if (created)
		container_destroy(c);
}

/* A restart fed by this container's own checkpoint (`checkpoint x -o - |
 * restart x -i -`) can't restore before the checkpoint is over, yet must
 * read meanwhile or the checkpoint blocks on a full pipe: a worker copies
 * the stream into an unlinked spool file, restored from once both ended. */
struct spool_job {
	int in_fd, out_fd;
};

static int worker_spool(void *arg, int report_fd)
{
	struct spool_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	static char buf[1 << 20];
	ssize_t n;

	for (;;) {
		n = read(job->in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(job->out_fd, buf + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -errno;
			off += w;
		}
	}
	if (n < 0)
		return -errno;
	resp.final = true;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

/* The checkpoint feeding a pending restart is over (and its stream fully
 * spooled): start the restart, or say why not. */
static void ops_run_pending(struct container *c)
{
	struct conn *cn = c->pending_conn;
	int fd = c->pending_fd;

	if (!cn || c->pending_spooling || c->op != OP_NONE)
		return;
	c->pending_conn = NULL;
	c->pending_fd = -1;
	cn->waiting = NULL;
	if (c->pending_err < 0 || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		conn_reply_error(cn, E(ERR_IO), "container %s: spooling the image stream: %s", c->name,
				 strerror(c->pending_err < 0 ? -c->pending_err : errno));
		return;
	}
	if (c->state == CONTAINER_RUNNING) {
		close(fd);
		conn_reply_error(cn, E(ERR_BAD_STATE), "container %s: the checkpoint feeding this restart failed; the container is still running", c->name);
		return;
	}
	ops_restart_start(cn, c, false, true, fd, NULL, 0, c->pending_allow_changed, c->pending_trust, NULL,
			  c->pending_lazy);
}

static void ops_spool_done(void *ud, Ckpt__Rpc__Response *final, int wait_status)
{
	struct container *c = ud;

	c->pending_spooling = false;
	if (!final || final->error || !WIFEXITED(wait_status) || WEXITSTATUS(wait_status) != 0)
		c->pending_err = -EIO;
	if (final)
		ckpt__rpc__response__free_unpacked(final, NULL);
	ops_run_pending(c);
}

static const struct worker_ops ops_spool_ops = {
	.done = ops_spool_done,
};

static void ops_restart_defer(struct conn *cn, struct container *c, int stream_fd, bool trust_image)
{
	struct spool_job job = { .in_fd = stream_fd };
	struct worker *w;
	int keep[2], r;

	job.out_fd = openat(c->dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (job.out_fd < 0) {
		conn_reply_error(cn, E(ERR_IO), "container %s: creating a spool file: %s", c->name, strerror(errno));
		return;
	}
	keep[0] = job.in_fd;
	keep[1] = job.out_fd;
	r = worker_start(cn->srv, "spool", worker_spool, &job, keep, 2, &ops_spool_ops, c, &w);
	if (r < 0) {
		close(job.out_fd);
		conn_reply_error(cn, E(ERR_INTERNAL), "container %s: starting the spool worker: %s", c->name, strerror(-r));
		return;
	}
	c->pending_conn = cn;
	c->pending_fd = job.out_fd;
	c->pending_spooling = true;
	c->pending_err = 0;
	c->pending_trust = trust_image;
	cn->waiting = c;
}

/* restart --userns=BASE into a new container (root only). */
static int ops_restart_userns(struct conn *cn, struct container *c, uint32_t base, char *why, size_t len)
{
	if (cn->uid != 0) {
		snprintf(why, len, "--userns: only root may restore a container in a user namespace");
		return -EPERM;
	}
	if (!base) {
		snprintf(why, len, "--userns=BASE: give the image's range (ckptctl inspect shows it)");
		return -EINVAL;
	}
	/* as at run: the host's mounts under its own are only covered */
	if (c->contain.privileged || (c->contain.caps & (1ull << CAP_SYS_ADMIN))) {
		snprintf(why, len, "--userns: not with --privileged or CAP_SYS_ADMIN (it could take off the mounts that hide the host's)");
		return -EINVAL;
	}
	c->contain.userns = true;
	c->contain.userns_base = base;
	c->contain.userns_count = USERNS_COUNT;
	return container_userns_assign(cn->srv, c, &c->contain, why, len);
}

/* --lazy reads pages while the program runs, each verified under the
 * image's key (from a file by offset, from a stream in order). */
static bool ops_restart_lazy_ok(struct conn *cn, const Ckpt__Rpc__RestartRequest *r)
{
	if (r->trust_image) {
		conn_reply_error(cn, E(ERR_UNSUPPORTED), "restart %s: --lazy needs an image verified under a key, not "
				 "--trust-image: its pages are read, verified, while it runs", r->name);
		return false;
	}
	return true;
}

void ops_restart(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__RestartRequest *r = req->restart;
	uint64_t t_req = mono_us();
	struct worker_phases phases;
	_cleanup_close_ int image_fd = -1;
	char image_id[STORE_ID_MAX];
	struct container *c;
	bool created = false;
	char why[256];
	int k;

	if (!container_name_valid(r->name)) {
		ops_lookup(cn, r->name);
		return;
	}
	if (!ops_fds_ok(cn, "restart", r->name, r->from_fd, false, nfds, fds))
		return;
	/* an image is the state of processes run as root: only root may vouch
	 * for one that carries no MAC ckptd accepts */
	if (r->trust_image && cn->uid != 0) {
		conn_reply_error(cn, E(ERR_PERMISSION_DENIED), "restart %s: only root may restart an image with --trust-image",
				 r->name);
		return;
	}
	if (r->from_fd && r->image_id) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "restart %s: both an image id and an fd given", r->name);
		return;
	}
	/* what an image had, only root gives again */
	if ((r->privileged || r->n_cap_add) && cn->uid != 0) {
		conn_reply_error(cn, E(ERR_PERMISSION_DENIED), "restart %s: only root may restart a container with --privileged or --cap-add",
				 r->name);
		return;
	}
	if (!ops_phases(cn, "restart", r->name, r->notify, true, &phases))
		return;
	c = container_find(cn->srv, r->name);
	if (c && !r->from_fd && !access_may_act(cn->uid, c->owner_uid))
		c = NULL;
	if (!ops_name_free_for(cn, "restart", c))
		return;
	if (!c && !r->from_fd) {
		ops_refuse(cn, E(ERR_NOT_FOUND), HINT(.kind = HINT_NO_CONTAINER_RESTART, .name = r->name),
			   "container %s: no such container (an image stream creates it)", r->name);
		return;
	}
	if (c && (r->privileged || r->n_cap_add)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "restart %s: --privileged and --cap-add are for a restart under a new "
				 "name; container %s keeps its own privileges", r->name, r->name);
		return;
	}
	if (c && r->from_fd && c->op == OP_CHECKPOINT && !c->op_leave_running && !c->pending_conn) {
		if (phases.notify) {
			conn_reply_error(cn, E(ERR_BUSY), "restart %s: its checkpoint still runs (a restart that waits for "
					 "it can't be told of its phases)", r->name);
			return;
		}
		if (r->lazy && !ops_restart_lazy_ok(cn, r))
			return;
		c->pending_allow_changed = r->allow_changed_files;
		c->pending_lazy = r->lazy;   /* from the spool file, a seekable image */
		ops_restart_defer(cn, c, fds[0], r->trust_image);   /* most likely fed by that very checkpoint */
		return;
	}
	if (c && !ops_idle(cn, c))
		return;
	if (c && c->state == CONTAINER_RUNNING) {
		ops_refuse(cn, E(ERR_BAD_STATE), HINT(.kind = HINT_RUNNING, .name = c->name),
			   "container %s: is running", c->name);
		return;
	}
	if (!c) {
		/* from a stream: whoever hands the image owns what it becomes */
		k = container_new(cn->srv, r->name, cn->uid, &c);
		if (k < 0) {
			conn_reply_error(cn, E(ERR_IO), "restart %s: creating its state: %s", r->name, strerror(-k));
			return;
		}
		created = true;
		if (cn->uid == 0 && (k = container_contain_from_restart(r, &c->contain, why, sizeof(why))) < 0) {
			conn_reply_error(cn, E(ERR_INVALID_REQUEST), "restart %s: %s", r->name, why);
			container_destroy(c);
			return;
		}
		/* a member's comes back as the member's, whatever the image says */
		if (cn->uid != 0 && (k = container_contain_member(cn->uid, &c->contain, why, sizeof(why))) < 0) {
			conn_reply_error(cn, E(ERR_PERMISSION_DENIED), "restart %s: %s", r->name, why);
			container_destroy(c);
			return;
		}
		/* a --userns image: in the range root names, the image's (its header says) */
		if (r->has_userns_base && (k = ops_restart_userns(cn, c, r->userns_base, why, sizeof(why))) < 0) {
			conn_reply_error(cn, k == -EPERM ? E(ERR_PERMISSION_DENIED) : E(ERR_INVALID_REQUEST), "restart %s: %s",
					 r->name, why);
			container_destroy(c);
			return;
		}
	} else if (r->has_userns_base && (!c->contain.userns || c->contain.userns_base != r->userns_base)) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "restart %s: --userns=%u: the container exists; its user namespace is its own",
				 r->name, r->userns_base);
		return;
	}
	image_fd = ops_restart_image(cn, c, r, fds, image_id);
	if (image_fd < 0) {
		if (created)
			container_destroy(c);
		return;
	}
	if (r->lazy && !ops_restart_lazy_ok(cn, r)) {
		if (created)
			container_destroy(c);
		return;
	}
	c->op_t_req = t_req;
	ops_restart_start(cn, c, created, r->from_fd, TAKE_FD(image_fd), image_id, r->timeout_s, r->allow_changed_files,
			  r->trust_image, &phases, r->lazy);
}

/* ---- kill, rm ---- */

static void ops_signal_workload(struct container *c, int sig)
{
	_cleanup_free_ pid_t *pids = NULL;
	size_t n = 0, i;

	/* init ignores what it has no handler for; its tasks get the signal */
	if (c->has_cgroup && cgroup_pids(&c->cg, &pids, &n) >= 0) {
		for (i = 0; i < n; i++)
			if (pids[i] != c->init_pid && kill(pids[i], sig) < 0 && errno != ESRCH)
				log_warn("container %s: signal %d to %d: %m", c->name, sig, pids[i]);
		return;
	}
	if (c->workload_pid > 0)
		kill(c->workload_pid, sig);
}

void ops_kill(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const Ckpt__Rpc__KillRequest *r = req->kill;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__KillResponse kr = CKPT__RPC__KILL_RESPONSE__INIT;
	int sig = r->has_signal ? r->signal : SIGKILL;
	struct container *c;

	c = ops_lookup(cn, r->name);
	if (!c || !ops_idle(cn, c))
		return;
	if (sig <= 0 || sig > SIGRTMAX || sig == SIGSTOP) {
		conn_reply_error(cn, E(ERR_INVALID_REQUEST), "kill %s: invalid signal %d", c->name, sig);
		return;
	}
	if (c->state != CONTAINER_RUNNING || c->init_pid <= 0) {
		ops_refuse_not_running(cn, c, "is %s, not running");
		return;
	}
	if (sig == SIGKILL) {
		/* answered once init is gone: the container is stopped by then */
		op_begin(c, OP_KILL, cn);
		c->op_wait_init = true;
		container_kill_all(c);
		return;
	}
	ops_signal_workload(c, sig);
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_KILL;
	resp.kill = &kr;
	conn_send(cn, &resp, NULL, 0);
}

static void ops_rm_finish(struct container *c, struct conn *cn)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__RmResponse rr = CKPT__RPC__RM_RESPONSE__INIT;
	char name[CONTAINER_NAME_MAX + 1];
	int r;

	snprintf(name, sizeof(name), "%s", c->name);
	events_publish(c->srv, "removed", c, NULL);
	r = container_destroy(c);
	if (r < 0) {
		conn_reply_error(cn, E(ERR_IO), "rm %s: removing its state: %s", name, strerror(-r));
		return;
	}
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_RM;
	resp.rm = &rr;
	conn_send(cn, &resp, NULL, 0);
}

void ops_rm(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	struct container *c;

	c = ops_lookup(cn, req->rm->name);
	if (!c || !ops_idle(cn, c))
		return;
	{
		struct intent in;

		intent_from(&in, c, OP_RM);
		if (!ops_intent(cn, c, &in))
			return;
	}
	if (c->init_pid > 0) {
		op_begin(c, OP_RM, cn);
		c->op_wait_init = true;
		container_kill_all(c);
		return;
	}
	ops_rm_finish(c, cn);
}

/* ---- cancel ---- */

static void ops_cancel_reply(struct conn *cn, bool canceled, const char *op)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__CancelResponse cr = CKPT__RPC__CANCEL_RESPONSE__INIT;

	cr.canceled = canceled;
	cr.operation = (char *)op;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_CANCEL;
	resp.cancel = &cr;
	conn_send(cn, &resp, NULL, 0);
}

/* The canceled operation is over, the container as it left it. */
static void op_reply_cancel(struct container *c)
{
	struct conn *cn = c->cancel_conn;

	if (!cn)
		return;
	c->cancel_conn = NULL;
	cn->canceling = NULL;
	ops_cancel_reply(cn, c->op_err_code == E(ERR_CANCELED), op_names[c->op]);
}

void ops_cancel(struct conn *cn, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	const char *queued_op;
	struct container *c;

	if (req->cancel->name && opqueue_cancel(cn->srv, cn->uid, req->cancel->name, &queued_op)) {
		ops_cancel_reply(cn, true, queued_op);
		return;
	}
	c = ops_lookup(cn, req->cancel->name);
	if (!c)
		return;
	if (c->pending_conn && c->op != OP_RESTART) {
		/* a restart still waiting for the checkpoint that feeds it */
		struct conn *pc = c->pending_conn;

		c->pending_conn = NULL;
		c->pending_fd = safe_close(c->pending_fd);
		pc->waiting = NULL;
		conn_reply_error(pc, E(ERR_CANCELED), "container %s: restart canceled (ckptctl cancel) before it began",
				 c->name);
		ops_cancel_reply(cn, true, "restart");
		return;
	}
	if ((c->op != OP_CHECKPOINT && c->op != OP_RESTART) || !c->op_worker) {
		conn_reply_error(cn, E(ERR_BAD_STATE), "container %s: no checkpoint or restart to cancel%s%s",
				 c->name, c->op != OP_NONE ? ": busy with a " : "",
				 c->op != OP_NONE ? op_names[c->op] : "");
		return;
	}
	if (c->cancel_conn) {
		conn_reply_error(cn, E(ERR_BUSY), "container %s: its %s is being canceled already", c->name,
				 op_names[c->op]);
		return;
	}
	log_info("container %s: canceling its %s", c->name, op_names[c->op]);
	c->cancel_conn = cn;
	cn->canceling = c;
	worker_cancel(c->op_worker);
}

/* ---- init exits during an operation ---- */

void ops_init_exited(struct container *c)
{
	struct conn *cn = c->op_conn;

	if (!c->op_wait_init)
		return;    /* the worker's answer decides */
	switch (c->op) {
	case OP_CHECKPOINT:
		ops_checkpointed(c);
		break;
	case OP_RESTART:
		ops_restart_failed(c);
		break;
	case OP_KILL: {
		Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
		Ckpt__Rpc__KillResponse kr = CKPT__RPC__KILL_RESPONSE__INIT;

		c->state = CONTAINER_STOPPED;
		container_save(c);
		events_publish(c->srv, "exited", c, "status %d", c->exit_status);
		resp.final = true;
		resp.body_case = CKPT__RPC__RESPONSE__BODY_KILL;
		resp.kill = &kr;
		conn_send(cn, &resp, NULL, 0);
		op_end(c);
		break;
	}
	case OP_RM:
		op_end(c);
		ops_rm_finish(c, cn);
		break;
	default:
		op_end(c);
	}
}

void ops_abort(struct container *c)
{
	if (c->op == OP_NONE)
		return;
	if (c->op == OP_RUN) {
		ops_run_ready(c);       /* as if its 2 s were over */
		return;
	}
	op_set_error(c, E(ERR_BUSY), "container %s: ckptd is shutting down", c->name);
	/* its done() answers, and drops a container made for the import */
	if (c->op == OP_IMPORT) {
		worker_abort(c->op_worker);
		return;
	}
	if (c->op_worker)
		worker_abort(c->op_worker);     /* its done() runs now */
	if (c->op == OP_NONE)
		return;
	if (c->op == OP_CHECKPOINT && c->op_result) {
		/* the image is complete; init is on its way out */
		ops_checkpointed(c);
		return;
	}
	if (c->op == OP_RESTART) {
		container_kill_all(c);
		net_cleanup(c->name, true);    /* ckptd won't be there when init is gone */
		ops_restart_failed(c);
		return;
	}
	op_reply_error(c);
	op_end(c);
}
