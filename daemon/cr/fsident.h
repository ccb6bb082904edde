// SPDX-License-Identifier: GPL-2.0-or-later
/* A thread's file system identity (fsuid, fsgid, supplementary groups),
 * taken for a while: restart reopens files as the container's owner, so an
 * image opens nothing its owner could not. */
#pragma once
#include "cr_limits.h"
#include <stdbool.h>
#include <sys/types.h>

struct fs_ident {
	bool changed;
	uid_t fsuid;
	gid_t fsgid;
	int ngroups;
	gid_t groups[CR_MAX_GROUPS];
};

/* Take uid's identity (gid and uid's groups) on this thread, saving ours
 * in *saved; uid 0 with gid 0 changes nothing. On failure nothing stays
 * changed. */
int fs_ident_enter(uid_t uid, gid_t gid, struct fs_ident *saved);
/* Give back what fs_ident_enter saved. */
void fs_ident_leave(const struct fs_ident *saved);
/* Whether uid (gid and uid's groups) may access what fd refers to with
 * mode (R_OK, W_OK, X_OK): 0 or -errno (-EACCES: it may not). */
int fs_ident_may(uid_t uid, gid_t gid, int fd, int mode);
/* Whether uid with gid has group g (root has every group). */
bool fs_ident_has_group(uid_t uid, gid_t gid, gid_t g);
