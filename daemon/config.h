// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd.conf: `key = value` lines, `#` comments, blank lines. A pure parser
 * (no logging, no globals) so that every hostile input can be tested alone;
 * main.c merges what it returns under the command line. */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* SYSCONFDIR/ckptd/ckptd.conf, from the build */
#ifdef CKPTD_CONFIG_PATH
#define CONFIG_DEFAULT_PATH CKPTD_CONFIG_PATH
#else
#define CONFIG_DEFAULT_PATH "/etc/ckptd/ckptd.conf"
#endif
#define CONFIG_DEFAULT_GROUP "ckpt"
#define CONFIG_FILE_MAX (64 * 1024)
#define CONFIG_LINE_MAX 1024
/* useradd's limit: longer names are not portable */
#define CONFIG_GROUP_MAX 32
/* sun_path of struct sockaddr_un, NUL included */
#define CONFIG_SOCKET_MAX 108
#define CONFIG_TIMEOUT_MAX 86400
#define CONFIG_QUEUE_LENGTH_MAX 65536
/* The event loop's nice value (loop_nice): below the workers' and the
 * containers' (0), so that answers wait for no C/R work. */
#define CONFIG_LOOP_NICE_DEFAULT (-5)
#define CONFIG_LOOP_NICE_MIN (-20)
/* The event loop's SCHED_RR priority (loop_rt_priority), 0: none (then
 * loop_nice). At most 49: below the kernel's threaded interrupt handlers
 * (SCHED_FIFO 50), which the loop must never hold up. */
#define CONFIG_LOOP_RT_PRIORITY_DEFAULT 1
#define CONFIG_LOOP_RT_PRIORITY_MAX 49

/* Which settings a source gave; the others keep their defaults. */
enum config_key {
	CONFIG_GROUP = 0,
	CONFIG_SOCKET,
	CONFIG_STATE_DIR,
	CONFIG_LOG_LEVEL,
	CONFIG_IDLE_TIMEOUT,
	CONFIG_TIMEOUT,
	CONFIG_QUEUE_LENGTH,
	CONFIG_LOOP_NICE,
	CONFIG_LOOP_RT_PRIORITY,
	CONFIG_INCREMENTAL,
	_CONFIG_KEY_MAX,
};

struct ckptd_config {
	unsigned set;                          /* 1 << enum config_key */
	char group[CONFIG_GROUP_MAX + 1];
	char socket[CONFIG_SOCKET_MAX];
	char state_dir[PATH_MAX];
	int log_level;                         /* enum log_level */
	int idle_timeout_s;
	int timeout_s;
	int queue_length;                      /* operations waiting beyond --max-ops */
	int loop_nice;                         /* -20 to 0; what ckptd forks starts at 0 */
	int loop_rt_priority;                  /* 0 to 49; SCHED_RR, what ckptd forks starts at SCHED_OTHER */
	bool incremental_auto;                 /* incremental = auto: a stored --leave-running checkpoint
	                                        * arms write tracking and continues the container's chain */
};

/* The setting's name in the file ("state_dir"). */
const char *config_key_name(enum config_key k);

/* Value checkers shared with the command line: the value, or -EINVAL. */
int config_parse_log_level(const char *s);
int config_parse_seconds(const char *s);
bool config_group_valid(const char *s);

/* Set one setting from its text; -EINVAL with err filled if the value is
 * not acceptable. The command line goes through here too. */
int config_set(struct ckptd_config *cfg, enum config_key k, const char *value, char *err, size_t errlen);

/* Parse a whole file's contents into cfg (which keeps what the file does
 * not set). On error: -EINVAL (or -EFBIG) and err says which line and why;
 * cfg may then be partly filled and must not be used. */
int config_parse(const char *buf, size_t len, struct ckptd_config *cfg, char *err, size_t errlen);

/* Read path (at most CONFIG_FILE_MAX bytes, never a FIFO or device) and
 * parse it. -ENOENT if it does not exist (err filled too). */
int config_load(const char *path, struct ckptd_config *cfg, char *err, size_t errlen);
