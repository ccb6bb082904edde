// SPDX-License-Identifier: GPL-2.0-or-later
/* The guard thread (ptguard.h). The task is seized with no option but
 * EXITKILL, so the only stops it reports are a signal about to be
 * delivered, a group stop, and the interrupt that ends the guard: each
 * is passed on as an untraced task would take it (ptguard_pass_on). */
#include "ptguard.h"
#include "fault.h"
#include "log.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ptrace.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* a detach by the previous tracer may trail its exit report: tried again */
#define SEIZE_TRIES 200
#define SEIZE_WAIT_US 5000

struct ptguard {
	pid_t pid;
	int after_fd;
	int stop_fd;                 /* eventfd: ptguard_stop asked */
	int fail_fd;                 /* eventfd: the task could not be guarded */
	int error;                   /* why (-errno), read by other threads */
	int sig_fd;                  /* signalfd of SIGCHLD: the task stopped or exited */
	pthread_t thread;
};

static bool group_stop_sig(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

/* Wait until fd is readable or, unless asked already, a stop is asked;
 * true if asked. */
static bool wait_for(struct ptguard *g, int fd, bool asked)
{
	struct pollfd p[2] = { { .fd = asked ? -1 : g->stop_fd, .events = POLLIN }, { .fd = fd, .events = POLLIN } };

	while (poll(p, 2, -1) < 0 && errno == EINTR)
		;
	return asked || (p[0].revents & POLLIN);
}

static int seize(struct ptguard *g)
{
	/* tests: as if another tracer held the task */
	if (fault_at("lazy-guard-seize"))
		return -EPERM;
	for (int i = 0; i < SEIZE_TRIES; i++) {
		if (ptrace(PTRACE_SEIZE, g->pid, NULL, (void *)(uintptr_t)PTRACE_O_EXITKILL) == 0)
			return 0;
		if (errno != EPERM)
			break;
		usleep(SEIZE_WAIT_US);
	}
	return -errno;
}

bool ptguard_pass_on(pid_t pid, int st, bool detach)
{
	int sig = WSTOPSIG(st), ev = st >> 16;
	/* a signal about to be delivered goes on being delivered */
	long deliver = ev == 0 ? sig : 0;
	long r;

	if (!WIFSTOPPED(st))
		return false;   /* exited, killed: reaped as its tracer, its parent told */
	if (detach)
		r = ptrace(PTRACE_DETACH, pid, NULL, (void *)deliver);   /* a group stop stays */
	else if (ev == PTRACE_EVENT_STOP && group_stop_sig(sig))
		r = ptrace(PTRACE_LISTEN, pid, NULL, NULL);   /* stopped, as untraced, until SIGCONT */
	else
		r = ptrace(PTRACE_CONT, pid, NULL, (void *)deliver);
	if (r < 0 && errno != ESRCH)
		log_error("task %d: passing on a stop (signal %d) as its tracer: %m", (int)pid, sig);
	return !detach && !(r < 0 && errno == ESRCH);
}

/* Said in the log, and to the caller through fail_fd: the task gone
 * (ESRCH) is no failure, its life is over. */
static void guard_failed(struct ptguard *g, int r)
{
	uint64_t one = 1;

	log_error("task %d: PTRACE_SEIZE for its guard: %s: its life is not tied to ours", (int)g->pid, strerror(-r));
	__atomic_store_n(&g->error, r, __ATOMIC_RELEASE);
	if (write(g->fail_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("task %d: telling of its guard's failure: %m", (int)g->pid);
}

static void *guard_main(void *arg)
{
	struct ptguard *g = arg;
	bool stopping = false, interrupted = false;
	int r;

	if (g->after_fd >= 0 && wait_for(g, g->after_fd, false))
		return NULL;
	r = seize(g);
	if (r < 0) {
		if (r != -ESRCH)
			guard_failed(g, r);
		return NULL;
	}
	log_info("task %d: guarded: it dies with this process", (int)g->pid);
	for (;;) {
		struct signalfd_siginfo si;
		int st;
		pid_t w;

		stopping = wait_for(g, g->sig_fd, stopping);
		while (read(g->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
			;
		/* the task is let go at its next stop: made to stop now */
		if (stopping && !interrupted) {
			interrupted = true;
			if (ptrace(PTRACE_INTERRUPT, g->pid, NULL, NULL) < 0)
				return NULL;   /* gone */
		}
		while ((w = waitpid(g->pid, &st, __WALL | WNOHANG)) == g->pid)
			if (!ptguard_pass_on(g->pid, st, stopping))
				return NULL;
		if (w < 0 && errno == ECHILD)
			return NULL;
	}
}

int ptguard_start(struct ptguard **ret, pid_t pid, int after_fd)
{
	struct ptguard *g = calloc(1, sizeof(*g));
	sigset_t chld;
	int r;

	*ret = NULL;
	if (!g)
		return -ENOMEM;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	*g = (struct ptguard){ .pid = pid, .after_fd = after_fd,
			       .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			       .fail_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
			       .sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK) };
	r = g->stop_fd < 0 || g->fail_fd < 0 || g->sig_fd < 0 ? -errno
								: -pthread_create(&g->thread, NULL, guard_main, g);
	if (r < 0) {
		if (g->stop_fd >= 0)
			close(g->stop_fd);
		if (g->fail_fd >= 0)
			close(g->fail_fd);
		if (g->sig_fd >= 0)
			close(g->sig_fd);
		free(g);
		return r;
	}
	*ret = g;
	return 0;
}

void ptguard_stop(struct ptguard *g)
{
	uint64_t one = 1;

	if (!g)
		return;
	if (write(g->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("task %d: stopping its guard: %m", (int)g->pid);
	pthread_join(g->thread, NULL);
	close(g->stop_fd);
	close(g->fail_fd);
	close(g->sig_fd);
	free(g);
}

int ptguard_fail_fd(const struct ptguard *g)
{
	return g ? g->fail_fd : -1;
}

int ptguard_error(const struct ptguard *g)
{
	return g ? __atomic_load_n(&g->error, __ATOMIC_ACQUIRE) : 0;
}
