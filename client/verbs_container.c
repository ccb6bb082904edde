// SPDX-License-Identifier: GPL-2.0-or-later
/* Container verbs: run, list, logs, kill, rm; daemon verbs: version, check. */
#include <signal.h>

#include "ckptctl.h"
#include "macro.h"
#include <sys/ioctl.h>
#include "wire.h"

#ifndef CKPTD_VERSION
#define CKPTD_VERSION "unknown"
#endif

#define RUN_MAX_ENV 1024
#define RUN_MAX_PUBLISH 32

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

int verb_run(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__RunRequest run = CKPT__RPC__RUN_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	_cleanup_free_ char **env = calloc(RUN_MAX_ENV, sizeof(char *));
	char *publish[RUN_MAX_PUBLISH];
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

/* Copy the log until EOF. A reader that went away (| head) ends it quietly. */
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
				return 0;
			if (w < 0)
				return ctl_fail(c, negerrno(), "write to stdout: %m");
			off += w;
		}
	}
}

int verb_logs(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__LogsRequest logs = CKPT__RPC__LOGS_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	_cleanup_close_ int fd = -1;
	const char *name = NULL;
	size_t nfds = 0;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
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
	return copy_to_stdout(c, fd);
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
