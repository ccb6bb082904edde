// SPDX-License-Identifier: GPL-2.0-or-later
/* The exit watch (snap_exit.h). The kernel's do_exit reports
 * PTRACE_EVENT_EXIT before exit_mm, so a thread held in that stop still
 * holds its mm, and the /proc/PID/mem opened at the freeze reads it.
 * Every way out stops there: exit, exit_group, a fatal signal, SIGKILL
 * too (a kill -9, the other threads of an exit_group: get_signal takes
 * the SIGKILL off before do_exit). Only another SIGKILL while held ends
 * the stop early: the save's reads then fail, and the checkpoint with
 * them, named. */
#include "snap_exit.h"
#include "log.h"
#include "macro.h"
#include "ptguard.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define NO_PROC SIZE_MAX
/* a process's threads listed again until no new one appears, this many times at most */
#define SEIZE_ROUNDS 16
/* how often the thread looks for a stop (no signal tells it: ckptd's
 * worker leaves SIGCHLD unblocked) */
#define POLL_MS 1
/* at the end, how long a thread that does not stop is waited for before
 * this thread's exit lets it go (the kernel detaches a dead tracer's tasks) */
#define DETACH_WAIT_MS 2000

struct watched {
	pid_t tid;
	size_t proc;     /* index into pids; NO_PROC: a process not watched */
	bool exiting;    /* past its exit stop: no longer holds the mm */
	bool gone;       /* no longer traced by us */
};

struct snap_exit {
	const pid_t *pids;
	size_t n;
	bool *saved;
	snap_exit_save_fn save;
	void *arg;
	int stop_fd;
	int ready_fd;    /* eventfd: the first seize pass is over */
	pthread_t thread;
	struct watched *t;
	size_t nt, cap;
};

static struct watched *find(struct snap_exit *w, pid_t tid)
{
	for (size_t i = 0; i < w->nt; i++)
		if (w->t[i].tid == tid && !w->t[i].gone)
			return &w->t[i];
	return NULL;
}

static struct watched *add(struct snap_exit *w, pid_t tid, size_t proc)
{
	if (w->nt == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 64;
		struct watched *t = realloc(w->t, cap * sizeof(*t));

		if (!t)
			return NULL;
		w->t = t;
		w->cap = cap;
	}
	w->t[w->nt] = (struct watched){ .tid = tid, .proc = proc };
	return &w->t[w->nt++];
}

/* One line of a /proc file into buf; false if none. */
static bool read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	bool ok;

	if (!f)
		return false;
	ok = fgets(buf, (int)len, f) != NULL;
	fclose(f);
	return ok;
}

/* The process a thread started during the copy belongs to. */
static size_t proc_of(const struct snap_exit *w, pid_t tid)
{
	char path[64], line[128];
	FILE *f;
	long tgid = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return NO_PROC;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %ld", &tgid) == 1)
			break;
	fclose(f);
	for (size_t i = 0; i < w->n; i++)
		if (w->pids[i] && w->pids[i] == tgid)
			return i;
	return NO_PROC;
}

/* A zombie or dead thread (state Z or X in its stat), or one gone. */
static bool thread_dead(pid_t pid, pid_t tid)
{
	char path[64], line[512];
	const char *st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (!read_line(path, line, sizeof(line)) || !(st = strrchr(line, ')')))
		return true;
	return st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X');
}

/* Every thread of process i, those it starts meanwhile too. */
static void seize_proc(struct snap_exit *w, size_t i)
{
	const long opts = PTRACE_O_TRACEEXIT | PTRACE_O_TRACECLONE;
	char path[64];
	bool more = true;

	snprintf(path, sizeof(path), "/proc/%d/task", w->pids[i]);
	for (int round = 0; more && round < SEIZE_ROUNDS; round++) {
		DIR *d = opendir(path);
		struct dirent *e;

		if (!d)
			return;   /* gone: its memory with it (snapshot_read says so) */
		more = false;
		while ((e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);

			if (tid <= 0 || find(w, tid))
				continue;
			if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)opts) < 0) {
				/* a zombie leader (its pthread_exit) refuses with
				 * EPERM: it holds no mm, nothing to watch */
				if (errno != ESRCH && !(errno == EPERM && thread_dead(w->pids[i], tid)))
					log_error("checkpoint: task %d: thread %d: PTRACE_SEIZE to watch for its exit: "
						  "%m: its exit before the copy ends fails the checkpoint", w->pids[i], tid);
				continue;
			}
			if (!add(w, tid, i)) {
				ptrace(PTRACE_DETACH, tid, NULL, NULL);   /* not stopped: fails, the kernel lets it go with us */
				log_error("checkpoint: task %d: no memory to watch thread %d", w->pids[i], tid);
				continue;
			}
			more = true;
		}
		closedir(d);
	}
}

/* Thread x of its process, in its exit stop: does the mm go with it? A
 * thread that called exit (not exit_group) leaves it to the others, if
 * one still runs: every one we trace stops here in turn. Any doubt counts
 * as yes: a save too many costs a copy, one too few the checkpoint. */
static bool last_holder(struct snap_exit *w, const struct watched *x)
{
	char path[96], line[128];
	long nr = -1;
	DIR *d;
	struct dirent *e;
	bool last = true;

	snprintf(path, sizeof(path), "/proc/%d/syscall", x->tid);
	if (!read_line(path, line, sizeof(line)) || sscanf(line, "%ld", &nr) != 1 || nr != SYS_exit)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/task", w->pids[x->proc]);
	d = opendir(path);
	if (!d)
		return true;
	while (last && (e = readdir(d))) {
		pid_t tid = (pid_t)atoi(e->d_name);
		const struct watched *o = find(w, tid);

		if (tid <= 0 || tid == x->tid || (o && o->exiting))
			continue;
		last = thread_dead(w->pids[x->proc], tid);
	}
	closedir(d);
	return last;
}

/* One stop or end of a thread we trace. */
static void on_wait(struct snap_exit *w, pid_t tid, int st, bool ending)
{
	struct watched *x = find(w, tid);

	if (!x && WIFSTOPPED(st))
		x = add(w, tid, proc_of(w, tid));   /* started during the copy */
	if (!x) {
		if (WIFSTOPPED(st))
			ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return;
	}
	if (WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_EXIT) {
		if (x->proc != NO_PROC && !w->saved[x->proc] && !ending && last_holder(w, x)) {
			w->save(w->arg, x->proc);
			w->saved[x->proc] = true;
		}
		x->exiting = true;
	}
	if (!ptguard_pass_on(tid, st, ending))
		x->gone = true;
}

/* Each thread let go at its next stop (a group stop kept, a signal
 * delivered); those already past their exit stop are dead or about to be. */
static void detach_all(struct snap_exit *w)
{
	size_t left = 0;
	int st;
	pid_t tid;

	for (size_t i = 0; i < w->nt; i++)
		if (!w->t[i].gone && !w->t[i].exiting) {
			if (ptrace(PTRACE_INTERRUPT, w->t[i].tid, NULL, NULL) < 0)
				w->t[i].gone = true;
			else
				left++;
		}
	for (int ms = 0; left && ms < DETACH_WAIT_MS;) {
		struct watched *x;
		bool counted;

		tid = waitpid(-1, &st, __WALL | __WNOTHREAD | WNOHANG);
		if (tid < 0 && errno == ECHILD)
			break;
		if (tid <= 0) {
			usleep(POLL_MS * 1000);
			ms += POLL_MS;
			continue;
		}
		x = find(w, tid);
		counted = x && !x->exiting;
		on_wait(w, tid, st, true);
		if (counted && x->gone)
			left--;
	}
	if (left)
		log_info("checkpoint: %zu threads did not stop to be let go: they go with the watch's thread", left);
}

static void *watch_main(void *arg)
{
	struct snap_exit *w = arg;
	struct pollfd p = { .fd = w->stop_fd, .events = POLLIN };

	uint64_t one = 1;

	for (size_t i = 0; i < w->n; i++)
		if (w->pids[i])
			seize_proc(w, i);
	log_info("checkpoint: exit watch: %zu threads seized", w->nt);
	if (write(w->ready_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("checkpoint: exit watch: telling it is ready: %m");
	for (;;) {
		int st;
		pid_t tid = waitpid(-1, &st, __WALL | __WNOTHREAD | WNOHANG);

		if (tid > 0) {
			on_wait(w, tid, st, false);
			continue;
		}
		/* nothing traced any more: only the end is waited for */
		if (poll(&p, 1, tid < 0 && errno == ECHILD ? -1 : POLL_MS) > 0)
			break;
	}
	detach_all(w);
	return NULL;
}

static void wait_ready(struct snap_exit *w)
{
	uint64_t v;

	while (read(w->ready_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

int snap_exit_start(struct snap_exit **ret, const pid_t *pids, size_t n, snap_exit_save_fn save, void *arg)
{
	struct snap_exit *w = calloc(1, sizeof(*w));
	int r;

	*ret = NULL;
	if (!w)
		return -ENOMEM;
	*w = (struct snap_exit){ .pids = pids, .n = n, .saved = calloc(n ? n : 1, sizeof(bool)), .save = save,
				 .arg = arg, .stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK),
				 .ready_fd = eventfd(0, EFD_CLOEXEC) };
	r = !w->saved			    ? -ENOMEM
	    : w->stop_fd < 0 || w->ready_fd < 0 ? -errno
						: -pthread_create(&w->thread, NULL, watch_main, w);
	if (r < 0) {
		if (w->stop_fd >= 0)
			close(w->stop_fd);
		if (w->ready_fd >= 0)
			close(w->ready_fd);
		free(w->saved);
		free(w);
		return r;
	}
	/* every thread seized before the copy goes on: an exit from then on
	 * is held (one before, in the moment since the tasks were let go,
	 * still fails the checkpoint, named) */
	wait_ready(w);
	*ret = w;
	return 0;
}

void snap_exit_stop(struct snap_exit *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	if (write(w->stop_fd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		log_error("checkpoint: ending the exit watch: %m");
	pthread_join(w->thread, NULL);
	close(w->stop_fd);
	close(w->ready_fd);
	free(w->saved);
	free(w->t);
	free(w);
}
