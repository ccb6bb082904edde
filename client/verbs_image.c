// SPDX-License-Identifier: GPL-2.0-or-later
/* Image verbs: checkpoint, restart, images. Image streams never travel as
 * paths: the client opens the file (or hands over stdin/stdout) and passes
 * the fd by SCM_RIGHTS. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>

#include "ckptctl.h"
#include "macro.h"

#define IMAGE_ID_MAX 128

struct checkpoint_args {
	const char *name;
	const char *output;   /* NULL: store; "-": stdout; else a path */
	struct ckpt_checkpoint_opts o;
	struct ctl_hooks hooks;
};

/* --ghost-limit BYTES: 0 .. 1 TiB */
static int parse_ghost_limit(struct ctl *c, const char *val, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (errno || *end || end == val || val[0] == '-' || v > (1ull << 40))
		return ctl_usage(c, "--ghost-limit wants 0 to %llu bytes, not '%s'", 1ull << 40, val);
	*ret = v;
	return 0;
}

/* --timeout SECONDS: 1 .. one day */
static int parse_timeout(struct ctl *c, const char *val, uint32_t *ret)
{
	char *end;
	unsigned long v = strtoul(val, &end, 10);

	if (*end || end == val || v < 1 || v > 86400)
		return ctl_usage(c, "--timeout wants 1 to 86400 seconds, not '%s'", val);
	*ret = (uint32_t)v;
	return 0;
}

static int checkpoint_parse(struct ctl *c, int argc, char **argv, struct checkpoint_args *a)
{
	const char *val;
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = ctl_opt(c, argc, argv, &i, "--leave-running", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			a->o.leave_running = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--incremental", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			a->o.incremental = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--full", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			a->o.full = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--compress", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (strcmp(val, "zstd") && strcmp(val, "none"))
				return ctl_usage(c, "--compress wants zstd or none, not '%s'", val);
			a->o.compress = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--check", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			a->o.check_only = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--timeout", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_timeout(c, val, &a->o.timeout_s)) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--ghost-limit", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_ghost_limit(c, val, &a->o.ghost_limit)) < 0)
				return r;
			a->o.has_ghost_limit = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--external-unix", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (strcmp(val, "drop"))
				return ctl_usage(c, "--external-unix wants drop, not '%s'", val);
			a->o.external_unix_drop = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--tcp-pending", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (strcmp(val, "refuse") && strcmp(val, "reset"))
				return ctl_usage(c, "--tcp-pending wants refuse or reset, not '%s'", val);
			a->o.tcp_pending_reset = streq(val, "reset");
		} else if ((r = ctl_opt(c, argc, argv, &i, "--output", 'o', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (!val[0])
				return ctl_usage(c, "-o wants FILE or -");
			a->output = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--hook", 0, true, &val)) != 0) {
			if (r < 0 || (r = hooks_parse(c, val, &a->hooks)) < 0)
				return r;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (a->name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			a->name = argv[i];
		}
	}
	if (!a->name)
		return ctl_usage(c, "missing NAME");
	if (a->o.check_only && (a->output || a->o.leave_running))
		return ctl_usage(c, "--check saves nothing and leaves the container running: no -o, no --leave-running");
	if (a->o.incremental && (a->output || a->o.check_only))
		return ctl_usage(c, "--incremental images are kept in the store, with their parents: no -o, no --check");
	return ctl_check_name(c, a->name);
}

static void checkpoint_render(struct ctl *c, const struct checkpoint_args *a, bool image_on_stdout,
			      const struct ckpt_checkpoint_result *cr)
{
	/* When stdout is the image, everything else goes to stderr. */
	FILE *out = image_on_stdout ? stderr : stdout;
	const char *where = cr->image_id ?: (a->output && !streq(a->output, "-") ? a->output : "-");

	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", a->name);
		if (cr->image_id)
			json_str(j, "image_id", cr->image_id);
		if (a->output)
			json_str(j, "output", a->output);
		json_bool(j, "leave_running", a->o.leave_running);
		json_u64(j, "image_bytes", cr->image_bytes);
		if (cr->has_pages)
			json_u64(j, "pages", cr->pages);
		json_u64(j, "frozen_us", cr->frozen_us);
		json_u64(j, "total_us", cr->total_us);
		if (cr->copy)
			json_str(j, "copy", cr->copy);
		if (cr->parent_id)
			json_str(j, "parent_id", cr->parent_id);
		if (cr->full_reason)
			json_str(j, "full_reason", cr->full_reason);
		if (cr->pages_raw_bytes) {
			json_u64(j, "pages_raw_bytes", cr->pages_raw_bytes);
			json_u64(j, "pages_stored_bytes", cr->pages_stored_bytes);
		}
		ctl_json_end(c);
		return;
	}
	fprintf(out, "checkpointed %s: image %s, %" PRIu64 " bytes, frozen %.1f ms, total %.1f ms%s%s\n",
		a->name, where, cr->image_bytes, cr->frozen_us / 1000.0, cr->total_us / 1000.0,
		cr->copy ? ", memory copied " : "", cr->copy ? cr->copy : "");
	if (cr->pages_raw_bytes)
		fprintf(out, "compressed: %" PRIu64 " bytes of pages stored in %" PRIu64 "\n", cr->pages_raw_bytes,
			cr->pages_stored_bytes);
	if (cr->parent_id)
		fprintf(out, "incremental: only the pages written since image %s\n", cr->parent_id);
	else if (cr->full_reason)
		fprintf(out, "full image: %s\n", cr->full_reason);
}

int verb_checkpoint(struct ctl *c, int argc, char **argv)
{
	struct checkpoint_args a = { .o.fd = -1 };
	struct ckpt_checkpoint_result res = {};
	struct ctl_output o = { .fd = -1, .own_fd = -1 };
	bool image_on_stdout = false;
	int r;

	if ((r = checkpoint_parse(c, argc, argv, &a)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0)   /* no stray temp file if ckptd is down */
		return r;
	if (a.output) {
		if ((r = output_open(c, a.output, &o)) < 0)
			return r;
		a.o.to_fd = true;
		a.o.fd = o.fd;
		image_on_stdout = output_is_stdout(&o);
		c->stdout_is_image = image_on_stdout;
	}

	a.o.notify = a.hooks.names;
	a.o.n_notify = a.hooks.n;
	a.o.wait = a.hooks.wait;
	a.o.n_wait = a.hooks.n_wait;
	ckpt_set_phase_handler(c->h, hooks_run, &a.hooks);
	ctl_cancel_on_interrupt(c, a.name);
	r = ctl_lib(c, ckpt_checkpoint(c->h, a.name, &a.o, &res, &c->derr));
	if (r >= 0 && a.output)
		r = output_commit(c, &o);
	output_close(&o);
	if (r < 0) {
		ckpt_checkpoint_result_free(&res);
		return r;
	}
	if (a.o.check_only)
		checkpoint_check_render(c, a.name, &res);
	else
		checkpoint_render(c, &a, image_on_stdout, &res);
	ckpt_checkpoint_result_free(&res);
	return 0;
}

static int check_image_id(struct ctl *c, const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > IMAGE_ID_MAX || strchr(id, '/') || id[0] == '.')
		return ctl_usage(c, "invalid image id '%.80s'", id);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= 0x20 || id[i] == 0x7f)
			return ctl_usage(c, "invalid image id '%.80s'", id);
	return 0;
}

#define RESTART_MAX_CAPS 64

static int restart_parse(struct ctl *c, int argc, char **argv, const char **ret_name,
			 struct ckpt_restart_opts *rq, struct ctl_hooks *hooks, const char **ret_input)
{
	static const char *caps[RESTART_MAX_CAPS];
	const char *val;
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = ctl_opt(c, argc, argv, &i, "--image", 0, true, &val)) != 0) {
			if (r < 0 || (r = check_image_id(c, val)) < 0)
				return r;
			rq->image_id = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--timeout", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_timeout(c, val, &rq->timeout_s)) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--input", 'i', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (!val[0])
				return ctl_usage(c, "-i wants FILE or -");
			*ret_input = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--allow-changed-files", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->allow_changed_files = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--trust-image", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->trust_image = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--lazy", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->lazy = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--hook", 0, true, &val)) != 0) {
			if (r < 0 || (r = hooks_parse(c, val, hooks)) < 0)
				return r;
		} else if (!strncmp(argv[i], "--userns=", 9)) {
			if ((r = parse_userns_base(c, argv[i] + 9, &rq->userns_base)) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--privileged", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->privileged = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--cap-add", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (rq->n_cap_add >= RESTART_MAX_CAPS)
				return ctl_usage(c, "too many --cap-add (at most %d)", RESTART_MAX_CAPS);
			caps[rq->n_cap_add++] = val;
			rq->cap_add = caps;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (*ret_name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			*ret_name = argv[i];
		}
	}
	if (!*ret_name)
		return ctl_usage(c, "missing NAME");
	if (rq->image_id && *ret_input)
		return ctl_usage(c, "--image and -i exclude each other");
	if ((rq->privileged || rq->n_cap_add) && !*ret_input)
		return ctl_usage(c, "--privileged and --cap-add are for a restart under a new name, with -i");
	return ctl_check_name(c, *ret_name);
}

static void restart_render(struct ctl *c, const struct ckpt_restart_result *rr)
{
	const struct ckpt_container *ci = &rr->container;

	if (c->json) {
		struct json *j = ctl_json_begin(c);

		render_container_json(j, "container", ci);
		json_u64(j, "image_bytes", rr->image_bytes);
		json_u64(j, "total_us", rr->total_us);
		if (rr->lazy_bytes)
			json_u64(j, "lazy_bytes", rr->lazy_bytes);
		ctl_json_end(c);
		return;
	}
	printf("restarted %s: pid %d (host pid %d), %" PRIu64 " bytes, total %.1f ms\n",
	       ci->name, ci->has_pid ? ci->pid : 0, ci->has_host_pid ? ci->host_pid : 0,
	       rr->image_bytes, rr->total_us / 1000.0);
	if (rr->lazy_bytes)
		printf("filling %" PRIu64 " bytes of memory in the background\n", rr->lazy_bytes);
}

/* In "ckptctl checkpoint x -o - | ckptctl restart x -i -" both ends start
 * at once, and a restart request that reaches ckptd before the checkpoint
 * request would find x still running. The first image byte in the pipe
 * proves the checkpoint is under way, so wait for it (or for EOF) first. */
static int restart_wait_input(struct ctl *c, int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return ctl_fail(c, negerrno(), "wait for image input: %m");
	return 0;
}

int verb_restart(struct ctl *c, int argc, char **argv)
{
	struct ckpt_restart_opts rq = { .fd = -1 };
	struct ckpt_restart_result res = {};
	struct ctl_hooks hooks = {};
	_cleanup_close_ int file_fd = -1;
	const char *name = NULL, *input = NULL;
	int fd = -1, r;

	if ((r = restart_parse(c, argc, argv, &name, &rq, &hooks, &input)) < 0)
		return r;
	if (input && streq(input, "-")) {
		if (isatty(STDIN_FILENO))
			return ctl_fail(c, -EINVAL, "refusing to read an image from a terminal; redirect stdin");
		fd = STDIN_FILENO;
	} else if (input) {
		file_fd = open(input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (file_fd < 0)
			return ctl_fail(c, negerrno(), "open %s: %m", input);
		fd = file_fd;
	}

	if (fd >= 0 && (r = restart_wait_input(c, fd)) < 0)
		return r;
	rq.from_fd = fd >= 0;
	rq.fd = fd;
	rq.notify = hooks.names;
	rq.n_notify = hooks.n;
	rq.wait = hooks.wait;
	rq.n_wait = hooks.n_wait;
	if ((r = ctl_connect(c)) == 0) {
		ckpt_set_phase_handler(c->h, hooks_run, &hooks);
		ctl_cancel_on_interrupt(c, name);
	}
	if (r < 0 || (r = ctl_lib(c, ckpt_restart(c->h, name, &rq, &res, &c->derr))) < 0)
		return r;
	restart_render(c, &res);
	ckpt_restart_result_free(&res);
	return 0;
}

static void images_table(const struct ckpt_images_result *ir)
{
	int wc = 9, wi = 2;

	for (size_t i = 0; i < ir->n_images; i++) {
		wc = MAX(wc, (int)strlen(ir->images[i].container));
		wi = MAX(wi, (int)strlen(ir->images[i].id));
	}
	printf("%-*s  %-*s  %10s  %-19s  %-*s  %-7s  %s\n", wc, "CONTAINER", wi, "ID", "SIZE", "CREATED", MAX(wi, 6),
	       "PARENT", "TRUSTED", "KEY");
	for (size_t i = 0; i < ir->n_images; i++) {
		const struct ckpt_image *ii = &ir->images[i];
		char size[32] = "-", created[64] = "-";

		if (ii->has_size)
			render_size(size, sizeof(size), ii->size);
		if (ii->has_created)
			render_time(created, sizeof(created), ii->created);
		printf("%-*s  %-*s  %10s  %-19s  %-*s  %-7s  %s\n", wc, ii->container, wi, ii->id, size, created,
		       MAX(wi, 6), ii->parent_id ? ii->parent_id : "-", !ii->has_trusted ? "-" : ii->trusted ? "yes" : "NO",
		       ii->key_id ? ii->key_id : "-");
	}
}

/* images rm NAME ID */
static int images_rm(struct ctl *c, int argc, char **argv)
{
	int r;

	for (int i = 2; i < argc; i++)
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
	if (argc != 4)
		return ctl_usage(c, "usage: images rm NAME ID");
	if ((r = ctl_check_name(c, argv[2])) < 0)
		return r;
	if (!argv[3][0] || strlen(argv[3]) >= IMAGE_ID_MAX)
		return ctl_usage(c, "bad image id '%s'", argv[3]);
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_image_rm(c->h, argv[2], argv[3], &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", argv[2]);
		json_str(j, "image_id", argv[3]);
		json_bool(j, "removed", true);
		ctl_json_end(c);
	} else {
		printf("removed image %s of %s\n", argv[3], argv[2]);
	}
	return 0;
}

int verb_images(struct ctl *c, int argc, char **argv)
{
	struct ckpt_images_result res = {};
	const char *name = NULL;
	int r;

	/* "images rm" alone lists a container named rm */
	if (argc > 2 && streq(argv[1], "rm"))
		return images_rm(c, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (name)
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		name = argv[i];
	}
	if (name && (r = ctl_check_name(c, name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_images(c->h, name, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_arr_begin(j, "images");
		for (size_t i = 0; i < res.n_images; i++)
			render_image_json(j, NULL, &res.images[i]);
		json_arr_end(j);
		ctl_json_end(c);
	} else {
		images_table(&res);
	}
	ckpt_images_result_free(&res);
	return 0;
}
