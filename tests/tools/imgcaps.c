// SPDX-License-Identifier: GPL-2.0-or-later
/* imgcaps IN OUT HEXCAPS: copy an image, giving every task whose record
 * saves credentials the capabilities HEXCAPS too (permitted, effective
 * and bounding), and recompute the tail and the chained checksums so that
 * only restart's check of what the container may have can stop it. For
 * the containment e2e test. */
#include "imgrewrite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A TASK record that saves credentials gets the capabilities too. */
static int raise_caps(void *arg, uint32_t type, const unsigned char *p, size_t len, unsigned char **ret_p,
		      size_t *ret_len)
{
	uint64_t caps = *(const uint64_t *)arg;
	Ckpt__Img__Task *t;
	int r = 0;

	if (type != IMG_TASK || !(t = ckpt__img__task__unpack(NULL, len, p)))
		return 0;
	if (t->creds) {
		t->creds->cap_prm |= caps;
		t->creds->cap_eff |= caps;
		t->creds->cap_bnd |= caps;
		r = img_repack(&t->base, ret_p, ret_len);
	}
	ckpt__img__task__free_unpacked(t, NULL);
	return r;
}

int main(int argc, char **argv)
{
	uint64_t caps;
	long changed;

	if (argc != 4)
		return 2;
	caps = strtoull(argv[3], NULL, 16);
	changed = img_rewrite(argv[1], argv[2], raise_caps, &caps);
	if (changed < 0)
		return 2;
	printf("%ld\n", changed);
	return changed ? 0 : 1;
}
