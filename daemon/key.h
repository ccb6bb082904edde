// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd's image key and the keys it trusts (mac.h).
 *
 * Its own key is STATE/keys/image.key: 32 random bytes made at first start,
 * in a directory only root can enter (0700, file 0600), never reached
 * through a symlink. Images it writes carry its MAC. Trusted keys are the
 * image.key files of other machines, copied by the administrator into the
 * --trusted-keys directory: images they wrote restore here too. A key is a
 * shared secret, not a signature key: whoever holds a copy can make images
 * every machine holding it accepts. */
#pragma once
#include <stddef.h>

#include "mac.h"

#define KEY_DEFAULT_TRUSTED_DIR "/etc/ckptd/trusted-keys"

struct key_ring {
	struct mac_key *keys;    /* [0]: ckptd's own, then the trusted ones */
	size_t n;
	const char *trusted_dir; /* where the trusted ones come from (for hints) */
};

/* Load STATE/keys/image.key, making it first if there is none. */
int key_load_own(int state_fd, struct mac_key *ret);
/* Every key file in dir (absent: none), appended to ring. */
int key_load_trusted(const char *dir, struct key_ring *ring);
/* Own key, then the trusted ones; logs their ids. */
int key_ring_load(int state_fd, const char *trusted_dir, struct key_ring *ret);
void key_ring_free(struct key_ring *ring);
