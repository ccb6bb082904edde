// SPDX-License-Identifier: GPL-2.0-or-later
/* imgpath IN OUT OLD NEW: copy an image, naming NEW wherever a mapping
 * (MM records) or an inotify watch (FILE records) names OLD, with NEW's
 * size, mtime and file type as the checkpoint would have seen them, and
 * recompute the chained checksums and the byte counts, so that only
 * restart's own checks stand in the way. Exit 1 if nothing names OLD. For
 * the e2e test of what a restart opens as the container's owner. */
#include "imgrewrite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *from, *to;
static struct stat to_st;

/* Name NEW instead of OLD in one record: 1 with the new payload, 0 when
 * it names no OLD. */
static int rewrite(void *arg, uint32_t type, const unsigned char *p, size_t len, unsigned char **ret_p,
		   size_t *ret_len)
{
	size_t n = 0, k, i;
	int r = 0;

	if (type == IMG_MM) {
		Ckpt__Img__Mm *m = ckpt__img__mm__unpack(NULL, len, p);
		char *keep[4096];

		for (i = 0; m && i < m->n_vmas && n < 4096; i++)
			if (m->vmas[i]->path && !strcmp(m->vmas[i]->path, from)) {
				keep[n++] = m->vmas[i]->path;
				m->vmas[i]->path = (char *)to;
				m->vmas[i]->has_file_size = m->vmas[i]->has_file_mtime_ns = true;
				m->vmas[i]->file_size = to_st.st_size;
				m->vmas[i]->file_mtime_ns = to_st.st_mtim.tv_sec * 1000000000ll + to_st.st_mtim.tv_nsec;
			}
		if (n)
			r = img_repack(&m->base, ret_p, ret_len);
		for (i = 0, k = 0; m && i < m->n_vmas; i++)
			if (m->vmas[i]->path == to)
				m->vmas[i]->path = keep[k++];
		if (m)
			ckpt__img__mm__free_unpacked(m, NULL);
		return r;
	}
	if (type == IMG_FILE) {
		Ckpt__Img__File *f = ckpt__img__file__unpack(NULL, len, p);
		char *keep[256];

		for (i = 0; f && i < f->n_inotify_watches && n < 256; i++)
			if (!strcmp(f->inotify_watches[i]->path, from)) {
				keep[n++] = f->inotify_watches[i]->path;
				f->inotify_watches[i]->path = (char *)to;
				f->inotify_watches[i]->ftype = to_st.st_mode & S_IFMT;
			}
		if (n)
			r = img_repack(&f->base, ret_p, ret_len);
		for (i = 0, k = 0; f && i < f->n_inotify_watches; i++)
			if (f->inotify_watches[i]->path == to)
				f->inotify_watches[i]->path = keep[k++];
		if (f)
			ckpt__img__file__free_unpacked(f, NULL);
		return r;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long n;

	if (argc != 5)
		return 2;
	from = argv[3];
	to = argv[4];
	if (lstat(to, &to_st) < 0)
		return 2;
	n = img_rewrite(argv[1], argv[2], rewrite, NULL);
	return n < 0 ? 2 : n == 0 ? 1 : 0;
}
