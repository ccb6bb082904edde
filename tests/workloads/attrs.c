// SPDX-License-Identifier: GPL-2.0-or-later
/* attrs: every per-process and per-thread kernel knob the census lists as
 * restored, set to a value that is not the default (different in each
 * thread where the knob is per thread), then checked from inside.
 *
 *   main and 2 pthreads: scheduling policy/priority/nice (SCHED_BATCH nice
 *   5 / SCHED_IDLE / SCHED_OTHER nice 7 with reset-on-fork), CPU affinity
 *   (when there are 2 CPUs or more), I/O priority, timer slack, parent-death
 *   signal, machine-check kill policy, keepcaps, TSC mode (thread 2), and
 *   speculation control where this CPU lets a program choose;
 *   the process: child subreaper, oom_score_adj, loginuid, THP disable,
 *   dumpable, KSM merging, MDWE, membarrier registrations (private
 *   expedited, sync-core, rseq), coredump_filter, the futex hash size;
 *   a forked child with its own parent-death signal, child-subreaper
 *   parent (checked by the child) and nice value.
 *
 * "attrs sched" (argument): thread 1 runs SCHED_FIFO 3 instead, and main
 * SCHED_RR 2, for the host-side checks (chrt -p) of real-time policies.
 *
 * A knob this kernel or CPU doesn't let a program set is reported once at
 * start ("skip <knob>: <why>") and not checked.
 *
 * SIGUSR2: every thread checks its own knobs, main the process's and the
 * child's report: "PASS attrs n=<passes> tids:<main>,<t1>,<t2>". */
#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#define MDWE_REFUSE_EXEC_GAIN 1
#define SCHED_FLAG_RESET_ON_FORK 1
#define IOPRIO_WHO_PROCESS 1
#define IOPRIO(class, data) (((class) << 13) | (data))
#define NT 3

struct sched_attr_v1 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

/* What one thread sets and checks. */
struct want {
	uint32_t policy, prio;
	int32_t nice;
	uint64_t sflags;
	int cpu;                 /* pinned to this CPU; -1: all */
	int ioprio;
	unsigned long slack;
	int pdeath;
	int mce;                 /* PR_MCE_KILL_EARLY / LATE */
	int keepcaps;
	int tsc;
	int spec_ssb;            /* 0: not settable here */
};

static struct want want[NT];
static pid_t tids[NT];
static int ncpus;
static bool skip_tsc, skip_ssb, skip_sync_core, skip_rseq, skip_futex, skip_mdwe, skip_ksm, skip_loginuid;
static _Atomic int check_gen, checked[NT];
static int child_pipe[2];
static pid_t child;

static bool set_sched(const struct want *w)
{
	struct sched_attr_v1 a = { .size = sizeof(a), .sched_policy = w->policy, .sched_flags = w->sflags,
				   .sched_nice = w->nice, .sched_priority = w->prio };

	return syscall(SYS_sched_setattr, 0, &a, 0) == 0;
}

static void setup_thread(int i)
{
	const struct want *w = &want[i];
	cpu_set_t set;

	tids[i] = gettid();
	if (w->cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(w->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set) < 0)
			fail("attrs: thread %d: sched_setaffinity: %m\n", i);
	}
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, w->ioprio) < 0)
		fail("attrs: thread %d: ioprio_set: %m\n", i);
	if (prctl(PR_SET_TIMERSLACK, w->slack) < 0 || prctl(PR_SET_PDEATHSIG, w->pdeath) < 0 ||
	    prctl(PR_MCE_KILL, PR_MCE_KILL_SET, w->mce, 0, 0) < 0 || prctl(PR_SET_KEEPCAPS, w->keepcaps) < 0)
		fail("attrs: thread %d: prctl setters: %m\n", i);
	if (w->tsc && !skip_tsc && prctl(PR_SET_TSC, w->tsc) < 0)
		fail("attrs: thread %d: PR_SET_TSC: %m\n", i);
	if (w->spec_ssb && !skip_ssb && prctl(PR_SET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, w->spec_ssb, 0, 0) < 0)
		fail("attrs: thread %d: PR_SET_SPECULATION_CTRL: %m\n", i);
	/* last: timer slack is not kept under real-time policies; the nice
	 * value first: sched_setattr sets it only for SCHED_OTHER/BATCH */
	if (setpriority(PRIO_PROCESS, 0, w->nice) < 0 || !set_sched(w))
		fail("attrs: thread %d: sched_setattr: %m\n", i);
}

static void check_thread(int i)
{
	const struct want *w = &want[i];
	struct sched_attr_v1 a = { 0 };
	cpu_set_t set;
	int v = -1;
	int rt = w->policy == SCHED_FIFO || w->policy == SCHED_RR;

	if (gettid() != tids[i])
		fail("attrs: thread %d: tid %d, was %d\n", i, gettid(), tids[i]);
	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) < 0)
		fail("attrs: thread %d: sched_getattr: %m\n", i);
	if (a.sched_policy != w->policy || a.sched_priority != w->prio || (!rt && a.sched_nice != w->nice) ||
	    (a.sched_flags & SCHED_FLAG_RESET_ON_FORK) != w->sflags)
		fail("attrs: thread %d: scheduling policy %u prio %u nice %d flags %#llx, want %u %u %d %#llx\n", i,
		     a.sched_policy, a.sched_priority, a.sched_nice, (unsigned long long)a.sched_flags, w->policy, w->prio,
		     w->nice, (unsigned long long)w->sflags);
	if (getpriority(PRIO_PROCESS, 0) != w->nice)
		fail("attrs: thread %d: getpriority %d, want %d\n", i, getpriority(PRIO_PROCESS, 0), w->nice);
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		fail("attrs: thread %d: sched_getaffinity: %m\n", i);
	if (w->cpu >= 0 ? (CPU_COUNT(&set) != 1 || !CPU_ISSET(w->cpu, &set)) : CPU_COUNT(&set) != ncpus)
		fail("attrs: thread %d: CPU affinity has %d CPUs, want %s %d\n", i, CPU_COUNT(&set),
		     w->cpu >= 0 ? "only CPU" : "all", w->cpu >= 0 ? w->cpu : ncpus);
	if (syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) != w->ioprio)
		fail("attrs: thread %d: ioprio %ld, want %d\n", i, syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0), w->ioprio);
	if ((unsigned long)prctl(PR_GET_TIMERSLACK) != (rt ? 0 : w->slack))
		fail("attrs: thread %d: timer slack %d, want %lu\n", i, prctl(PR_GET_TIMERSLACK), rt ? 0 : w->slack);
	if (prctl(PR_GET_PDEATHSIG, &v) < 0 || v != w->pdeath)
		fail("attrs: thread %d: parent-death signal %d, want %d\n", i, v, w->pdeath);
	if (prctl(PR_MCE_KILL_GET, 0, 0, 0, 0) != w->mce)
		fail("attrs: thread %d: machine-check kill policy %d, want %d\n", i, prctl(PR_MCE_KILL_GET, 0, 0, 0, 0), w->mce);
	if (prctl(PR_GET_KEEPCAPS) != w->keepcaps)
		fail("attrs: thread %d: keepcaps %d, want %d\n", i, prctl(PR_GET_KEEPCAPS), w->keepcaps);
	v = 0;
	if (!skip_tsc && (prctl(PR_GET_TSC, &v) < 0 || v != (w->tsc ? w->tsc : PR_TSC_ENABLE)))
		fail("attrs: thread %d: TSC mode %d, want %d\n", i, v, w->tsc ? w->tsc : PR_TSC_ENABLE);
	if (!skip_ssb && w->spec_ssb &&
	    !(prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0) & w->spec_ssb))
		fail("attrs: thread %d: speculative store bypass %#x, want %#x\n", i,
		     prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0), w->spec_ssb);
}

static void *thread_main(void *arg)
{
	int i = (int)(intptr_t)arg, gen = 0;
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	setup_thread(i);
	checked[i] = 0;
	for (;;) {
		if (check_gen != gen) {
			gen = check_gen;
			check_thread(i);
			checked[i] = gen;
		}
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static long read_num(const char *path, int base)
{
	char buf[64] = { 0 };
	int fd = open(path, O_RDONLY);

	if (fd < 0 || read(fd, buf, sizeof(buf) - 1) < 0)
		fail("attrs: %s: %m\n", path);
	close(fd);
	return strtol(buf, NULL, base);
}

static bool write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	bool ok = fd >= 0 && write(fd, s, strlen(s)) == (ssize_t)strlen(s);

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Probe what this kernel and CPU let a program set, once. */
static void probe(void)
{
	int v, pdeath = 0;
	long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);

	if (prctl(PR_GET_TSC, &v) < 0) {
		skip_tsc = true;
		say("skip TSC mode: %m\n");
	}
	v = prctl(PR_GET_SPECULATION_CTRL, PR_SPEC_STORE_BYPASS, 0, 0, 0);
	if (v < 0 || !(v & PR_SPEC_PRCTL)) {
		skip_ssb = true;
		say("skip speculation control: this CPU's store-bypass mitigation is not per task (%d)\n", v);
	}
	if (q < 0 || !(q & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED))
		fail("attrs: membarrier private expedited unsupported\n");
	skip_sync_core = !(q & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE);
	skip_rseq = !(q & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ);
	if (skip_sync_core || skip_rseq)
		say("skip membarrier sync-core/rseq: not supported here\n");
	skip_futex = prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0) < 0;
	skip_mdwe = prctl(PR_GET_MDWE, 0, 0, 0, 0) < 0;
	skip_ksm = prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) < 0;
	skip_loginuid = access("/proc/self/loginuid", W_OK) < 0;
	if (skip_futex || skip_mdwe || skip_ksm || skip_loginuid)
		say("skip futex hash %d, MDWE %d, KSM %d, loginuid %d: not in this kernel\n", skip_futex, skip_mdwe,
		    skip_ksm, skip_loginuid);
	(void)pdeath;
}

static void setup_process(void)
{
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		fail("attrs: PR_SET_CHILD_SUBREAPER: %m\n");
	if (!write_str("/proc/self/oom_score_adj", "321"))
		fail("attrs: writing oom_score_adj: %m\n");
	if (!skip_loginuid && !write_str("/proc/self/loginuid", "4242"))
		fail("attrs: writing loginuid: %m\n");
	if (!write_str("/proc/self/coredump_filter", "0x1f"))
		fail("attrs: writing coredump_filter: %m\n");
	if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
		fail("attrs: PR_SET_THP_DISABLE: %m\n");
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		fail("attrs: PR_SET_DUMPABLE: %m\n");
	if (!skip_ksm && prctl(PR_SET_MEMORY_MERGE, 1, 0, 0, 0) < 0)
		fail("attrs: PR_SET_MEMORY_MERGE: %m\n");
	if (!skip_futex && prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, 64, 0, 0) < 0)
		fail("attrs: PR_FUTEX_HASH_SET_SLOTS: %m\n");
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) < 0 ||
	    (!skip_sync_core && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) < 0) ||
	    (!skip_rseq && syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) < 0))
		fail("attrs: membarrier registration: %m\n");
	if (!skip_mdwe && prctl(PR_SET_MDWE, MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) < 0)
		fail("attrs: PR_SET_MDWE: %m\n");
}

static void check_process(void)
{
	int v = 0;

	if (prctl(PR_GET_CHILD_SUBREAPER, &v) < 0 || v != 1)
		fail("attrs: child subreaper %d, want 1\n", v);
	if (read_num("/proc/self/oom_score_adj", 10) != 321)
		fail("attrs: oom_score_adj %ld, want 321\n", read_num("/proc/self/oom_score_adj", 10));
	if (!skip_loginuid && read_num("/proc/self/loginuid", 10) != 4242)
		fail("attrs: loginuid %ld, want 4242\n", read_num("/proc/self/loginuid", 10));
	if (read_num("/proc/self/coredump_filter", 16) != 0x1f)
		fail("attrs: coredump_filter %#lx, want 0x1f\n", read_num("/proc/self/coredump_filter", 16));
	if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1)
		fail("attrs: THP disable %d, want 1\n", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	if (prctl(PR_GET_DUMPABLE) != 0)
		fail("attrs: dumpable %d, want 0\n", prctl(PR_GET_DUMPABLE));
	if (!skip_ksm && prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0) != 1)
		fail("attrs: KSM merging %d, want 1\n", prctl(PR_GET_MEMORY_MERGE, 0, 0, 0, 0));
	if (!skip_futex && prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0) != 64)
		fail("attrs: futex hash slots %d, want 64\n", prctl(PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0));
	if (!skip_mdwe && prctl(PR_GET_MDWE, 0, 0, 0, 0) != MDWE_REFUSE_EXEC_GAIN)
		fail("attrs: MDWE %d, want %d\n", prctl(PR_GET_MDWE, 0, 0, 0, 0), MDWE_REFUSE_EXEC_GAIN);
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0)
		fail("attrs: membarrier private expedited: %m (registration lost)\n");
	if (!skip_sync_core && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0) != 0)
		fail("attrs: membarrier private expedited sync-core: %m (registration lost)\n");
	if (!skip_rseq && syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0) != 0)
		fail("attrs: membarrier private expedited rseq: %m (registration lost)\n");
}

/* The child: its own parent-death signal and nice value, a subreaper
 * parent; it answers each byte main writes with its verdict. */
static void child_main(int in, int out)
{
	char c;
	int v;

	if (prctl(PR_SET_PDEATHSIG, SIGUSR1) < 0 || setpriority(PRIO_PROCESS, 0, 11) < 0)
		_exit(2);
	for (;;) {
		if (read(in, &c, 1) != 1)
			_exit(0);
		v = 0;
		c = 'y';
		if (prctl(PR_GET_PDEATHSIG, &v) < 0 || v != SIGUSR1)
			c = 'p';
		else if (getpriority(PRIO_PROCESS, 0) != 11)
			c = 'n';
		else if (prctl(PR_GET_CHILD_SUBREAPER, &v) < 0 || v != 0)
			c = 's';
		if (write(out, &c, 1) != 1)
			_exit(3);
	}
}

static int to_child[2];

static void check_child(void)
{
	char c = '?';

	if (write(to_child[1], "?", 1) != 1 || read(child_pipe[0], &c, 1) != 1)
		fail("attrs: the child does not answer: %m\n");
	if (c != 'y')
		fail("attrs: the child's %s was not kept\n",
		     c == 'p' ? "parent-death signal" : c == 'n' ? "nice value" : "subreaper flag");
}

static void plan(bool rt)
{
	int cpu1 = ncpus >= 2 ? 1 : -1, cpu0 = ncpus >= 2 ? 0 : -1;

	want[0] = (struct want){ .policy = rt ? SCHED_RR : SCHED_BATCH, .prio = rt ? 2 : 0, .nice = 5, .cpu = -1,
				 .ioprio = IOPRIO(2, 6), .slack = 123000, .pdeath = SIGUSR1, .mce = PR_MCE_KILL_EARLY,
				 .keepcaps = 1, .spec_ssb = PR_SPEC_DISABLE };
	want[1] = (struct want){ .policy = rt ? SCHED_FIFO : SCHED_IDLE, .prio = rt ? 3 : 0, .nice = 3, .cpu = cpu1,
				 .ioprio = IOPRIO(3, 0), .slack = 456000, .pdeath = SIGTERM, .mce = PR_MCE_KILL_LATE,
				 .keepcaps = 0 };
	want[2] = (struct want){ .policy = SCHED_OTHER, .nice = 7, .sflags = SCHED_FLAG_RESET_ON_FORK, .cpu = cpu0,
				 .ioprio = IOPRIO(2, 1), .slack = 789000, .pdeath = SIGHUP, .mce = PR_MCE_KILL_EARLY,
				 .keepcaps = 1, .tsc = PR_TSC_SIGSEGV };
}

int main(int argc, char **argv)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	pthread_t th;
	sigset_t set;
	int i, n = 0;
	cpu_set_t all;

	sched_getaffinity(0, sizeof(all), &all);
	ncpus = CPU_COUNT(&all);
	plan(argc > 1 && !strcmp(argv[1], "sched"));
	probe();
	/* SIGUSR1 is main's parent-death signal: ignored, so that a wrong
	 * delivery does not kill us (the getters tell). */
	signal(SIGUSR1, SIG_IGN);
	signal(SIGUSR2, on_usr2);
	if (pipe(child_pipe) < 0 || pipe(to_child) < 0)
		fail("attrs: pipe: %m\n");
	child = fork();
	if (child < 0)
		fail("attrs: fork: %m\n");
	if (child == 0)
		child_main(to_child[0], child_pipe[1]);
	setup_process();
	for (i = 1; i < NT; i++)
		if (pthread_create(&th, NULL, thread_main, (void *)(intptr_t)i))
			fail("attrs: pthread_create\n");
	setup_thread(0);
	for (i = 1; i < NT; i++)
		while (!tids[i])
			nanosleep(&ts, NULL);
	check_gen = 1;
	check_thread(0);
	check_process();
	check_child();
	say("READY attrs tids:%d,%d,%d cpus=%d\n", tids[0], tids[1], tids[2], ncpus);
	sigemptyset(&set);
	for (;;) {
		nanosleep(&ts, NULL);
		if (!got_usr2)
			continue;
		got_usr2 = 0;
		check_gen++;
		check_thread(0);
		check_process();
		check_child();
		for (i = 1; i < NT; i++)
			for (int w = 0; checked[i] != check_gen; w++) {
				if (w > 1000)
					fail("attrs: thread %d did not check itself\n", i);
				nanosleep(&ts, NULL);
			}
		say("PASS attrs n=%d tids:%d,%d,%d\n", ++n, tids[0], tids[1], tids[2]);
	}
}
