// SPDX-License-Identifier: GPL-2.0-or-later
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static const char *log_prefix = "ckpt";
static enum log_level log_level = LOG_LVL_INFO;
static log_sink_fn log_sink;

void log_set_prefix(const char *prefix) { log_prefix = prefix; }
void log_set_level(enum log_level lvl) { log_level = lvl; }
enum log_level log_get_level(void) { return log_level; }
void log_set_sink(log_sink_fn sink) { log_sink = sink; }

static void log_emit(enum log_level lvl, const struct log_field *fields, size_t n_fields,
		     const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[2048];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_sink) {
		log_sink(lvl, line, fields, n_fields);
		return;
	}
	fprintf(stderr, "%s[%d]: %s: %s\n", log_prefix, (int)getpid(), names[lvl], line);
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, NULL, 0, fmt, ap);   /* errno intact for %m */
	va_end(ap);
	errno = saved;
}

void log_fields(enum log_level lvl, const struct log_field *fields, size_t n_fields, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (lvl > log_level)
		return;
	va_start(ap, fmt);
	log_emit(lvl, fields, n_fields, fmt, ap);
	va_end(ap);
	errno = saved;
}
