// SPDX-License-Identifier: GPL-2.0-or-later
/* Small files of ckptd's own state (a container's record, its argv):
 * written whole or not at all, and durable once written. */
#pragma once
#include <stddef.h>

/* Write buf as dir_fd/name: a temporary file, every byte written,
 * fsynced, renamed over name, the directory fsynced. On failure name
 * still holds its previous contents. Returns 0 or -errno. */
int statefile_write(int dir_fd, const char *name, const void *buf, size_t len);
/* Read dir_fd/name (never following a symlink) into a NUL-terminated
 * buffer of at most max bytes; -EFBIG if it is longer. */
int statefile_read(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len);
