// SPDX-License-Identifier: GPL-2.0-or-later
#include "fault.h"
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t cancel_why;

void cr_cancel(enum cr_cancel_why why)
{
	if (!cancel_why)
		cancel_why = why;
}

enum cr_cancel_why cr_canceled(void)
{
	return cancel_why;
}

int cr_cancel_check(struct cr_error *err)
{
	switch (cr_canceled()) {
	case CR_CANCEL_NONE:
		return 0;
	case CR_CANCEL_DEADLINE:
		return cr_fail(err, CR_ERR_IO, ETIMEDOUT, "canceled");
	case CR_CANCEL_ORPHAN:
		return cr_fail(err, CR_ERR_CANCELED, ECANCELED, "canceled: ckptd died");
	default:
		return cr_fail(err, CR_ERR_CANCELED, ECANCELED, "canceled (ckptctl cancel)");
	}
}

int cr_cancel_errno(void)
{
	switch (cr_canceled()) {
	case CR_CANCEL_NONE:
		return 0;
	case CR_CANCEL_DEADLINE:
		return -ETIMEDOUT;
	default:
		return -ECANCELED;
	}
}

int cr_wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	for (;;) {
		int r = cr_cancel_errno();

		if (r < 0)
			return r;
		if (poll(&p, 1, -1) >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}

/* CKPTD_FAULT is a comma-separated list of POINT or POINT:MODE: point's
 * MODE ("" for none; it ends at the next comma), or NULL if the list
 * does not name it. */
static const char *fault_mode(const char *point)
{
	static __thread char mode[32];
	const char *f = getenv("CKPTD_FAULT");
	size_t n = strlen(point);

	for (; f && *f; f = strchr(f, ',') ? strchr(f, ',') + 1 : "") {
		size_t len = strcspn(f, ",");

		if (len < n || strncmp(f, point, n) != 0 || (len > n && f[n] != ':'))
			continue;
		if (len == n)
			return "";
		snprintf(mode, sizeof(mode), "%.*s", (int)(len - n - 1), f + n + 1);
		return mode;
	}
	return NULL;
}

bool fault_at(const char *point)
{
	const char *m = fault_mode(point);

	return m && !m[0];
}

void fault_crash(const char *point)
{
	const char *m = fault_mode(point);

	if (m && strcmp(m, "crash") == 0)
		raise(SIGKILL);
}

/* ckptd dies; we are its worker: wait for our own notice of it
 * (PR_SET_PDEATHSIG), then go on as an orphan would. */
static void fault_kill_parent(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	kill(getppid(), SIGKILL);
	for (int i = 0; i < 300 && !cr_canceled(); i++)
		nanosleep(&ts, NULL);
}

void fault_crash_worker(const char *point)
{
	static bool fired;
	const char *m = fault_mode(point);

	/* once: a point met again (after each batch) must not kill the
	 * process we were reparented to */
	if (!m || fired)
		return;
	fired = true;

	if (m && strcmp(m, "crash") == 0)
		fault_kill_parent();
	else if (m && strcmp(m, "kill-worker") == 0)
		raise(SIGKILL);
	else if (m && strcmp(m, "kill-both") == 0) {
		kill(getppid(), SIGKILL);
		raise(SIGKILL);
	} else if (m && strcmp(m, "stop-worker") == 0)
		raise(SIGSTOP);
}

int fault_inject(struct cr_error *err, const char *point)
{
	const char *m;
	int r = cr_cancel_check(err);

	if (r < 0)
		return r;
	m = fault_mode(point);
	if (!m)
		return 0;
	if (strcmp(m, "crash") == 0) {
		fault_kill_parent();
		return cr_cancel_check(err);
	}
	if (strcmp(m, "kill-worker") == 0)
		raise(SIGKILL);
	if (strcmp(m, "stop-worker") == 0)
		raise(SIGSTOP);
	if (m[0])
		return 0;
	return cr_fail(err, CR_ERR_INTERNAL, 0, "fault injected at %s (CKPTD_FAULT)", point);
}
