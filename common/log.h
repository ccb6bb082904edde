// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging: one line per event. On stderr it reads "ckptd[pid]: level:
 * message"; a program may install a sink instead (ckptd's journal sink
 * sends the message with its structured fields, and journald adds the
 * "ckptd[pid]:" itself). */
#pragma once
#include <errno.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* A structured field: name is a journal field name ([A-Z0-9_], e.g.
 * "CKPT_CONTAINER"); a NULL value leaves the field out. */
struct log_field {
	const char *name;
	const char *value;
};

/* Where a formatted message goes; msg has no prefix. */
typedef void (*log_sink_fn)(enum log_level lvl, const char *msg, const struct log_field *fields,
			    size_t n_fields);

void log_set_prefix(const char *prefix);   /* program name */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
/* NULL: back to stderr. */
void log_set_sink(log_sink_fn sink);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A message with structured fields; on stderr the fields are not printed
 * (the message says what matters). */
void log_fields(enum log_level lvl, const struct log_field *fields, size_t n_fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Log with errno set from r (negative errno) so %m works; evaluates to r. */
#define log_errno(r, ...) ({ int _r = (r); errno = -_r; log_msg(LOG_LVL_ERR, __VA_ARGS__); _r; })
