// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_prefix = "ckpt";
static enum log_level log_level = LOG_LVL_INFO;

void log_set_prefix(const char *prefix) { log_prefix = prefix; }
void log_set_level(enum log_level lvl) { log_level = lvl; }
enum log_level log_get_level(void) { return log_level; }

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];
	int saved = errno;
	va_list ap;
	int n;

	if (lvl > log_level)
		return;
	n = snprintf(line, sizeof(line), "%s[%d]: %s: ", log_prefix, (int)getpid(), names[lvl]);
	va_start(ap, fmt);
	errno = saved;
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
	errno = saved;
}
