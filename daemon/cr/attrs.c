// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel knobs of threads and processes: saved where they can be restored
 * faithfully, refused at checkpoint where they can't (docs/census.md). */
#include "attrs.h"
#include "log.h"
#include "macro.h"
#include "proc.h"
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif
#ifndef PR_FUTEX_HASH
#define PR_FUTEX_HASH 78
#define PR_FUTEX_HASH_SET_SLOTS 1
#define PR_FUTEX_HASH_GET_SLOTS 2
#endif
#ifndef PR_SCHED_CORE
#define PR_SCHED_CORE 62
#endif
#define SCHED_CORE_GET 0
#define PR_THP_DISABLE_EXCEPT_ADVISED (1 << 1)
#define MDWE_BITS 3                  /* PR_MDWE_REFUSE_EXEC_GAIN | PR_MDWE_NO_INHERIT */
#define SECBIT_KEEP_CAPS_BIT (1u << 4)
#define SECUREBITS_MAX (1u << 12)
#define CAP_SETPCAP_BIT (1ull << 8)
#define CAP_SYS_RESOURCE_BIT (1ull << 24)
#define COREDUMP_FILTER_MAX (1u << 9)
#define FUTEX_SLOTS_MAX (1u << 16)
#define LOGINUID_UNSET 4294967295u
#define IOPRIO_WHO_PROCESS 1
#define PTRACE_GET_SUD_CONFIG 0x4211

#define SCHED_FLAG_RESET_ON_FORK 0x01
#define SCHED_FLAG_RECLAIM 0x02
#define SCHED_FLAG_DL_OVERRUN 0x04
#define SCHED_FLAG_UTIL_CLAMP_MIN 0x20
#define SCHED_FLAG_UTIL_CLAMP_MAX 0x40
#define SCHED_FLAGS_SAVED (SCHED_FLAG_RESET_ON_FORK | SCHED_FLAG_RECLAIM | SCHED_FLAG_DL_OVERRUN)
#define UCLAMP_MAX 1024
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6
#endif
#define DL_MAX_NS (1ull << 63)

/* MEMBARRIER_CMD_REGISTER_* a process may hold. */
#define MB_REGISTERS (MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED | \
		      MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE | MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ)

struct sched_attr_v1 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
	uint32_t sched_util_min, sched_util_max;
};

struct sud_config { uint64_t mode, selector, offset, len; };

/* Batch order of a thread's getters, from c->first. */
enum { TG_SLACK, TG_PDEATH, TG_FLUSHER, TG_MCE, TG_SPEC, TG_KEEPCAPS = TG_SPEC + ATTRS_SPEC_KINDS, TG_SECBITS,
       TG_CORE, TG_MPOL, TG_ARCH };
/* ... and of a process's. */
enum { PG_SUBREAPER, PG_THP, PG_DUMPABLE, PG_MERGE, PG_MDWE, PG_FUTEX, PG_MB_QUERY, PG_MB_PRIV, PG_MB_SYNC,
       PG_MB_RSEQ, PG_ARCH };

/* The object and reason go into the error's fields, so that a client can
 * tell what was refused without parsing the message. */
static int refuse(struct dump_ctx *ctx, const struct dump_proc *p, pid_t tid, const char *what, const char *why)
{
	char obj[160];

	if (tid && tid != p->pid) {
		snprintf(obj, sizeof(obj), "thread %d: %s", tid, what);
		what = obj;
	}
	cr_error_scope(ctx->err, p->nspid, p->pid);
	return cr_fail_obj(ctx->err, CR_ERR_UNSUPPORTED, 0, what, "%s", why);
}

void attrs_thread_queue(struct rbatch *b, struct attrs_thread_calls *c)
{
	unsigned i, n = MIN(arch_knob_count(ARCH_KNOB_THREAD), ATTRS_ARCH_MAX);

	c->a_pdeath = rbatch_space(b, sizeof(int));
	c->a_core = rbatch_space(b, sizeof(uint64_t));
	c->a_mpol = rbatch_space(b, sizeof(int));
	c->first = rbatch_add(b, __NR_prctl, PR_GET_TIMERSLACK, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_PDEATHSIG, c->a_pdeath, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_IO_FLUSHER, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_MCE_KILL_GET, 0, 0, 0, 0, 0);
	for (i = 0; i < ATTRS_SPEC_KINDS; i++)
		rbatch_add(b, __NR_prctl, PR_GET_SPECULATION_CTRL, i, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_KEEPCAPS, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_SECUREBITS, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_SCHED_CORE, SCHED_CORE_GET, 0, 0 /* PIDTYPE_PID */, c->a_core, 0);
	rbatch_add(b, __NR_get_mempolicy, c->a_mpol, 0, 0, 0, 0, 0);
	for (i = 0; i < n; i++) {
		struct arch_call k;

		c->a_arch[i] = rbatch_space(b, sizeof(uint64_t));
		k = arch_knob_get(ARCH_KNOB_THREAD, i, c->a_arch[i]);
		rbatch_add(b, k.nr, k.args[0], k.args[1], k.args[2], k.args[3], k.args[4], k.args[5]);
	}
}

static uint64_t word(const struct rbatch *b, uint64_t addr, size_t len)
{
	uint64_t v = 0;

	memcpy(&v, rbatch_result(b, addr), len);
	return v;
}

/* Scheduling, affinity and I/O priority: read from outside, by tid. */
static int thread_sched(struct dump_ctx *ctx, const struct dump_proc *p, pid_t tid, struct attrs_thread *s)
{
	struct sched_attr_v1 sa = { .size = sizeof(sa) };
	uint8_t init_mask[ATTRS_AFFINITY_MAX];
	long n, ninit, io;

	if (syscall(SYS_sched_getattr, tid, &sa, sizeof(sa), 0) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: thread %d: sched_getattr", p->pid, tid);
	s->a.sched_policy = sa.sched_policy;
	s->a.sched_flags = sa.sched_flags & SCHED_FLAGS_SAVED;
	/* sched_getattr leaves it out for the real-time policies */
	errno = 0;
	s->a.sched_nice = getpriority(PRIO_PROCESS, tid);
	if (errno)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: thread %d: getpriority", p->pid, tid);
	s->a.sched_priority = sa.sched_priority;
	if (sa.sched_policy == SCHED_DEADLINE) {
		s->a.has_sched_runtime = s->a.has_sched_deadline = s->a.has_sched_period = true;
		s->a.sched_runtime = sa.sched_runtime;
		s->a.sched_deadline = sa.sched_deadline;
		s->a.sched_period = sa.sched_period;
	}
	/* A kernel without utilization clamping reports 0..0 */
	if (sa.size >= sizeof(sa) && sa.sched_util_max && (sa.sched_util_min != 0 || sa.sched_util_max != UCLAMP_MAX)) {
		s->a.has_util_min = s->a.has_util_max = true;
		s->a.util_min = sa.sched_util_min;
		s->a.util_max = sa.sched_util_max;
	}
	/* Affinity is saved when it differs from the container init's. */
	n = syscall(SYS_sched_getaffinity, tid, sizeof(s->affinity), s->affinity);
	ninit = syscall(SYS_sched_getaffinity, ctx->req->init_pid, sizeof(init_mask), init_mask);
	if (n < 0 || ninit < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: thread %d: sched_getaffinity", p->pid, tid);
	if (n != ninit || memcmp(s->affinity, init_mask, n)) {
		s->a.has_affinity = true;
		s->a.affinity.data = s->affinity;
		s->a.affinity.len = n;
	}
	io = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, tid);
	if (io < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "task %d: thread %d: ioprio_get", p->pid, tid);
	s->a.ioprio = io;
	return 0;
}

int attrs_thread_take(struct dump_ctx *ctx, const struct dump_proc *p, size_t k, const struct rbatch *b,
		      const struct attrs_thread_calls *c, struct attrs_thread *s)
{
	const struct arch_call *calls = b->calls + c->first;
	unsigned i, n = MIN(arch_knob_count(ARCH_KNOB_THREAD), ATTRS_ARCH_MAX);
	struct sud_config sud = { 0 };
	pid_t tid = p->tids[k];
	char why[128];
	int64_t sec;

	ckpt__img__thread_attrs__init(&s->a);
	s->a.timer_slack_ns = calls[TG_SLACK].ret;
	s->a.pdeathsig = word(b, c->a_pdeath, sizeof(int));
	/* Reading it needs CAP_SYS_RESOURCE, as setting it does: without
	 * that capability the thread could not have set it either. */
	s->a.io_flusher = calls[TG_FLUSHER].ret == 1;
	s->a.mce_kill = calls[TG_MCE].ret;
	for (i = 0; i < ATTRS_SPEC_KINDS; i++)
		s->spec[i] = calls[TG_SPEC + i].ret < 0 ? 0 : calls[TG_SPEC + i].ret;
	s->a.spec_ctrl = s->spec;
	s->a.n_spec_ctrl = ATTRS_SPEC_KINDS;
	s->a.keepcaps = calls[TG_KEEPCAPS].ret == 1;
	sec = calls[TG_SECBITS].ret;
	s->a.securebits = sec < 0 ? 0 : sec;
	for (i = 0; i < n; i++)
		s->arch[i] = arch_knob_value(ARCH_KNOB_THREAD, i, calls[TG_ARCH + i].ret, word(b, c->a_arch[i], 8));
	s->a.arch = s->arch;
	s->a.n_arch = n;
	if (calls[TG_SLACK].ret < 0 || calls[TG_PDEATH].ret < 0 || calls[TG_MCE].ret < 0 || calls[TG_KEEPCAPS].ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: thread %d: injected prctl getters", p->pid, tid);

	if (calls[TG_CORE].ret >= 0 && word(b, c->a_core, 8))
		return refuse(ctx, p, tid, "core scheduling cookie (PR_SCHED_CORE)", "shared cookies are not supported");
	if (calls[TG_MPOL].ret >= 0 && word(b, c->a_mpol, sizeof(int)))
		return refuse(ctx, p, tid, "NUMA memory policy (set_mempolicy)", "policies other than the default are not supported");
	if ((s->a.securebits & ~SECBIT_KEEP_CAPS_BIT) && !(p->st.capeff & CAP_SETPCAP_BIT))
		return refuse(ctx, p, tid, "securebits", "set, and restoring them needs CAP_SETPCAP, which the task lacks");
	if (s->a.io_flusher && !(p->st.capeff & CAP_SYS_RESOURCE_BIT))
		return refuse(ctx, p, tid, "PR_SET_IO_FLUSHER", "set, and restoring it needs CAP_SYS_RESOURCE, which the task lacks");
	for (i = 0; i < n; i++)
		if (arch_knob_check(ARCH_KNOB_THREAD, i, s->arch[i], why, sizeof(why)) < 0)
			return refuse(ctx, p, tid, arch_knob_name(ARCH_KNOB_THREAD, i), why);
	if (ptrace(PTRACE_GET_SUD_CONFIG, tid, (void *)sizeof(sud), &sud) >= 0 && sud.mode)
		return refuse(ctx, p, tid, "syscall user dispatch (PR_SET_SYSCALL_USER_DISPATCH)", "enabled: not supported");
	return thread_sched(ctx, p, tid, s);
}

void attrs_proc_queue(struct rbatch *b, struct attrs_proc_calls *c)
{
	unsigned i, n = MIN(arch_knob_count(ARCH_KNOB_PROCESS), ATTRS_ARCH_MAX);

	c->a_subreaper = rbatch_space(b, sizeof(int));
	c->first = rbatch_add(b, __NR_prctl, PR_GET_CHILD_SUBREAPER, c->a_subreaper, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_THP_DISABLE, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_DUMPABLE, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_MEMORY_MERGE, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_GET_MDWE, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_prctl, PR_FUTEX_HASH, PR_FUTEX_HASH_GET_SLOTS, 0, 0, 0, 0);
	/* A registration can't be queried: the expedited commands answer
	 * EPERM to a process that did not register for them. */
	rbatch_add(b, __NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE, 0, 0, 0, 0, 0);
	rbatch_add(b, __NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 0, 0, 0, 0, 0);
	for (i = 0; i < n; i++) {
		struct arch_call k;

		c->a_arch[i] = rbatch_space(b, sizeof(uint64_t));
		k = arch_knob_get(ARCH_KNOB_PROCESS, i, c->a_arch[i]);
		rbatch_add(b, k.nr, k.args[0], k.args[1], k.args[2], k.args[3], k.args[4], k.args[5]);
	}
}

static int read_proc_word(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	return proc_read_text(path, buf, len);
}

/* LSM labels: the restored task gets its restorer's, which is init's. */
static int check_lsm(struct dump_ctx *ctx, const struct dump_proc *p)
{
	static const char *const attrs[] = { "attr/current", "attr/exec", "attr/fscreate", "attr/keycreate", "attr/sockcreate" };
	char mine[256], init[256], what[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(attrs); i++) {
		int n = read_proc_word(p->pid, attrs[i], mine, sizeof(mine));
		int m = read_proc_word(ctx->req->init_pid, attrs[i], init, sizeof(init));

		if (n < 0 && m < 0)
			continue;   /* no LSM answers here */
		if (n != m || (n > 0 && memcmp(mine, init, n))) {
			snprintf(what, sizeof(what), "LSM label (/proc/PID/%s)", attrs[i]);
			return refuse(ctx, p, 0, what, "differs from the container init's: not supported");
		}
	}
	return 0;
}

/* Per-mapping NUMA policies (mbind): refused unless every one is the
 * default. numa_maps counts every page of every mapping to say so: the
 * policies are asked of the process instead (attrs_vma_policies), this
 * only where that can't answer. */
static int check_numa_maps(struct dump_ctx *ctx, const struct dump_proc *p)
{
	char path[64], line[512], why[128];
	_cleanup_fclose_ FILE *f = NULL;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", p->pid);
	f = fopen(path, "re");
	if (!f)
		return 0;   /* a kernel without NUMA has no policies */
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char pol[64];

		if (sscanf(line, "%llx %63s", &addr, pol) == 2 && !streq(pol, "default")) {
			snprintf(why, sizeof(why), "the mapping at 0x%llx has policy %s: not supported", addr, pol);
			return refuse(ctx, p, 0, "NUMA memory policy (mbind)", why);
		}
	}
	return 0;
}

/* Settings read from /proc by the worker. */
static int proc_outside(struct dump_ctx *ctx, const struct dump_proc *p, struct attrs_proc *s)
{
	char buf[128], *nice;
	int r;

	r = read_proc_word(p->pid, "oom_score_adj", buf, sizeof(buf));
	if (r >= 0)
		s->a.oom_score_adj = atoi(buf);
	if (r >= 0 && (r = read_proc_word(p->pid, "coredump_filter", buf, sizeof(buf))) >= 0)
		s->a.coredump_filter = strtoul(buf, NULL, 16);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: reading oom_score_adj and coredump_filter", p->pid);
	/* Without audit there is no loginuid: it reads as unset. */
	s->a.loginuid = read_proc_word(p->pid, "loginuid", buf, sizeof(buf)) > 0 ? strtoul(buf, NULL, 10) : LOGINUID_UNSET;
	/* "/autogroup-N nice V": shared by the session, absent without autogroups */
	if (read_proc_word(p->pid, "autogroup", buf, sizeof(buf)) > 0 && (nice = strstr(buf, " nice ")) && atoi(nice + 6)) {
		s->a.has_autogroup_nice = true;
		s->a.autogroup_nice = atoi(nice + 6);
	}
	return check_lsm(ctx, p);
}

#ifndef MPOL_F_ADDR
#define MPOL_F_ADDR (1 << 1)
#endif
/* Mappings asked about per batch (a mode word each in its data area). */
#define MPOL_BATCH 192

int attrs_vma_policies(struct dump_ctx *ctx, const struct dump_proc *p, struct rbatch *b)
{
	char why[128];
	size_t i = 0;

	while (i < p->nvmas) {
		size_t first = i, at[MPOL_BATCH], k0;
		uint64_t mode[MPOL_BATCH];
		int r;

		rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
		for (k0 = 0; i < p->nvmas && k0 < MPOL_BATCH; i++, k0++) {
			mode[k0] = rbatch_space(b, sizeof(uint64_t));
			at[k0] = rbatch_add(b, __NR_get_mempolicy, mode[k0], 0, 0, p->vmas[i].start, MPOL_F_ADDR, 0);
		}
		r = rbatch_run(b, &p->rt[0]);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: injected get_mempolicy", p->pid);
		for (size_t k = 0; k < k0; k++) {
			int64_t ret = b->calls[at[k]].ret;
			uint64_t m = word(b, mode[k], sizeof(int));

			if (ret == -ENOSYS)
				return 0;   /* a kernel without NUMA has no policies */
			if (ret == -EFAULT)
				continue;   /* not in its mm: the gate area ([vsyscall]) */
			if (ret < 0)
				return check_numa_maps(ctx, p);
			if (m) {
				static const char *const names[] = { "default", "prefer", "bind", "interleave", "local",
								     "prefer (many)", "weighted interleave" };
				uint64_t mode_only = m & 0xff;   /* below MPOL_F_NUMA_BALANCING and the node flags */

				snprintf(why, sizeof(why), "the mapping at 0x%" PRIx64 " has policy %s (mode %#" PRIx64
					 "): not supported", p->vmas[first + k].start,
					 mode_only < ARRAY_SIZE(names) ? names[mode_only] : "unknown", m);
				return refuse(ctx, p, 0, "NUMA memory policy (mbind)", why);
			}
		}
	}
	return 0;
}

int attrs_proc_take(struct dump_ctx *ctx, const struct dump_proc *p, const struct rbatch *b,
		    const struct attrs_proc_calls *c, struct attrs_proc *s)
{
	const struct arch_call *calls = b->calls + c->first;
	unsigned i, n = MIN(arch_knob_count(ARCH_KNOB_PROCESS), ATTRS_ARCH_MAX);
	int64_t query = calls[PG_MB_QUERY].ret;
	char why[128];

	ckpt__img__proc_attrs__init(&s->a);
	if (calls[PG_SUBREAPER].ret < 0 || calls[PG_THP].ret < 0 || calls[PG_DUMPABLE].ret < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: injected prctl getters", p->pid);
	s->a.child_subreaper = word(b, c->a_subreaper, sizeof(int)) != 0;
	s->a.thp_disable = calls[PG_THP].ret;
	s->a.dumpable = calls[PG_DUMPABLE].ret;
	s->a.memory_merge = calls[PG_MERGE].ret == 1;
	s->a.mdwe = calls[PG_MDWE].ret < 0 ? 0 : calls[PG_MDWE].ret;
	s->a.futex_slots = calls[PG_FUTEX].ret < 0 ? 0 : calls[PG_FUTEX].ret;
	if (query > 0) {
		if (calls[PG_MB_PRIV].ret == 0)
			s->a.membarrier |= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED;
		if (calls[PG_MB_SYNC].ret == 0)
			s->a.membarrier |= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE;
		if (calls[PG_MB_RSEQ].ret == 0)
			s->a.membarrier |= MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ;
		/* Nothing tells whether a process registered for global
		 * expedited barriers: every process is, after a restart
		 * (registration only adds barriers, it never removes one). */
		if (query & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED)
			s->a.membarrier |= MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED;
	}
	for (i = 0; i < n; i++)
		s->arch[i] = arch_knob_value(ARCH_KNOB_PROCESS, i, calls[PG_ARCH + i].ret, word(b, c->a_arch[i], 8));
	s->a.arch = s->arch;
	s->a.n_arch = n;
	if (s->a.dumpable > 1)
		return refuse(ctx, p, 0, "dumpable", "SUID_DUMP_ROOT (2) can't be set by a program: not supported");
	for (i = 0; i < n; i++)
		if (arch_knob_check(ARCH_KNOB_PROCESS, i, s->arch[i], why, sizeof(why)) < 0)
			return refuse(ctx, p, 0, arch_knob_name(ARCH_KNOB_PROCESS, i), why);
	return proc_outside(ctx, p, s);
}

/* --- restart: checks ---------------------------------------------------- */

static int bad(struct restore_ctx *ctx, pid_t pid, pid_t tid, const char *why)
{
	if (tid == pid)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: attributes: %s", pid, why);
	return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "task %d: thread %d: attributes: %s", pid, tid, why);
}

static bool policy_ok(uint32_t policy, uint32_t prio)
{
	switch (policy) {
	case SCHED_OTHER: case SCHED_BATCH: case SCHED_IDLE: return prio == 0;
	case SCHED_FIFO: case SCHED_RR: return prio >= 1 && prio <= 99;
	case SCHED_DEADLINE: return prio == 0;
	default: return false;
	}
}

static int check_affinity(struct restore_ctx *ctx, pid_t pid, pid_t tid, const ProtobufCBinaryData *m)
{
	long ncpus = sysconf(_SC_NPROCESSORS_CONF);
	size_t i;

	if (m->len == 0 || m->len > ATTRS_AFFINITY_MAX || m->len % sizeof(long))
		return bad(ctx, pid, tid, "bad CPU affinity mask");
	for (i = 0; i < m->len * 8; i++)
		if ((m->data[i / 8] & (1u << (i % 8))) && (long)i >= ncpus)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0,
				       "task %d: thread %d: CPU affinity: CPU %zu does not exist here (%ld CPUs)", pid, tid, i, ncpus);
	return 0;
}

int attrs_check_thread(struct restore_ctx *ctx, pid_t pid, pid_t tid, const Ckpt__Img__ThreadAttrs *a)
{
	char why[128];
	size_t i;

	if (!a)
		return 0;
	if (!policy_ok(a->sched_policy, a->sched_priority) || (a->sched_flags & ~(uint64_t)SCHED_FLAGS_SAVED) ||
	    a->sched_nice < -20 || a->sched_nice > 19)
		return bad(ctx, pid, tid, "bad scheduling policy, priority, flags or nice value");
	if (a->sched_policy == SCHED_DEADLINE &&
	    (!a->has_sched_runtime || !a->has_sched_deadline || !a->has_sched_period || a->sched_runtime == 0 ||
	     a->sched_runtime > a->sched_deadline || a->sched_deadline >= DL_MAX_NS || a->sched_period >= DL_MAX_NS ||
	     (a->sched_period && a->sched_deadline > a->sched_period)))
		return bad(ctx, pid, tid, "bad deadline parameters");
	if (a->has_util_min != a->has_util_max || a->util_min > a->util_max || a->util_max > UCLAMP_MAX)
		return bad(ctx, pid, tid, "bad utilization clamp");
	if (a->has_affinity && check_affinity(ctx, pid, tid, &a->affinity) < 0)
		return -EINVAL;
	if ((a->ioprio >> 13) > 3 || a->ioprio > 0xffff)
		return bad(ctx, pid, tid, "bad I/O priority");
	if (a->pdeathsig > 64 || a->mce_kill > PR_MCE_KILL_DEFAULT || a->securebits >= SECUREBITS_MAX)
		return bad(ctx, pid, tid, "bad parent-death signal, machine-check policy or securebits");
	if (a->n_spec_ctrl > ATTRS_SPEC_KINDS)
		return bad(ctx, pid, tid, "bad speculation control");
	for (i = 0; i < a->n_spec_ctrl; i++)
		if (a->spec_ctrl[i] >= 32)
			return bad(ctx, pid, tid, "bad speculation control");
	if (a->n_arch != arch_knob_count(ARCH_KNOB_THREAD) || a->n_arch > ATTRS_ARCH_MAX)
		return bad(ctx, pid, tid, "arch knobs of another kernel or arch");
	for (i = 0; i < a->n_arch; i++)
		if (arch_knob_check(ARCH_KNOB_THREAD, i, a->arch[i], why, sizeof(why)) < 0)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: thread %d: %s: %s", pid, tid,
				       arch_knob_name(ARCH_KNOB_THREAD, i), why);
	return 0;
}

int attrs_check_proc(struct restore_ctx *ctx, pid_t pid, const Ckpt__Img__ProcAttrs *a)
{
	char why[128];
	size_t i;

	if (!a)
		return 0;
	if (a->oom_score_adj < -1000 || a->oom_score_adj > 1000)
		return bad(ctx, pid, pid, "bad oom_score_adj");
	if ((a->thp_disable != 0 && a->thp_disable != 1 && a->thp_disable != (1 | PR_THP_DISABLE_EXCEPT_ADVISED)) ||
	    a->dumpable > 1 || (a->mdwe & ~MDWE_BITS) || (a->membarrier & ~MB_REGISTERS) ||
	    a->coredump_filter >= COREDUMP_FILTER_MAX || a->futex_slots > FUTEX_SLOTS_MAX ||
	    (a->futex_slots & (a->futex_slots - 1)))
		return bad(ctx, pid, pid, "bad THP, dumpable, MDWE, membarrier, coredump filter or futex hash setting");
	if (a->has_autogroup_nice && (a->autogroup_nice < -20 || a->autogroup_nice > 19))
		return bad(ctx, pid, pid, "bad autogroup nice value");
	if (a->n_arch != arch_knob_count(ARCH_KNOB_PROCESS) || a->n_arch > ATTRS_ARCH_MAX)
		return bad(ctx, pid, pid, "arch knobs of another kernel or arch");
	for (i = 0; i < a->n_arch; i++)
		if (arch_knob_check(ARCH_KNOB_PROCESS, i, a->arch[i], why, sizeof(why)) < 0)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "task %d: %s: %s", pid, arch_knob_name(ARCH_KNOB_PROCESS, i), why);
	return 0;
}

/* --- restart: setters ---------------------------------------------------- */

/* Names of the setters queued in a batch, for an error that says which. */
struct named_batch {
	struct rbatch *b;
	const char *names[RBATCH_MAX_CALLS];
};

static void add(struct named_batch *nb, const char *name, long nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
	size_t i = rbatch_add(nb->b, nr, a0, a1, a2, 0, 0, 0);

	nb->names[i] = name;
}

static int run(struct restore_ctx *ctx, struct rproc *p, struct rtask *rt, struct named_batch *nb, pid_t tid)
{
	struct rbatch *b = nb->b;
	int r = b->n ? rbatch_run(b, rt) : 0;
	size_t i;

	for (i = 0; r >= 0 && i < b->n; i++)
		if (b->calls[i].ret < 0 && b->calls[i].ret > -4096)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, (int)-b->calls[i].ret, "task %d: thread %d: restoring %s", p->tt->pid,
				    tid, nb->names[i]);
	if (r < 0 && !ctx->err->code)
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: restoring its attributes", p->tt->pid, tid);
	rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	return r;
}

/* Speculation control: the strongest mitigation a thread asked for. */
static uint64_t spec_setting(uint32_t v)
{
	if (v & PR_SPEC_FORCE_DISABLE)
		return PR_SPEC_FORCE_DISABLE;
	if (v & PR_SPEC_DISABLE_NOEXEC)
		return PR_SPEC_DISABLE_NOEXEC;
	if (v & PR_SPEC_DISABLE)
		return PR_SPEC_DISABLE;
	return PR_SPEC_ENABLE;
}

/* A thread's own settings; the parent-death signal last. */
static void thread_setters(struct named_batch *nb, const Ckpt__Img__ThreadAttrs *a)
{
	struct arch_call calls[ARCH_KNOB_SET_MAX];
	size_t i, j, n;

	if (!a)
		return;
	add(nb, "timer slack (PR_SET_TIMERSLACK)", __NR_prctl, PR_SET_TIMERSLACK, a->timer_slack_ns, 0);
	if (a->securebits & ~SECBIT_KEEP_CAPS_BIT)
		add(nb, "securebits (PR_SET_SECUREBITS)", __NR_prctl, PR_SET_SECUREBITS, a->securebits, 0);
	else
		add(nb, "keepcaps (PR_SET_KEEPCAPS)", __NR_prctl, PR_SET_KEEPCAPS, a->keepcaps, 0);
	if (a->mce_kill == PR_MCE_KILL_DEFAULT)
		add(nb, "machine-check kill policy (PR_MCE_KILL)", __NR_prctl, PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0);
	else
		add(nb, "machine-check kill policy (PR_MCE_KILL)", __NR_prctl, PR_MCE_KILL, PR_MCE_KILL_SET, a->mce_kill);
	for (i = 0; i < a->n_spec_ctrl; i++)
		if (a->spec_ctrl[i] & PR_SPEC_PRCTL)
			add(nb, "speculation control (PR_SET_SPECULATION_CTRL)", __NR_prctl, PR_SET_SPECULATION_CTRL, i,
			    spec_setting(a->spec_ctrl[i]));
	if (a->io_flusher)
		add(nb, "PR_SET_IO_FLUSHER", __NR_prctl, PR_SET_IO_FLUSHER, 1, 0);
	for (i = 0; i < a->n_arch; i++) {
		n = arch_knob_set(ARCH_KNOB_THREAD, i, a->arch[i], calls);
		for (j = 0; j < n; j++)
			add(nb, arch_knob_name(ARCH_KNOB_THREAD, i), calls[j].nr, calls[j].args[0], calls[j].args[1], calls[j].args[2]);
	}
	if (a->pdeathsig)
		add(nb, "parent-death signal (PR_SET_PDEATHSIG)", __NR_prctl, PR_SET_PDEATHSIG, a->pdeathsig, 0);
}

static int write_proc(pid_t pid, const char *what, const char *val)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		return -errno;
	return 0;
}

/* The loginuid only the task itself may write: it is opened in a batch of
 * its own (the next one needs the fd), and only when it must change. */
static int loginuid_open(struct restore_ctx *ctx, struct rproc *p, struct named_batch *nb, uint32_t uid, long *ret_fd)
{
	static const char path[] = "/proc/self/loginuid";
	char buf[32];
	size_t at;
	int r;

	*ret_fd = -1;
	if (read_proc_word(p->host_pid, "loginuid", buf, sizeof(buf)) <= 0 || strtoul(buf, NULL, 10) == uid)
		return 0;
	at = rbatch_add(nb->b, __NR_openat, AT_FDCWD, rbatch_data(nb->b, path, sizeof(path)), O_WRONLY | O_CLOEXEC, 0, 0, 0);
	nb->names[at] = "loginuid (opening /proc/self/loginuid)";
	r = rbatch_run(nb->b, &p->rt);
	if (r >= 0 && nb->b->calls[at].ret < 0)
		r = (int)nb->b->calls[at].ret;
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: opening /proc/self/loginuid", p->tt->pid);
	*ret_fd = nb->b->calls[at].ret;
	rbatch_init(nb->b, nb->b->code_addr, nb->b->data_addr, nb->b->table_addr);
	return 0;
}

static int proc_setters(struct restore_ctx *ctx, struct rproc *p, struct named_batch *nb, const Ckpt__Img__ProcAttrs *a)
{
	struct arch_call calls[ARCH_KNOB_SET_MAX];
	char uid[16];
	size_t i, j, n;
	long fd;
	int r, len;

	r = loginuid_open(ctx, p, nb, a->loginuid, &fd);
	if (r < 0)
		return r;
	if (fd >= 0) {
		len = snprintf(uid, sizeof(uid), "%" PRIu32, a->loginuid);
		add(nb, "loginuid (writing /proc/self/loginuid)", __NR_write, fd, rbatch_data(nb->b, uid, len), len);
		add(nb, "loginuid (closing /proc/self/loginuid)", __NR_close, fd, 0, 0);
	}
	if (a->child_subreaper)
		add(nb, "child subreaper (PR_SET_CHILD_SUBREAPER)", __NR_prctl, PR_SET_CHILD_SUBREAPER, 1, 0);
	if (a->thp_disable)
		add(nb, "THP disable (PR_SET_THP_DISABLE)", __NR_prctl, PR_SET_THP_DISABLE, 1,
		    a->thp_disable & PR_THP_DISABLE_EXCEPT_ADVISED);
	if (a->memory_merge)
		add(nb, "KSM merging (PR_SET_MEMORY_MERGE)", __NR_prctl, PR_SET_MEMORY_MERGE, 1, 0);
	if (a->futex_slots)
		add(nb, "futex hash (PR_FUTEX_HASH)", __NR_prctl, PR_FUTEX_HASH, PR_FUTEX_HASH_SET_SLOTS, a->futex_slots);
	for (i = 0; i < 32; i++)
		if (a->membarrier & (1u << i))
			add(nb, "membarrier registration", __NR_membarrier, 1u << i, 0, 0);
	for (i = 0; i < a->n_arch; i++) {
		n = arch_knob_set(ARCH_KNOB_PROCESS, i, a->arch[i], calls);
		for (j = 0; j < n; j++)
			add(nb, arch_knob_name(ARCH_KNOB_PROCESS, i), calls[j].nr, calls[j].args[0], calls[j].args[1], calls[j].args[2]);
	}
	add(nb, "dumpable (PR_SET_DUMPABLE)", __NR_prctl, PR_SET_DUMPABLE, a->dumpable, 0);
	/* Never cleared once set: after every mapping and protection. */
	if (a->mdwe)
		add(nb, "memory-deny-write-execute (PR_SET_MDWE)", __NR_prctl, PR_SET_MDWE, a->mdwe, 0);
	return 0;
}

/* oom_score_adj, coredump_filter and the autogroup's nice, written here. */
static int proc_writes(struct restore_ctx *ctx, struct rproc *p, const Ckpt__Img__ProcAttrs *a)
{
	char v[32];
	int r;

	snprintf(v, sizeof(v), "%d", a->oom_score_adj);
	r = write_proc(p->host_pid, "oom_score_adj", v);
	if (r == -EACCES || r == -EPERM)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, -r,
			       "task %d: oom_score_adj %d: below what this restart may set (lowering it needs CAP_SYS_RESOURCE)",
			       p->tt->pid, a->oom_score_adj);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing oom_score_adj", p->tt->pid);
	snprintf(v, sizeof(v), "0x%x", a->coredump_filter);
	r = write_proc(p->host_pid, "coredump_filter", v);
	if (r < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing coredump_filter", p->tt->pid);
	if (a->has_autogroup_nice) {
		snprintf(v, sizeof(v), "%d", a->autogroup_nice);
		r = write_proc(p->host_pid, "autogroup", v);
		if (r < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: writing its autogroup's nice value", p->tt->pid);
	}
	return 0;
}

int attrs_restore_release(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct named_batch *nb = calloc(1, sizeof(*nb));
	const Ckpt__Img__Task *t = p->task;
	size_t i;
	int r = 0;

	if (!nb || !(nb->b = restore_batch_new(p))) {
		free(nb ? nb->b : NULL);
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	}
	for (i = 0; i < p->nthreads && r >= 0; i++) {
		thread_setters(nb, p->threads[i]->attrs);
		r = run(ctx, p, &p->trt[i], nb, p->threads[i]->tid);
	}
	if (r >= 0 && t->attrs)
		r = proc_setters(ctx, p, nb, t->attrs);
	if (r >= 0) {
		thread_setters(nb, t->thread_attrs);
		r = run(ctx, p, &p->rt, nb, t->pid);
	}
	if (r >= 0 && t->attrs)
		r = proc_writes(ctx, p, t->attrs);
	free(nb->b);
	return r;
}

static int set_sched(struct restore_ctx *ctx, struct rproc *p, pid_t host, pid_t tid, const Ckpt__Img__ThreadAttrs *a)
{
	struct sched_attr_v1 sa = {
		.size = sizeof(sa), .sched_policy = a->sched_policy, .sched_flags = a->sched_flags,
		.sched_nice = a->sched_nice, .sched_priority = a->sched_priority,
		.sched_runtime = a->sched_runtime, .sched_deadline = a->sched_deadline, .sched_period = a->sched_period,
	};
	const char *what = "I/O priority (ioprio_set)";

	if (a->has_util_min) {
		sa.sched_flags |= SCHED_FLAG_UTIL_CLAMP_MIN | SCHED_FLAG_UTIL_CLAMP_MAX;
		sa.sched_util_min = a->util_min;
		sa.sched_util_max = a->util_max;
	}
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, host, a->ioprio) < 0)
		goto fail;
	what = "CPU affinity (sched_setaffinity)";
	if (a->has_affinity && syscall(SYS_sched_setaffinity, host, a->affinity.len, a->affinity.data) < 0)
		goto fail;
	/* sched_setattr sets the nice value of SCHED_OTHER/BATCH only: the
	 * others (IDLE, real-time) keep theirs for when they go back. */
	what = "nice value (setpriority)";
	if (setpriority(PRIO_PROCESS, host, a->sched_nice) < 0)
		goto fail;
	what = "scheduling policy and priority (sched_setattr)";
	if (syscall(SYS_sched_setattr, host, &sa, 0) < 0)
		goto fail;
	return 0;
fail:
	return cr_fail(ctx->err, errno == EPERM || errno == EOPNOTSUPP || errno == EBUSY ? CR_ERR_UNSUPPORTED : CR_ERR_KERNEL,
		       errno, "task %d: thread %d: restoring its %s", p->tt->pid, tid, what);
}

int attrs_restore_sched(struct restore_ctx *ctx, struct rproc *p)
{
	size_t i;
	int r = 0;

	for (i = 0; i < p->nthreads && r >= 0; i++)
		if (p->threads[i]->attrs)
			r = set_sched(ctx, p, p->trt[i].pid, p->threads[i]->tid, p->threads[i]->attrs);
	if (r >= 0 && p->task->thread_attrs)
		r = set_sched(ctx, p, p->host_pid, p->task->pid, p->task->thread_attrs);
	return r;
}
