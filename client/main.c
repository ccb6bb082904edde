// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl entry point: global options, the verb table, dispatch, exit status. */
#include "ckptctl.h"
#include "macro.h"
#include "wire.h"

#ifndef CKPTD_VERSION
#define CKPTD_VERSION "unknown"
#endif

static const struct ctl_verb ctl_verbs[] = {
	{ "Containers", "run", "NAME [-t] [--cwd DIR] [--env K=V]... [--env-file FILE]... [--hostname H] [--net private|host] [--publish HOSTPORT:PORT[/tcp|/udp]]... [--cap-add CAP]... [--cap-drop CAP]... [--privileged] [--user USER[:GROUP]] [--root DIR] [--bind SRC:DST[:ro]]... [--userns[=BASE]] [--memory SIZE] [--pids N] [--cpus X] -- CMD [ARGS...]",
	  "start CMD in a new container (-t: with a console)", verb_run },
	{ "Containers", "attach", "NAME", "connect this terminal to the console (Ctrl-] detaches)", verb_attach },
	{ "Containers", "list", "", "list containers (NAME STATE PID HOSTPID IMAGES NET)", verb_list },
	{ "Containers", "ps", "NAME", "its processes (PID HOSTPID PPID STATE COMMAND)", verb_ps },
	{ "Containers", "wait", "NAME", "wait for the workload to end; exit with its status", verb_wait },
	{ "Containers", "stats", "NAME", "memory, process count, image count and bytes", verb_stats },
	{ "Containers", "logs", "NAME [-f]", "copy the log to stdout (-f: follow until it stops)", verb_logs },
	{ "Containers", "kill", "NAME [--signal N|NAME]", "signal the workload (default SIGKILL)", verb_kill },
	{ "Containers", "rm", "NAME", "kill if running, delete its images and log", verb_rm },
	{ "Images", "checkpoint", "NAME [--check] [--leave-running] [--incremental] [--full] [--compress zstd] [--timeout S] [--ghost-limit BYTES] [--external-unix drop] [--tcp-pending refuse|reset] [--hook PHASE=CMD]... [-o FILE|-]",
	  "image into the store, FILE, or stdout (-)", verb_checkpoint },
	{ "Images", "restart", "NAME [--image ID] [--timeout S] [--trust-image] [--lazy] [--hook PHASE=CMD]... [-i FILE|-] [--allow-changed-files] [--userns=BASE] [--privileged] [--cap-add CAP]...",
	  "restart from the newest/given stored image, FILE, or stdin (-)", verb_restart },
	{ "Images", "cancel", "NAME", "stop its checkpoint or restart; the container stays as it was", verb_cancel },
	{ "Images", "images", "[NAME] | rm NAME ID", "list stored images, or remove one", verb_images },
	{ "Images", "inspect", "FILE|- | --encode JSON|-", "dump an image's records, or write --json's form back (local)", verb_inspect },
	{ "Images", "export", "NAME [ID] -o FILE|-", "copy a stored image (default: the newest) out of the store", verb_export },
	{ "Images", "import", "NAME -i FILE|-", "verify an image and store it as NAME's newest (creates NAME)", verb_import },
	{ "Daemon", "events", "", "container lifecycle events as they happen, a line each", verb_events },
	{ "Daemon", "version", "", "client and daemon versions", verb_version },
	{ "Daemon", "check", "", "kernel features for checkpoint/restart", verb_check },
};

static void usage(FILE *f)
{
	const char *group = NULL;

	fprintf(f, "Usage: ckptctl [--socket PATH] [--json] VERB [ARGS...]\n");
	for (size_t i = 0; i < ARRAY_SIZE(ctl_verbs); i++) {
		const struct ctl_verb *v = &ctl_verbs[i];
		char head[256];

		if (!group || !streq(group, v->group)) {
			group = v->group;
			fprintf(f, "\n%s:\n", group);
		}
		snprintf(head, sizeof(head), "%s %s", v->name, v->usage);
		/* Long synopses get the summary on a line of its own. */
		if (strlen(head) > 38)
			fprintf(f, "  %s\n  %-38s  %s\n", head, "", v->summary);
		else
			fprintf(f, "  %-38s  %s\n", head, v->summary);
	}
	fprintf(f, "\nOptions (before or after the verb, never after --):\n"
		   "  --socket PATH   ckptd socket (default: $CKPTD_SOCKET, else %s)\n"
		   "  --json          print one JSON object on stdout\n"
		   "  -h, --help      this text; 'ckptctl VERB --help' for one verb\n"
		   "  --version       client version only\n"
		   "\nExit status: 0 success, 1 failure, 2 usage error.\n",
		   CKPTD_DEFAULT_SOCKET);
}

static const struct ctl_verb *verb_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(ctl_verbs); i++)
		if (streq(ctl_verbs[i].name, name))
			return &ctl_verbs[i];
	return NULL;
}

/* Strip --json and --socket from anywhere before "--" so verbs never see
 * them; returns the new argc or a usage error. */
static int strip_global_opts(struct ctl *c, int argc, char **argv, const char **ret_socket)
{
	int out = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (streq(a, "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (streq(a, "--json")) {
			c->json = true;
		} else if (streq(a, "--socket")) {
			if (i + 1 >= argc)
				return ctl_usage(c, "--socket needs a PATH");
			*ret_socket = argv[++i];
		} else if (!strncmp(a, "--socket=", 9)) {
			*ret_socket = a + 9;
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && !streq(argv[i], "--"); i++)
		if (streq(argv[i], "--help") || streq(argv[i], "-h"))
			return true;
	return false;
}

/* --json: the error as one object, {"error": {...}}, for programs, the
 * same for every verb. */
static void report_json(struct ctl *c, int r)
{
	const struct ckpt_error *d = &c->derr;
	/* a refusal of ckptd's, not one of ours or of the exchange */
	bool daemon = d->code_name && d->code != CKPT_E_CLIENT;
	struct json *j;

	/* whatever a failed verb had begun is left behind: this is the answer */
	j = ctl_json_begin(c);
	json_obj_begin(j, "error");
	json_str(j, "code", daemon ? d->code_name : c->usage_error ? "USAGE" : "CLIENT");
	json_str(j, "message", c->error);
	json_i64(j, "errno", daemon ? d->sys_errno : -r);
	json_error_fields(j, d);
	json_obj_end(j);
	ctl_json_end(c);
}

static int report(struct ctl *c, int r)
{
	if (r >= 0)
		return c->exit_status;
	/* What was printed comes before the error line, even with 2>&1. */
	fflush(stdout);
	render_progress_clear(c);
	if (!c->error[0])
		snprintf(c->error, sizeof(c->error), "%s", strerror(-r));
	if (c->json)
		report_json(c, r);
	if (c->verb)
		fprintf(stderr, "ckptctl: %s: %s\n", c->verb, c->error);
	else
		fprintf(stderr, "ckptctl: %s\n", c->error);
	if (c->derr.hint[0])
		fprintf(stderr, "hint: %s\n", c->derr.hint);
	return c->usage_error ? 2 : 1;
}

int main(int argc, char **argv)
{
	struct ctl c = {};
	const struct ctl_verb *v;
	const char *sock_arg = NULL;
	int r;

	/* SIGPIPE stays default: wire_send uses MSG_NOSIGNAL, so only a closed
	 * stdout (ckptctl inspect | head) can raise it, and dying quietly is
	 * what a filter should do then. */
	r = strip_global_opts(&c, argc, argv, &sock_arg);
	if (r < 0)
		return report(&c, r);
	argc = r;
	c.socket_path = wire_socket_path(sock_arg);

	if (argc < 2 || streq(argv[1], "help") || streq(argv[1], "--help") || streq(argv[1], "-h")) {
		if (argc >= 3 && (v = verb_find(argv[2]))) {
			printf("Usage: ckptctl %s %s\n  %s\n", v->name, v->usage, v->summary);
			return 0;
		}
		usage(stdout);
		return 0;
	}
	if (streq(argv[1], "--version")) {
		printf("ckptctl %s\n", CKPTD_VERSION);
		return 0;
	}
	if (ctl_is_opt(argv[1]))
		return report(&c, ctl_unknown_opt(&c, argv[1]));
	v = verb_find(argv[1]);
	if (!v)
		return report(&c, ctl_usage(&c, "unknown verb '%s' (see 'ckptctl help')", argv[1]));
	c.verb = v->name;
	if (wants_help(argc - 1, argv + 1)) {
		printf("Usage: ckptctl %s %s\n  %s\n", v->name, v->usage, v->summary);
		return 0;
	}

	r = v->run(&c, argc - 1, argv + 1);
	ctl_disconnect(&c);
	if (r >= 0 && fflush(stdout) != 0)
		r = ctl_fail(&c, negerrno(), "write to stdout: %m");
	return report(&c, r);
}
