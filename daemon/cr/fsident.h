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
