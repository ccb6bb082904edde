// SPDX-License-Identifier: GPL-2.0-or-later
/* Who may ask (access.h). The decisions are pure functions of the
 * credentials the kernel gives for the socket's peer: what the peer says
 * about itself is never read for them. */
#include "access.h"
#include "macro.h"
#include <grp.h>
#include <sys/socket.h>

#define ACCESS_GROUPS_FIRST 64
#define ACCESS_GRBUF_MAX (1 << 20)

int access_policy_init(struct access_policy *p, const char *group)
{
	_cleanup_free_ char *buf = NULL;
	struct group gr, *res = NULL;
	size_t len = 4096;
	int r;

	*p = (struct access_policy){ 0 };
	snprintf(p->group, sizeof(p->group), "%s", group);
	for (;;) {
		free(buf);
		buf = malloc(len);
		if (!buf)
			return -ENOMEM;
		r = getgrnam_r(group, &gr, buf, len, &res);
		if (r != ERANGE || len >= ACCESS_GRBUF_MAX)
			break;
		len *= 2;
	}
	/* "not found" comes back as 0 or as one of these, depending on NSS */
	if (r == 0 || r == ENOENT || r == ESRCH || r == EBADF || r == EPERM) {
		if (res) {
			p->has_group = true;
			p->gid = res->gr_gid;
		}
		return 0;
	}
	return -r;
}

enum access_class access_classify(const struct access_policy *p, uid_t uid, gid_t gid, const gid_t *groups,
				  size_t ngroups)
{
	size_t i;

	if (uid == 0)
		return ACCESS_ROOT;
	if (!p->has_group)
		return ACCESS_DENIED;
	if (gid == p->gid)
		return ACCESS_MEMBER;
	for (i = 0; i < ngroups; i++)
		if (groups[i] == p->gid)
			return ACCESS_MEMBER;
	return ACCESS_DENIED;
}

int access_peer_read(int fd, struct ucred *ret_cred, gid_t **ret_groups, size_t *ret_ngroups)
{
	_cleanup_free_ gid_t *groups = NULL;
	socklen_t len = sizeof(*ret_cred);
	struct ucred cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	len = ACCESS_GROUPS_FIRST * sizeof(gid_t);
	for (int tries = 0; tries < 2; tries++) {
		free(groups);
		groups = malloc(len ? len : sizeof(gid_t));
		if (!groups)
			return -ENOMEM;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
			break;
		/* ERANGE tells the size needed in len */
		if (errno != ERANGE || tries == 1)
			return -errno;
	}
	*ret_cred = cred;
	*ret_ngroups = len / sizeof(gid_t);
	*ret_groups = TAKE_PTR(groups);
	return 0;
}

bool access_may_act(uid_t peer_uid, uid_t owner_uid)
{
	return peer_uid == 0 || peer_uid == owner_uid;
}
