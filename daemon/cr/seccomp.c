// SPDX-License-Identifier: GPL-2.0-or-later
/* Seccomp: a thread's mode and filters, read with PTRACE_SECCOMP_GET_FILTER
 * and installed again by the thread itself. While we inject calls, the
 * tracee's filters are suspended (PTRACE_O_SUSPEND_SECCOMP, both sides):
 * they would otherwise judge, and may kill for, calls the task never made. */
#include "seccomp.h"
#include "cr_limits.h"
#include "dump.h"
#include "log.h"
#include "macro.h"
#include "rbatch.h"
#include "restore.h"
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

int seccomp_suspend(pid_t tid, bool exitkill)
{
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP | (exitkill ? PTRACE_O_EXITKILL : 0);

	return ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)opts) < 0 ? -errno : 0;
}

void seccomp_state_free(struct seccomp_state *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->filters[i].prog.data);
	free(s->filters);
	free(s->ptrs);
	*s = (struct seccomp_state){ 0 };
}

/* Why a filter can't be installed again as it is, or NULL. A filter that
 * hands calls to a supervisor needs its listener, which lives outside. */
static const char *filter_unsupported(const struct sock_filter *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (f[i].code == (BPF_RET | BPF_A))
			return "a filter whose verdict is computed (BPF_RET|BPF_A): it may hand calls to a supervisor";
		if (f[i].code == (BPF_RET | BPF_K) && (f[i].k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_USER_NOTIF)
			return "a filter that hands calls to a supervisor (SECCOMP_RET_USER_NOTIF)";
	}
	return NULL;
}

static int get_filter(struct dump_ctx *ctx, pid_t tid, const char *who, unsigned long index,
		      Ckpt__Img__SeccompFilter *out)
{
	struct __ptrace_seccomp_metadata md = { .filter_off = index };
	struct sock_filter *prog;
	const char *why;
	long n;

	n = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, NULL);
	if (n < 0 && errno == ENOENT)
		return 0;
	if (n <= 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, n < 0 ? errno : EIO, "%s PTRACE_SECCOMP_GET_FILTER %lu", who, index);
	if (n > CR_SECCOMP_MAX_INSNS)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s seccomp filter %lu: %ld instructions, more than the %d restart installs: not supported",
			       who, index, n, CR_SECCOMP_MAX_INSNS);
	prog = calloc(n, sizeof(*prog));
	if (!prog)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "%s seccomp filter", who);
	ckpt__img__seccomp_filter__init(out);
	out->prog.data = (uint8_t *)prog;
	out->prog.len = n * sizeof(*prog);
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)index, prog) != n)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno ? errno : EIO, "%s PTRACE_SECCOMP_GET_FILTER %lu", who, index);
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, (void *)sizeof(md), &md) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "%s PTRACE_SECCOMP_GET_METADATA %lu", who, index);
	out->has_flags = true;
	out->flags = md.flags & SECCOMP_FILTER_FLAG_LOG;
	why = filter_unsupported(prog, n);
	if (why)
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s seccomp filter %lu: %s: not supported", who, index, why);
	return 1;
}

int seccomp_dump_thread(struct dump_ctx *ctx, pid_t tid, int mode, const char *who, struct seccomp_state *s)
{
	Ckpt__Img__SeccompFilter *v = NULL;
	size_t n = 0, i;
	int r = 1;

	s->mode = mode;
	if (mode != SECCOMP_MODE_FILTER)
		return 0;
	while (r > 0) {
		if (n == CR_MAX_SECCOMP_FILTERS)
			return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s seccomp: more than %d filters: not supported", who,
				       CR_MAX_SECCOMP_FILTERS);
		v = realloc(s->filters, (n + 1) * sizeof(*v));
		if (!v)
			return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "%s seccomp filters", who);
		s->filters = v;
		s->filters[n].prog.data = NULL;
		s->n = n + 1;
		r = get_filter(ctx, tid, who, n, &s->filters[n]);
		if (r > 0)
			n++;
	}
	if (r < 0)
		return r;   /* s->n counts the failed one too: its prog is freed */
	s->n = n;
	/* The kernel counts from the newest; install order is the oldest first. */
	for (i = 0; i < n / 2; i++) {
		Ckpt__Img__SeccompFilter t = s->filters[i];

		s->filters[i] = s->filters[n - 1 - i];
		s->filters[n - 1 - i] = t;
	}
	s->ptrs = calloc(n ? n : 1, sizeof(*s->ptrs));
	if (!s->ptrs)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "%s seccomp filters", who);
	for (i = 0; i < n; i++)
		s->ptrs[i] = &s->filters[i];
	return 0;
}

/* A thread's seccomp as the image has it. */
struct thread_sc {
	struct rtask *rt;
	pid_t tid;
	uint32_t mode;
	Ckpt__Img__SeccompFilter **f;
	size_t n;
};

static bool same_filter(const Ckpt__Img__SeccompFilter *a, const Ckpt__Img__SeccompFilter *b)
{
	return a->flags == b->flags && a->prog.len == b->prog.len && !memcmp(a->prog.data, b->prog.data, a->prog.len);
}

/* How many filters, from the oldest, every thread has: installed once for
 * all with TSYNC, they are one filter shared by all, as fork and TSYNC
 * left them (a later TSYNC of the task needs that). */
static size_t common_prefix(const struct thread_sc *ts, size_t n)
{
	size_t k = SIZE_MAX, i, j;

	for (i = 0; i < n; i++) {
		if (ts[i].mode != SECCOMP_MODE_FILTER)
			return 0;
		k = MIN(k, ts[i].n);
	}
	for (j = 0; j < k; j++)
		for (i = 1; i < n; i++)
			if (!same_filter(ts[0].f[j], ts[i].f[j]))
				return j;
	return k;
}

static int install(struct restore_ctx *ctx, struct rproc *p, struct rbatch *b, const struct thread_sc *t, size_t from,
		   size_t to, unsigned extra)
{
	size_t i, first;
	int r = 0;

	for (i = from; i < to && r >= 0; i++) {
		const Ckpt__Img__SeccompFilter *f = t->f[i];
		struct { uint16_t len; uint16_t pad[3]; uint64_t filter; } fprog = { (uint16_t)(f->prog.len / 8), { 0 }, 0 };

		fprog.filter = rbatch_data(b, f->prog.data, f->prog.len);
		first = b->n;
		rbatch_add(b, __NR_seccomp, SECCOMP_SET_MODE_FILTER, f->flags | extra, rbatch_data(b, &fprog, sizeof(fprog)), 0, 0, 0);
		r = restore_batch_run_keep(ctx, p, t->rt, b, "installing its seccomp filters");
		/* TSYNC answers with the tid of a thread it could not sync */
		if (r >= 0 && b->calls[first].ret != 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, 0, "task %d: thread %d: seccomp TSYNC failed on thread %ld", p->tt->pid,
				    t->tid, (long)b->calls[first].ret);
		rbatch_init(b, b->code_addr, b->data_addr, b->table_addr);
	}
	return r;
}

int seccomp_restore(struct restore_ctx *ctx, struct rproc *p)
{
	_cleanup_free_ struct thread_sc *ts = calloc(p->nthreads + 1, sizeof(*ts));
	_cleanup_free_ struct rbatch *b = NULL;
	const Ckpt__Img__Task *t = p->task;
	size_t n = p->nthreads + 1, i, common;
	bool any = false;
	int r = 0;

	if (!ts)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "seccomp");
	ts[0] = (struct thread_sc){ &p->rt, t->pid, t->seccomp_mode, t->seccomp_filters, t->n_seccomp_filters };
	for (i = 0; i < p->nthreads; i++) {
		const Ckpt__Img__Thread *th = p->threads[i];

		ts[i + 1] = (struct thread_sc){ &p->trt[i], th->tid, th->seccomp_mode, th->seccomp_filters, th->n_seccomp_filters };
	}
	for (i = 0; i < n; i++)
		any |= ts[i].mode != SECCOMP_MODE_DISABLED;
	if (!any)
		return 0;
	b = restore_batch_new(p);
	if (!b)
		return cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "batch");
	for (i = 0; i < n && r >= 0; i++)
		if ((r = seccomp_suspend(ts[i].rt->pid, true)) < 0)
			r = cr_fail(ctx->err, CR_ERR_KERNEL, -r, "task %d: thread %d: PTRACE_O_SUSPEND_SECCOMP", p->tt->pid, ts[i].tid);
	common = n > 1 ? common_prefix(ts, n) : 0;
	if (r >= 0)
		r = install(ctx, p, b, &ts[0], 0, common, SECCOMP_FILTER_FLAG_TSYNC);
	for (i = 0; i < n && r >= 0; i++) {
		if (ts[i].mode == SECCOMP_MODE_STRICT) {
			rbatch_add(b, __NR_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0, 0);
			r = restore_batch_run(ctx, p, ts[i].rt, b, "entering seccomp strict mode");
		} else if (ts[i].mode == SECCOMP_MODE_FILTER) {
			r = install(ctx, p, b, &ts[i], common, ts[i].n, 0);
		}
	}
	return r;
}
