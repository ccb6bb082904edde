// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd.conf: every setting, comments and blank lines, and the hostile
 * files it must refuse with the line named (unknown keys, a key twice,
 * long lines, NUL bytes, values out of range, a file too big or writable
 * by others). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char err[512];

static int parse(const char *text, struct ckptd_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	return config_parse(text, strlen(text), cfg, err, sizeof(err));
}

/* The file is refused, and the error names the line and says why. */
static void refused(const char *text, const char *want)
{
	struct ckptd_config cfg;

	assert_int_equal(parse(text, &cfg), -EINVAL);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

static void test_every_setting(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("# ckptd settings\n\n"
			       "group = ops\n"
			       "  socket=/run/x/ckptd.sock  \n"
			       "state_dir =\t/srv/ckptd\r\n"
			       "log_level = debug\n"
			       "   # indented comment\n"
			       "idle_timeout = 30\n"
			       "queue_length = 0\n"
			       "loop_nice = -7\n"
			       "loop_rt_priority = 3\n"
			       "incremental = auto\n"
			       "timeout = 86400", &cfg), 0);
	assert_string_equal(cfg.group, "ops");
	assert_string_equal(cfg.socket, "/run/x/ckptd.sock");
	assert_string_equal(cfg.state_dir, "/srv/ckptd");
	assert_int_equal(cfg.log_level, 3);
	assert_int_equal(cfg.idle_timeout_s, 30);
	assert_int_equal(cfg.timeout_s, 86400);
	assert_int_equal(cfg.queue_length, 0);
	assert_int_equal(cfg.loop_nice, -7);
	assert_int_equal(cfg.loop_rt_priority, 3);
	assert_true(cfg.incremental_auto);
	assert_int_equal(cfg.set, (1u << _CONFIG_KEY_MAX) - 1);
}

/* 0 to 65536 operations, decimal digits only. */
static void test_queue_length(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("queue_length = 65536\n", &cfg), 0);
	assert_int_equal(cfg.queue_length, 65536);
	assert_int_equal(parse("queue_length = 7", &cfg), 0);
	assert_int_equal(cfg.queue_length, 7);
	refused("queue_length = 65537\n", "line 1: queue_length: '65537' is not 0 to 65536 operations");
	refused("queue_length = -1\n", "is not 0 to 65536");
	refused("queue_length = 1e3\n", "is not 0 to 65536");
	refused("queue_length = 99999999999999999999\n", "is not 0 to 65536");
}

/* -20 to 0, a nice value for the event loop. */
static void test_loop_nice(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("loop_nice = -20\n", &cfg), 0);
	assert_int_equal(cfg.loop_nice, -20);
	assert_int_equal(parse("loop_nice = 0", &cfg), 0);
	assert_int_equal(cfg.loop_nice, 0);
	refused("loop_nice = -21\n", "line 1: loop_nice: '-21' is not a nice value from -20 to 0");
	refused("loop_nice = 5\n", "is not a nice value");
	refused("loop_nice = -\n", "is not a nice value");
	refused("loop_nice = -5x\n", "is not a nice value");
	refused("loop_nice = -99999999999999999999\n", "is not a nice value");
}

/* 0 (none) to 49, a SCHED_RR priority for the event loop. */
static void test_loop_rt_priority(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("loop_rt_priority = 49\n", &cfg), 0);
	assert_int_equal(cfg.loop_rt_priority, 49);
	assert_int_equal(parse("loop_rt_priority = 0", &cfg), 0);
	assert_int_equal(cfg.loop_rt_priority, 0);
	assert_true(cfg.set & (1u << CONFIG_LOOP_RT_PRIORITY));
	refused("loop_rt_priority = 50\n", "line 1: loop_rt_priority: '50' is not a real-time priority from 0 to 49");
	refused("loop_rt_priority = -1\n", "is not a real-time priority");
	refused("loop_rt_priority = +1\n", "is not a real-time priority");
	refused("loop_rt_priority = 1x\n", "is not a real-time priority");
	refused("loop_rt_priority = \n", "loop_rt_priority");
	refused("loop_rt_priority = 99999999999999999999\n", "is not a real-time priority");
}

/* auto: stored --leave-running checkpoints continue the chain; off: not. */
static void test_incremental(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("incremental = auto\n", &cfg), 0);
	assert_true(cfg.incremental_auto);
	assert_true(cfg.set & (1u << CONFIG_INCREMENTAL));
	assert_int_equal(parse("incremental = off\n", &cfg), 0);
	assert_false(cfg.incremental_auto);
	refused("incremental = on\n", "line 1: incremental: 'on' is not auto or off");
	refused("incremental = Auto\n", "is not auto or off");
	refused("incremental = \n", "incremental");
}

static void test_empty_keeps_defaults(void **state)
{
	struct ckptd_config cfg;

	assert_int_equal(parse("", &cfg), 0);
	assert_int_equal(cfg.set, 0);
	assert_int_equal(parse("\n# only a comment\n   \n", &cfg), 0);
	assert_int_equal(cfg.set, 0);
	/* what the file leaves alone stays as the caller had it */
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.group, sizeof(cfg.group), "ckpt");
	cfg.timeout_s = 600;
	assert_int_equal(config_parse("timeout = 5\n", 12, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.group, "ckpt");
	assert_int_equal(cfg.timeout_s, 5);
	assert_int_equal(cfg.set, 1u << CONFIG_TIMEOUT);
}

static void test_unknown_and_malformed(void **state)
{
	refused("group = a\nsocet = /x\n", "line 2: unknown key 'socet'");
	refused("\n\nstate-dir = /x\n", "line 3: unknown key 'state-dir'");
	refused("group\n", "line 1: not 'key = value'");
	refused("= ckpt\n", "line 1: unknown key ''");
	refused("group =\n", "line 1: group has no value");
	refused("Group = x\n", "line 1: unknown key 'Group'");
	/* a key made of control characters is quoted harmlessly */
	refused("\x1b[2J = 1\n", "line 1: unknown key '?[2J'");
}

static void test_duplicates(void **state)
{
	refused("group = a\n# again\ngroup = b\n", "line 3: group is already set on line 1");
	refused("timeout = 5\ntimeout = 5\n", "line 2: timeout is already set on line 1");
}

static void test_values(void **state)
{
	refused("group = -x\n", "line 1: group: '-x' is not a group name");
	refused("group = a b\n", "line 1: group: 'a b' is not a group name");
	refused("group = abcdefghijklmnopqrstuvwxyz0123456\n", "is not a group name");
	refused("group = ckpt # the group\n", "is not a group name");
	refused("socket = run/ckptd.sock\n", "line 1: socket: 'run/ckptd.sock' is not an absolute path");
	refused("socket = /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		"at most 107 bytes");
	refused("state_dir = relative\n", "state_dir: 'relative' is not an absolute path");
	refused("state_dir = /a\tb\n", "is not an absolute path");
	refused("log_level = loud\n", "log_level: 'loud' is not error, warning, info or debug");
	refused("timeout = 0\n", "timeout: '0' is not 1 to 86400 seconds");
	refused("timeout = 86401\n", "is not 1 to 86400 seconds");
	refused("timeout = -5\n", "is not 1 to 86400");
	refused("timeout = 0x10\n", "is not 1 to 86400");
	refused("idle_timeout = 99999999999999999999\n", "idle_timeout: '99999999999999999999' is not 1 to 86400");
	refused("idle_timeout = 5s\n", "is not 1 to 86400");
}

static void test_long_lines_and_nul(void **state)
{
	struct ckptd_config cfg;
	size_t n = CONFIG_LINE_MAX + 2;
	char *line = malloc(n + 32);
	char text[] = "group = a\nsocket = /x\0y\n";

	assert_non_null(line);
	/* exactly the limit is fine (a comment), one more byte is not */
	memset(line, '#', CONFIG_LINE_MAX);
	line[CONFIG_LINE_MAX] = '\0';
	assert_int_equal(parse(line, &cfg), 0);
	snprintf(line, n + 32, "group = a\n");
	memset(line + 10, '#', CONFIG_LINE_MAX + 1);
	line[10 + CONFIG_LINE_MAX + 1] = '\0';
	refused(line, "line 2: longer than 1024 bytes");
	free(line);
	assert_int_equal(config_parse(text, sizeof(text) - 1, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 2: contains a NUL byte"));
}

static void test_too_big(void **state)
{
	struct ckptd_config cfg;
	size_t n = CONFIG_FILE_MAX + 1;
	char *buf = malloc(n);

	assert_non_null(buf);
	memset(buf, '\n', n);
	assert_int_equal(config_parse(buf, n, &cfg, err, sizeof(err)), -EFBIG);
	assert_int_equal(config_parse(buf, n - 1, &cfg, err, sizeof(err)), 0);
	free(buf);
}

static void test_load(void **state)
{
	char path[] = "/tmp/test-config.XXXXXX";
	struct ckptd_config cfg = { 0 };
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "group = wheel\n", 14), 14);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.group, "wheel");
	/* writable by the group: it decides who may use ckptd, so refused */
	assert_int_equal(fchmod(fd, 0664), 0);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "writable by no one else"));
	close(fd);
	unlink(path);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -ENOENT);
	assert_int_equal(config_load("/dev/null", &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_command_line_values(void **state)
{
	struct ckptd_config cfg = { 0 };

	assert_int_equal(config_set(&cfg, CONFIG_GROUP, "ckpt-ops", err, sizeof(err)), 0);
	assert_int_equal(config_set(&cfg, CONFIG_STATE_DIR, "var/lib", err, sizeof(err)), -EINVAL);
	assert_int_equal(cfg.set, 1u << CONFIG_GROUP);
	assert_int_equal(config_parse_seconds("600"), 600);
	assert_int_equal(config_parse_seconds(""), -EINVAL);
	assert_int_equal(config_parse_log_level("warning"), 1);
	assert_string_equal(config_key_name(CONFIG_STATE_DIR), "state_dir");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_setting),
		cmocka_unit_test(test_queue_length),
		cmocka_unit_test(test_loop_nice),
		cmocka_unit_test(test_loop_rt_priority),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_empty_keeps_defaults),
		cmocka_unit_test(test_unknown_and_malformed),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_long_lines_and_nul),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_command_line_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
