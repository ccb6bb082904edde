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
	Ckpt__Rpc__ExportRequest er = CKPT__RPC__EXPORT_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
	struct ctl_output o = { .fd = -1, .own_fd = -1 };
	const char *name = NULL, *id = NULL, *output = NULL;
	_cleanup_close_ int img = -1;
	uint64_t bytes = 0;
	size_t nfds = 0;
	bool to_stdout;
	int r;

	if ((r = export_parse(c, argc, argv, &name, &id, &output)) < 0)
		return r;
	er.name = (char *)name;
	er.image_id = (char *)id;
	req.body_case = CKPT__RPC__REQUEST__BODY_EXPORT_IMAGE;
	req.export_image = &er;
	r = ctl_call(c, &req, NULL, 0, CKPT__RPC__RESPONSE__BODY_EXPORT_IMAGE, &resp, &img, 1, &nfds);
	if (r < 0)
		return r;
	if (nfds != 1) {
		ckpt__rpc__response__free_unpacked(resp, NULL);
		return ctl_fail(c, -EPROTO, "ckptd sent no image");
	}
	r = output_open(c, output, &o);
	to_stdout = r >= 0 && output_is_stdout(&o);
	c->stdout_is_image = to_stdout;
	if (r >= 0 && to_stdout && isatty(o.fd))
		r = ctl_fail(c, -EINVAL, "refusing to write an image to a terminal; redirect stdout");
	if (r >= 0)
		r = copy_fd(c, img, o.fd, &bytes);
	if (r >= 0 && bytes != resp->export_image->image_bytes)
		r = ctl_fail(c, -EIO, "image %s: %" PRIu64 " bytes copied of %" PRIu64,
			     resp->export_image->image_id, bytes, resp->export_image->image_bytes);
	if (r >= 0)
		r = output_commit(c, &o);
	output_close(&o);
	if (r >= 0) {
		FILE *out = to_stdout ? stderr : stdout;

		if (c->json) {
			struct json j;

			json_init(&j, out);
			json_obj_begin(&j, NULL);
			json_str(&j, "name", name);
			json_str(&j, "image_id", resp->export_image->image_id);
			json_str(&j, "output", output);
			json_u64(&j, "image_bytes", bytes);
			json_obj_end(&j);
			json_finish(&j);
		} else {
			fprintf(out, "exported %s image %s to %s: %" PRIu64 " bytes\n", name,
				resp->export_image->image_id, output, bytes);
		}
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return r;
}

int verb_import(struct ctl *c, int argc, char **argv)
{
	Ckpt__Rpc__ImportRequest ir = CKPT__RPC__IMPORT_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	Ckpt__Rpc__Response *resp = NULL;
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
	ir.name = (char *)name;
	req.body_case = CKPT__RPC__REQUEST__BODY_IMPORT_IMAGE;
	req.import_image = &ir;
	r = ctl_call(c, &req, &fd, 1, CKPT__RPC__RESPONSE__BODY_IMPORT_IMAGE, &resp, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (c->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_begin(&j, NULL);
		json_str(&j, "name", name);
		json_str(&j, "image_id", resp->import_image->image_id);
		json_u64(&j, "image_bytes", resp->import_image->image_bytes);
		json_bool(&j, "created", resp->import_image->created);
		json_obj_end(&j);
		json_finish(&j);
	} else {
		printf("imported into %s%s: image %s, %" PRIu64 " bytes\n", name,
		       resp->import_image->created ? " (created)" : "", resp->import_image->image_id,
		       resp->import_image->image_bytes);
	}
	ckpt__rpc__response__free_unpacked(resp, NULL);
	return 0;
}
