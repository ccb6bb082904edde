// SPDX-License-Identifier: GPL-2.0-or-later
/* imgedit IN OUT PATH EDIT...: copy an image, changing the first FILE record
 * whose path is PATH, and recompute the chained checksums and the tail's
 * byte count, so that only the reader's checks of the record stand in the
 * way. EDITs: path=NEW, flags=N (replace), addflags=N (or), rdev=MAJ:MIN,
 * kind=N (numbers as strtoul base 0). Exit 1 if no record has PATH. For
 * the e2e test of what restart may open. */
#include "imgrewrite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

static int edit(Ckpt__Img__File *f, int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		char *v = strchr(argv[i], '=');
		unsigned maj, min;

		if (!v)
			return -1;
		*v++ = 0;
		if (!strcmp(argv[i], "path")) {
			f->path = v;
		} else if (!strcmp(argv[i], "flags")) {
			f->flags = strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "addflags")) {
			f->flags |= strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "kind")) {
			f->kind = strtoul(v, NULL, 0);
		} else if (!strcmp(argv[i], "rdev") && sscanf(v, "%u:%u", &maj, &min) == 2) {
			f->has_rdev = true;
			f->rdev = makedev(maj, min);
		} else {
			return -1;
		}
	}
	return 0;
}

struct file_edit {
	const char *path;
	int argc;
	char **argv;
	bool done;
};

static int edit_record(void *arg, uint32_t type, const unsigned char *p, size_t len, unsigned char **ret_p,
		       size_t *ret_len)
{
	struct file_edit *e = arg;
	Ckpt__Img__File *f;
	char *path;
	int r = 0;

	if (type != IMG_FILE || e->done || !(f = ckpt__img__file__unpack(NULL, len, p)))
		return 0;
	path = f->path;
	if (path && !strcmp(path, e->path)) {
		r = edit(f, e->argc, e->argv) < 0 ? -1 : img_repack(&f->base, ret_p, ret_len);
		e->done = true;
	}
	f->path = path;   /* freed with the message */
	ckpt__img__file__free_unpacked(f, NULL);
	return r;
}

int main(int argc, char **argv)
{
	struct file_edit e;
	long n;

	if (argc < 5)
		return 2;
	e = (struct file_edit){ .path = argv[3], .argc = argc - 4, .argv = argv + 4 };
	n = img_rewrite(argv[1], argv[2], edit_record, &e);
	return n < 0 ? 2 : n == 0 ? 1 : 0;
}
