// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl: the thin client of ckptd. One verb per invocation: parse its
 * arguments, make the one libckpt call (include/ckpt/ckpt.h) that sends
 * the request, render its result.
 *
 * Error convention: verbs and helpers return >= 0 or -errno and record the
 * first human-readable reason with ctl_fail()/ctl_usage(); main() prints it
 * as the single line "ckptctl: VERB: MESSAGE" and exits 1 (2 for usage). */
#pragma once
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ckpt/ckpt.h"

#define CTL_NAME_MAX 64

/* json.c: a minimal streaming JSON writer (no library). key is NULL inside
 * arrays. Commas are handled by the writer. */
#define JSON_MAX_DEPTH 16
struct json {
	FILE *f;
	int depth;
	bool first[JSON_MAX_DEPTH];
};

struct ctl {
	const char *socket_path;   /* resolved by wire_socket_path() */
	const char *verb;
	bool json;
	bool usage_error;          /* exit 2 instead of 1 */
	bool progress_shown;       /* a progress line is on the tty */
	struct ckpt *h;            /* NULL until ctl_connect() */
	char error[512];           /* first failure reason */
	int exit_status;           /* on success (wait: the workload's) */
	bool stdout_is_image;      /* -o -: --json output goes to stderr */
	const char *cancel_name;   /* Ctrl-C while waiting cancels this container's operation */
	struct ckpt_error derr;    /* the failed call's error, as fields (--json) */
	struct json out;           /* the --json object being written (ctl_json_begin) */
};

struct ctl_verb {
	const char *group;         /* usage section */
	const char *name;
	const char *usage;         /* arguments after the verb name */
	const char *summary;
	int (*run)(struct ctl *c, int argc, char **argv);
};

/* Record the first failure ("fmt" may use %m for -r) and return r (< 0). */
int ctl_fail(struct ctl *c, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A usage error: recorded like ctl_fail, exit status 2, returns -EINVAL. */
int ctl_usage(struct ctl *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* [A-Za-z0-9_.-]{1,64}, not starting with '.'. Records a usage error. */
int ctl_check_name(struct ctl *c, const char *name);

/* Argument scanning shared by the verbs. ctl_opt() matches argv[*i] against
 * "--long" / "--long=VAL" / "-s" (short may be 0); with want_value it takes
 * the value from "=" or the next argument. Returns 1 if it matched (value in
 * *ret_val, *i advanced past what it consumed minus one), 0 if not, or a
 * usage error. */
int ctl_opt(struct ctl *c, int argc, char **argv, int *i, const char *lng, char shrt,
	    bool want_value, const char **ret_val);
/* An argument that looks like an option ("-x", "--x") but matched nothing. */
int ctl_unknown_opt(struct ctl *c, const char *arg);
/* --userns=BASE (run, restart): 1 and *ret, or a usage error. */
int parse_userns_base(struct ctl *c, const char *v, uint32_t *ret);
bool ctl_is_opt(const char *arg);
/* For verbs whose only argument is NAME: that NAME, checked. */
int ctl_parse_name_only(struct ctl *c, int argc, char **argv, const char **ret_name);

/* rpc.c: the connection to ckptd, through libckpt. ctl_connect() also
 * routes progress to the terminal. */
int ctl_connect(struct ctl *c);
void ctl_disconnect(struct ctl *c);
/* The result r of a libckpt call made with &c->derr (the progress line is
 * cleared either way): a failure is recorded
 * with the library's message (the daemon's, or why the exchange failed). */
int ctl_lib(struct ctl *c, int r);
/* Ctrl-C while the call on c->h waits cancels NAME's checkpoint or
 * restart (a second Ctrl-C leaves at once). */
void ctl_cancel_on_interrupt(struct ctl *c, const char *name);

/* output.c: where `checkpoint -o PATH` writes. A regular file or a new name
 * is written under a temporary name and renamed over PATH by output_commit();
 * anything else that exists is written in place; "-" is stdout. */
struct ctl_output {
	int fd;                 /* what ckptd writes into */
	int own_fd;             /* fd when ckptctl opened it, else -1 */
	bool replace;           /* fd is a temporary file, renamed over target on commit */
	char target[PATH_MAX];  /* the name the temporary file becomes */
};
/* Refuses (with the reason recorded) a directory, a dangling symlink or a terminal. */
int output_open(struct ctl *c, const char *path, struct ctl_output *o);
/* The output is ckptctl's own stdout (-o -, -o /dev/stdout, ...). */
bool output_is_stdout(const struct ctl_output *o);
int output_commit(struct ctl *c, struct ctl_output *o);
/* Close; an uncommitted temporary file is removed. */
void output_close(struct ctl_output *o);

/* hooks.c: --hook PHASE=COMMAND of checkpoint and restart */
#define CTL_MAX_HOOKS 8
struct ctl_hooks {
	size_t n, n_wait;
	char phase[CTL_MAX_HOOKS][32];
	const char *cmd[CTL_MAX_HOOKS];
	const char *names[CTL_MAX_HOOKS];   /* phase[], as the request's notify list */
	const char *wait[CTL_MAX_HOOKS];    /* the phases waited at */
};
int hooks_parse(struct ctl *c, const char *val, struct ctl_hooks *hk);
/* The libckpt phase handler: runs the phase's hook with CKPT_CONTAINER,
 * CKPT_PHASE, CKPT_INIT_PID and CKPT_NETNS set; its exit status answers. */
int hooks_run(const struct ckpt_phase *p, char *reason, size_t reason_size, void *userdata);

void json_init(struct json *j, FILE *f);
void json_string(FILE *f, const char *s);     /* quoted and escaped; NULL -> null */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *val);
void json_u64(struct json *j, const char *key, uint64_t val);
void json_i64(struct json *j, const char *key, int64_t val);
void json_bool(struct json *j, const char *key, bool val);
void json_hex(struct json *j, const char *key, uint64_t val);  /* "0x..." string */
void json_null(struct json *j, const char *key);
/* The separator and key of a value the caller writes to j->f itself. */
void json_raw_begin(struct json *j, const char *key);
/* End the document with a newline and flush. */
int json_finish(struct json *j);
/* A verb's --json answer: one object, on one line, on stdout (stderr when
 * stdout carries an image). The verb writes only its keys between these
 * two; ctl_json_end returns json_finish's result. */
struct json *ctl_json_begin(struct ctl *c);
int ctl_json_end(struct ctl *c);
/* The keys an error object and a --check refusal share, where set:
 * task_pid, task_host_pid, object, reason, hint. */
void json_error_fields(struct json *j, const struct ckpt_error *e);

/* render.c: shared renderers. */
const char *render_state(enum ckpt_state s);
void render_container_json(struct json *j, const char *key, const struct ckpt_container *ci);
void render_net(char *buf, size_t len, const struct ckpt_container *ci);
void render_image_json(struct json *j, const char *key, const struct ckpt_image *ii);
void render_size(char *buf, size_t len, uint64_t bytes);
/* "memory_limit", "pids_limit", "cpus" (a decimal string, "0.5"): those set */
void render_limits_json(struct json *j, uint64_t memory, uint32_t pids, uint32_t cpus_milli);
void render_time(char *buf, size_t len, int64_t unix_secs);
void render_progress(struct ctl *c, const char *phase, bool has_done, uint64_t done,
		     bool has_total, uint64_t total);
void render_progress_clear(struct ctl *c);

/* Verbs (verbs_container.c, verbs_image.c, inspect.c). argv[0] is the verb. */
int verb_run(struct ctl *c, int argc, char **argv);
int verb_list(struct ctl *c, int argc, char **argv);
int verb_logs(struct ctl *c, int argc, char **argv);
int verb_attach(struct ctl *c, int argc, char **argv);
int verb_kill(struct ctl *c, int argc, char **argv);
int verb_rm(struct ctl *c, int argc, char **argv);
int verb_cancel(struct ctl *c, int argc, char **argv);
int verb_version(struct ctl *c, int argc, char **argv);
int verb_check(struct ctl *c, int argc, char **argv);
int verb_checkpoint(struct ctl *c, int argc, char **argv);
int verb_restart(struct ctl *c, int argc, char **argv);
int verb_images(struct ctl *c, int argc, char **argv);
int verb_inspect(struct ctl *c, int argc, char **argv);
int verb_ps(struct ctl *c, int argc, char **argv);
int verb_wait(struct ctl *c, int argc, char **argv);
int verb_stats(struct ctl *c, int argc, char **argv);
int verb_export(struct ctl *c, int argc, char **argv);
/* verbs_check.c: the answer to checkpoint --check (sets the exit status). */
void checkpoint_check_render(struct ctl *c, const char *name, const struct ckpt_checkpoint_result *cr);
int verb_import(struct ctl *c, int argc, char **argv);
int verb_events(struct ctl *c, int argc, char **argv);
