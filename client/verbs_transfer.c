// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl export NAME [ID] -o FILE|-  and  ckptctl import NAME -i FILE|-:
 * stored images out of one store and into another (another ckptd, another
 * machine, another container name). export gets the image as an fd and
 * copies it; import hands its input to ckptd, which verifies and stores it. */
#include <fcntl.h>
#include <inttypes.h>

#include "ckptctl.h"
#include "macro.h"

static int copy_fd(struct ctl *c, int in, int out, uint64_t *ret_bytes)
{
	static char buf[1 << 20];
	uint64_t total = 0;

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_fail(c, negerrno(), "reading the image: %m");
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return ctl_fail(c, negerrno(), "writing the image: %m");
			off += w;
		}
		total += n;
	}
	*ret_bytes = total;
	return 0;
}

static int export_parse(struct ctl *c, int argc, char **argv, const char **name, const char **id,
			const char **output)
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		int r = ctl_opt(c, argc, argv, &i, "--output", 'o', true, &v);

		if (r < 0)
			return r;
		if (r > 0) {
			*output = v;
			continue;
		}
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (!*name)
			*name = argv[i];
		else if (!*id)
			*id = argv[i];
		else
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
	}
	if (!*name)
		return ctl_usage(c, "missing NAME");
	if (!*output)
		return ctl_usage(c, "missing -o FILE (or -o - for stdout)");
	return ctl_check_name(c, *name);
}

int verb_export(struct ctl *c, int argc, char **argv)
{
	struct ckpt_export_result res = { .fd = -1 };
	struct ctl_output o = { .fd = -1, .own_fd = -1 };
	const char *name = NULL, *id = NULL, *output = NULL;
	uint64_t bytes = 0;
	bool to_stdout;
	int r;

	if ((r = export_parse(c, argc, argv, &name, &id, &output)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_export(c->h, name, id, &res, &c->derr))) < 0)
		return r;
	r = output_open(c, output, &o);
	to_stdout = r >= 0 && output_is_stdout(&o);
	c->stdout_is_image = to_stdout;
	if (r >= 0 && to_stdout && isatty(o.fd))
		r = ctl_fail(c, -EINVAL, "refusing to write an image to a terminal; redirect stdout");
	if (r >= 0)
		r = copy_fd(c, res.fd, o.fd, &bytes);
	if (r >= 0 && bytes != res.image_bytes)
		r = ctl_fail(c, -EIO, "image %s: %" PRIu64 " bytes copied of %" PRIu64,
			     res.image_id, bytes, res.image_bytes);
	if (r >= 0)
		r = output_commit(c, &o);
	output_close(&o);
	if (r >= 0) {
		FILE *out = to_stdout ? stderr : stdout;

		if (c->json) {
			struct json *j = ctl_json_begin(c);

			json_str(j, "name", name);
			json_str(j, "image_id", res.image_id);
			json_str(j, "output", output);
			json_u64(j, "image_bytes", bytes);
			ctl_json_end(c);
		} else {
			fprintf(out, "exported %s image %s to %s: %" PRIu64 " bytes\n", name,
				res.image_id, output, bytes);
		}
	}
	ckpt_export_result_free(&res);
	return r;
}

int verb_import(struct ctl *c, int argc, char **argv)
{
	struct ckpt_import_result res = {};
	const char *name = NULL, *input = NULL;
	_cleanup_close_ int file_fd = -1;
	int fd, r;

	for (int i = 1; i < argc; i++) {
		const char *v;

		r = ctl_opt(c, argc, argv, &i, "--input", 'i', true, &v);
		if (r < 0)
			return r;
		if (r > 0) {
			input = v;
			continue;
		}
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (name)
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		name = argv[i];
	}
	if (!name)
		return ctl_usage(c, "missing NAME");
	if (!input)
		return ctl_usage(c, "missing -i FILE (or -i - for stdin)");
	if ((r = ctl_check_name(c, name)) < 0)
		return r;
	if (streq(input, "-")) {
		if (isatty(STDIN_FILENO))
			return ctl_fail(c, -EINVAL, "refusing to read an image from a terminal; redirect stdin");
		fd = STDIN_FILENO;
	} else {
		fd = file_fd = open(input, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return ctl_fail(c, negerrno(), "open %s: %m", input);
	}
	if ((r = ctl_connect(c)) < 0 ||
	    (r = ctl_lib(c, ckpt_import(c->h, name, &(struct ckpt_import_opts){ .fd = fd }, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_str(j, "image_id", res.image_id);
		json_u64(j, "image_bytes", res.image_bytes);
		json_bool(j, "created", res.created);
		ctl_json_end(c);
	} else {
		printf("imported into %s%s: image %s, %" PRIu64 " bytes\n", name,
		       res.created ? " (created)" : "", res.image_id,
		       res.image_bytes);
	}
	ckpt_import_result_free(&res);
	return 0;
}
