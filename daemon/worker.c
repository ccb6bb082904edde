// SPDX-License-Identifier: GPL-2.0-or-later
/* Worker processes: fork, watch by pidfd, relay their Response messages. */
#include "worker.h"
#include "borrow.h"
#include "recover.h"
#include "statefile.h"
#include "fault.h"
#include "image.h"
#include "net.h"
#include "log.h"
#include "loopwatch.h"
#include "opqueue.h"
#include "rtask.h"
#include "macro.h"
#include "server.h"
#include "wire.h"
#include <event2/event.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

struct worker {
	struct worker *next;
	struct server *srv;
	char what[96];
	pid_t pid;
	int pidfd;
	int report_fd;
	struct event *ev_pid, *ev_report;
	Ckpt__Rpc__Response *final;
	const struct worker_ops *ops;
	void *ud;
	struct rtask_ledger *ledger; /* shared with the child: what it borrows now */
	uint64_t t_start, t_final;   /* when it started, when its answer came (us) */
};

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* In the child: close every fd of ckptd but keep[] (clients, listening
 * socket, libevent's, other containers'). */
static void worker_close_fds(int *keep, size_t n)
{
	unsigned lo = 0;
	size_t i;

	qsort(keep, n, sizeof(int), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] < 0)
			continue;
		if ((unsigned)keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0u, 0);
}

static pid_t worker_parent;

static void worker_on_term(int sig)
{
	cr_cancel(getppid() != worker_parent ? CR_CANCEL_ORPHAN : CR_CANCEL_REQUEST);
}

static void worker_on_alarm(int sig)
{
	cr_cancel(CR_CANCEL_DEADLINE);
}

/* In a checkpoint or restart worker: SIGTERM (ckptctl cancel, or ckptd's
 * death) and the operation's deadline stop the engine at its next safe
 * point, and interrupt the system call it waits in (no SA_RESTART), so
 * no wait outlives them. */
static void worker_cancelable(uint64_t deadline_ms)
{
	struct sigaction sa = { .sa_handler = worker_on_term };
	struct itimerval it = { 0 };
	struct timespec ts;
	uint64_t now;

	image_io_interrupted = cr_cancel_errno;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = worker_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	if (getppid() != worker_parent)
		cr_cancel(CR_CANCEL_ORPHAN);   /* it died before we could hear of it */
	if (!deadline_ms)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (deadline_ms <= now) {
		cr_cancel(CR_CANCEL_DEADLINE);
		return;
	}
	it.it_value.tv_sec = (deadline_ms - now) / 1000;
	it.it_value.tv_usec = (deadline_ms - now) % 1000 * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

static _Noreturn void worker_child(pid_t parent, worker_fn fn, void *arg, const int *keep,
				   size_t nkeep, int report_fd, struct rtask_ledger *ledger)
{
	int fds[16 + CR_INCR_CHAIN_MAX];
	sigset_t none;
	size_t i;

	/* A worker hears of ckptd's death: a checkpoint or restart then rolls
	 * back at its next safe point (worker_cancelable), anything else just
	 * dies. The next ckptd waits for it (intent.h). */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	worker_parent = parent;
	/* libevent's handlers would write into the loop's signal pipe. */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "ckptd-worker", 0, 0, 0);
	rtask_set_ledger(ledger);

	for (i = 0; i < nkeep && i < ARRAY_SIZE(fds) - 3; i++)
		fds[i] = keep[i];
	fds[i++] = report_fd;
	fds[i++] = 2;              /* our log goes where ckptd's goes */
	worker_close_fds(fds, i);
	_exit(fn(arg, report_fd) < 0 ? 1 : 0);
}

static void worker_read_reports(struct worker *w)
{
	for (;;) {
		Ckpt__Rpc__Response *resp;
		int fds[CKPT_RPC_MAX_FDS];
		size_t nfds = 0;
		ssize_t n;

		/* only a worker whose ops take fds may send them: others' are
		 * closed and -EBADMSG returned */
		n = wire_recv(w->report_fd, w->srv->buf, CKPT_RPC_MAX_MSG, fds, w->ops->fds ? CKPT_RPC_MAX_FDS : 0, &nfds);
		if (n == -EAGAIN || n == -EINTR)
			return;
		if (n <= 0) {
			if (n < 0)
				log_errno((int)n, "%s: reading its reports: %m", w->what);
			/* EOF or broken: stop listening, the pidfd tells the rest */
			event_del(w->ev_report);
			return;
		}
		resp = ckpt__rpc__response__unpack(NULL, n, w->srv->buf);
		if (!resp) {
			log_error("%s: undecodable report", w->what);
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
			continue;
		}
		/* an empty message: a hand-over of fds failed partway */
		if (!nfds && w->ops->fds && !resp->final && !resp->progress && !resp->phase && !resp->error &&
		    resp->body_case == CKPT__RPC__RESPONSE__BODY__NOT_SET) {
			w->ops->fds(w->ud, NULL, 0);
			ckpt__rpc__response__free_unpacked(resp, NULL);
			continue;
		}
		if (nfds) {
			if (!resp->final && !resp->progress && !resp->phase && resp->body_case == CKPT__RPC__RESPONSE__BODY__NOT_SET)
				w->ops->fds(w->ud, fds, nfds);
			else
				for (size_t i = 0; i < nfds; i++)
					close(fds[i]);
			nfds = 0;
			if (!resp->final) {
				ckpt__rpc__response__free_unpacked(resp, NULL);
				continue;
			}
		}
		if (resp->final) {
			w->t_final = mono_us();
			if (w->final)
				ckpt__rpc__response__free_unpacked(w->final, NULL);
			w->final = resp;
			continue;
		}
		if (w->ops->progress)
			w->ops->progress(w->ud, resp);
		ckpt__rpc__response__free_unpacked(resp, NULL);
	}
}

static void worker_on_report(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct loopwatch lw;

	loopwatch_begin(&lw);
	worker_read_reports(w);
	loopwatch_end(&lw, "%s: reports of worker %d", w->what, w->pid);
}

static void worker_free(struct worker *w)
{
	struct worker **p;

	for (p = &w->srv->workers; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	if (w->ev_pid)
		event_free(w->ev_pid);
	if (w->ev_report)
		event_free(w->ev_report);
	w->pidfd = safe_close(w->pidfd);
	w->report_fd = safe_close(w->report_fd);
	if (w->final)
		ckpt__rpc__response__free_unpacked(w->final, NULL);
	if (w->ledger)
		munmap(w->ledger, sizeof(*w->ledger));
	free(w);
}

int worker_borrowed(const struct worker *w, pid_t *ret_pid)
{
	if (!w || !w->ledger)
		return 0;
	*ret_pid = w->ledger->pid;
	return w->ledger->borrowed;
}

int worker_unsafe(const struct worker *w, enum borrow_step *ret_step)
{
	int n, step;

	*ret_step = BORROW_STEP_NONE;
	if (!w || !w->ledger)
		return 0;
	n = __atomic_load_n(&w->ledger->unsafe, __ATOMIC_SEQ_CST);
	step = __atomic_load_n(&w->ledger->unsafe_step, __ATOMIC_SEQ_CST);
	if (n > 0 && step > BORROW_STEP_NONE && step < BORROW_STEP_COUNT)
		*ret_step = (enum borrow_step)step;
	return n;
}

static void worker_finish(struct worker *w, int status)
{
	struct server *srv = w->srv;

	/* Whatever it wrote before exiting is still queued. */
	if (w->ev_report)
		worker_read_reports(w);
	if (WIFSIGNALED(status))
		log_error("%s: worker %d killed by signal %d", w->what, w->pid, WTERMSIG(status));
	else
		log_debug("%s: worker %d exited with %d", w->what, w->pid, WEXITSTATUS(status));
	if (w->t_final)
		log_info("%s: worker %d answered %" PRIu64 " us after its start, exited %" PRIu64 " us later", w->what,
			 w->pid, w->t_final - w->t_start, mono_us() - w->t_final);
	w->ops->done(w->ud, TAKE_PTR(w->final), status);
	worker_free(w);
	/* its slot may be free now */
	opqueue_kick(srv);
	server_maybe_exit(srv);
}

static void worker_on_exit(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	char name[sizeof(w->what)];
	struct loopwatch lw;
	pid_t pid = w->pid;
	int st = 0;
	pid_t p;

	p = waitpid(w->pid, &st, WNOHANG);
	if (p == 0)
		return;            /* spurious */
	if (p < 0) {
		log_error("%s: waitpid %d: %m", w->what, w->pid);
		st = W_EXITCODE(0, SIGKILL);
	}
	loopwatch_begin(&lw);
	memcpy(name, w->what, sizeof(name));
	worker_finish(w, st);
	loopwatch_end(&lw, "%s: worker %d exited", name, (int)pid);
}

int worker_start(struct server *srv, const char *what, worker_fn fn, void *arg,
		 const int *keep, size_t nkeep, const struct worker_ops *ops, void *ud,
		 struct worker **ret)
{
	_cleanup_close_ int rfd = -1, cfd = -1, pidfd = -1;
	uint64_t t_start = mono_us();
	pid_t parent = getpid(), pid;
	struct rtask_ledger *ledger;
	struct worker *w;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	rfd = sv[0];
	cfd = sv[1];
	ledger = mmap(NULL, sizeof(*ledger), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ledger == MAP_FAILED)
		return -errno;
	pid = fork();
	if (pid < 0) {
		munmap(ledger, sizeof(*ledger));
		return -errno;
	}
	if (pid == 0)
		worker_child(parent, fn, arg, keep, nkeep, cfd, ledger);
	cfd = safe_close(cfd);
	/* Our own unreaped child: pidfd_open can't race with pid reuse. */
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 || fcntl(rfd, F_SETFL, O_NONBLOCK) < 0) {
		int r = -errno;

		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		munmap(ledger, sizeof(*ledger));
		return r;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		munmap(ledger, sizeof(*ledger));
		goto fail;
	}
	*w = (struct worker){ .srv = srv, .pid = pid, .pidfd = TAKE_FD(pidfd),
			      .report_fd = TAKE_FD(rfd), .ops = ops, .ud = ud, .ledger = ledger,
			      .t_start = t_start };
	snprintf(w->what, sizeof(w->what), "%s", what);
	w->ev_pid = event_new(srv->base, w->pidfd, EV_READ | EV_PERSIST, worker_on_exit, w);
	w->ev_report = event_new(srv->base, w->report_fd, EV_READ | EV_PERSIST, worker_on_report, w);
	if (!w->ev_pid || !w->ev_report || event_add(w->ev_pid, NULL) < 0 ||
	    event_add(w->ev_report, NULL) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		worker_free(w);
		return -ENOMEM;
	}
	w->next = srv->workers;
	srv->workers = w;
	log_info("%s: worker %d started (fork: %" PRIu64 " us)", what, pid, mono_us() - t_start);
	*ret = w;
	return 0;
fail:
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -ENOMEM;
}

void worker_kill(struct worker *w)
{
	if (syscall(SYS_pidfd_send_signal, w->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
		log_error("%s: killing worker %d: %m", w->what, w->pid);
}

void worker_cancel(struct worker *w)
{
	if (syscall(SYS_pidfd_send_signal, w->pidfd, SIGTERM, NULL, 0) < 0 && errno != ESRCH)
		log_error("%s: canceling worker %d: %m", w->what, w->pid);
}

void worker_abort(struct worker *w)
{
	int st = W_EXITCODE(0, SIGKILL);

	worker_kill(w);
	if (waitpid(w->pid, &st, 0) < 0)
		log_error("%s: waitpid %d: %m", w->what, w->pid);
	worker_finish(w, st);
}

/* ---- in the worker ---- */

Ckpt__Rpc__ErrorCode worker_errcode(enum cr_errcode code)
{
	switch (code) {
	case CR_ERR_UNSUPPORTED: return CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED;
	case CR_ERR_BAD_IMAGE:   return CKPT__RPC__ERROR_CODE__ERR_BAD_IMAGE;
	case CR_ERR_IO:          return CKPT__RPC__ERROR_CODE__ERR_IO;
	case CR_ERR_KERNEL:      return CKPT__RPC__ERROR_CODE__ERR_KERNEL;
	case CR_ERR_BAD_STATE:   return CKPT__RPC__ERROR_CODE__ERR_BAD_STATE;
	case CR_ERR_CANCELED:    return CKPT__RPC__ERROR_CODE__ERR_CANCELED;
	default:                 return CKPT__RPC__ERROR_CODE__ERR_INTERNAL;
	}
}

static void worker_progress(void *arg, const char *phase, uint64_t done, uint64_t total)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Progress p = CKPT__RPC__PROGRESS__INIT;
	int fd = *(int *)arg;

	p.phase = (char *)phase;
	p.has_done = p.has_total = done || total;
	p.done = done;
	p.total = total;
	resp.progress = &p;
	/* progress is best effort: a loop that can't keep up must not fail the job */
	(void)wire_send_msg(fd, &resp.base, NULL, 0);
}

/* A canceled job reports the cancel, not the interrupted system call it
 * stopped in. */
static void worker_cancel_error(struct cr_error *err, const char *name, const char *op)
{
	enum cr_cancel_why why = cr_canceled();
	char first[sizeof(err->msg)];

	if (why == CR_CANCEL_NONE || err->code == CR_ERR_CANCELED)
		return;
	snprintf(first, sizeof(first), "%s", err->msg);
	*err = (struct cr_error){ 0 };
	if (why == CR_CANCEL_DEADLINE)
		cr_fail(err, CR_ERR_IO, ETIMEDOUT, "container %s: %s stopped and rolled back", name, op);
	else
		cr_fail(err, CR_ERR_CANCELED, ECANCELED, "container %s: %s canceled (%s) and rolled back",
			name, op, why == CR_CANCEL_ORPHAN ? "ckptd died" : "ckptctl cancel");
	if (first[0])
		log_info("container %s: the %s stopped at: %s", name, op, first);
}

/* ---- phases ---- */

static const struct {
	const char *name;
	bool restart;              /* a restart's phase, else a checkpoint's */
	bool waitable;
} worker_phase_names[] = {
	{ "network-locked", false, true },
	{ "frozen", false, true },
	{ "dumped", false, true },
	{ "before-resume", false, true },
	{ "killed", false, false },
	{ "namespaces-set-up", true, true },
	{ "before-resume", true, true },
	{ "resumed", true, true },
};

int worker_phase_bit(const char *name, bool restart)
{
	for (size_t i = 0; i < ARRAY_SIZE(worker_phase_names); i++)
		if (worker_phase_names[i].restart == restart && streq(worker_phase_names[i].name, name))
			return (int)i;
	return -1;
}

bool worker_phase_waitable(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(worker_phase_names); i++)
		if (streq(worker_phase_names[i].name, name))
			return worker_phase_names[i].waitable;
	return false;
}

int worker_phase_ack(struct worker *w, const Ckpt__Rpc__Request *req)
{
	return wire_send_msg(w->report_fd, &req->base, NULL, 0);
}

struct worker_phase_ctx {
	int report_fd;
	bool restart;
	const struct worker_phases *ph;
};

/* The client's answer to phase, by the deadline. */
static int worker_phase_wait(struct worker_phase_ctx *pc, const char *phase, struct cr_error *err)
{
	_cleanup_free_ uint8_t *buf = malloc(CKPT_RPC_MAX_MSG);
	Ckpt__Rpc__Request *req;
	struct pollfd p = { .fd = pc->report_fd, .events = POLLIN };
	struct timespec ts;
	int64_t left;
	ssize_t n;
	int r;

	if (!buf)
		return cr_fail(err, CR_ERR_INTERNAL, ENOMEM, "phase %s: waiting for the client", phase);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		left = (int64_t)pc->ph->deadline_ms - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
		if (left <= 0)
			return cr_fail(err, CR_ERR_IO, ETIMEDOUT, "container %s: no answer from the client at phase %s before the deadline",
				       pc->ph->container, phase);
		r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r < 0 && errno != EINTR)
			return cr_fail(err, CR_ERR_KERNEL, errno, "phase %s: waiting for the client", phase);
		if (r > 0)
			break;
	}
	n = wire_recv(pc->report_fd, buf, CKPT_RPC_MAX_MSG, NULL, 0, NULL);
	if (n <= 0)
		return cr_fail(err, CR_ERR_INTERNAL, n < 0 ? (int)-n : EPIPE, "phase %s: ckptd went away", phase);
	req = ckpt__rpc__request__unpack(NULL, n, buf);
	/* an abort counts whatever phase it names: ckptd sends one unnamed
	 * when the client leaves */
	if (!req || req->body_case != CKPT__RPC__REQUEST__BODY_PHASE_ACK ||
	    (req->phase_ack->ok && !streq(req->phase_ack->name, phase))) {
		if (req)
			ckpt__rpc__request__free_unpacked(req, NULL);
		return cr_fail(err, CR_ERR_BAD_STATE, 0, "container %s: the client answered phase %s with something else",
			       pc->ph->container, phase);
	}
	r = req->phase_ack->ok ? 0 :
	    cr_fail(err, CR_ERR_BAD_STATE, 0, "container %s: the client aborted at phase %s: %.200s", pc->ph->container,
		    phase, req->phase_ack->reason ? req->phase_ack->reason : "no reason given");
	ckpt__rpc__request__free_unpacked(req, NULL);
	return r;
}

static int worker_phase(void *arg, const char *phase, struct cr_error *err)
{
	struct worker_phase_ctx *pc = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Phase ph = CKPT__RPC__PHASE__INIT;
	int bit = worker_phase_bit(phase, pc->restart);
	char netns[64];
	int r;

	if (bit < 0 || !(pc->ph->notify & (1u << bit)))
		return 0;
	snprintf(netns, sizeof(netns), "/proc/%d/ns/net", (int)pc->ph->init_pid);
	ph.name = (char *)phase;
	ph.container = (char *)pc->ph->container;
	ph.has_init_host_pid = true;
	ph.init_host_pid = pc->ph->init_pid;
	ph.netns = netns;
	ph.has_wait = true;
	ph.wait = pc->ph->wait & (1u << bit);
	resp.phase = &ph;
	r = wire_send_msg(pc->report_fd, &resp.base, NULL, 0);
	if (r < 0)
		return cr_fail(err, CR_ERR_INTERNAL, -r, "phase %s: telling ckptd", phase);
	return ph.wait ? worker_phase_wait(pc, phase, err) : 0;
}

static int worker_send_error(int report_fd, const struct cr_error *err, int r, const char *what)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Error e = CKPT__RPC__ERROR__INIT;
	char msg[sizeof(err->msg) + 64];

	if (err->code != CR_OK)
		snprintf(msg, sizeof(msg), "%s", err->msg);
	else
		snprintf(msg, sizeof(msg), "%s: %s", what, strerror(-r));
	e.code = worker_errcode(err->code);
	e.message = msg;
	if (err->code != CR_OK) {
		e.has_sys_errno = err->sys_errno != 0;
		e.sys_errno = err->sys_errno;
		e.has_task_pid = err->task_pid != 0;
		e.has_task_host_pid = err->task_host_pid != 0;
		e.task_pid = err->task_pid;
		e.task_host_pid = err->task_host_pid;
		e.object = err->object[0] ? (char *)err->object : NULL;
		e.reason = err->reason[0] ? (char *)err->reason : NULL;
	} else {
		e.has_sys_errno = true;
		e.sys_errno = -r;
	}
	resp.final = true;
	resp.error = &e;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

/* checkpoint --check: the answer lists every refusal, then the error that
 * stopped the check early, if one did. */
static int worker_check_reply(int report_fd, const struct cr_error *err, int r)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__CheckpointResponse cr = CKPT__RPC__CHECKPOINT_RESPONSE__INIT;
	const struct cr_refusals *l = err->collect;
	size_t n = l->n, i;
	_cleanup_free_ Ckpt__Rpc__Error *ev = calloc(n + 2, sizeof(*ev));
	_cleanup_free_ Ckpt__Rpc__Error **ep = calloc(n + 2, sizeof(*ep));
	char last[sizeof(err->msg) + 64], more[64];

	if (!ev || !ep)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct cr_refusal *f = &l->v[i];
		Ckpt__Rpc__Error *e = &ev[i];

		ckpt__rpc__error__init(e);
		e->code = CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED;
		e->message = (char *)f->msg;
		e->has_sys_errno = f->sys_errno != 0;
		e->sys_errno = f->sys_errno;
		e->has_task_pid = f->task_pid != 0;
		e->task_pid = f->task_pid;
		e->has_task_host_pid = f->task_host_pid != 0;
		e->task_host_pid = f->task_host_pid;
		e->object = f->object[0] ? (char *)f->object : NULL;
		e->reason = f->reason[0] ? (char *)f->reason : NULL;
		ep[i] = e;
	}
	if (l->truncated) {
		ckpt__rpc__error__init(&ev[n]);
		snprintf(more, sizeof(more), "more than %d refusals: the rest are not listed", CR_REFUSALS_MAX);
		ev[n].code = CKPT__RPC__ERROR_CODE__ERR_UNSUPPORTED;
		ev[n].message = more;
		ep[n] = &ev[n];
		n++;
	}
	if (r < 0) {
		Ckpt__Rpc__Error *e = &ev[n];

		ckpt__rpc__error__init(e);
		if (err->code != CR_OK)
			snprintf(last, sizeof(last), "the check stopped here: %s", err->msg);
		else
			snprintf(last, sizeof(last), "the check stopped here: %s", strerror(-r));
		e->code = worker_errcode(err->code != CR_OK ? err->code : CR_ERR_INTERNAL);
		e->message = last;
		e->has_sys_errno = err->sys_errno != 0;
		e->sys_errno = err->sys_errno;
		e->has_task_pid = err->task_pid != 0;
		e->task_pid = err->task_pid;
		e->has_task_host_pid = err->task_host_pid != 0;
		e->task_host_pid = err->task_host_pid;
		e->object = err->object[0] ? (char *)err->object : NULL;
		e->reason = err->reason[0] ? (char *)err->reason : NULL;
		ep[n++] = e;
	}
	cr.n_errors = n;
	cr.errors = ep;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_CHECKPOINT;
	resp.checkpoint = &cr;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

/* Hand fds to ckptd (worker_ops.fds), a message per CKPT_RPC_MAX_FDS;
 * they stay open here. 0, or the first failure. Under CKPTD_FAULT=fault
 * all but the last go over, then it fails: a hand-over broken partway. */
static int worker_hand_over(int report_fd, const int *fds, size_t n, const char *fault)
{
	size_t upto = n && fault_at(fault) ? n - 1 : n;
	int r = 0;

	for (size_t i = 0; i < upto && r >= 0; i += CKPT_RPC_MAX_FDS) {
		Ckpt__Rpc__Response hand = CKPT__RPC__RESPONSE__INIT;

		r = wire_send_msg(report_fd, &hand.base, fds + i, MIN(upto - i, (size_t)CKPT_RPC_MAX_FDS));
	}
	return r >= 0 && upto < n ? -EPIPE : r;
}

/* A hand-over failed partway: an empty message tells ckptd that what it
 * got of it is not the whole (worker_ops.fds with no fds). */
static void worker_hand_over_lost(int report_fd)
{
	Ckpt__Rpc__Response lost = CKPT__RPC__RESPONSE__INIT;
	int r = wire_send_msg(report_fd, &lost.base, NULL, 0);

	if (r < 0)
		log_errno(r, "telling ckptd that a hand-over failed: %m");
}

/* The lazy fill could not be handed over: ckptd could not keep the
 * program from reading zeroes should the filler die. Its init is killed,
 * and with it every task of its pid namespace, while the userfaultfds are
 * still open here: init's pidfd tells when they are all gone. */
static void worker_kill_container(const char *name, pid_t init_pid)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, init_pid, 0);
	struct pollfd p = { .fd = pfd, .events = POLLIN };
	int r;

	if (pfd < 0 || syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) < 0) {
		log_error("container %s: killing init %d: %m", name, (int)init_pid);
		return;
	}
	do
		r = poll(&p, 1, 30000);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		log_error("container %s: init %d still there 30 s after SIGKILL", name, (int)init_pid);
}

/* The image is whole: store it, durably, and record that from here on the
 * checkpoint completes whatever happens (its tasks are killed next). */
static int worker_checkpoint_commit(void *arg, struct cr_error *err)
{
	struct worker_checkpoint_job *job = arg;
	int r;

	if (job->image_id) {
		r = store_commit(job->dir_fd, job->image_id, job->req.image_fd);
		if (r < 0)
			return cr_fail(err, CR_ERR_IO, -r, "container %s: storing image %s", job->req.name,
				       job->image_id);
	}
	r = intent_phase(job->dir_fd, &job->intent, INTENT_COMMITTED);
	if (r < 0) {
		if (job->image_id)
			store_remove(job->dir_fd, job->image_id);
		return cr_fail(err, CR_ERR_IO, -r, "container %s: recording the checkpoint's commit", job->req.name);
	}
	fault_crash_worker("ckpt-committed");
	return 0;
}

/* The borrow record (borrow.h) lives in the container's dir. */
static int borrow_save(void *arg, const char *buf, size_t len)
{
	const struct worker_checkpoint_job *job = arg;

	return statefile_write(job->dir_fd, BORROW_FILE, buf, len);
}

static int borrow_clear(void *arg)
{
	const struct worker_checkpoint_job *job = arg;

	return recover_forget(job->dir_fd);
}

/* A step no recovery undoes goes into the intent record: only the worker
 * knows when it begins, and ckptd, should it die, leaves no ledger. */
static int borrow_mark_unsafe(void *arg, enum borrow_step step)
{
	struct worker_checkpoint_job *job = arg;

	return intent_unsafe(job->dir_fd, &job->intent, step);
}

int worker_checkpoint(void *arg, int report_fd)
{
	struct worker_checkpoint_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__CheckpointResponse cr = CKPT__RPC__CHECKPOINT_RESPONSE__INIT;
	struct cr_checkpoint_stats st = { 0 };
	struct cr_error err = { 0 };
	int r;

	struct cr_net_ops net_ops = net_engine_ops;

	struct net_hook_arg net_arg = { .name = job->req.name };

	struct worker_phase_ctx pc = { .report_fd = report_fd, .restart = false, .ph = &job->phases };

	job->req.progress = worker_progress;
	job->req.progress_arg = &report_fd;
	job->req.phase = worker_phase;
	job->req.phase_arg = &pc;
	net_ops.arg = &net_arg;
	job->req.net_ops = &net_ops;
	worker_cancelable(job->req.deadline_ms);
	if (job->dir_fd >= 0)
		borrow_set_store(&(struct borrow_store){ .save = borrow_save, .clear = borrow_clear,
							 .unsafe = borrow_mark_unsafe, .arg = job });
	if (job->req.check_only) {
		struct cr_refusals refusals = { 0 };

		err.collect = &refusals;
		r = cr_checkpoint(&job->req, &st, &err);
		r = worker_check_reply(report_fd, &err, r);
		free(refusals.v);
		return r;
	}
	job->req.commit = worker_checkpoint_commit;
	job->req.commit_arg = job;
	r = intent_worker_begin(job->dir_fd, &job->intent);
	if (r < 0)
		cr_fail(&err, CR_ERR_IO, -r, "container %s: recording the checkpoint's intent", job->req.name);
	else
		r = cr_checkpoint(&job->req, &st, &err);
	if (r < 0) {
		if (job->image_id)
			store_abort(job->dir_fd, job->image_id);
		worker_cancel_error(&err, job->req.name, "checkpoint");
		worker_send_error(report_fd, &err, r, "checkpoint failed");
		return r;
	}
	/* write tracking for the next one: ckptd keeps it for the container,
	 * and a part of it lost makes the next incremental a full one */
	r = worker_hand_over(report_fd, st.uffds, st.nuffds, "incr-hand-over");
	if (r < 0) {
		log_errno(r, "container %s: handing over write tracking: %m; the next incremental checkpoint is a full one",
			  job->req.name);
		worker_hand_over_lost(report_fd);
	}
	for (size_t i = 0; i < st.nuffds; i++)
		close(st.uffds[i]);
	free(st.uffds);
	if (job->image_id)
		cr.image_id = (char *)job->image_id;
	if (job->req.incremental && job->req.parent_id)
		cr.parent_id = (char *)job->req.parent_id;
	else if (job->req.incremental)
		cr.full_reason = (char *)(job->full_reason ? job->full_reason : "no parent image");
	cr.has_image_digest = true;
	cr.image_digest = st.digest;
	cr.has_image_bytes = cr.has_pages = cr.has_frozen_us = cr.has_total_us = true;
	cr.image_bytes = st.image_bytes;
	cr.pages = st.pages;
	cr.frozen_us = st.frozen_us;
	cr.total_us = st.total_us;
	cr.copy = st.copy;
	if (job->req.compress) {
		cr.has_pages_raw_bytes = cr.has_pages_stored_bytes = true;
		cr.pages_raw_bytes = st.pages_raw;
		cr.pages_stored_bytes = st.pages_stored;
	}
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_CHECKPOINT;
	resp.checkpoint = &cr;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}

int worker_restart(void *arg, int report_fd)
{
	struct worker_restart_job *job = arg;
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__RestartResponse rr = CKPT__RPC__RESTART_RESPONSE__INIT;
	Ckpt__Rpc__ContainerInfo ci = CKPT__RPC__CONTAINER_INFO__INIT;
	struct cr_restart_stats st = { 0 };
	struct cr_error err = { 0 };
	uint64_t t[3];
	int r;

	struct cr_net_ops net_ops = net_engine_ops;
	char publish[CR_NET_MAX_PUBLISH][NET_PUBLISH_STR_MAX], *publishp[CR_NET_MAX_PUBLISH];
	char addr[16], host_addr[16], veth[IF_NAMESIZE];

	struct net_hook_arg net_arg = { .name = job->req.name, .busy = job->net_busy, .nbusy = job->net_nbusy };

	struct worker_phase_ctx pc = { .report_fd = report_fd, .restart = true, .ph = &job->phases };

	job->req.progress = worker_progress;
	job->req.progress_arg = &report_fd;
	job->req.phase = worker_phase;
	job->req.phase_arg = &pc;
	net_ops.arg = &net_arg;
	job->req.net_ops = &net_ops;
	worker_cancelable(job->req.deadline_ms);
	t[0] = mono_us();
	r = intent_worker_begin(job->dir_fd, &job->intent);
	t[1] = mono_us();
	if (r < 0)
		cr_fail(&err, CR_ERR_IO, -r, "container %s: recording the restart's intent", job->req.name);
	else
		r = cr_restart(&job->req, &st, &err);
	if (r < 0) {
		worker_cancel_error(&err, job->req.name, "restart");
		worker_send_error(report_fd, &err, r, "restart failed");
		return r;
	}
	t[2] = mono_us();
	/* Its tasks run: a ckptd that dies from here on must find it running. */
	r = intent_phase(job->dir_fd, &job->intent, INTENT_HANDED_OFF);
	if (r < 0)
		log_errno(r, "container %s: recording the restart's hand-off: %m", job->req.name);
	log_info("restart %s: worker us: intent %" PRIu64 " engine %" PRIu64 " hand-off record %" PRIu64, job->req.name,
		 t[1] - t[0], t[2] - t[1], mono_us() - t[2]);
	fault_crash_worker("restore-done");
	/* The loop fills the rest of the container info; we only know the task. */
	ci.name = (char *)job->req.name;
	ci.state = CKPT__RPC__CONTAINER_STATE__STATE_RUNNING;
	ci.has_pid = ci.has_host_pid = true;
	ci.pid = st.root_pid;
	ci.host_pid = st.root_host_pid;
	ci.has_memory_limit = st.limits.memory != 0;
	ci.memory_limit = st.limits.memory;
	ci.has_pids_limit = st.limits.pids != 0;
	ci.pids_limit = st.limits.pids;
	ci.has_cpus_milli = st.limits.cpus_milli != 0;
	ci.cpus_milli = st.limits.cpus_milli;
	/* and the network it got, for the container's record */
	ci.has_net = true;
	ci.net = st.net.private_ns ? CKPT__RPC__NET_MODE__NET_PRIVATE : CKPT__RPC__NET_MODE__NET_HOST;
	for (size_t i = 0; i < st.net.npublish; i++) {
		net_format_publish(&st.net.publish[i], publish[i]);
		publishp[i] = publish[i];
	}
	ci.n_publish = st.net.npublish;
	ci.publish = publishp;
	if (st.net.addr) {
		ci.net_address = (char *)net_addr_str(st.net.addr, addr);
		ci.net_host_address = (char *)net_addr_str(st.net.host_addr, host_addr);
		net_names(job->req.name, veth, NULL);
		ci.net_veth = veth;
	}
	/* the lazy fill's filler and userfaultfds: ckptd keeps them while it runs */
	r = worker_hand_over(report_fd, st.lazy_fds, st.nlazy_fds, "lazy-hand-over");
	if (r < 0) {
		cr_fail(&err, CR_ERR_INTERNAL, -r, "container %s: handing the fill of its lazily restored memory over to "
			"ckptd: the container is killed", job->req.name);
		worker_kill_container(job->req.name, job->req.init_pid);
	}
	for (size_t i = 0; i < st.nlazy_fds; i++)
		close(st.lazy_fds[i]);
	free(st.lazy_fds);
	if (r < 0) {
		worker_send_error(report_fd, &err, r, "restart failed");
		return r;
	}
	rr.container = &ci;
	rr.has_image_bytes = rr.has_total_us = true;
	rr.image_bytes = st.image_bytes;
	rr.total_us = st.total_us;
	rr.has_lazy_bytes = st.lazy_bytes != 0;
	rr.lazy_bytes = st.lazy_bytes;
	resp.final = true;
	resp.body_case = CKPT__RPC__RESPONSE__BODY_RESTART;
	resp.restart = &rr;
	return wire_send_msg(report_fd, &resp.base, NULL, 0);
}
