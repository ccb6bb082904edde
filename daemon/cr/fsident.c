// SPDX-License-Identifier: GPL-2.0-or-later
/* File system identity of the calling thread (fsident.h). Raw system
 * calls: glibc's setgroups() changes every thread of the process. */
#include "fsident.h"
#include "macro.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* uid's groups, looked up once (one worker restores for one owner). */
static int owner_groups(uid_t uid, gid_t gid, gid_t *groups)
{
	static gid_t cache[CR_MAX_GROUPS];
	static int ncache = -1;
	static uid_t cuid;
	static gid_t cgid;
	struct passwd *pw;
	int n = CR_MAX_GROUPS;

	if (ncache < 0 || cuid != uid || cgid != gid) {
		pw = getpwuid(uid);
		if (!pw || getgrouplist(pw->pw_name, gid, cache, &n) < 0) {
			cache[0] = gid;
			n = 1;
		}
		ncache = n;
		cuid = uid;
		cgid = gid;
	}
	memcpy(groups, cache, ncache * sizeof(*groups));
	return ncache;
}

int fs_ident_enter(uid_t uid, gid_t gid, struct fs_ident *saved)
{
	gid_t groups[CR_MAX_GROUPS];
	int n;

	saved->changed = false;
	if (uid == 0 && gid == 0)
		return 0;
	saved->ngroups = getgroups(CR_MAX_GROUPS, saved->groups);
	if (saved->ngroups < 0)
		return -errno;
	n = owner_groups(uid, gid, groups);
	if (syscall(SYS_setgroups, n, groups) < 0)
		return -errno;
	saved->changed = true;
	saved->fsgid = (gid_t)syscall(SYS_setfsgid, gid);
	saved->fsuid = (uid_t)syscall(SYS_setfsuid, uid);
	/* setfsuid() says nothing of failure: ask again */
	if ((uid_t)syscall(SYS_setfsuid, -1) != uid || (gid_t)syscall(SYS_setfsgid, -1) != gid) {
		fs_ident_leave(saved);
		return -EPERM;
	}
	return 0;
}

void fs_ident_leave(const struct fs_ident *saved)
{
	if (!saved->changed)
		return;
	syscall(SYS_setfsuid, saved->fsuid);
	syscall(SYS_setfsgid, saved->fsgid);
	syscall(SYS_setgroups, saved->ngroups, saved->groups);
}

int fs_ident_may(uid_t uid, gid_t gid, int fd, int mode)
{
	struct fs_ident saved;
	int r = fs_ident_enter(uid, gid, &saved);

	if (r < 0)
		return r;
	/* AT_EACCESS: the fs identity, not the real one */
	r = (int)syscall(SYS_faccessat2, fd, "", mode, AT_EACCESS | AT_EMPTY_PATH) < 0 ? -errno : 0;
	fs_ident_leave(&saved);
	return r;
}

bool fs_ident_has_group(uid_t uid, gid_t gid, gid_t g)
{
	gid_t groups[CR_MAX_GROUPS];
	int n;

	if (uid == 0 || g == gid)
		return true;
	n = owner_groups(uid, gid, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}
