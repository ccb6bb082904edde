// SPDX-License-Identifier: GPL-2.0-or-later
/* kstate: per-task kernel state only the task can see, checked from inside:
 * pending signals (three queued real-time signals with their values, in
 * order, a thread-directed one and a blocked standard one),
 * glibc's rseq registration (still registered with the same area, length
 * and signature, and the kernel still updates its cpu_id), the robust futex
 * list head, the clear_child_tid address, a sigaltstack that a SA_ONSTACK
 * handler really runs on, an armed ITIMER_REAL, a lowered RLIMIT_NOFILE,
 * umask, comm, cwd and personality.
 * READY, then verify every ~20 ms; SIGUSR2: "PASS kstate <iter>". */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define ALT_SIZE (64 * 1024)
#define NOFILE_SOFT 777
#define TIMER_S 100000

static char *alt;
static volatile sig_atomic_t usr1_on_alt = -1;
static void *robust_head, *tid_addr;
static char cwd0[PATH_MAX];

static void on_usr1(int sig)
{
	char here;

	usr1_on_alt = &here >= alt && &here < alt + ALT_SIZE;
}

static void on_alrm(int sig) { }

static struct rseq *rseq_area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void check_rseq(void)
{
	struct rseq *rs = rseq_area();
	long r;

	if (__rseq_size == 0)
		fail("glibc did not register rseq\n");
	/* Registered with exactly this area and signature: the kernel says EBUSY.
	 * Not registered at all: this call registers it and returns 0. */
	r = syscall(SYS_rseq, rs, 32, 0, RSEQ_SIG);
	if (r == 0)
		fail("rseq was not registered (the restore lost it)\n");
	if (errno != EBUSY)
		fail("rseq registration differs: errno %d\n", errno);
	/* The kernel writes cpu_id on the way back from a signal. */
	rs->cpu_id = (uint32_t)-77;
	raise(SIGUSR1);
	if ((int32_t)rs->cpu_id < 0 || rs->cpu_id >= CPU_SETSIZE)
		fail("rseq cpu_id %d not updated by the kernel\n", (int)rs->cpu_id);
}

#define RT_Q (SIGRTMIN + 2)   /* process-directed, three values queued */
#define RT_T (SIGRTMIN + 3)   /* thread-directed */

static void queue_pending(void)
{
	for (int v = 1; v <= 3; v++)
		if (sigqueue(getpid(), RT_Q, (union sigval){ .sival_int = v }) < 0)
			fail("sigqueue\n");
	if (syscall(SYS_tgkill, getpid(), gettid(), RT_T) < 0 || kill(getpid(), SIGWINCH) < 0)
		fail("tgkill/kill\n");
}

static void check_pending_set(void)
{
	sigset_t p;

	sigpending(&p);
	if (!sigismember(&p, RT_Q) || !sigismember(&p, RT_T) || !sigismember(&p, SIGWINCH))
		fail("pending signals lost (%d %d %d)\n", sigismember(&p, RT_Q), sigismember(&p, RT_T), sigismember(&p, SIGWINCH));
}

/* Take every pending signal off its queue, check order and payload, queue them again. */
static void check_pending_queues(void)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;
	siginfo_t si;

	sigemptyset(&set);
	sigaddset(&set, RT_Q);
	for (int v = 1; v <= 3; v++)
		if (sigtimedwait(&set, &si, &zero) != RT_Q || si.si_code != SI_QUEUE ||
		    si.si_value.sival_int != v || si.si_pid != getpid())
			fail("queued signal %d: value %d code %d pid %d\n", v, si.si_value.sival_int, si.si_code, si.si_pid);
	if (sigtimedwait(&set, &si, &zero) >= 0)
		fail("an extra queued signal\n");
	sigemptyset(&set);
	sigaddset(&set, RT_T);
	if (sigtimedwait(&set, &si, &zero) != RT_T)
		fail("thread-directed signal lost: %d code %d\n", si.si_signo, si.si_code);
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	if (sigtimedwait(&set, &si, &zero) != SIGWINCH || si.si_pid != getpid())
		fail("SIGWINCH lost\n");
	queue_pending();
}

static void check_all(void)
{
	struct rlimit rl;
	struct itimerval it;
	stack_t ss;
	void *head = NULL, *ta = NULL;
	size_t len = 0;
	char comm[32] = "", cwd[PATH_MAX];
	mode_t m;

	check_rseq();
	check_pending_set();
	if (usr1_on_alt != 1)
		fail("SA_ONSTACK handler did not run on the alternate stack (%d)\n", (int)usr1_on_alt);
	usr1_on_alt = -1;
	if (syscall(SYS_get_robust_list, 0, &head, &len) < 0 || head != robust_head || len == 0)
		fail("robust list %p (len %zu), was %p\n", head, len, robust_head);
	if (prctl(PR_GET_TID_ADDRESS, &ta) < 0 || ta != tid_addr)
		fail("clear_child_tid %p, was %p\n", ta, tid_addr);
	if (sigaltstack(NULL, &ss) < 0 || ss.ss_sp != alt || ss.ss_size != ALT_SIZE || (ss.ss_flags & SS_DISABLE))
		fail("sigaltstack %p/%zu/%#x, was %p/%d\n", ss.ss_sp, ss.ss_size, ss.ss_flags, alt, ALT_SIZE);
	if (getitimer(ITIMER_REAL, &it) < 0 || it.it_interval.tv_sec != TIMER_S ||
	    it.it_value.tv_sec <= 0 || it.it_value.tv_sec > TIMER_S)
		fail("ITIMER_REAL interval %ld value %ld\n", (long)it.it_interval.tv_sec, (long)it.it_value.tv_sec);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != NOFILE_SOFT)
		fail("RLIMIT_NOFILE soft %lu\n", (unsigned long)rl.rlim_cur);
	m = umask(027);
	if (m != 027)
		fail("umask %o\n", m);
	prctl(PR_GET_NAME, comm);
	if (strcmp(comm, "kstate-x") != 0)
		fail("comm '%s'\n", comm);
	if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, cwd0) != 0)
		fail("cwd %s, was %s\n", cwd, cwd0);
	if ((personality(0xffffffff) & ADDR_NO_RANDOMIZE) == 0)
		fail("personality lost ADDR_NO_RANDOMIZE\n");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct sigaction su1 = { .sa_handler = on_usr1, .sa_flags = SA_RESTART | SA_ONSTACK };
	struct sigaction sal = { .sa_handler = on_alrm, .sa_flags = SA_RESTART };
	struct itimerval it = { { TIMER_S, 0 }, { TIMER_S, 0 } };
	struct rlimit rl;
	stack_t ss;
	size_t len;
	unsigned long iter = 0;

	if (chdir(argc > 1 ? argv[1] : "/tmp") < 0 || !getcwd(cwd0, sizeof(cwd0)))
		fail("chdir\n");
	alt = malloc(ALT_SIZE);
	ss = (stack_t){ .ss_sp = alt, .ss_size = ALT_SIZE };
	if (!alt || sigaltstack(&ss, NULL) < 0)
		fail("sigaltstack\n");
	sigaction(SIGUSR2, &sa, NULL);
	sigaction(SIGUSR1, &su1, NULL);
	sigaction(SIGALRM, &sal, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = NOFILE_SOFT;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		fail("setrlimit\n");
	umask(027);
	prctl(PR_SET_NAME, "kstate-x");
	personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
	syscall(SYS_get_robust_list, 0, &robust_head, &len);
	prctl(PR_GET_TID_ADDRESS, &tid_addr);
	{
		sigset_t b;

		sigemptyset(&b);
		sigaddset(&b, RT_Q);
		sigaddset(&b, RT_T);
		sigaddset(&b, SIGWINCH);
		sigprocmask(SIG_BLOCK, &b, NULL);
	}
	queue_pending();
	check_all();
	say("READY\n");
	for (;;) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		check_all();
		iter++;
		if (got_usr2) {
			got_usr2 = 0;
			check_pending_queues();
			say("PASS kstate %lu\n", iter);
		}
	}
}
