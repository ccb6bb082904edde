// SPDX-License-Identifier: GPL-2.0-or-later
/* Lifting a background copy's write-protection from inside the program
 * (snap_lift.h). Each moment: seize one thread, borrow it as a checkpoint
 * does (registers and signal mask saved, every signal blocked, its
 * seccomp filters suspended, PTRACE_O_EXITKILL: should the worker die in
 * the middle, the task must not resume inside our calls), check that it
 * still runs the program of the freeze, map a scratch page in it, give it
 * the userfaultfd, make it lift chunk after chunk for a short budget,
 * close the fd and unmap the page there, put everything back and detach.
 * Its other threads are held in their stops meanwhile (our fd is in the
 * table they share: none may see it, fork with it or take its number).
 * Then the process runs, untraced, for as long as it was held, or less
 * if it is that one thread and it sleeps. */
#include "snap_lift.h"
#include "arch.h"
#include "fault.h"
#include "macro.h"
#include "proc.h"
#include "rtask.h"
#include "uapi_uffd.h"
#include "uffd_new.h"
#include "borrow.h"
#include "log.h"
#include "seccomp.h"
#include <linux/kcmp.h>
#include <sys/mman.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Lifted per call: half a page table's entries, a few milliseconds. */
#define LIFT_CHUNK (1ull << 20)
/* A thread is held no longer than this at a time (the call under way
 * finishes first), then runs at least as long untraced. Most of a call's
 * cost comes after it, as the thread leaves the kernel (some 2.5 ms a
 * MiB here): it is in the next injected call's time, the close's for the
 * last, and so in the hold. */
#define LIFT_HOLD_US 4000
/* A process of one thread that did not run between two moments (it
 * sleeps in a call, which goes on after) lost nothing to them: it is
 * taken again once left this long without running more than
 * LIFT_IDLE_RUN_NS. */
#define LIFT_REST_MIN_US 1000
#define LIFT_IDLE_RUN_NS 100000
/* Threads of a process looked at to pick the one to borrow. */
#define LIFT_PICK_MAX 256
/* Other threads held during a moment (more: lifted from outside), and
 * how many times their list is read again for ones started meanwhile. */
#define LIFT_HELD_MAX 4096
#define LIFT_HOLD_ROUNDS 16
#define LIFT_SCRATCH 4096
/* CKPTD_FAULT=snap-lift-slow: a moment lifts one chunk and each rest is
 * this much longer, so that a test can act while the lifting runs */
#define LIFT_SLOW_US 50000
/* Moments that lifted nothing (a signal to pass on, the lock busy, the
 * thread gone and another picked) before the rest is left to unregistering. */
#define LIFT_IDLE_MAX 50

struct lift {
	pid_t pid, tid;
	int uffd;
	int mem_fd;                       /* its /proc/PID/mem of the freeze */
	bool gone;                        /* the mm of the freeze is (exec, exit) */
	bool slow;                        /* CKPTD_FAULT=snap-lift-slow */
	uint64_t insn;                    /* a syscall instruction in it, found once */
	const struct snap_lift_range *r;
	size_t n, k;                      /* the range under way */
	uint64_t at;                      /* where in it */
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The state letter of a thread's stat, 0 if it can't be read. */
static char thread_state(pid_t tid)
{
	struct proc_stat st;

	return proc_stat_pid(tid, &st) < 0 ? 0 : st.state;
}

/* A state of a thread that is no more, or is exiting. */
static bool state_dead(char st)
{
	return !st || st == 'Z' || st == 'X';
}

/* How long tid has run so far (ns; /proc/TID/schedstat), 0 if unknown. */
static uint64_t thread_run_ns(pid_t tid)
{
	char path[64], buf[128];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (n = read(fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = 0;
	return strtoull(buf, NULL, 10);
}

/* Let the process run after a moment that held it held_us: as long
 * again, or less if it has that one thread alone and it does not run
 * meanwhile. */
static void rest(pid_t tid, uint64_t held_us, bool alone, bool slow)
{
	uint64_t t0 = now_us(), ran0 = alone ? thread_run_ns(tid) : 0, ran;

	if (slow)
		usleep(LIFT_SLOW_US);
	do {
		usleep(LIFT_REST_MIN_US);
		if (ran0 && (ran = thread_run_ns(tid)) && ran - ran0 < LIFT_IDLE_RUN_NS)
			return;
	} while (now_us() - t0 < held_us);
}

/* The thread to borrow: the one that runs least over a millisecond (a
 * call it sleeps in goes on after the moment; a busy one would lose its
 * place). Stopped, traced or dead threads are not taken. 0: none;
 * *ret_alive then says whether any thread of it is not dead. */
static pid_t pick_thread(pid_t pid, bool *ret_alive)
{
	pid_t tids[LIFT_PICK_MAX], best = 0;
	uint64_t ran[LIFT_PICK_MAX], least = UINT64_MAX;
	char path[64];
	size_t n = 0;
	DIR *d;
	struct dirent *e;

	*ret_alive = false;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < LIFT_PICK_MAX) {
		pid_t tid = (pid_t)atoi(e->d_name);
		char st = tid > 0 ? thread_state(tid) : 0;

		if (!state_dead(st))
			*ret_alive = true;
		/* not 'D': an interrupt does not end an uninterruptible
		 * sleep (a vfork parent waits so for its child) */
		if (st == 'S' || st == 'R') {
			tids[n] = tid;
			ran[n++] = thread_run_ns(tid);
		}
	}
	closedir(d);
	if (n > 1)
		usleep(LIFT_REST_MIN_US);
	for (size_t i = 0; i < n; i++) {
		uint64_t now = n > 1 ? thread_run_ns(tids[i]) : ran[i];

		if (n > 1 && (!now || now < ran[i]))
			continue;   /* gone meanwhile */
		/* the leader last among equals: most programs work there */
		if (now - ran[i] + (tids[i] == pid) < least) {
			least = now - ran[i] + (tids[i] == pid);
			best = tids[i];
		}
	}
	return best;
}

/* Wait for a seized thread's interrupt stop, passing on a signal that
 * comes first; *ret_group: it sits in a group stop. */
static int wait_stop(pid_t tid, bool *ret_group)
{
	int st;

	for (;;) {
		if (waitpid(tid, &st, __WALL) < 0) {
			/* a cancel is seen between moments: the stop of a
			 * running or sleeping thread comes at once, and one
			 * not waited for would stay traced */
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!WIFSTOPPED(st))
			return -ESRCH;
		if ((st >> 16) == PTRACE_EVENT_STOP) {
			*ret_group = WSTOPSIG(st) != SIGTRAP;
			return 0;
		}
		/* a signal about to be delivered: delivered still */
		if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)WSTOPSIG(st)) < 0)
			return -errno;
	}
}

/* Let a thread we hold go; one that died while held is ours to reap (an
 * exec waits for that, the process's parent too). A leader is not waited
 * for: its reaping waits for the rest of its group. */
static void let_go(pid_t pid, pid_t tid)
{
	int st;

	if (ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 && errno == ESRCH)
		(void)waitpid(tid, &st, __WALL | (tid == pid ? WNOHANG : 0));
}

/* rtask_seize. A thread that has begun to exit refuses the seize
 * (EPERM): gone, as one that is no more (-ESRCH). */
static int seize(pid_t tid)
{
	int r = rtask_seize(tid, false);

	return r == -EPERM && state_dead(thread_state(tid)) ? -ESRCH : r;
}

/* Seize the thread to borrow and wait for its stop. One in a group stop
 * is let go as it is (-EBUSY): it is not ours to run. */
static int seize_stopped(pid_t pid, pid_t tid)
{
	char path[64];
	bool group = false;
	int r = seize(tid);

	if (r < 0)
		return r;
	r = wait_stop(tid, &group);
	if (r == -ESRCH)
		return r;
	/* held, its number can't go to another: still a thread of pid? */
	snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
	if (r == 0 && !group && access(path, F_OK) == 0)
		return 0;
	let_go(pid, tid);
	return r < 0 ? r : group ? -EBUSY : -ESRCH;
}

/* The process's other threads, held in their stops for a moment: while
 * our fd is in the table they share, none of them may see it, fork a
 * child that keeps it, or take its number. */
struct held {
	pid_t tid[LIFT_HELD_MAX];
	size_t n;
};

static bool held_has(const struct held *h, pid_t tid)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->tid[i] == tid)
			return true;
	return false;
}

static void release_others(struct held *h, pid_t pid)
{
	for (size_t i = 0; i < h->n; i++)
		let_go(pid, h->tid[i]);
	h->n = 0;
}

/* Reap the held threads that died (another thread's exec kills them):
 * an exec holds the lock PTRACE_SEIZE waits for until they are reaped. */
static void reap_dead(struct held *h)
{
	int st;

	for (size_t i = 0; i < h->n;)
		if (waitpid(h->tid[i], &st, __WALL | WNOHANG) == h->tid[i] && !WIFSTOPPED(st))
			h->tid[i] = h->tid[--h->n];
		else
			i++;
}

/* Seize and stop one more thread; 1 if it is held now, 0 if it is gone. */
static int hold_one(struct held *h, pid_t tid)
{
	char st = thread_state(tid);
	bool group;
	int r;

	if (state_dead(st))
		return 0;
	if (st == 'D')
		return -EINPROGRESS;   /* an interrupt does not end its sleep: later */
	if (h->n == LIFT_HELD_MAX)
		return -E2BIG;
	reap_dead(h);
	r = seize(tid);
	if (r < 0)
		return r == -ESRCH ? 0 : r;
	h->tid[h->n++] = tid;
	r = wait_stop(tid, &group);
	if (r == -ESRCH)
		h->n--;
	return r == -ESRCH ? 0 : r < 0 ? r : 1;
}

/* Hold every other thread of the process, those started meanwhile too. */
static int hold_others(struct lift *l, struct held *h)
{
	char path[64];
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)l->pid);
	for (int round = 0; round < LIFT_HOLD_ROUNDS; round++) {
		DIR *d = opendir(path);
		struct dirent *e;
		bool more = false;

		if (!d)
			return -ESRCH;
		while (r >= 0 && (e = readdir(d))) {
			pid_t tid = (pid_t)atoi(e->d_name);

			if (tid <= 0 || tid == l->tid || held_has(h, tid))
				continue;
			r = hold_one(h, tid);
			more |= r > 0;
		}
		closedir(d);
		if (r < 0 || !more)
			return r < 0 ? r : 0;
	}
	return -EAGAIN;   /* threads keep coming */
}

static bool lift_done(const struct lift *l)
{
	return l->k >= l->n;
}

/* Is the task's fd tfd still our userfaultfd? Checked before each use:
 * another process sharing its fd table (CLONE_FILES without
 * CLONE_THREAD) is not held and could have reused the number. */
static bool still_ours(const struct lift *l, long tfd)
{
	return syscall(SYS_kcmp, getpid(), l->tid, KCMP_FILE, l->uffd, tfd) == 0;
}

/* Lift chunks from inside with the task's fd tfd, for LIFT_HOLD_US from
 * the first call (one call at least). Returns the bytes lifted or -errno;
 * *ret_moved: whether the lifting got further (lifted, or found unmapped). */
static long lift_chunks(struct lift *l, struct rtask *t, long tfd, uint64_t arg, bool *ret_moved)
{
	uint64_t t0 = now_us();
	long lifted = 0, r;

	do {
		const struct snap_lift_range *g = &l->r[l->k];
		uint64_t end = MIN((l->at & ~(LIFT_CHUNK - 1)) + LIFT_CHUNK, g->end);
		struct uffdio_writeprotect w = { .range = { .start = l->at, .len = end - l->at }, .mode = 0 };

		if (!still_ours(l, tfd))
			return -EBADF;
		r = rtask_write(t->pid, arg, &w, sizeof(w));
		if (r >= 0)
			r = rsys(t, __NR_ioctl, tfd, UFFDIO_WRITEPROTECT, arg);
		if (r == -EAGAIN)
			break;          /* the program changes its mappings: the next moment */
		if (r == -ESRCH && !t->broken) {
			l->gone = true;   /* the mm of the freeze is gone */
			break;
		}
		if (r < 0 && r != -ENOENT)
			return r;       /* -ENOENT: unmapped since, nothing to lift */
		if (r == 0)
			lifted += (long)(end - l->at);
		*ret_moved = true;
		l->at = end;
		if (l->at >= g->end && ++l->k < l->n)
			l->at = l->r[l->k].start;
	} while (!lift_done(l) && !l->slow && now_us() - t0 < LIFT_HOLD_US);
	return lifted;
}

/* The seized thread still runs in the mm of the freeze, and a syscall
 * instruction is where we found it: else an exec (or the pid's reuse)
 * made it another program, which is left alone. The /proc/PID/mem of
 * the freeze reads that mm (nothing once it is gone), whoever holds the
 * pid now. */
static int same_program(struct lift *l, struct rtask *t)
{
	unsigned char b[8];
	ssize_t n;
	int r;

	if (!l->insn) {
		if (pread(l->mem_fd, b, 1, (off_t)l->r[0].start) == 0)
			goto gone;
		r = rtask_find_insn(t);
		l->insn = t->insn;
		return r;
	}
	t->insn = l->insn;
	if (arch_syscall_insn_len > sizeof(b))
		return -ENOEXEC;
	n = pread(l->mem_fd, b, arch_syscall_insn_len, (off_t)l->insn);
	if (n == 0)
		goto gone;
	return n == (ssize_t)arch_syscall_insn_len && !memcmp(b, arch_syscall_insn, n) ? 0 : -ENOEXEC;
gone:
	l->gone = true;   /* that mm has no user left */
	return -ESRCH;
}

/* A page in the task for the fd passing and the calls' arguments: its
 * stack is not ours to write (below the red zone is another goroutine's
 * stack in some runtimes). Mapped and unmapped within one moment. */
static long scratch_map(struct rtask *t)
{
	long a = rsys(t, __NR_mmap, 0, LIFT_SCRATCH, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return a < 0 && a > -4096 ? a : (a & (LIFT_SCRATCH - 1) ? -EINVAL : a);
}

/* Undo what the moment made in the task: our fd (unless another process
 * sharing its fd table took its number meanwhile), the scratch page. */
static long moment_undo(struct lift *l, struct rtask *t, long tfd, long scratch)
{
	long r = 0, e;

	if (tfd >= 0 && still_ours(l, tfd) && (e = rsys(t, __NR_close, tfd)) < 0)
		r = e;
	if (scratch > 0 && (e = rsys(t, __NR_munmap, scratch, LIFT_SCRATCH)) < 0 && r == 0)
		r = e;
	return r;
}

/* Put the thread back and let it go. One that died meanwhile has nothing
 * to put back. One that can't be put back is kept, tied to the worker
 * (borrow_lost): it must not run on in our code, and dies with the
 * worker (-ENOTRECOVERABLE: the checkpoint fails, saying so). */
static long moment_end(struct lift *l, struct rtask *t, long r)
{
	long e = t->prepared ? rtask_restore(t) : 0;

	if (e == -ESRCH) {
		rtask_forget(t);
		let_go(l->pid, t->pid);
		return -ESRCH;
	}
	if (e < 0) {
		log_error("checkpoint: task %d: thread %d: putting back its registers after lifting: %s", (int)l->pid,
			  (int)t->pid, strerror((int)-e));
		borrow_lost(t->pid);
		return -ENOTRECOVERABLE;
	}
	let_go(l->pid, t->pid);
	return r;
}

/* One moment. Returns the bytes lifted or -errno; *ret_us how long the
 * process was held, *ret_moved whether the lifting got further,
 * *ret_alone whether the thread borrowed was its only one. */
static long moment(struct lift *l, uint64_t *ret_us, bool *ret_moved, bool *ret_alone)
{
	uint64_t t0 = now_us();
	struct rtask t = { .pid = l->tid };
	struct held h = { .n = 0 };
	long r, tfd = -1, scratch = 0, e;

	r = seize_stopped(l->pid, l->tid);
	if (r < 0)
		return r;
	r = hold_others(l, &h);
	*ret_alone = h.n == 0;
	if (r >= 0)
		r = rtask_prepare(&t, l->tid);
	/* its seccomp filters would judge, and may kill for, our calls */
	if (r >= 0)
		r = seccomp_suspend(l->tid, true);
	if (r >= 0)
		r = same_program(l, &t);
	if (r >= 0 && (scratch = scratch_map(&t)) < 0)
		r = scratch;
	if (r >= 0 && (tfd = uffd_give_to_task(&t, (uint64_t)scratch, l->uffd)) < 0)
		r = tfd;
	if (r >= 0)
		r = lift_chunks(l, &t, tfd, (uint64_t)scratch, ret_moved);
	e = moment_undo(l, &t, tfd, scratch);
	if (e < 0 && r >= 0)
		r = -EEXIST;   /* something of ours may be left in it */
	r = moment_end(l, &t, r);
	release_others(&h, l->pid);
	*ret_us = now_us() - t0;
	return r;
}

int snap_lift(pid_t pid, int uffd, int mem_fd, const struct snap_lift_range *r, size_t n,
	      struct snap_lift_stats *st, char *why, size_t whylen)
{
	struct lift l = { .pid = pid, .uffd = uffd, .mem_fd = mem_fd, .r = r, .n = n, .at = n ? r[0].start : 0 };
	uint64_t first = now_us(), held;
	unsigned idle = 0;
	long got;

	memset(st, 0, sizeof(*st));
	l.slow = fault_at("snap-lift-slow");
	log_info("checkpoint: task %d: lifting the protection from inside", (int)pid);
	while (!lift_done(&l) && !l.gone) {
		bool alive, moved = false, alone = true;

		if (cr_canceled()) {
			snprintf(why, whylen, "the checkpoint was canceled");
			return -ECANCELED;
		}
		if (!l.tid && !(l.tid = pick_thread(pid, &alive))) {
			if (!alive)
				return 0;   /* gone: its memory with it */
			snprintf(why, whylen, "no thread of it is running (stopped or traced)");
			return -EBUSY;
		}
		held = 0;
		st->tid = l.tid;
		got = moment(&l, &held, &moved, &alone);
		st->stops++;
		st->longest_us = MAX(st->longest_us, held);
		if (got == -ESRCH || got == -EBUSY) {
			l.tid = 0;      /* that thread exited or stopped: another */
		} else if (got == -EINPROGRESS) {
			;               /* another thread sleeps uninterruptibly: later */
		} else if (got == -ENOTRECOVERABLE) {
			snprintf(why, whylen, "thread %d: its registers could not be put back: it dies with the worker",
				 (int)l.tid);
			return (int)got;
		} else if (got < 0) {
			snprintf(why, whylen, "thread %d: %s", (int)l.tid, strerror((int)-got));
			return (int)got;
		}
		if (got > 0)
			st->bytes += (uint64_t)got;
		if (moved)
			idle = 0;
		else if (++idle > LIFT_IDLE_MAX) {
			snprintf(why, whylen, "thread %d: %u moments in a row lifted nothing", (int)l.tid, idle);
			return -EAGAIN;
		}
		st->us = now_us() - first;
		if (!lift_done(&l) && !l.gone && l.tid)
			rest(l.tid, held, alone, l.slow);
	}
	return 0;
}
