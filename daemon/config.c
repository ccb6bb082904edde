// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd.conf (config.h). The file decides who may use ckptd, so it is
 * parsed strictly: an unknown key, a setting given twice, a line too long
 * or a value out of range stops ckptd with the line named, rather than
 * starting with a setting the administrator did not mean. */
#include "config.h"
#include "macro.h"
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/stat.h>

static const char *const key_names[_CONFIG_KEY_MAX] = {
	[CONFIG_GROUP] = "group",
	[CONFIG_SOCKET] = "socket",
	[CONFIG_STATE_DIR] = "state_dir",
	[CONFIG_LOG_LEVEL] = "log_level",
	[CONFIG_IDLE_TIMEOUT] = "idle_timeout",
	[CONFIG_TIMEOUT] = "timeout",
	[CONFIG_QUEUE_LENGTH] = "queue_length",
	[CONFIG_LOOP_NICE] = "loop_nice",
	[CONFIG_LOOP_RT_PRIORITY] = "loop_rt_priority",
	[CONFIG_INCREMENTAL] = "incremental",
};

static const char *const log_level_names[] = { "error", "warning", "info", "debug" };

const char *config_key_name(enum config_key k)
{
	return (unsigned)k < _CONFIG_KEY_MAX ? key_names[k] : "?";
}

static int errf(int r, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int errf(int r, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* Text from the file, fit to be quoted in a log line: printable ASCII only. */
static const char *printable(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

int config_parse_log_level(const char *s)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(log_level_names); i++)
		if (streq(s, log_level_names[i]))
			return (int)i;
	return -EINVAL;
}

int config_parse_seconds(const char *s)
{
	long v = 0;
	size_t i;

	/* decimal digits only: no sign, no spaces, no 0x, no overflow */
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || v > CONFIG_TIMEOUT_MAX)
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	return i == 0 || v < 1 || v > CONFIG_TIMEOUT_MAX ? -EINVAL : (int)v;
}

bool config_group_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONFIG_GROUP_MAX && s[0] != '-' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static bool path_valid(const char *s, size_t max)
{
	size_t i;

	if (s[0] != '/')
		return false;
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return i < max;
}

int config_set(struct ckptd_config *cfg, enum config_key k, const char *v, char *err, size_t errlen)
{
	char q[48];
	int r;

	switch (k) {
	case CONFIG_GROUP:
		if (!config_group_valid(v))
			return errf(-EINVAL, err, errlen, "'%s' is not a group name: 1-%d of [A-Za-z0-9_.-], not starting with '-'",
				    printable(v, q, sizeof(q)), CONFIG_GROUP_MAX);
		snprintf(cfg->group, sizeof(cfg->group), "%s", v);
		break;
	case CONFIG_SOCKET:
		if (!path_valid(v, sizeof(cfg->socket)))
			return errf(-EINVAL, err, errlen, "'%s' is not an absolute path of at most %zu bytes",
				    printable(v, q, sizeof(q)), sizeof(cfg->socket) - 1);
		snprintf(cfg->socket, sizeof(cfg->socket), "%s", v);
		break;
	case CONFIG_STATE_DIR:
		if (!path_valid(v, sizeof(cfg->state_dir)))
			return errf(-EINVAL, err, errlen, "'%s' is not an absolute path of at most %zu bytes",
				    printable(v, q, sizeof(q)), sizeof(cfg->state_dir) - 1);
		snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", v);
		break;
	case CONFIG_LOG_LEVEL:
		r = config_parse_log_level(v);
		if (r < 0)
			return errf(-EINVAL, err, errlen, "'%s' is not error, warning, info or debug",
				    printable(v, q, sizeof(q)));
		cfg->log_level = r;
		break;
	case CONFIG_IDLE_TIMEOUT:
	case CONFIG_TIMEOUT:
		r = config_parse_seconds(v);
		if (r < 0)
			return errf(-EINVAL, err, errlen, "'%s' is not 1 to %d seconds", printable(v, q, sizeof(q)),
				    CONFIG_TIMEOUT_MAX);
		*(k == CONFIG_TIMEOUT ? &cfg->timeout_s : &cfg->idle_timeout_s) = r;
		break;
	case CONFIG_QUEUE_LENGTH: {
		long n = 0;
		size_t i;

		for (i = 0; v[i] && n <= CONFIG_QUEUE_LENGTH_MAX; i++) {
			if (v[i] < '0' || v[i] > '9')
				break;
			n = n * 10 + (v[i] - '0');
		}
		if (!i || v[i] || n > CONFIG_QUEUE_LENGTH_MAX)
			return errf(-EINVAL, err, errlen, "'%s' is not 0 to %d operations", printable(v, q, sizeof(q)),
				    CONFIG_QUEUE_LENGTH_MAX);
		cfg->queue_length = (int)n;
		break;
	}
	case CONFIG_LOOP_NICE: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || errno || n < CONFIG_LOOP_NICE_MIN || n > 0)
			return errf(-EINVAL, err, errlen, "'%s' is not a nice value from %d to 0", printable(v, q, sizeof(q)),
				    CONFIG_LOOP_NICE_MIN);
		cfg->loop_nice = (int)n;
		break;
	}
	case CONFIG_LOOP_RT_PRIORITY: {
		char *end;
		long n;

		errno = 0;
		n = strtol(v, &end, 10);
		if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || n > CONFIG_LOOP_RT_PRIORITY_MAX)
			return errf(-EINVAL, err, errlen, "'%s' is not a real-time priority from 0 to %d",
				    printable(v, q, sizeof(q)), CONFIG_LOOP_RT_PRIORITY_MAX);
		cfg->loop_rt_priority = (int)n;
		break;
	}
	case CONFIG_INCREMENTAL:
		if (!streq(v, "auto") && !streq(v, "off"))
			return errf(-EINVAL, err, errlen, "'%s' is not auto or off", printable(v, q, sizeof(q)));
		cfg->incremental_auto = streq(v, "auto");
		break;
	default:
		return errf(-EINVAL, err, errlen, "no such setting");
	}
	cfg->set |= 1u << k;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int key_lookup(const char *key)
{
	int k;

	for (k = 0; k < _CONFIG_KEY_MAX; k++)
		if (streq(key, key_names[k]))
			return k;
	return -1;
}

/* One line, NUL-terminated; seen[k] is the line that set key k, or 0. */
static int parse_line(char *line, unsigned lineno, unsigned seen[_CONFIG_KEY_MAX], struct ckptd_config *cfg,
		      char *err, size_t errlen)
{
	char q[48], why[160];
	char *eq, *key, *value;
	int k, r;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return errf(-EINVAL, err, errlen, "line %u: not 'key = value': '%s'", lineno,
			    printable(line, q, sizeof(q)));
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	k = key_lookup(key);
	if (k < 0)
		return errf(-EINVAL, err, errlen, "line %u: unknown key '%s'", lineno, printable(key, q, sizeof(q)));
	if (seen[k])
		return errf(-EINVAL, err, errlen, "line %u: %s is already set on line %u", lineno, key_names[k],
			    seen[k]);
	if (!*value)
		return errf(-EINVAL, err, errlen, "line %u: %s has no value", lineno, key_names[k]);
	r = config_set(cfg, k, value, why, sizeof(why));
	if (r < 0)
		return errf(r, err, errlen, "line %u: %s: %s", lineno, key_names[k], why);
	seen[k] = lineno;
	return 0;
}

int config_parse(const char *buf, size_t len, struct ckptd_config *cfg, char *err, size_t errlen)
{
	unsigned seen[_CONFIG_KEY_MAX] = { 0 };
	char line[CONFIG_LINE_MAX + 1];
	unsigned lineno = 0;
	size_t pos = 0;
	int r;

	if (len > CONFIG_FILE_MAX)
		return errf(-EFBIG, err, errlen, "longer than %d bytes", CONFIG_FILE_MAX);
	while (pos < len) {
		const char *start = buf + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - start) : len - pos;

		lineno++;
		pos += n + (nl != NULL);
		if (n > CONFIG_LINE_MAX)
			return errf(-EINVAL, err, errlen, "line %u: longer than %d bytes", lineno, CONFIG_LINE_MAX);
		if (memchr(start, '\0', n))
			return errf(-EINVAL, err, errlen, "line %u: contains a NUL byte", lineno);
		memcpy(line, start, n);
		line[n] = '\0';
		r = parse_line(line, lineno, seen, cfg, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int config_load(const char *path, struct ckptd_config *cfg, char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	char why[256];
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int r;

	/* O_NONBLOCK: a FIFO planted there must not hang the start */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errf(-errno, err, errlen, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return errf(-errno, err, errlen, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return errf(-EINVAL, err, errlen, "%s: not a regular file", path);
	/* it says who may use ckptd: only ckptd's own user may write it */
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return errf(-EPERM, err, errlen, "%s: owned by uid %u with mode %04o; it must be owned by uid %u and writable by no one else",
			    path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	buf = malloc(CONFIG_FILE_MAX + 1);
	if (!buf)
		return errf(-ENOMEM, err, errlen, "%s: out of memory", path);
	while (len <= CONFIG_FILE_MAX && (n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errf(-errno, err, errlen, "%s: %s", path, strerror(errno));
		len += n;
	}
	r = config_parse(buf, len, cfg, why, sizeof(why));
	if (r < 0)
		return errf(r, err, errlen, "%s: %s", path, why);
	return 0;
}
