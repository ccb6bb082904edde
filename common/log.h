// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging: one line per event to stderr, "ckptd[pid]: message". */
#pragma once
#include <errno.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_prefix(const char *prefix);   /* program name */
void log_set_level(enum log_level lvl);
enum log_level log_get_level(void);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

/* Log with errno set from r (negative errno) so %m works; evaluates to r. */
#define log_errno(r, ...) ({ int _r = (r); errno = -_r; log_msg(LOG_LVL_ERR, __VA_ARGS__); _r; })
