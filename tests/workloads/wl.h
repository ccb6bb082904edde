// SPDX-License-Identifier: GPL-2.0-or-later
/* Shared by the workloads (ZDTM shape): report lines with write(2), so
 * nothing sits in a stdio buffer across a checkpoint; FAIL exits at once;
 * SIGUSR2 asks for an immediate full verification. */
#pragma once
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr2;

static void __attribute__((format(printf, 1, 2), unused)) say(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	if (write(1, buf, n) < 0)
		_exit(3);
}

#define fail(...) do { say("FAIL " __VA_ARGS__); _exit(1); } while (0)

static void __attribute__((unused)) on_usr2(int sig) { (void)sig; got_usr2 = 1; }
