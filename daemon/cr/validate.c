// SPDX-License-Identifier: GPL-2.0-or-later
/* Pure checks of image records, shared by restart and checkpoint (validate.h). */
#include "validate.h"
#include "userns.h"
#include "ipc.h"
#include "sleep.h"
#include "arch.h"
#include "dump.h"
#include "macro.h"
#include "ptimer.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/memfd.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/fanotify.h>
#include <sys/timerfd.h>
#include <time.h>
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* Status flags a description may be reopened with (creation flags were
 * dropped by the kernel or by the checkpoint). */
#define FILE_FLAGS_OK (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_DIRECT | ARCH_O_LARGEFILE | \
		       O_DIRECTORY | O_NOFOLLOW | O_NOATIME | O_ASYNC | O_PATH)
/* What an O_PATH description keeps of its open flags. */
#define PATH_FLAGS_OK (O_PATH | O_NOFOLLOW | O_DIRECTORY)
#define SEALS_OK (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC)
#define TASK_TOP ((1ull << 47) - 4096)   /* TASK_SIZE: the last page is never mapped */
#define MAP_FLAGS_OK (MAP_PRIVATE | MAP_SHARED | MAP_GROWSDOWN)
#define SIG_NONE_OK (1ull << (SIGKILL - 1) | 1ull << (SIGSTOP - 1))

static bool mq_name_ok(const char *name);

/* No "." or ".." component: the path says plainly where it leads (the
 * kernel's names of files, which the checkpoint saves, never have one). */
static bool path_plain(const char *p)
{
	for (const char *c = p; c; c = strchr(c + 1, '/'))
		if ((c[1] == '.' && (c[2] == '/' || !c[2])) || (c[1] == '.' && c[2] == '.' && (c[3] == '/' || !c[3])))
			return false;
	return true;
}

static bool path_ok(const char *p)
{
	return p && p[0] == '/' && strlen(p) < CR_PATH_MAX && path_plain(p);
}

bool validate_chr_allowed(uint64_t rdev)
{
	/* major 1 (mem): 3 null, 5 zero, 7 full, 8 random, 9 urandom; never
	 * 1 mem, 2 kmem, 4 port, 11 kmsg */
	unsigned int min = minor((dev_t)rdev);

	return major((dev_t)rdev) == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9);
}

/* A character device opened (FILE_CHR) or held by O_PATH: one of the
 * allowed ones, by number and by a plain path in the container's /dev. */
static const char *validate_chr(const Ckpt__Img__File *f)
{
	if (!f->has_rdev)
		return "a device without its number";
	if (!path_ok(f->path))
		return "no absolute path, one with a . or .. component, or one longer than an image holds";
	/* /dev/tty: opened by its task on the controlling terminal restart gives back */
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_CHR && f->rdev == makedev(5, 0))
		return streq(f->path, "/dev/tty") && f->has_pty_index && f->pty_index <= CR_PTY_MAX_INDEX ? NULL
		       : "/dev/tty without its path or the pty it was on";
	if (!validate_chr_allowed(f->rdev))
		return "a character device other than /dev/null, zero, full, random and urandom";
	if (strncmp(f->path, "/dev/", 5) != 0)
		return "a device outside the container's /dev";
	return NULL;
}

/* ---- files ---- */

static bool in(const char *s, size_t n, const char *const *list)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(s, *list, n))
			return true;
	return false;
}

/* Files of /proc whose contents are computed at each read from state the
 * restored container has again: reopened by name, read afresh. */
static const char *const proc_global_ro[] = {
	"meminfo", "uptime", "loadavg", "stat", "cpuinfo", "version", "filesystems", "swaps", "vmstat",
	"zoneinfo", "diskstats", "partitions", "cmdline", "devices", "interrupts", "softirqs", "buddyinfo",
	"modules", "misc", "crypto", "locks", "execdomains", NULL,
};
static const char *const proc_global_dirs[] = { "sys", "pressure", NULL };
static const char *const proc_pid_ro[] = {
	"stat", "status", "statm", "cmdline", "environ", "maps", "smaps", "smaps_rollup", "numa_maps", "limits",
	"io", "cgroup", "mountinfo", "mounts", "mountstats", "oom_score", "schedstat", "sched", "wchan",
	"personality", "loginuid", "sessionid", "cpuset", "auxv", "syscall", NULL,
};
static const char *const proc_pid_rw[] = { "comm", "oom_score_adj", "oom_adj", NULL };
static const char *const proc_pid_dirs[] = { "fd", "fdinfo", "task", "net", NULL };

/* The next component of p (after a '/'): its start and length; false at the end. */
static bool next_comp(const char **p, const char **ret, size_t *ret_n)
{
	const char *s = *p, *e;

	if (*s != '/')
		return false;
	s++;
	e = strchrnul(s, '/');
	*ret = s;
	*ret_n = e - s;
	*p = e;
	return true;
}

static bool is_id(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 7 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return atoi(s) <= CR_PID_MAX;
}

/* What follows /proc/PID or /proc/PID/task/TID. */
static const char *proc_pid_entry(const char *rest, bool top, bool rdonly)
{
	const char *c;
	size_t n;

	if (!next_comp(&rest, &c, &n))
		return rdonly ? NULL : "a process's /proc directory opened for writing";
	if (top && n == 4 && !strncmp(c, "task", 4) && *rest) {
		if (!next_comp(&rest, &c, &n) || !is_id(c, n))
			return "not a thread of the process";
		return proc_pid_entry(rest, false, rdonly);
	}
	if (n == 6 && !strncmp(c, "fdinfo", 6) && *rest) {
		if (!next_comp(&rest, &c, &n) || !is_id(c, n) || *rest)
			return "not an fdinfo file";
		return rdonly ? NULL : "fdinfo opened for writing";
	}
	if (n == 3 && !strncmp(c, "net", 3))
		return rdonly ? NULL : "a /proc/PID/net file opened for writing";
	if (*rest)
		return "not a file restart can reopen";
	if (in(c, n, proc_pid_rw))
		return NULL;
	if (in(c, n, proc_pid_ro) || in(c, n, proc_pid_dirs))
		return rdonly ? NULL : "opened for writing";
	if ((n == 3 && !strncmp(c, "mem", 3)) || (n == 7 && !strncmp(c, "pagemap", 7)))
		return "it reads a process's memory by address: not a file restart can reopen";
	return "not a /proc file restart can reopen faithfully";
}

const char *validate_proc_path(const char *path, uint32_t flags)
{
	bool rdonly = (flags & O_PATH) || (flags & O_ACCMODE) == O_RDONLY;
	const char *p, *c;
	size_t n;

	if (!path_ok(path) || strncmp(path, "/proc", 5) || (path[5] && path[5] != '/'))
		return "not a path under /proc";
	if (strstr(path, "//") || path[strlen(path) - 1] == '/' || strstr(path, "/./") || strstr(path, "/../") ||
	    !strcmp(path + strlen(path) - 2, "/.") || !strcmp(path + strlen(path) - 3, "/.."))
		return "not a plain /proc path";
	if (flags & O_PATH && flags & ~PATH_FLAGS_OK)
		return "bad O_PATH flags";
	p = path + 5;
	if (!next_comp(&p, &c, &n))
		return rdonly ? NULL : "/proc opened for writing";
	if (is_id(c, n)) {
		if (n == 1 && c[0] == '1')
			return "it names the container's init, which restart replaces";
		return proc_pid_entry(p, true, rdonly);
	}
	if (in(c, n, proc_global_dirs))
		return rdonly ? NULL : "a /proc/sys or /proc/pressure file opened for writing";
	if (*p || !in(c, n, proc_global_ro))
		return "not a /proc file restart can reopen faithfully";
	return rdonly ? NULL : "opened for writing";
}

pid_t validate_proc_pid(const char *path)
{
	const char *p = path + 5, *c;
	size_t n;
	pid_t pid;

	if (!next_comp(&p, &c, &n) || !is_id(c, n))
		return 0;
	pid = atoi(c);
	if (next_comp(&p, &c, &n) && n == 4 && !strncmp(c, "task", 4) && next_comp(&p, &c, &n) && is_id(c, n))
		pid = atoi(c);
	return pid;
}

static bool timer_clock_ok(int32_t c)
{
	return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME ||
	       c == CLOCK_REALTIME_ALARM || c == CLOCK_BOOTTIME_ALARM;
}

/* Armed: time left, or a period whose expiry is waiting to be read (it is
 * re-armed by the read); a period alone is what settime kept of a disarm. */
bool validate_timer_armed(const Ckpt__Img__File *f)
{
	return f->tfd_value_ns || (f->tfd_interval_ns && f->tfd_ticks);
}

static bool timer_abs_realtime(const Ckpt__Img__File *f)
{
	return (f->tfd_settime_flags & TFD_TIMER_ABSTIME) &&
	       (f->tfd_clockid == CLOCK_REALTIME || f->tfd_clockid == CLOCK_REALTIME_ALARM);
}

static const char *validate_timerfd(const Ckpt__Img__File *f)
{
	if (!f->has_tfd_clockid || !timer_clock_ok(f->tfd_clockid))
		return "a timerfd on an unknown clock";
	if (f->tfd_settime_flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return "unknown timerfd settime flags";
	if (f->tfd_value_ns > CR_TIMER_MAX_NS || f->tfd_interval_ns > CR_TIMER_MAX_NS)
		return "a timerfd value out of range";
	if (f->has_tfd_deadline_ns != (timer_abs_realtime(f) && validate_timer_armed(f)))
		return "a timerfd deadline where none belongs, or none where one does";
	if (f->has_tfd_deadline_ns && (f->tfd_deadline_ns <= 0 || (uint64_t)f->tfd_deadline_ns > CR_TIMER_MAX_NS))
		return "a timerfd deadline out of range";
	return NULL;
}

/* What epoll_ctl(EPOLL_CTL_ADD) accepts (fs/eventpoll.c). */
#define EPOLL_EVENTS_OK (EPOLLIN | EPOLLPRI | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLRDNORM | EPOLLRDBAND | \
			 EPOLLWRNORM | EPOLLWRBAND | EPOLLMSG | EPOLLRDHUP | EPOLLEXCLUSIVE | EPOLLWAKEUP | \
			 EPOLLONESHOT | EPOLLET)
#define EPOLL_EXCLUSIVE_OK (EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE)

const char *validate_epoll_target(const Ckpt__Img__EpollTarget *t)
{
	if (t->tfd >= CR_MAX_FD_NR)
		return "a target fd number out of range";
	if (t->events & ~EPOLL_EVENTS_OK)
		return "unknown epoll events";
	if ((t->events & EPOLLEXCLUSIVE) && (t->events & ~EPOLL_EXCLUSIVE_OK))
		return "EPOLLEXCLUSIVE with events it does not take";
	return NULL;
}

static const char *validate_epoll(const Ckpt__Img__File *f)
{
	const char *why;
	size_t i, j;

	if (f->n_epoll_targets > CR_EPOLL_MAX_TARGETS)
		return "an epoll with too many targets";
	for (i = 0; i < f->n_epoll_targets; i++) {
		why = validate_epoll_target(f->epoll_targets[i]);
		if (why)
			return why;
		if (f->epoll_targets[i]->file_id == f->id)
			return "an epoll that watches itself";
		/* one fd number holds one file: a second entry is a stale one */
		for (j = 0; j < i; j++)
			if (f->epoll_targets[j]->tfd == f->epoll_targets[i]->tfd)
				return "two epoll targets under one fd number";
	}
	return NULL;
}

static const char *validate_pidfd(const Ckpt__Img__File *f)
{
	if (f->path)
		return "a path on a file that has none";
	if ((f->flags & ~(O_NONBLOCK | ARCH_O_LARGEFILE)) != O_RDWR)
		return "open flags a pidfd does not have";
	if (!f->has_pidfd_pid || f->pidfd_pid <= 1 || f->pidfd_pid >= CR_PID_MAX)
		return "a pidfd without a pid of the container";
	return NULL;
}

/* Event and notification fds: made anew, never reopened by path. */
static const char *validate_evfd(const Ckpt__Img__File *f)
{
	if (f->path)
		return "a path on a file that has none";
	if ((f->flags & ~(O_NONBLOCK | ARCH_O_LARGEFILE)) != O_RDWR)
		return "open flags this kind of file does not have";
	if (f->kind != CKPT__IMG__FILE_KIND__FILE_EVENTFD && (f->has_efd_count || f->has_efd_semaphore))
		return "eventfd fields on another kind of file";
	if (f->kind != CKPT__IMG__FILE_KIND__FILE_TIMERFD &&
	    (f->has_tfd_clockid || f->has_tfd_ticks || f->has_tfd_settime_flags || f->has_tfd_value_ns ||
	     f->has_tfd_interval_ns || f->has_tfd_deadline_ns))
		return "timerfd fields on another kind of file";
	if (f->kind != CKPT__IMG__FILE_KIND__FILE_SIGNALFD && f->has_sfd_sigmask)
		return "a signal mask on another kind of file";
	if (f->kind != CKPT__IMG__FILE_KIND__FILE_EPOLL && f->n_epoll_targets)
		return "epoll targets on another kind of file";
	if (f->has_pidfd_pid || f->has_pidfd_thread)
		return "pidfd fields on another kind of file";
	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_EVENTFD:
		/* eventfd_write() never lets the counter reach ULLONG_MAX */
		return f->has_efd_count && f->efd_count < UINT64_MAX ? NULL : "an eventfd without a valid count";
	case CKPT__IMG__FILE_KIND__FILE_TIMERFD:
		return validate_timerfd(f);
	case CKPT__IMG__FILE_KIND__FILE_SIGNALFD:
		return f->has_sfd_sigmask ? NULL : "a signalfd without its mask";
	default:
		return validate_epoll(f);
	}
}


/* A lock of kind (FLOCK: no range), its range within off_t. */
static const char *check_lock(const Ckpt__Img__FileLock *l, bool posix)
{
	if (posix != (l->kind == CKPT__IMG__LOCK_KIND__LOCK_POSIX))
		return posix ? "a description's lock among a process's" : "a process's lock among a description's";
	if (l->kind == CKPT__IMG__LOCK_KIND__LOCK_FLOCK)
		return l->has_start || l->has_len ? "a flock with a range" : NULL;
	if (l->kind != CKPT__IMG__LOCK_KIND__LOCK_OFD && l->kind != CKPT__IMG__LOCK_KIND__LOCK_POSIX)
		return "an unknown kind of lock";
	if (!l->has_start || !l->has_len || l->start > INT64_MAX || l->len > INT64_MAX - l->start)
		return "a lock range out of bounds";
	return NULL;
}

static const char *check_locks(Ckpt__Img__FileLock *const *v, size_t n, bool posix)
{
	const char *why;
	size_t i, nflock = 0;

	if (n > CR_MAX_LOCKS)
		return "too many locks";
	for (i = 0; i < n; i++) {
		why = check_lock(v[i], posix);
		if (why)
			return why;
		nflock += v[i]->kind == CKPT__IMG__LOCK_KIND__LOCK_FLOCK;
	}
	return nflock > 1 ? "two flocks on one description" : NULL;
}

/* Locks and the SIGIO owner, on the kinds that have them here. */
static const char *check_file_state(const Ckpt__Img__File *f)
{
	const char *why = check_locks(f->locks, f->n_locks, false);

	if (why)
		return why;
	if (f->n_locks && (f->kind == CKPT__IMG__FILE_KIND__FILE_PATH || f->kind == CKPT__IMG__FILE_KIND__FILE_PROC ||
			   f->kind == CKPT__IMG__FILE_KIND__FILE_LOG))
		return "locks on a kind of file that restart can't lock (O_PATH, /proc, the container log)";
	return NULL;
}

/* A fanotify group: flags restart can make it with, marks it can add. */
static const char *validate_fanotify(const Ckpt__Img__File *f)
{
	const Ckpt__Img__Fanotify *g = f->fanotify;

	if (!g)
		return "a fanotify group without its state";
	if (f->flags & ~(O_ACCMODE | O_NONBLOCK | ARCH_O_LARGEFILE))
		return "fanotify open flags other than O_NONBLOCK";
	if (g->flags & ~(uint32_t)CR_FANOTIFY_FLAGS_OK || g->event_flags & ~(uint32_t)CR_FANOTIFY_EVENT_FLAGS_OK)
		return "fanotify init flags or event_f_flags restart does not make";
	if (g->n_marks > CR_FANOTIFY_MAX_MARKS)
		return "too many fanotify marks";
	for (size_t i = 0; i < g->n_marks; i++) {
		const Ckpt__Img__FanotifyMark *m = g->marks[i];

		if ((unsigned)m->kind > CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_FILESYSTEM || !path_ok(m->path))
			return "a fanotify mark of no known kind, or without a valid path";
		if (m->mflags & ~(uint32_t)(FAN_MARK_EVICTABLE | FAN_MARK_IGNORED_SURV_MODIFY | FAN_MARK_IGNORE))
			return "a fanotify mark with flags restart does not give";
		if ((m->mask | m->ignored_mask) & CR_FANOTIFY_PERM_EVENTS)
			return "a fanotify mark with permission events";
		if ((m->kind == CKPT__IMG__FANOTIFY_MARK_KIND__FAN_MARK_KIND_INODE) != m->has_ftype || m->ftype & ~S_IFMT)
			return "a fanotify mark whose file type does not fit its kind";
	}
	return NULL;
}

/* Watches in increasing wd order (restart makes them so), each once. */
static const char *validate_inotify(const Ckpt__Img__File *f)
{
	int32_t prev = 0;

	if (f->flags & ~(O_ACCMODE | O_NONBLOCK | ARCH_O_LARGEFILE) || (f->flags & O_ACCMODE) != O_RDONLY)
		return "inotify flags other than O_NONBLOCK";
	if (f->n_inotify_watches > CR_INOTIFY_MAX_WATCHES)
		return "too many inotify watches";
	for (size_t i = 0; i < f->n_inotify_watches; i++) {
		const Ckpt__Img__InotifyWatch *w = f->inotify_watches[i];

		if (w->wd <= prev || w->wd > CR_INOTIFY_MAX_WD)
			return "inotify watch descriptors out of range or order";
		if (!w->mask || w->mask & ~(IN_ALL_EVENTS | IN_ONESHOT | IN_EXCL_UNLINK))
			return "an inotify watch with a bad mask";
		if (!path_ok(w->path) || !w->ftype || w->ftype & ~S_IFMT)
			return "an inotify watch without a valid path or type";
		prev = w->wd;
	}
	return NULL;
}

/* Canonical mode's complete lines: within to_slave, and no more than
 * the line discipline holds (an end-of-file takes a byte of it). */
static const char *validate_pty_lines(const Ckpt__Img__Pty *m)
{
	size_t sum = 0;

	if (!m->n_to_slave_lines)
		return NULL;
	if (!(m->lflag & ICANON) || (m->lflag & EXTPROC) || m->to_slave_eof)
		return "complete input lines of a pty not in canonical mode";
	if (m->n_to_slave_lines > CR_PTY_MAX_CANON)
		return "more complete input lines in a pty than it holds";
	for (size_t i = 0; i < m->n_to_slave_lines; i++) {
		if (m->to_slave_lines[i] > CR_PTY_MAX_CANON)
			return "a pty input line longer than a line can be";
		sum += m->to_slave_lines[i];
	}
	if (sum > m->to_slave.len || m->to_slave.len > CR_PTY_MAX_CANON)
		return "complete input lines of a pty that its input does not hold";
	return NULL;
}

/* A pty end; its state when the File carries it. */
static const char *validate_pty(const Ckpt__Img__File *f)
{
	const Ckpt__Img__Pty *m = f->pty;

	if (!f->has_pty_index || f->pty_index > CR_PTY_MAX_INDEX)
		return "a pty without its index, or one out of range";
	if (f->flags & ~(O_ACCMODE | O_NONBLOCK | O_APPEND | O_ASYNC | ARCH_O_LARGEFILE))
		return "open flags restart can't give a pty back";
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PTY_MASTER && (f->flags & O_ACCMODE) != O_RDWR)
		return "a pty master not open for reading and writing";
	if (!m)
		return NULL;
	if (m->master_path && !streq(m->master_path, "/dev/ptmx") && !streq(m->master_path, "/dev/pts/ptmx"))
		return "a pty master path other than /dev/ptmx or /dev/pts/ptmx";
	if (m->index != f->pty_index)
		return "pty state of another index";
	if (m->cc.len != NCCS || m->rows > 0xffff || m->cols > 0xffff || m->xpixel > 0xffff || m->ypixel > 0xffff)
		return "bad termios or window size";
	if (m->to_slave.len > CR_PTY_MAX_DATA || m->to_master.len > CR_PTY_MAX_DATA)
		return "more bytes waiting in a pty than an image holds";
	if (m->to_slave_eof && (m->to_slave.len != 1 || m->to_slave.data[0] || !(m->lflag & ICANON)))
		return "a waiting end-of-file that is not one, alone, in canonical mode";
	return validate_pty_lines(m);
}

const char *validate_header_tty(const Ckpt__Img__Header *h)
{
	size_t i, k;

	if (h->has_console_pty && h->console_pty > CR_PTY_MAX_INDEX)
		return "console pty index out of range";
	if (h->n_cttys > CR_MAX_TASKS)
		return "too many controlling terminals";
	for (i = 0; i < h->n_cttys; i++) {
		const Ckpt__Img__Ctty *c = h->cttys[i];

		if (c->sid < 2 || c->sid > CR_PID_MAX || c->index > CR_PTY_MAX_INDEX || c->fg_pgrp < 0 || c->fg_pgrp > CR_PID_MAX)
			return "controlling terminal: session, pty or process group out of range";
		for (k = 0; k < i; k++)
			if (h->cttys[k]->sid == c->sid)
				return "a session with two controlling terminals";
	}
	return NULL;
}

const char *validate_file(const Ckpt__Img__File *f)
{
	const char *why = check_file_state(f);

	if (why)
		return why;
	/* O_TMPFILE holds O_DIRECTORY: its own bit is what tells it */
	if (f->flags & (O_CREAT | O_EXCL | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY)))
		return "open flags that create or truncate a file (O_CREAT, O_EXCL, O_TRUNC, O_TMPFILE): restart opens only what exists";
	if (f->flags & ~FILE_FLAGS_OK)
		return "open flags restart can't give back";
	if ((f->flags & O_ACCMODE) == O_ACCMODE)
		return "bad access mode";
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PROC)
		return validate_proc_path(f->path, f->flags);
	if (f->kind == CKPT__IMG__FILE_KIND__FILE_PIDFD)
		return validate_pidfd(f);
	if ((f->flags & O_PATH) != (f->kind == CKPT__IMG__FILE_KIND__FILE_PATH ? O_PATH : 0))
		return "O_PATH flags on a kind that is not O_PATH";
	switch (f->kind) {
	case CKPT__IMG__FILE_KIND__FILE_LOG:
		return NULL;
	case CKPT__IMG__FILE_KIND__FILE_EVENTFD:
	case CKPT__IMG__FILE_KIND__FILE_TIMERFD:
	case CKPT__IMG__FILE_KIND__FILE_SIGNALFD:
	case CKPT__IMG__FILE_KIND__FILE_EPOLL:
		return validate_evfd(f);
	case CKPT__IMG__FILE_KIND__FILE_PIPE:
		return f->has_pipe_id ? NULL : "a pipe without a pipe id";
	case CKPT__IMG__FILE_KIND__FILE_MEMFD:
		return f->has_shm_id ? NULL : "a memfd without a shm id";
	case CKPT__IMG__FILE_KIND__FILE_SOCKET:
		return validate_socket(f->sock);
	case CKPT__IMG__FILE_KIND__FILE_FIFO:
		if (!f->has_pipe_id)
			return "a named pipe without a pipe id";
		return path_ok(f->path) ? NULL : "no absolute path, one with a . or .. component, or one longer than an image holds";
	case CKPT__IMG__FILE_KIND__FILE_GHOST:
		return f->has_ghost_id ? NULL : "a deleted file without a ghost id";
	case CKPT__IMG__FILE_KIND__FILE_FANOTIFY:
		return validate_fanotify(f);
	case CKPT__IMG__FILE_KIND__FILE_INOTIFY:
		return validate_inotify(f);
	case CKPT__IMG__FILE_KIND__FILE_PTY_MASTER:
	case CKPT__IMG__FILE_KIND__FILE_PTY_SLAVE:
		return validate_pty(f);
	case CKPT__IMG__FILE_KIND__FILE_MQUEUE:
		if (f->flags & ~(O_ACCMODE | O_NONBLOCK))
			return "bad message queue flags";
		return mq_name_ok(f->path) ? NULL : "a message queue without a valid name";
	case CKPT__IMG__FILE_KIND__FILE_REG:
	case CKPT__IMG__FILE_KIND__FILE_DIR:
		return path_ok(f->path) ? NULL : "no absolute path, one with a . or .. component, or one longer than an image holds";
	case CKPT__IMG__FILE_KIND__FILE_CHR:
		return validate_chr(f);
	case CKPT__IMG__FILE_KIND__FILE_PATH:
		if (f->flags & ~PATH_FLAGS_OK)
			return "bad O_PATH flags";
		if (!f->has_ftype || !f->ftype || f->ftype & ~S_IFMT)
			return "an O_PATH file without its type";
		if (S_ISBLK(f->ftype))
			return "a block device";
		if (S_ISCHR(f->ftype))
			return validate_chr(f);
		return path_ok(f->path) ? NULL : "no absolute path, one with a . or .. component, or one longer than an image holds";
	default:
		return "unknown kind";
	}
}

/* ---- shared objects ---- */

const char *validate_sysv_shm(const Ckpt__Img__SysvShm *m)
{
	if (m->id < 0 || m->mode > 0777)
		return "id or mode out of range";
	if (m->size == 0 || m->size > CR_SHM_MAX_SIZE)
		return "size out of range";
	if (m->removed && m->key != 0)
		return "removed but still with a key";
	return NULL;
}

const char *validate_shm(const Ckpt__Img__Shm *m)
{
	if (m->kind == CKPT__IMG__SHM_KIND__SHM_MEMFD) {
		/* a memfd has any size, 0 included; its last page may be partial */
		if (m->size > CR_SHM_MAX_SIZE)
			return "size out of range";
		if (!m->name || strlen(m->name) > CR_MEMFD_NAME_MAX || strchr(m->name, '/'))
			return "bad memfd name";
		if (m->seals & ~SEALS_OK)
			return "unknown seals";
		return NULL;
	}
	if (m->kind != CKPT__IMG__SHM_KIND__SHM_ANON)
		return "unknown kind";
	if (m->size == 0 || m->size > CR_SHM_MAX_SIZE || m->size % PAGE_SZ)
		return "size out of range";
	return NULL;
}

const char *validate_pipe(const Ckpt__Img__Pipe *m)
{
	if (m->size < PAGE_SZ || m->size > CR_PIPE_MAX_SIZE || m->data.len > m->size)
		return "buffer size or data out of range";
	return NULL;
}

const char *validate_ghost(const Ckpt__Img__Ghost *m)
{
	if (!path_ok(m->path) || streq(m->path, "/"))
		return "no absolute path, one with a . or .. component, or one longer than an image holds";
	if (m->size > CR_GHOST_MAX_SIZE)
		return "size out of range";
	if (m->mode & ~07777)
		return "bad mode";
	if (m->has_mtime_ns && m->mtime_ns < 0)
		return "mtime out of range";
	if (m->dir && m->size)
		return "a removed directory with contents";
	return NULL;
}

static const char *check_fown(const Ckpt__Img__Fown *o)
{
	if (!o)
		return NULL;
	if (o->type != F_OWNER_TID && o->type != F_OWNER_PID && o->type != F_OWNER_PGRP)
		return "an unknown kind of SIGIO owner";
	if (o->pid < 0 || o->pid > CR_PID_MAX)
		return "a SIGIO owner out of range";
	return o->signum > 64 ? "a SIGIO signal out of range" : NULL;
}

const char *validate_fds(const Ckpt__Img__Fds *m, uint32_t max_fd)
{
	const char *why;
	size_t i, j;

	if (m->n_fds > CR_MAX_FDS)
		return "too many fds";
	for (i = 0; i < m->n_fds; i++) {
		if (m->fds[i]->fd > max_fd)
			return "an fd number above the tree's highest";
		why = check_locks(m->fds[i]->posix_locks, m->fds[i]->n_posix_locks, true);
		if (why)
			return why;
		why = check_fown(m->fds[i]->fown);
		if (why)
			return why;
		for (j = 0; j < i; j++)
			if (m->fds[j]->fd == m->fds[i]->fd)
				return "an fd listed twice";
	}
	return NULL;
}

/* ---- the tree ---- */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

/* Signals whose default action ends the process (the ones a zombie can
 * have died of), without a core dump (refused at checkpoint). */
static bool kills(int sig)
{
	static const uint64_t no = 1ull << (SIGCHLD - 1) | 1ull << (SIGCONT - 1) | 1ull << (SIGURG - 1) |
				   1ull << (SIGWINCH - 1) | 1ull << (SIGSTOP - 1) | 1ull << (SIGTSTP - 1) |
				   1ull << (SIGTTIN - 1) | 1ull << (SIGTTOU - 1);

	return sig >= 1 && sig <= 64 && !(no & (1ull << (sig - 1)));
}

/* Every pid and tid in range and used once. */
static const char *check_ids_unique(const Ckpt__Img__Tree *t)
{
	_cleanup_free_ pid_t *ids = NULL;
	size_t n = 0, i, k;

	for (i = 0; i < t->n_tasks; i++) {
		n += 1 + t->tasks[i]->n_threads;
		if (n > CR_MAX_IDS)
			return "too many threads";
	}
	ids = malloc(n * sizeof(pid_t));
	if (!ids)
		return "out of memory";
	n = 0;
	for (i = 0; i < t->n_tasks; i++) {
		ids[n++] = t->tasks[i]->pid;
		for (k = 0; k < t->tasks[i]->n_threads; k++)
			ids[n++] = t->tasks[i]->threads[k];
	}
	qsort(ids, n, sizeof(pid_t), cmp_pid);
	for (i = 0; i < n; i++)
		if (ids[i] < 2 || ids[i] > CR_PID_MAX || (i && ids[i] == ids[i - 1]))
			return "a pid or tid out of range or used twice";
	return NULL;
}

/* Whether a process or thread of the tree has this id. */
static bool id_used(const Ckpt__Img__Tree *t, pid_t id);

bool tree_id_used(const Ckpt__Img__Tree *t, pid_t id)
{
	return id_used(t, id);
}

int tree_group_creator(const Ckpt__Img__Tree *t, pid_t pgid)
{
	for (size_t i = 0; i < t->n_tasks; i++)
		if (!t->tasks[i]->zombie && t->tasks[i]->pgid == pgid)
			return (int)i;
	return -1;
}

static bool id_used(const Ckpt__Img__Tree *t, pid_t id)
{
	size_t i, k;

	for (i = 0; i < t->n_tasks; i++) {
		if (t->tasks[i]->pid == id)
			return true;
		for (k = 0; k < t->tasks[i]->n_threads; k++)
			if (t->tasks[i]->threads[k] == id)
				return true;
	}
	return false;
}

static int find_before(const Ckpt__Img__Tree *t, size_t before, pid_t pid)
{
	size_t i;

	for (i = 0; i < before; i++)
		if (t->tasks[i]->pid == pid)
			return (int)i;
	return -1;
}

static const char *check_tree_task(const Ckpt__Img__Tree *t, size_t i)
{
	const Ckpt__Img__TreeTask *e = t->tasks[i];
	int parent = e->ppid == 1 ? -1 : find_before(t, i, e->ppid);
	pid_t psid = parent < 0 ? 1 : t->tasks[parent]->sid;
	int leader;

	if (e->ppid != 1 && (parent < 0 || t->tasks[parent]->zombie))
		return "its parent is not a live process before it";
	if (e->exit_signal < 0 || e->exit_signal > 64)
		return "bad exit signal";
	if (e->zombie && (parent < 0 || e->n_threads || !e->has_wait_status || e->wait_status & ~0xffff || (e->wait_status & 0x80) ||
			  !(WIFEXITED(e->wait_status) || WIFSIGNALED(e->wait_status)) ||
			  (WIFSIGNALED(e->wait_status) && !kills(WTERMSIG(e->wait_status)))))
		return "bad zombie";
	if (e->zombie && e->stopped)
		return "a stopped zombie";
	if (e->sid == e->pid && e->pgid != e->pid)
		return "a session leader outside its own group";
	/* A process may be in a session whose leader exited: a helper takes
	 * the free pid (proc_restore.c). */
	bool helped = e->sid != e->pid && e->sid != psid && !id_used(t, e->sid);
	int creator;

	if (e->sid != e->pid && e->sid != psid && !helped)
		return "session neither its own nor its parent's";
	if (e->pgid == e->pid || (e->pgid == 1 && e->sid == 1) || (helped && e->pgid == e->sid) ||
	    (parent >= 0 && e->pgid == t->tasks[parent]->pgid))
		return NULL;
	/* a group whose leader exited: its first live member makes it again */
	if (!id_used(t, e->pgid)) {
		creator = tree_group_creator(t, e->pgid);
		return creator >= 0 && t->tasks[creator]->sid == e->sid ? NULL : "process group without its leader or a live member";
	}
	for (leader = 0; (size_t)leader < t->n_tasks; leader++)
		if (t->tasks[leader]->pid == e->pgid)
			break;
	if ((size_t)leader == t->n_tasks || t->tasks[leader]->pgid != e->pgid || t->tasks[leader]->sid != e->sid)
		return "process group without its leader";
	return NULL;
}

const char *validate_tree(const Ckpt__Img__Tree *t, uint32_t task_count, pid_t *ret_pid)
{
	const char *why;
	size_t i;

	*ret_pid = 0;
	if (t->n_tasks == 0 || t->n_tasks > CR_MAX_TASKS || t->n_tasks != task_count)
		return "task count out of range or not the header's";
	if (t->max_fd >= CR_MAX_FD_NR / 2)
		return "fd numbers out of range";
	why = check_ids_unique(t);
	for (i = 0; i < t->n_tasks && !why; i++) {
		why = check_tree_task(t, i);
		if (why)
			*ret_pid = t->tasks[i]->pid;
	}
	return why;
}

/* ---- tasks, threads, memory ---- */

static const char *check_sigpending(const ProtobufCBinaryData *b)
{
	int32_t sig;

	if (b->len != CR_SIGINFO_SIZE)
		return "bad pending signal";
	memcpy(&sig, b->data, sizeof(sig));
	if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP)
		return "bad pending signal number";
	return NULL;
}

/* Which thread a SIGEV_THREAD_ID timer signals is the caller's to check. */
static const char *check_ptimers(const Ckpt__Img__Task *t)
{
	size_t i, j;

	if (t->n_posix_timers > CR_MAX_PTIMERS)
		return "too many POSIX timers";
	for (i = 0; i < t->n_posix_timers; i++) {
		const Ckpt__Img__PosixTimer *tm = t->posix_timers[i];
		bool by_tid = tm->notify & SIGEV_THREAD_ID;
		int how = tm->notify & ~SIGEV_THREAD_ID;

		if (tm->id < 0 || ptimer_clock_refusal(tm->clock))
			return "bad POSIX timer id or clock";
		if (how < SIGEV_SIGNAL || how > SIGEV_THREAD || (by_tid && how != SIGEV_SIGNAL) || by_tid != tm->has_tid ||
		    (by_tid && tm->tid <= 0) || tm->signo < 0 || tm->signo > 64 || (how != SIGEV_NONE && tm->signo == 0))
			return "bad POSIX timer notification";
		if (tm->value_ns > CR_PTIMER_NS_MAX || tm->interval_ns > CR_PTIMER_NS_MAX || tm->overrun < 0)
			return "bad POSIX timer time";
		for (j = 0; j < i; j++)
			if (t->posix_timers[j]->id == tm->id)
				return "two POSIX timers with one id";
	}
	return NULL;
}

/* An undo list: bounded adjustments, one per semaphore; that each set
 * exists is the restart's to check (the header has them). */
static const char *check_sem_undo(const Ckpt__Img__Task *t)
{
	size_t i, j;

	if (t->n_sem_undo > CR_MAX_SEM_UNDO)
		return "too many semaphore undo entries";
	for (i = 0; i < t->n_sem_undo; i++) {
		const Ckpt__Img__SemUndo *u = t->sem_undo[i];

		if (u->semid < 0 || u->num >= CR_SEM_MAX_NSEMS || u->adj == 0 || u->adj > CR_SEM_VALUE_MAX ||
		    u->adj < -CR_SEM_VALUE_MAX)
			return "bad semaphore undo entry";
		for (j = 0; j < i; j++)
			if (t->sem_undo[j]->semid == u->semid && t->sem_undo[j]->num == u->num)
				return "two undo entries for one semaphore";
	}
	return NULL;
}

static const char *check_rseq(const Ckpt__Img__Rseq *r)
{
	return r && (r->len < 32 || r->len > 1024 || r->ptr % 32) ? "bad rseq registration" : NULL;
}

/* Saved credentials: what setgroups, setres[ug]id and capset accept. */
static const char *check_creds(const Ckpt__Img__Creds *c)
{
	if (!c)
		return NULL;
	if (c->n_uid != 4 || c->n_gid != 4 || c->n_groups > CR_MAX_GROUPS)
		return "bad credentials (uids, gids or groups)";
	if (!c->has_cap_inh || !c->has_cap_prm || !c->has_cap_eff || !c->has_cap_bnd || !c->has_cap_amb ||
	    (c->cap_eff & ~c->cap_prm) || (c->cap_amb & ~(c->cap_prm & c->cap_inh)))
		return "bad capability sets";
	return NULL;
}

static bool group_in(uint32_t g, const struct cr_creds_limit *lim)
{
	uint32_t i;

	if (g == lim->gid)
		return true;
	for (i = 0; i < lim->ngroups && i < CR_MAX_GROUPS; i++)
		if (lim->groups[i] == g)
			return true;
	return false;
}

/* In a user namespace every id must be one of its map. */
static const char *ids_mapped(const Ckpt__Img__Creds *c, uint32_t count, char *buf, size_t len)
{
	const uint32_t *v[3] = { c->uid, c->gid, c->groups };
	size_t n[3] = { c->n_uid, c->n_gid, c->n_groups };
	static const char *const what[3] = { "uid", "gid", "group" };

	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < n[k]; i++)
			if (v[k][i] >= count) {
				snprintf(buf, len, "%s %u, not mapped in the container's user namespace (0..%u)", what[k],
					 v[k][i], count - 1);
				return buf;
			}
	return NULL;
}

const char *validate_creds_allowed(const Ckpt__Img__Creds *c, const struct cr_creds_limit *lim, char *buf, size_t len)
{
	const char *why;
	uint64_t all;
	size_t i;

	if (!lim)
		return NULL;
	if (!c)   /* it would keep the init's */
		return "no credentials saved";
	all = c->cap_inh | c->cap_prm | c->cap_eff | c->cap_amb | c->cap_bnd;
	if (all & ~lim->caps) {
		snprintf(buf, len, "capabilities %#llx beyond the container's set %#llx",
			 (unsigned long long)(all & ~lim->caps), (unsigned long long)lim->caps);
		return buf;
	}
	if (lim->id_count && (why = ids_mapped(c, lim->id_count, buf, len)))
		return why;
	if (!lim->ids_fixed)
		return NULL;
	for (i = 0; i < c->n_uid; i++)
		if (c->uid[i] != lim->uid) {
			snprintf(buf, len, "uid %u, the container's owner is uid %u", c->uid[i], lim->uid);
			return buf;
		}
	for (i = 0; i < c->n_gid; i++)
		if (!group_in(c->gid[i], lim)) {
			snprintf(buf, len, "gid %u, not a group of the container's owner (uid %u)", c->gid[i], lim->uid);
			return buf;
		}
	for (i = 0; i < c->n_groups; i++)
		if (!group_in(c->groups[i], lim)) {
			snprintf(buf, len, "group %u, not a group of the container's owner (uid %u)", c->groups[i], lim->uid);
			return buf;
		}
	return NULL;
}

/* Seccomp: a known mode, filters only in filter mode, each within what
 * restart installs (the kernel checks the programs themselves). */
static const char *check_seccomp(bool has_mode, uint32_t mode, Ckpt__Img__SeccompFilter *const *f, size_t n)
{
	size_t i;

	if (!has_mode)
		return n ? "seccomp filters without a mode" : NULL;
	if (mode > SECCOMP_MODE_FILTER || (mode == SECCOMP_MODE_FILTER) != (n > 0) || n > CR_MAX_SECCOMP_FILTERS)
		return "bad seccomp mode or filter count";
	for (i = 0; i < n; i++)
		if (!f[i]->prog.len || f[i]->prog.len % 8 || f[i]->prog.len > CR_SECCOMP_MAX_INSNS * 8 ||
		    (f[i]->flags & ~SECCOMP_FILTER_FLAG_LOG))
			return "bad seccomp filter";
	return NULL;
}

const char *validate_task(const Ckpt__Img__Task *t, char *buf, size_t len)
{
	const char *why;
	uint64_t seen = 0;
	size_t i;

	if (arch_regs_validate(t->regs.data, t->regs.len, buf, len) < 0)
		return buf;
	if (t->has_timeout_left_ns && sleep_restore_check(t->regs.data, t->timeout_left_ns, buf, len) < 0)
		return buf;
	if (t->xstate.len < 576 || t->xstate.len > ARCH_XSTATE_MAX)
		return "bad FPU/AVX state size";
	if (strlen(t->comm) > 15 || !path_ok(t->cwd) || t->umask > 0777)
		return "bad comm, cwd or umask";
	for (i = 0; i < t->n_sigactions; i++) {
		uint32_t s = t->sigactions[i]->sig;

		if (s < 1 || s > 64 || (seen & (1ull << (s - 1))) || (SIG_NONE_OK & (1ull << (s - 1))))
			return "bad signal action";
		seen |= 1ull << (s - 1);
	}
	for (i = 0; i < t->n_rlimits; i++)
		if (t->rlimits[i]->resource >= RLIM_NLIMITS || t->rlimits[i]->cur > t->rlimits[i]->max)
			return "bad resource limit";
	for (i = 0; i < t->n_itimers; i++)
		if (t->itimers[i]->which > 2 || t->itimers[i]->value_us > (1ull << 50) || t->itimers[i]->interval_us > (1ull << 50))
			return "bad interval timer";
	if (!t->mm || t->mm->auxv.len > 1024 || t->mm->auxv.len % 16 || !path_ok(t->mm->exe))
		return "bad mm bounds, auxv or exe";
	if (t->has_mlockall && ((t->mlockall & ~(MCL_FUTURE | MCL_ONFAULT)) || !(t->mlockall & MCL_FUTURE)))
		return "bad mlockall flags";
	if ((why = check_creds(t->creds)) ||
	    (why = check_seccomp(t->has_seccomp_mode, t->seccomp_mode, t->seccomp_filters, t->n_seccomp_filters)))
		return why;
	if (t->n_sigpending_private + t->n_sigpending_shared > CR_MAX_SIGPENDING)
		return "too many pending signals";
	for (i = 0; i < t->n_sigpending_private; i++)
		if ((why = check_sigpending(&t->sigpending_private[i])))
			return why;
	for (i = 0; i < t->n_sigpending_shared; i++)
		if ((why = check_sigpending(&t->sigpending_shared[i])))
			return why;
	if ((why = check_ptimers(t)))
		return why;
	if ((why = check_sem_undo(t)))
		return why;
	return check_rseq(t->rseq);
}

const char *validate_thread(const Ckpt__Img__Thread *th, char *buf, size_t len)
{
	const char *why;
	size_t i;

	if (arch_regs_validate(th->regs.data, th->regs.len, buf, len) < 0)
		return buf;
	if (th->has_timeout_left_ns && sleep_restore_check(th->regs.data, th->timeout_left_ns, buf, len) < 0)
		return buf;
	if (th->xstate.len < 576 || th->xstate.len > ARCH_XSTATE_MAX)
		return "bad FPU/AVX state size";
	if (strlen(th->comm) > 15)
		return "name too long";
	if ((why = check_rseq(th->rseq)) || (why = check_creds(th->creds)) ||
	    (why = check_seccomp(th->has_seccomp_mode, th->seccomp_mode, th->seccomp_filters, th->n_seccomp_filters)))
		return why;
	if (th->n_sigpending > CR_MAX_SIGPENDING)
		return "too many pending signals";
	for (i = 0; i < th->n_sigpending; i++)
		if ((why = check_sigpending(&th->sigpending[i])))
			return why;
	return NULL;
}

static bool is_shm(Ckpt__Img__VmaKind k)
{
	return k == CKPT__IMG__VMA_KIND__VMA_SHARED_ANON || k == CKPT__IMG__VMA_KIND__VMA_MEMFD ||
	       k == CKPT__IMG__VMA_KIND__VMA_SYSV_SHM;
}

static const char *check_vma(const Ckpt__Img__Vma *v, uint64_t prev_end)
{
	if (v->start >= v->end || v->end > TASK_TOP || (v->start | v->end) % PAGE_SZ || v->start < prev_end)
		return "bad or overlapping range";
	if (v->prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return "bad protection";
	if ((v->flags & ~MAP_FLAGS_OK) || !(v->flags & (MAP_PRIVATE | MAP_SHARED)) ||
	    (v->flags & MAP_PRIVATE && v->flags & MAP_SHARED))
		return "bad flags";
	if (v->kind > CKPT__IMG__VMA_KIND__VMA_MEMFD && v->kind != CKPT__IMG__VMA_KIND__VMA_SYSV_SHM)
		return "unknown kind";
	if (v->kind == CKPT__IMG__VMA_KIND__VMA_SYSV_SHM &&
	    (!(v->flags & MAP_SHARED) || (v->flags & MAP_GROWSDOWN) || v->pgoff != 0 || v->shm_id > INT32_MAX))
		return "a SysV shm attach that is not the whole segment";
	if ((v->kind == CKPT__IMG__VMA_KIND__VMA_SHARED_ANON && !(v->flags & MAP_SHARED)) ||
	    ((v->kind == CKPT__IMG__VMA_KIND__VMA_ANON || v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE) && !(v->flags & MAP_PRIVATE)) ||
	    (v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_SHARED && !(v->flags & MAP_SHARED)))
		return "flags that do not match its kind";
	if (is_shm(v->kind) && (!v->has_shm_id || !v->has_pgoff || v->pgoff % PAGE_SZ))
		return "shared memory without a valid object or offset";
	if ((v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_PRIVATE || v->kind == CKPT__IMG__VMA_KIND__VMA_FILE_SHARED) &&
	    (!path_ok(v->path) || !v->has_pgoff || v->pgoff % PAGE_SZ))
		return "file mapping without a valid path or offset";
	if (v->anon_name && strlen(v->anon_name) > CR_ANON_NAME_MAX)
		return "anon name too long";
	if (v->droppable && (v->kind != CKPT__IMG__VMA_KIND__VMA_ANON || (v->flags & MAP_GROWSDOWN)))
		return "droppable but not plain anonymous memory";
	if ((v->lock_onfault && !v->locked) || (v->locked && (v->kind == CKPT__IMG__VMA_KIND__VMA_VDSO ||
	    v->kind == CKPT__IMG__VMA_KIND__VMA_VVAR || v->kind == CKPT__IMG__VMA_KIND__VMA_VVAR_VCLOCK)))
		return "bad mlock flags";
	return NULL;
}

const char *validate_mm(const Ckpt__Img__Mm *mm, size_t *ret_index)
{
	uint64_t prev_end = 0;
	const char *why;
	size_t i;

	*ret_index = SIZE_MAX;
	if (mm->n_vmas == 0 || mm->n_vmas > CR_MAX_VMAS)
		return "no mappings, or too many";
	for (i = 0; i < mm->n_vmas; i++) {
		why = check_vma(mm->vmas[i], prev_end);
		if (why) {
			*ret_index = i;
			return why;
		}
		prev_end = mm->vmas[i]->end;
	}
	return NULL;
}

/* A private network's veth must be the /30 ckptd gives out (.1 the host's,
 * .2 the container's), so that an image can't make ckptd configure an
 * address or route of the host's own networks. */
const char *validate_net(const Ckpt__Img__NetConfig *n)
{
	uint32_t net = n->address & ~3u;
	size_t i, k;

	if (n->mode != CR_NET_MODE_PRIVATE && n->mode != CR_NET_MODE_HOST)
		return "network: unknown mode";
	if (n->n_publish > CR_NET_MAX_PUBLISH)
		return "network: too many published ports";
	if (n->mode == CR_NET_MODE_HOST && (n->has_address || n->has_host_address || n->has_prefix_len || n->n_publish))
		return "network: the host's network with addresses or published ports";
	if (n->has_address != n->has_host_address || n->has_address != n->has_prefix_len ||
	    n->has_address != (n->n_publish > 0))
		return "network: addresses without published ports, or published ports without addresses";
	if (n->has_address && ((n->address & CR_NET_RANGE_MASK) != CR_NET_RANGE_BASE || net == CR_NET_RANGE_BASE ||
			       n->address != net + 2 || n->host_address != net + 1 || n->prefix_len != CR_NET_PREFIX_LEN))
		return "network: veth addresses outside ckptd's range (10.213.0.0/16 in /30s)";
	for (i = 0; i < n->n_publish; i++) {
		const Ckpt__Img__NetPublish *p = n->publish[i];

		if (p->host_port < 1 || p->host_port > 65535 || p->port < 1 || p->port > 65535 ||
		    (p->protocol != IPPROTO_TCP && p->protocol != IPPROTO_UDP))
			return "network: published port out of range or neither TCP nor UDP";
		for (k = 0; k < i; k++)
			if (n->publish[k]->host_port == p->host_port && n->publish[k]->protocol == p->protocol)
				return "network: a host port published twice";
	}
	return NULL;
}

static bool mq_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	return n > 0 && n <= CR_MQ_NAME_MAX && !strchr(name, '/') && !streq(name, ".") && !streq(name, "..");
}

static const char *check_msq(const Ckpt__Img__SysvMsq *q, uint64_t *msgs, uint64_t *bytes)
{
	uint64_t total = 0;

	if (q->id < 0 || q->mode > 0777 || q->qbytes > CR_MSQ_MAX_QBYTES)
		return "SysV message queue: id, mode or size out of range";
	for (size_t k = 0; k < q->n_msgs; k++) {
		if (q->msgs[k]->mtype < 1)
			return "SysV message queue: a message type below 1";
		total += q->msgs[k]->text.len;
	}
	*msgs += q->n_msgs;
	*bytes += total;
	/* it held them, so they fit it: restart sends them with its qbytes set */
	if (total > q->qbytes)
		return "SysV message queue: more bytes than it holds";
	return NULL;
}

static const char *check_mq(const Ckpt__Img__PosixMq *q, uint64_t *msgs, uint64_t *bytes)
{
	if (!mq_name_ok(q->name))
		return "POSIX message queue: bad name";
	if (q->mode > 07777 || q->maxmsg < 1 || q->maxmsg > CR_MQ_MAX_MAXMSG || q->msgsize < 1 ||
	    q->msgsize > CR_MQ_MAX_MSGSIZE || q->n_msgs >= q->maxmsg)
		return "POSIX message queue: mode, size or message count out of range";
	for (size_t k = 0; k < q->n_msgs; k++) {
		if (q->msgs[k]->prio >= CR_MQ_PRIO_MAX || q->msgs[k]->data.len > q->msgsize)
			return "POSIX message queue: message priority or size out of range";
		/* receive order: priorities never rise */
		if (k && q->msgs[k]->prio > q->msgs[k - 1]->prio)
			return "POSIX message queue: messages out of order";
		*bytes += q->msgs[k]->data.len;
	}
	*msgs += q->n_msgs;
	return NULL;
}

/* "name=value": a name of the list, once; a value of digits and blanks. */
static const char *check_sysctls(const Ckpt__Img__Header *h)
{
	bool seen[IPC_NSYSCTLS] = { false };

	if (h->n_ipc_sysctls > IPC_NSYSCTLS)
		return "too many IPC limits";
	for (size_t i = 0; i < h->n_ipc_sysctls; i++) {
		const char *s = h->ipc_sysctls[i], *eq = strchr(s, '=');
		size_t k;

		if (!eq || strlen(eq + 1) == 0 || strlen(eq + 1) > IPC_SYSCTL_VALUE_MAX ||
		    strspn(eq + 1, "0123456789 \t") != strlen(eq + 1))
			return "an IPC limit without a numeric value";
		for (k = 0; k < IPC_NSYSCTLS; k++)
			if (strlen(ipc_sysctl_names[k]) == (size_t)(eq - s) && !strncmp(s, ipc_sysctl_names[k], eq - s))
				break;
		if (k == IPC_NSYSCTLS || seen[k])
			return "an unknown IPC limit, or one twice";
		seen[k] = true;
	}
	return NULL;
}

/* The header's message queues: bounded in number, messages and bytes. */
static const char *check_queues(const Ckpt__Img__Header *h)
{
	uint64_t msgs = 0, bytes = 0;
	const char *why = check_sysctls(h);

	if (why)
		return why;
	if (h->n_sysv_msqs > CR_MAX_MSQS || h->n_posix_mqs > CR_MAX_MQS)
		return "too many message queues";
	for (size_t i = 0; i < h->n_sysv_msqs; i++) {
		if ((why = check_msq(h->sysv_msqs[i], &msgs, &bytes)))
			return why;
		for (size_t k = 0; k < i; k++)
			if (h->sysv_msqs[k]->id == h->sysv_msqs[i]->id ||
			    (h->sysv_msqs[i]->key != 0 && h->sysv_msqs[k]->key == h->sysv_msqs[i]->key))
				return "SysV message queue: id or key twice";
	}
	for (size_t i = 0; i < h->n_posix_mqs; i++) {
		if ((why = check_mq(h->posix_mqs[i], &msgs, &bytes)))
			return why;
		for (size_t k = 0; k < i; k++)
			if (streq(h->posix_mqs[k]->name, h->posix_mqs[i]->name))
				return "POSIX message queue: name twice";
	}
	if (msgs > CR_IPC_MAX_MSGS || bytes > CR_IPC_MAX_MSG_BYTES)
		return "message queues: too many messages or bytes";
	return NULL;
}

/* An incremental image's parent: a store id, and its digest with it. */
static const char *check_parent(const Ckpt__Img__Header *h)
{
	const char *p = h->parent_id;

	if (!p)
		return h->has_parent_digest ? "a parent digest without a parent image" : NULL;
	if (!h->has_parent_digest)
		return "a parent image without its digest";
	if (!p[0] || strlen(p) > 20 || p[0] == '0' || strspn(p, "0123456789") != strlen(p))
		return "parent image id malformed";
	return NULL;
}

const char *validate_header_ns(const Ckpt__Img__Header *h)
{
	const char *why = check_parent(h);

	if (why)
		return why;
	/* the container's cgroup limits; how many CPUs this machine has is
	 * restart's to check (cg_limits_check) */
	if (h->has_limit_memory && (h->limit_memory < (4ull << 20) || h->limit_memory > (1ull << 50)))
		return "memory limit out of range";
	if (h->has_limit_pids && (h->limit_pids < 1 || h->limit_pids > 4194304))
		return "pids limit out of range";
	if (h->has_limit_cpus_milli && (h->limit_cpus_milli < 1 || h->limit_cpus_milli > 4096u * 1000))
		return "cpu limit out of range";
	if (h->net) {
		why = validate_net(h->net);
		if (why)
			return why;
	}
	if ((h->uts_nodename && strlen(h->uts_nodename) > CR_UTS_NAME_MAX) ||
	    (h->uts_domainname && strlen(h->uts_domainname) > CR_UTS_NAME_MAX))
		return "UTS name longer than 64 bytes";
	if (h->has_clock_monotonic_ns != h->has_clock_boottime_ns)
		return "one container clock without the other";
	if (h->clock_monotonic_ns >= CR_CLOCK_MAX_NS || h->clock_boottime_ns >= CR_CLOCK_MAX_NS)
		return "container clock out of range";
	if (h->n_sysv_sems > CR_MAX_SEM_SETS)
		return "too many SysV semaphore sets";
	for (size_t i = 0; i < h->n_sysv_sems; i++) {
		const Ckpt__Img__SysvSem *s = h->sysv_sems[i];

		if (s->id < 0 || s->mode > 0777 || s->n_values < 1 || s->n_values > CR_SEM_MAX_NSEMS)
			return "SysV semaphore set: id, mode or size out of range";
		for (size_t k = 0; k < s->n_values; k++)
			if (s->values[k] > CR_SEM_VALUE_MAX)
				return "SysV semaphore set: value out of range";
		for (size_t k = 0; k < i; k++)
			if (h->sysv_sems[k]->id == s->id || (s->key != 0 && h->sysv_sems[k]->key == s->key))
				return "SysV semaphore set: id or key twice";
	}
	if ((why = userns_map_check(h->userns_uid_map, h->n_userns_uid_map)) ||
	    (why = userns_map_check(h->userns_gid_map, h->n_userns_gid_map)))
		return why;
	if (!h->n_userns_uid_map != !h->n_userns_gid_map)
		return "a user namespace with a uid_map and no gid_map, or the other way";
	return check_queues(h);
}
