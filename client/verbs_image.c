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
#include "wire.h"

#define IMAGE_ID_MAX 128

struct checkpoint_args {
	const char *name;
	const char *output;   /* NULL: store; "-": stdout; else a path */
	bool leave_running;
	bool check;           /* --check: list what would be refused, save nothing */
	uint32_t timeout_s;   /* 0: ckptd's default */
	bool has_ghost_limit;
	uint64_t ghost_limit; /* bytes of one file deleted while open */
	bool external_unix_drop;
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
			a->leave_running = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--check", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			a->check = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--timeout", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_timeout(c, val, &a->timeout_s)) < 0)
				return r;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--ghost-limit", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_ghost_limit(c, val, &a->ghost_limit)) < 0)
				return r;
			a->has_ghost_limit = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--external-unix", 0, true, &val)) != 0) {
			if (r < 0)
				return r;
			if (strcmp(val, "drop"))
				return ctl_usage(c, "--external-unix wants drop, not '%s'", val);
			a->external_unix_drop = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--output", 'o', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (!val[0])
				return ctl_usage(c, "-o wants FILE or -");
			a->output = val;
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
	if (a->check && (a->output || a->leave_running))
		return ctl_usage(c, "--check saves nothing and leaves the container running: no -o, no --leave-running");
	return ctl_check_name(c, a->name);
}

static void checkpoint_render(struct ctl *c, const struct checkpoint_args *a, bool image_on_stdout,
			      const Ckpt__Rpc__CheckpointResponse *cr)
{
	/* When stdout is the image, everything else goes to stderr. */
	FILE *out = image_on_stdout ? stderr : stdout;
	const char *where = cr->image_id ?: (a->output && !streq(a->output, "-") ? a->output : "-");

	if (c->json) {
		struct json j;

		json_init(&j, out);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", a->name);
		if (cr->image_id)
			json_str(&j, "image_id", cr->image_id);
		if (a->output)
			json_str(&j, "output", a->output);
		json_bool(&j, "leave_running", a->leave_running);
		json_u64(&j, "image_bytes", cr->image_bytes);
		if (cr->has_pages)
			json_u64(&j, "pages", cr->pages);
		json_u64(&j, "frozen_us", cr->frozen_us);
		json_u64(&j, "total_us", cr->total_us);
		if (cr->copy)
			json_str(&j, "copy", cr->copy);
		json_obj_end(&j);
		json_finish(&j);
		return;
	}
	fprintf(out, "checkpointed %s: image %s, %" PRIu64 " bytes, frozen %.1f ms, total %.1f ms%s%s\n",
		a->name, where, cr->image_bytes, cr->frozen_us / 1000.0, cr->total_us / 1000.0,
		cr->copy ? ", memory copied " : "", cr->copy ? cr->copy : "");
}

int verb_checkpoint(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__CheckpointRequest cp = CKPT__RPC__CHECKPOINT_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	struct checkpoint_args a = {};
	struct ctl_output o = { .fd = -1, .own_fd = -1 };
	bool image_on_stdout = false;
	int fd = -1, r;

	if ((r = checkpoint_parse(c, argc, argv, &a)) < 0)
		return r;
	if (a.output) {
		if ((r = ctl_connect(c)) < 0)   /* no stray temp file if ckptd is down */
			return r;
		if ((r = output_open(c, a.output, &o)) < 0)
			return r;
		fd = o.fd;
		image_on_stdout = output_is_stdout(&o);
		c->stdout_is_image = image_on_stdout;
	}

	cp.name = (char *)a.name;
	cp.has_leave_running = a.leave_running;
	cp.leave_running = a.leave_running;
	cp.has_to_fd = fd >= 0;
	cp.to_fd = fd >= 0;
	cp.has_timeout_s = a.timeout_s != 0;
	cp.timeout_s = a.timeout_s;
	cp.has_ghost_limit = a.has_ghost_limit;
	cp.ghost_limit = a.ghost_limit;
	cp.has_check_only = a.check;
	cp.check_only = a.check;
	cp.has_external_unix_drop = a.external_unix_drop;
	cp.external_unix_drop = a.external_unix_drop;
	req.body_case = CKPT__RPC__REQUEST__BODY_CHECKPOINT;
	req.checkpoint = &cp;
	c->cancel_name = cp.name;
	r = ctl_call(c, &req, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0,
		     CKPT__RPC__RESPONSE__BODY_CHECKPOINT, &resp, NULL, 0, NULL);
	if (r >= 0 && a.output)
		r = output_commit(c, &o);
	output_close(&o);
	if (r < 0) {
		if (resp)
			ckpt__rpc__response__free_unpacked(resp, NULL);
		return r;
	}
	if (a.check)
		checkpoint_check_render(c, a.name, resp->checkpoint);
	else
		checkpoint_render(c, &a, image_on_stdout, resp->checkpoint);
	ckpt__rpc__response__free_unpacked(resp, NULL);
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

static int restart_parse(struct ctl *c, int argc, char **argv, Ckpt__Rpc__RestartRequest *rq,
			 const char **ret_input)
{
	const char *val;
	int r;

	for (int i = 1; i < argc; i++) {
		if ((r = ctl_opt(c, argc, argv, &i, "--image", 0, true, &val)) != 0) {
			if (r < 0 || (r = check_image_id(c, val)) < 0)
				return r;
			rq->image_id = (char *)val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--timeout", 0, true, &val)) != 0) {
			if (r < 0 || (r = parse_timeout(c, val, &rq->timeout_s)) < 0)
				return r;
			rq->has_timeout_s = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--input", 'i', true, &val)) != 0) {
			if (r < 0)
				return r;
			if (!val[0])
				return ctl_usage(c, "-i wants FILE or -");
			*ret_input = val;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--allow-changed-files", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->has_allow_changed_files = rq->allow_changed_files = true;
		} else if ((r = ctl_opt(c, argc, argv, &i, "--trust-image", 0, false, &val)) != 0) {
			if (r < 0)
				return r;
			rq->has_trust_image = rq->trust_image = true;
		} else if (ctl_is_opt(argv[i])) {
			return ctl_unknown_opt(c, argv[i]);
		} else if (rq->name) {
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		} else {
			rq->name = argv[i];
		}
	}
	if (!rq->name)
		return ctl_usage(c, "missing NAME");
	if (rq->image_id && *ret_input)
		return ctl_usage(c, "--image and -i exclude each other");
	return ctl_check_name(c, rq->name);
}

static void restart_render(struct ctl *c, const Ckpt__Rpc__RestartResponse *rr)
{
	const Ckpt__Rpc__ContainerInfo *ci = rr->container;

	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		render_container_json(&j, "container", ci);
		json_u64(&j, "image_bytes", rr->image_bytes);
		json_u64(&j, "total_us", rr->total_us);
		json_obj_end(&j);
		json_finish(&j);
		return;
	}
	printf("restarted %s: pid %d (host pid %d), %" PRIu64 " bytes, total %.1f ms\n",
	       ci->name, ci->has_pid ? ci->pid : 0, ci->has_host_pid ? ci->host_pid : 0,
	       rr->image_bytes, rr->total_us / 1000.0);
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
	Ckpt__Rpc__RestartRequest rq = CKPT__RPC__RESTART_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	_cleanup_close_ int file_fd = -1;
	const char *input = NULL;
	int fd = -1, r;

	if ((r = restart_parse(c, argc, argv, &rq, &input)) < 0)
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
	rq.has_from_fd = fd >= 0;
	rq.from_fd = fd >= 0;
	req.body_case = CKPT__RPC__REQUEST__BODY_RESTART;
	req.restart = &rq;
	c->cancel_name = rq.name;
	r = ctl_call(c, &req, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0,
		     CKPT__RPC__RESPONSE__BODY_RESTART, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	restart_render(c, resp->restart);
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}

static void images_table(const Ckpt__Rpc__ImagesResponse *ir)
{
	int wc = 9, wi = 2;

	for (size_t i = 0; i < ir->n_images; i++) {
		wc = MAX(wc, (int)strlen(ir->images[i]->container));
		wi = MAX(wi, (int)strlen(ir->images[i]->id));
	}
	printf("%-*s  %-*s  %10s  %-19s  %-7s  %s\n", wc, "CONTAINER", wi, "ID", "SIZE", "CREATED", "TRUSTED", "KEY");
	for (size_t i = 0; i < ir->n_images; i++) {
		const Ckpt__Rpc__ImageInfo *ii = ir->images[i];
		char size[32] = "-", created[64] = "-";

		if (ii->has_size)
			render_size(size, sizeof(size), ii->size);
		if (ii->has_created)
			render_time(created, sizeof(created), ii->created);
		printf("%-*s  %-*s  %10s  %-19s  %-7s  %s\n", wc, ii->container, wi, ii->id, size, created,
		       !ii->has_trusted ? "-" : ii->trusted ? "yes" : "NO", ii->key_id ? ii->key_id : "-");
	}
}

/* images rm NAME ID */
static int images_rm(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__ImageRmRequest rm = CKPT__RPC__IMAGE_RM_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
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
	rm.name = argv[2];
	rm.image_id = argv[3];
	req.body_case = CKPT__RPC__REQUEST__BODY_IMAGE_RM;
	req.image_rm = &rm;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_IMAGE_RM, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	ckpt__rpc__response__free_unpacked(resp, NULL);
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", rm.name);
		json_str(&j, "image_id", rm.image_id);
		json_bool(&j, "removed", true);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("removed image %s of %s\n", rm.image_id, rm.name);
	}
	return 0;
}

int verb_images(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__ImagesRequest im = CKPT__RPC__IMAGES_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	int r;

	/* "images rm" alone lists a container named rm */
	if (argc > 2 && streq(argv[1], "rm"))
		return images_rm(c, argc, argv);
	for (int i = 1; i < argc; i++) {
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (im.name)
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		im.name = argv[i];
	}
	if (im.name && (r = ctl_check_name(c, im.name)) < 0)
		return r;
	req.body_case = CKPT__RPC__REQUEST__BODY_IMAGES;
	req.images = &im;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_IMAGES, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_arr_begin(&j, "images");
		for (size_t i = 0; i < resp->images->n_images; i++)
			render_image_json(&j, NULL, resp->images->images[i]);
		json_arr_end(&j);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		images_table(resp->images);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}
