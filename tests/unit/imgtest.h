// SPDX-License-Identifier: GPL-2.0-or-later
/* What the image tests share: keys, a writer on a memfd, the header record
 * they begin with, and the edits an attacker makes to a written image. */
#pragma once
#include <stdbool.h>
#include <sys/types.h>

#include "image.h"
#include "image.pb-c.h"
#include "mac.h"

/* A key of 32 bytes fill, its id set. */
void imgtest_key(struct mac_key *k, unsigned char fill);
/* w on a new memfd (returned), keyed with key unless NULL. */
int imgtest_writer(struct image_writer *w, const struct mac_key *key);
/* The header record of a one-container x86_64 image of 4 KiB pages. */
void imgtest_header(Ckpt__Img__Header *h);
/* The unkeyed chain of every record recomputed, as anyone can (image.h). */
void imgtest_rechecksum(int fd);
/* One bit of the byte at off changed. */
void imgtest_flip(int fd, off_t off);
