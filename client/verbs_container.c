// SPDX-License-Identifier: GPL-2.0-or-later
/* Container verbs: run, list, logs, kill, rm; daemon verbs: version, check. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>

#include "ckptctl.h"
#include <sys/stat.h>
#include "macro.h"
#include <sys/ioctl.h>

#ifndef CKPTD_VERSION
#define CKPTD_VERSION "unknown"
#endif

#define RUN_MAX_ENV 1024
#define RUN_MAX_PUBLISH 32

static int safe_close_fd(int fd)
{
	if (fd >= 0)
		close(fd);
	return -1;
}

static int no_args(struct ctl *c, int argc, char **argv)
{
	if (argc > 1)
		return ctl_is_opt(argv[1]) ? ctl_unknown_opt(c, argv[1])
					   : ctl_usage(c, "unexpected argument '%s'", argv[1]);
	return 0;
}

static int parse_env(struct ctl *c, const char *kv, char **env, size_t *n)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv)
		return ctl_usage(c, "--env wants KEY=VALUE, got '%s'", kv);
	if (*n >= RUN_MAX_ENV)
		return ctl_usage(c, "too many --env (at most %d)", RUN_MAX_ENV);
	env[(*n)++] = (char *)kv;
	return 0;
}

#define ENV_FILE_MAX (1 << 20)

/* KEY=VALUE lines; blank lines and lines starting with '#' (after leading
 * blanks) are skipped. Values are taken literally: no quotes, no expansion.
 * The entries point into *ret_buf, which the caller frees. */
static int parse_env_file(struct ctl *c, const char *path, char **env, size_t *n, char **ret_buf)
{
	_cleanup_close_ int fd = -1;
	char *buf, *line, *save = NULL;
	size_t len = 0;
	ssize_t k;
	int r, lineno = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ctl_fail(c, negerrno(), "--env-file %s: %m", path);
	buf = malloc(ENV_FILE_MAX + 1);
	if (!buf)
		return ctl_fail(c, -ENOMEM, "out of memory");
	*ret_buf = buf;
	while (len < ENV_FILE_MAX && (k = read(fd, buf + len, ENV_FILE_MAX - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return ctl_fail(c, negerrno(), "--env-file %s: %m", path);
		len += k;
	}
	if (len == ENV_FILE_MAX)
		return ctl_usage(c, "--env-file %s: larger than %d bytes", path, ENV_FILE_MAX);
	if (memchr(buf, '\0', len))
		return ctl_usage(c, "--env-file %s: not a text file (NUL byte)", path);
	buf[len] = '\0';
	/* strtok_r skips empty lines, so count them by hand for messages */
	for (line = buf; line && *line; line = save) {
		char *nl = strchr(line, '\n');

		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = '\0';
		lineno++;
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		if (!strchr(line, '=') || line[0] == '=')
			return ctl_usage(c, "--env-file %s:%d: wants KEY=VALUE, got '%.64s'", path, lineno, line);
		if ((r = parse_env(c, line, env, n)) < 0)
			return r;
	}
	return 0;
}

#define RUN_MAX_ENV_FILES 8
#define RUN_MAX_CAPS 64
#define RUN_MAX_BINDS 16

struct run_lists {
	const char *add[RUN_MAX_CAPS], *drop[RUN_MAX_CAPS], *bind[RUN_MAX_BINDS];
	size_t nadd, ndrop, nbind;
};

static int run_list_add(struct ctl *c, const char **list, size_t *n, size_t max, const char *opt, const char *val)
{
	if (*n >= max)
		return ctl_usage(c, "too many %s (at most %zu)", opt, max);
	list[(*n)++] = val;
	return 1;
}

/* --userns=BASE: the first host id of the range, decimal, not 0. */
int parse_userns_base(struct ctl *c, const char *v, uint32_t *ret)
{
	unsigned long b;
	char *end;

	errno = 0;
	b = strtoul(v, &end, 10);
	if (!v[0] || *end || errno || b == 0 || b > UINT32_MAX)
		return ctl_usage(c, "--userns=BASE wants a host uid above 0, not '%s'", v);
	*ret = b;
	return 1;
}

/* --memory SIZE: bytes with an optional K, M or G suffix (powers of 1024). */
static int parse_memory(struct ctl *c, const char *v, uint64_t *ret)
{
	unsigned long long x;
	unsigned shift = 0;
	char *end;

	errno = 0;
	x = strtoull(v, &end, 10);
	if (end != v && end[0] && !end[1])
		shift = end[0] == 'K' || end[0] == 'k' ? 10 : end[0] == 'M' || end[0] == 'm' ? 20 :
			end[0] == 'G' || end[0] == 'g' ? 30 : 64;
	else if (end == v || *end)
		shift = 64;
	if (errno || shift == 64 || x == 0 || x > (UINT64_MAX >> shift) || v[0] == '-')
		return ctl_usage(c, "--memory wants a size such as 64M (K, M or G suffix), not '%s'", v);
	*ret = (uint64_t)x << shift;
	return 1;
}

/* --cpus X: a decimal number of CPUs, to the thousandth (0.5, 2, 1.25). */
static int parse_cpus(struct ctl *c, const char *v, uint32_t *ret)
{
	unsigned long whole = 0, frac = 0, scale = 100;
	const char *p = v;

	if (!*p || (*p == '.' && !p[1]))
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++)
		if ((whole = whole * 10 + (unsigned long)(*p - '0')) > 1000000)
			goto bad;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
			if (!scale)
				goto bad;
			frac += (unsigned long)(*p - '0') * scale;
		}
	if (*p || whole * 1000 + frac == 0 || whole * 1000 + frac > UINT32_MAX)
		goto bad;
	*ret = (uint32_t)(whole * 1000 + frac);
	return 1;
bad:
	return ctl_usage(c, "--cpus wants a positive decimal number of CPUs such as 0.5 (to 0.001), not '%s'", v);
}

/* --memory, --pids, --cpus: 1 if argv[*i] was one, 0 if not, -errno on a usage error. */
static int run_limit_opt(struct ctl *c, int argc, char **argv, int *i, struct ckpt_run_opts *run)
{
	const char *val;
	char *end;
	unsigned long n;
	int r;

	if ((r = ctl_opt(c, argc, argv, i, "--memory", 0, true, &val)) != 0)
		return r < 0 ? r : parse_memory(c, val, &run->memory_limit);
	if ((r = ctl_opt(c, argc, argv, i, "--cpus", 0, true, &val)) != 0)
		return r < 0 ? r : parse_cpus(c, val, &run->cpus_milli);
	if ((r = ctl_opt(c, argc, argv, i, "--pids", 0, true, &val)) != 0) {
		if (r < 0)
			return r;
		errno = 0;
		n = strtoul(val, &end, 10);
		if (!val[0] || *end || errno || n == 0 || n > 4194304 || val[0] == '-')
			return ctl_usage(c, "--pids wants a process count from 1 to 4194304, not '%s'", val);
		run->pids_limit = (uint32_t)n;
		return 1;
	}
	return 0;
}

/* What the container may do and see: 1 if argv[*i] was one of these
 * options, 0 if not, -errno on a usage error. ckptd checks the values. */
static int run_contain_opt(struct ctl *c, int argc, char **argv, int *i, struct ckpt_run_opts *run,
			   struct run_lists *l)
{
	const char *val;
	int r;

	if ((r = ctl_opt(c, argc, argv, i, "--cap-add", 0, true, &val)) != 0)
		return r < 0 ? r : run_list_add(c, l->add, &l->nadd, RUN_MAX_CAPS, "--cap-add", val);
	if ((r = ctl_opt(c, argc, argv, i, "--cap-drop", 0, true, &val)) != 0)
		return r < 0 ? r : run_list_add(c, l->drop, &l->ndrop, RUN_MAX_CAPS, "--cap-drop", val);
	if ((r = ctl_opt(c, argc, argv, i, "--bind", 0, true, &val)) != 0)
		return r < 0 ? r : run_list_add(c, l->bind, &l->nbind, RUN_MAX_BINDS, "--bind", val);
	if ((r = ctl_opt(c, argc, argv, i, "--privileged", 0, false, &val)) != 0) {
		run->privileged = r > 0;
		return r;
	}
	if ((r = ctl_opt(c, argc, argv, i, "--user", 'u', true, &val)) != 0) {
		run->user = val;
		return r;
	}
	if (streq(argv[*i], "--userns") || !strncmp(argv[*i], "--userns=", 9)) {
		run->userns = true;
		return argv[*i][8] ? parse_userns_base(c, argv[*i] + 9, &run->userns_base) : 1;
	}
	if ((r = ctl_opt(c, argc, argv, i, "--root", 0, true, &val)) != 0) {
		if (r > 0 && val[0] != '/')
			return ctl_usage(c, "--root must be an absolute path");
		run->root = val;
		return r;
	}
	return 0;
}

/* env_bufs: the --env-file contents the environment points into; freed by verb_run */
static int run(struct ctl *c, int argc, char **argv, char **env_bufs)
{
	struct ckpt_run_opts run = {};
	struct ckpt_container_result res = {};
	const char *name = NULL;
	_cleanup_free_ char **env = calloc(RUN_MAX_ENV, sizeof(char *));
	const char *publish[RUN_MAX_PUBLISH];
	struct run_lists lists = { .nadd = 0 };
	size_t nbufs = 0;
	const char *val;
	size_t nenv = 0, npublish = 0;
	int i, r;

	if (!env)
		return ctl_fail(c, -ENOMEM, "out of memory");
	for (i = 1; i < argc; i++) {
		if (streq(argv[i], "--")) {
			i++;
			break;
		}
		if ((r = ctl_opt(c, argc, argv, &i, "--cwd", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			run.cwd = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--hostname", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			run.hostname = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--net", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (streq(val, "private"))
				run.net = CKPT_NET_PRIVATE;
			else if (streq(val, "host"))
				run.net = CKPT_NET_HOST;
			else
				return ctl_usage(c, "--net must be 'private' or 'host', not '%s'", val);
		} else if ((r = ctl_opt(c, argc, argv, &i, "--publish", 'p', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (npublish >= RUN_MAX_PUBLISH)
				return ctl_usage(c, "too many --publish (at most %d)", RUN_MAX_PUBLISH);
			publish[npublish++] = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--env", 'e', true, &val)) != 0) {
			if (r < 0 || (r = parse_env(c, val, env, &nenv)) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--env-file", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (nbufs >= RUN_MAX_ENV_FILES)
				return ctl_usage(c, "too many --env-file (at most %d)", RUN_MAX_ENV_FILES);
			if ((r = parse_env_file(c, val, env, &nenv, &env_bufs[nbufs++])) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--tty", 't', false, &val)) != 0) {
			struct winsize ws;

			if (r < 0)
				return r;
			run.tty = true;
			if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
				run.rows = ws.ws_row;
				run.cols = ws.ws_col;
			}
		} else if ((r = run_contain_opt(c, argc, argv, &i, &run, &lists)) != 0) {
			if (r < 0)
				return r;
		} else if ((r = run_limit_opt(c, argc, argv, &i, &run)) != 0) {
			if (r < 0)
				return r;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (!name) {
			name = argv[i];
		} else {
			break;   /* "run NAME CMD..." without "--": CMD starts here */
		}
	}
	if (!name)
		return ctl_usage(c, "missing NAME");
	if ((r = ctl_check_name(c, name)) < 0)
		return r;
	if (i >= argc)
		return ctl_usage(c, "missing command: run NAME [OPTIONS] -- CMD [ARGS...]");
	if (run.cwd && run.cwd[0] != '/')
		return ctl_usage(c, "--cwd must be an absolute path");
	run.argv = (const char *const *)argv + i;
	run.argc = argc - i;
	run.env = (const char *const *)env;
	run.n_env = nenv;
	run.publish = publish;
	run.n_publish = npublish;
	run.cap_add = lists.add;
	run.n_cap_add = lists.nadd;
	run.cap_drop = lists.drop;
	run.n_cap_drop = lists.ndrop;
	run.bind = lists.bind;
	run.n_bind = lists.nbind;

	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_run(c->h, name, &run, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		render_container_json(j, "container", &res.container);
		ctl_json_end(c);
	} else {
		const struct ckpt_container *ci = &res.container;

		printf("started %s: pid %d (host pid %d)\n", ci->name,
		       ci->has_pid ? ci->pid : 0, ci->has_host_pid ? ci->host_pid : 0);
	}
	ckpt_container_result_free(&res);
	return 0;
}

int verb_run(struct ctl *c, int argc, char **argv)
{
	char *env_bufs[RUN_MAX_ENV_FILES] = {};
	int r = run(c, argc, argv, env_bufs);

	for (size_t i = 0; i < RUN_MAX_ENV_FILES; i++)
		free(env_bufs[i]);
	return r;
}

static void list_table(const struct ckpt_list_result *l)
{
	int w = 4;

	for (size_t i = 0; i < l->n_containers; i++)
		w = MAX(w, (int)strlen(l->containers[i].name));
	printf("%-*s  %-12s  %7s  %7s  %6s  %s\n", w, "NAME", "STATE", "PID", "HOSTPID", "IMAGES", "NET");
	for (size_t i = 0; i < l->n_containers; i++) {
		const struct ckpt_container *ci = &l->containers[i];
		char pid[16] = "-", hpid[16] = "-";

		if (ci->has_pid)
			snprintf(pid, sizeof(pid), "%d", ci->pid);
		if (ci->has_host_pid)
			snprintf(hpid, sizeof(hpid), "%d", ci->host_pid);
		char net[512];

		render_net(net, sizeof(net), ci);
		printf("%-*s  %-12s  %7s  %7s  %6zu  %s\n", w, ci->name, render_state(ci->state),
		       pid, hpid, ci->n_images, net);
	}
}

int verb_list(struct ctl *c, int argc, char **argv)
{
	struct ckpt_list_result res = {};
	int r;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_list(c->h, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_arr_begin(j, "containers");
		for (size_t i = 0; i < res.n_containers; i++)
			render_container_json(j, NULL, &res.containers[i]);
		json_arr_end(j);
		ctl_json_end(c);
	} else {
		list_table(&res);
	}
	ckpt_list_result_free(&res);
	return 0;
}

/* Copy the log until EOF: 0. A reader that went away (| head) ends it
 * quietly: 1. */
static int copy_to_stdout(struct ctl *c, int fd)
{
	char buf[65536];

	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_fail(c, negerrno(), "read log: %m");
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(STDOUT_FILENO, buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0 && errno == EPIPE)
				return 1;
			if (w < 0)
				return ctl_fail(c, negerrno(), "write to stdout: %m");
			off += w;
		}
	}
}

/* A second connection whose wait ckptd answers when the workload ends:
 * readable then. */
static int logs_wait_conn(struct ctl *c, const char *name, struct ckpt **ret)
{
	struct ckpt *w = NULL;
	int r;

	r = ckpt_connect(c->socket_path, &w, &c->derr);
	if (r >= 0 && (r = ckpt_wait_start(w, name, &c->derr)) < 0)
		ckpt_close(w);
	if (r < 0)
		return ctl_lib(c, r);
	*ret = w;
	return 0;
}

/* Copy what the log has, then what is appended to it (inotify wakes us,
 * a slow poll covers filesystems without it), until the workload ended;
 * what it wrote last is copied before returning. */
static int logs_follow(struct ctl *c, const char *name, int fd)
{
	struct ckpt *w = NULL;
	_cleanup_close_ int ino = -1;
	char path[64];
	int r;

	r = logs_wait_conn(c, name, &w);
	if (r < 0)
		return r;
	ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ino >= 0 && inotify_add_watch(ino, path, IN_MODIFY) < 0)
		ino = safe_close_fd(ino);
	for (;;) {
		struct pollfd p[2] = { { .fd = ckpt_fd(w), .events = POLLIN }, { .fd = ino, .events = POLLIN } };
		char drain[4096];
		struct stat st;

		/* shorter than what we read: ckptd rotated it (its start moved to
		 * log.1); what is in it now is new */
		if (fstat(fd, &st) == 0 && st.st_size < lseek(fd, 0, SEEK_CUR))
			lseek(fd, 0, SEEK_SET);
		r = copy_to_stdout(c, fd);
		if (r < 0 || r == 1)
			break;
		if (poll(p, 2, 500) < 0 && errno != EINTR) {
			r = ctl_fail(c, negerrno(), "poll: %m");
			break;
		}
		if (p[1].revents & POLLIN)
			while (read(ino, drain, sizeof(drain)) > 0)
				;
		if (p[0].revents) {
			r = copy_to_stdout(c, fd);
			break;
		}
	}
	ckpt_close(w);
	return r < 0 ? r : 0;
}

int verb_logs(struct ctl *c, int argc, char **argv)
{
	_cleanup_close_ int fd = -1;
	const char *name = NULL, *val;
	bool follow = false;
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = ctl_opt(c, argc, argv, &i, "--follow", 'f', false, &val)) != 0) {
			if (r < 0)
				return r;
			follow = true;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return ctl_usage(c, "missing NAME");
	if ((r = ctl_check_name(c, name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_logs(c->h, name, &fd, &c->derr))) < 0)
		return r;
	if (follow)
		return logs_follow(c, name, fd);
	r = copy_to_stdout(c, fd);
	return r < 0 ? r : 0;
}

/* "9", "KILL", "SIGKILL", "sigterm". */
static int parse_signal(const char *s)
{
	char *end;
	long n;

	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		n = strtol(s, &end, 10);
		if (errno || *end || n < 1 || n >= NSIG)
			return -EINVAL;
		return (int)n;
	}
	if (!strncasecmp(s, "SIG", 3))
		s += 3;
	for (int sig = 1; sig < SIGRTMIN; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (abbrev && !strcasecmp(abbrev, s))
			return sig;
	}
	return -EINVAL;
}

int verb_kill(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL, *val;
	int sig = SIGKILL;
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = ctl_opt(c, argc, argv, &i, "--signal", 's', true, &val)) != 0) {
			if (r < 0)
				return r;
			sig = parse_signal(val);
			if (sig < 0)
				return ctl_usage(c, "unknown signal '%s'", val);
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			name = argv[i];
		}
	}
	if (!name)
		return ctl_usage(c, "missing NAME");
	if ((r = ctl_check_name(c, name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_kill(c->h, name, sig, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_i64(j, "signal", sig);
		ctl_json_end(c);
	} else {
		printf("sent SIG%s to %s\n", sigabbrev_np(sig) ?: "?", name);
	}
	return 0;
}

int verb_rm(struct ctl *c, int argc, char **argv)
{
	const char *name = NULL;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_rm(c->h, name, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_bool(j, "removed", true);
		ctl_json_end(c);
	} else {
		printf("removed %s\n", name);
	}
	return 0;
}

/* Answered once the operation has ended, the container put back. */
int verb_cancel(struct ctl *c, int argc, char **argv)
{
	struct ckpt_cancel_result res = {};
	const char *name = NULL, *op;
	bool canceled;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_cancel(c->h, name, &res, &c->derr))) < 0)
		return r;
	canceled = res.canceled;
	op = res.operation ? res.operation : "operation";
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_str(j, "operation", op);
		json_bool(j, "canceled", canceled);
		ctl_json_end(c);
	} else if (canceled) {
		printf("canceled the %s of %s\n", op, name);
	} else {
		printf("the %s of %s had passed its point of no return and completed\n", op, name);
	}
	ckpt_cancel_result_free(&res);
	return 0;
}

int verb_version(struct ctl *c, int argc, char **argv)
{
	struct ckpt_version_result v = {};
	int r;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	/* The client's own version is useful even when the daemon is down. */
	if (!c->json) {
		printf("ckptctl %s (protocol %d)\n", CKPTD_VERSION, CKPT_PROTO_VERSION);
		fflush(stdout);
	}
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_version(c->h, &v, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_obj_begin(j, "client");
		json_str(j, "version", CKPTD_VERSION);
		json_u64(j, "proto_version", CKPT_PROTO_VERSION);
		json_obj_end(j);
		json_obj_begin(j, "daemon");
		json_str(j, "version", v.version);
		json_u64(j, "proto_version", v.proto_version);
		json_u64(j, "image_version", v.image_version);
		json_obj_end(j);
		ctl_json_end(c);
	} else {
		printf("ckptd %s (protocol %u, image format %u)\n", v.version,
		       v.proto_version, v.image_version);
	}
	ckpt_version_result_free(&v);
	return 0;
}

int verb_check(struct ctl *c, int argc, char **argv)
{
	struct ckpt_check_result res = {}, *cr = &res;
	int r, w = 7;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_check(c->h, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_arr_begin(j, "features");
		for (size_t i = 0; i < cr->n_features; i++) {
			json_obj_begin(j, NULL);
			json_str(j, "name", cr->features[i].name);
			json_bool(j, "ok", cr->features[i].ok);
			if (cr->features[i].detail)
				json_str(j, "detail", cr->features[i].detail);
			json_obj_end(j);
		}
		json_arr_end(j);
		ctl_json_end(c);
	} else {
		for (size_t i = 0; i < cr->n_features; i++)
			w = MAX(w, (int)strlen(cr->features[i].name));
		printf("%-*s  %-3s  %s\n", w, "FEATURE", "OK", "DETAIL");
		for (size_t i = 0; i < cr->n_features; i++) {
			const struct ckpt_feature *f = &cr->features[i];

			if (f->detail && f->detail[0])
				printf("%-*s  %-3s  %s\n", w, f->name, f->ok ? "yes" : "no", f->detail);
			else
				printf("%-*s  %s\n", w, f->name, f->ok ? "yes" : "no");
		}
	}
	ckpt_check_result_free(&res);
	return 0;
}
