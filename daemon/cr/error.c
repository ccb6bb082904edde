// SPDX-License-Identifier: GPL-2.0-or-later
/* The first error of a job, kept for the client. */
#include "cr.h"
#include "log.h"
#include "macro.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Returns whether the refusal was added. */
static bool collect(struct cr_refusals *l, pid_t pid, pid_t host, int err, const char *object,
		    const char *reason, const char *errtxt, const char *line)
{
	struct cr_refusal *f;

	for (size_t i = 0; i < l->n; i++)
		if (streq(l->v[i].msg, line))
			return false;    /* the same object refused by two paths */
	if (l->n >= CR_REFUSALS_MAX) {
		l->truncated = true;
		return false;
	}
	if (GROW(l->v, l->cap, l->n, 8) < 0) {
		l->truncated = true;
		return false;
	}
	f = &l->v[l->n++];
	*f = (struct cr_refusal){ .task_pid = pid, .task_host_pid = host, .sys_errno = err > 0 ? err : 0 };
	snprintf(f->object, sizeof(f->object), "%s", object ? object : "");
	snprintf(f->reason, sizeof(f->reason), "%s%s", reason, errtxt);
	snprintf(f->msg, sizeof(f->msg), "%s", line);
	return true;
}

static int record(struct cr_error *e, enum cr_errcode code, int err, const char *object, const char *reason)
{
	char line[sizeof(e->msg)];
	char errtxt[160] = "";
	pid_t pid = e ? e->scope_pid : 0, host = e ? e->scope_host_pid : 0;

	/* ETIMEDOUT from the engine is always its own deadline */
	if (err == ETIMEDOUT)
		snprintf(errtxt, sizeof(errtxt), ": the operation's deadline passed (--timeout)");
	else if (err > 0)
		snprintf(errtxt, sizeof(errtxt), ": %s", strerror(err));
	/* A message that already names its task keeps its own wording. */
	if (object && pid)
		snprintf(line, sizeof(line), "task %d (host pid %d): %s: %s%s", pid, host, object, reason, errtxt);
	else if (object)
		snprintf(line, sizeof(line), "%s: %s%s", object, reason, errtxt);
	else
		snprintf(line, sizeof(line), "%s%s", reason, errtxt);
	log_error("%s", line);
	if (e)
		e->nfailed++;
	if (e && e->collect && code == CR_ERR_UNSUPPORTED && e->code == CR_OK) {
		if (collect(e->collect, pid, host, err, object, reason, errtxt, line))
			e->kept_at = e->nfailed;
		return err > 0 ? -err : -EINVAL;
	}
	if (e && e->code == CR_OK) {
		e->kept_at = e->nfailed;
		e->code = code;
		e->sys_errno = err > 0 ? err : 0;
		e->task_pid = pid;
		e->task_host_pid = host;
		snprintf(e->object, sizeof(e->object), "%s", object ? object : "");
		snprintf(e->reason, sizeof(e->reason), "%s%s", reason, errtxt);
		memcpy(e->msg, line, sizeof(e->msg));
	}
	return err > 0 ? -err : -EINVAL;
}

int cr_fail(struct cr_error *e, enum cr_errcode code, int err, const char *fmt, ...)
{
	char buf[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return record(e, code, err, NULL, buf);
}

int cr_fail_obj(struct cr_error *e, enum cr_errcode code, int err, const char *object, const char *fmt, ...)
{
	char buf[sizeof(e->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return record(e, code, err, object, buf);
}

void cr_mark_transient(struct cr_error *e)
{
	if (!e || !e->nfailed || e->kept_at != e->nfailed)
		return;
	if (e->code != CR_OK)
		e->transient = true;
	else if (e->collect && e->collect->n)
		e->collect->v[e->collect->n - 1].transient = true;
}

bool cr_error_transient(const struct cr_error *e)
{
	if (!e)
		return false;
	if (e->code != CR_OK)
		return e->transient;
	for (size_t i = 0; e->collect && i < e->collect->n; i++)
		if (e->collect->v[i].transient)
			return true;
	return false;
}

void cr_error_reset(struct cr_error *e)
{
	struct cr_refusals *l = e->collect;

	*e = (struct cr_error){ .collect = l };
	if (l) {
		l->n = 0;
		l->truncated = false;
	}
}

static void append(char *buf, size_t len, const char *txt)
{
	size_t n = strnlen(buf, len);

	if (n + 1 < len)
		snprintf(buf + n, len - n, "%s", txt);
}

void cr_error_append(struct cr_error *e, const char *fmt, ...)
{
	char txt[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(txt, sizeof(txt), fmt, ap);
	va_end(ap);
	if (e->code != CR_OK) {
		append(e->reason, sizeof(e->reason), txt);
		append(e->msg, sizeof(e->msg), txt);
	}
	for (size_t i = 0; e->collect && i < e->collect->n; i++) {
		struct cr_refusal *f = &e->collect->v[i];

		if (f->transient) {
			append(f->reason, sizeof(f->reason), txt);
			append(f->msg, sizeof(f->msg), txt);
		}
	}
}
