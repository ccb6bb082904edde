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
#include "wire.h"

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
	char *add[RUN_MAX_CAPS], *drop[RUN_MAX_CAPS], *bind[RUN_MAX_BINDS];
	size_t nadd, ndrop, nbind;
};

static int run_list_add(struct ctl *c, char **list, size_t *n, size_t max, const char *opt, const char *val)
{
	if (*n >= max)
		return ctl_usage(c, "too many %s (at most %zu)", opt, max);
	list[(*n)++] = (char *)val;
	return 1;
}

/* What the container may do and see: 1 if argv[*i] was one of these
 * options, 0 if not, -errno on a usage error. ckptd checks the values. */
static int run_contain_opt(struct ctl *c, int argc, char **argv, int *i, Ckpt__Rpc__RunRequest *run,
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
		run->has_privileged = run->privileged = r > 0;
		return r;
	}
	if ((r = ctl_opt(c, argc, argv, i, "--user", 'u', true, &val)) != 0) {
		run->user = (char *)val;
		return r;
	}
	if ((r = ctl_opt(c, argc, argv, i, "--root", 0, true, &val)) != 0) {
		if (r > 0 && val[0] != '/')
			return ctl_usage(c, "--root must be an absolute path");
		run->root = (char *)val;
		return r;
	}
	return 0;
}

/* env_bufs: the --env-file contents the environment points into; freed by verb_run */
static int run(struct ctl *c, int argc, char **argv, char **env_bufs)
{
	Ckpt__Rpc__RunRequest run = CKPT__RPC__RUN_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	_cleanup_free_ char **env = calloc(RUN_MAX_ENV, sizeof(char *));
	char *publish[RUN_MAX_PUBLISH];
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
			run.cwd = (char *)val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--hostname", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			run.hostname = (char *)val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--net", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (streq(val, "private"))
				run.net = CKPT__RPC__NET_MODE__NET_PRIVATE;
			else if (streq(val, "host"))
				run.net = CKPT__RPC__NET_MODE__NET_HOST;
			else
				return ctl_usage(c, "--net must be 'private' or 'host', not '%s'", val);
			run.has_net = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--publish", 'p', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (npublish >= RUN_MAX_PUBLISH)
				return ctl_usage(c, "too many --publish (at most %d)", RUN_MAX_PUBLISH);
			publish[npublish++] = (char *)val;
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
			run.has_tty = run.tty = true;
			if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) {
				run.has_rows = run.has_cols = true;
				run.rows = ws.ws_row;
				run.cols = ws.ws_col;
			}
		} else if ((r = run_contain_opt(c, argc, argv, &i, &run, &lists)) != 0) {
			if (r < 0)
				return r;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (!run.name) {
			run.name = argv[i];
		} else {
			break;   /* "run NAME CMD..." without "--": CMD starts here */
		}
	}
	if (!run.name)
		return ctl_usage(c, "missing NAME");
	if ((r = ctl_check_name(c, run.name)) < 0)
		return r;
	if (i >= argc)
		return ctl_usage(c, "missing command: run NAME [OPTIONS] -- CMD [ARGS...]");
	if (run.cwd && run.cwd[0] != '/')
		return ctl_usage(c, "--cwd must be an absolute path");
	run.argv = argv + i;
	run.n_argv = argc - i;
	run.env = env;
	run.n_env = nenv;
	run.publish = publish;
	run.n_publish = npublish;
	run.cap_add = lists.add;
	run.n_cap_add = lists.nadd;
	run.cap_drop = lists.drop;
	run.n_cap_drop = lists.ndrop;
	run.bind = lists.bind;
	run.n_bind = lists.nbind;
	req.body_case = CKPT__RPC__REQUEST__BODY_RUN;
	req.run = &run;

	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_RUN, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		render_container_json(&j, "container", resp->run->container);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		const Ckpt__Rpc__ContainerInfo *ci = resp->run->container;

		printf("started %s: pid %d (host pid %d)\n", ci->name,
		       ci->has_pid ? ci->pid : 0, ci->has_host_pid ? ci->host_pid : 0);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
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

static void list_table(const Ckpt__Rpc__ListResponse *l)
{
	int w = 4;

	for (size_t i = 0; i < l->n_containers; i++)
		w = MAX(w, (int)strlen(l->containers[i]->name));
	printf("%-*s  %-12s  %7s  %7s  %6s  %s\n", w, "NAME", "STATE", "PID", "HOSTPID", "IMAGES", "NET");
	for (size_t i = 0; i < l->n_containers; i++) {
		const Ckpt__Rpc__ContainerInfo *ci = l->containers[i];
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
	Ckpt__Rpc__ListRequest list = CKPT__RPC__LIST_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	req.body_case = CKPT__RPC__REQUEST__BODY_LIST;
	req.list = &list;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_LIST, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "containers");
		for (size_t i = 0; i < resp->list->n_containers; i++)
			render_container_json(&j, NULL, resp->list->containers[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		list_table(resp->list);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
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

/* A second connection whose WaitRequest ckptd answers when the workload
 * ends: readable then. */
static int logs_wait_conn(struct ctl *c, const char *name, struct ctl *w)
{
	Ckpt__Rpc__WaitRequest wr = CKPT__RPC__WAIT_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	int r;

	*w = (struct ctl){ .sock = -1, .socket_path = c->socket_path, .verb = c->verb };
	r = ctl_connect(w);
	if (r < 0)
		return ctl_fail(c, r, "%s", w->error);
	wr.name = (char *)name;
	req.body_case = CKPT__RPC__REQUEST__BODY_WAIT;
	req.wait = &wr;
	r = wire_send_msg(w->sock, &req.base, NULL, 0);
	if (r < 0) {
		w->sock = safe_close_fd(w->sock);
		return ctl_fail(c, r, "send request to %s: %m", c->socket_path);
	}
	return 0;
}

/* Copy what the log has, then what is appended to it (inotify wakes us,
 * a slow poll covers filesystems without it), until the workload ended;
 * what it wrote last is copied before returning. */
static int logs_follow(struct ctl *c, const char *name, int fd)
{
	struct ctl w;
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
		struct pollfd p[2] = { { .fd = w.sock, .events = POLLIN }, { .fd = ino, .events = POLLIN } };
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
	safe_close_fd(w.sock);
	return r < 0 ? r : 0;
}

int verb_logs(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__LogsRequest logs = CKPT__RPC__LOGS_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	_cleanup_close_ int fd = -1;
	const char *name = NULL, *val;
	bool follow = false;
	size_t nfds = 0;
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
	logs.name = (char *)name;
	req.body_case = CKPT__RPC__REQUEST__BODY_LOGS;
	req.logs = &logs;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_LOGS, &resp, &fd, 1, &nfds);
	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	if (nfds != 1)
		return ctl_fail(c, -EPROTO, "ckptd sent no log fd");
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
	Ckpt__Rpc__KillRequest kill = CKPT__RPC__KILL_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	const char *val;
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
		} else if (kill.name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			kill.name = argv[i];
		}
	}
	if (!kill.name)
		return ctl_usage(c, "missing NAME");
	if ((r = ctl_check_name(c, kill.name)) < 0)
		return r;
	kill.has_signal = true;
	kill.signal = sig;
	req.body_case = CKPT__RPC__REQUEST__BODY_KILL;
	req.kill = &kill;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_KILL, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", kill.name);
		json_i64(&j, "signal", sig);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("sent SIG%s to %s\n", sigabbrev_np(sig) ?: "?", kill.name);
	}
	return 0;
}

int verb_rm(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__RmRequest rm = CKPT__RPC__RM_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	const char *name = NULL;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	rm.name = (char *)name;
	req.body_case = CKPT__RPC__REQUEST__BODY_RM;
	req.rm = &rm;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_RM, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", name);
		json_bool(&j, "removed", true);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("removed %s\n", name);
	}
	return 0;
}

/* Answered once the operation has ended, the container put back. */
int verb_cancel(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__CancelRequest cr = CKPT__RPC__CANCEL_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	const char *name = NULL, *op;
	bool canceled;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	cr.name = (char *)name;
	req.body_case = CKPT__RPC__REQUEST__BODY_CANCEL;
	req.cancel = &cr;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_CANCEL, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	canceled = resp->cancel->canceled;
	op = resp->cancel->operation ? resp->cancel->operation : "operation";
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", name);
		json_str(&j, "operation", op);
		json_bool(&j, "canceled", canceled);
		json_obj_end(&j);
		json_finish(&j);
	} else if (canceled) {
		printf("canceled the %s of %s\n", op, name);
	} else {
		printf("the %s of %s had passed its point of no return and completed\n", op, name);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}

int verb_version(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__VersionRequest ver = CKPT__RPC__VERSION_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__VersionResponse *v;
	int r;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	/* The client's own version is useful even when the daemon is down. */
	if (!c->json) {
		printf("ckptctl %s (protocol %d)\n", CKPTD_VERSION,
		       CKPT__RPC__PROTO_VERSION__PROTO_VERSION_CURRENT);
		fflush(stdout);
	}
	req.body_case = CKPT__RPC__REQUEST__BODY_VERSION;
	req.version = &ver;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_VERSION, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	v = resp->version;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_obj_begin(&j, "client");
		json_str(&j, "version", CKPTD_VERSION);
		json_u64(&j, "proto_version", CKPT__RPC__PROTO_VERSION__PROTO_VERSION_CURRENT);
		json_obj_end(&j);
		json_obj_begin(&j, "daemon");
		json_str(&j, "version", v->version);
		json_u64(&j, "proto_version", v->proto_version);
		json_u64(&j, "image_version", v->image_version);
		json_obj_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("ckptd %s (protocol %u, image format %u)\n", v->version,
		       v->proto_version, v->image_version);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}

int verb_check(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__CheckRequest chk = CKPT__RPC__CHECK_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	const Ckpt__Rpc__CheckResponse *cr;
	struct json j;
	int r, w = 7;

	if ((r = no_args(c, argc, argv)) < 0)
		return r;
	req.body_case = CKPT__RPC__REQUEST__BODY_CHECK;
	req.check = &chk;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_CHECK, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	cr = resp->check;
	if (c->json) {
		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "features");
		for (size_t i = 0; i < cr->n_features; i++) {
			json_obj_begin(&j, NULL);
			json_str(&j, "name", cr->features[i]->name);
			json_bool(&j, "ok", cr->features[i]->ok);
			if (cr->features[i]->detail)
				json_str(&j, "detail", cr->features[i]->detail);
			json_obj_end(&j);
		}
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		for (size_t i = 0; i < cr->n_features; i++)
			w = MAX(w, (int)strlen(cr->features[i]->name));
		printf("%-*s  %-3s  %s\n", w, "FEATURE", "OK", "DETAIL");
		for (size_t i = 0; i < cr->n_features; i++) {
			const Ckpt__Rpc__Feature *f = cr->features[i];

			if (f->detail && f->detail[0])
				printf("%-*s  %-3s  %s\n", w, f->name, f->ok ? "yes" : "no", f->detail);
			else
				printf("%-*s  %s\n", w, f->name, f->ok ? "yes" : "no");
		}
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}
