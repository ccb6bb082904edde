// SPDX-License-Identifier: GPL-2.0-or-later
/* Who may ask ckptd, and for what. Root may do everything; members of the
 * configured group may use ckptd on what they own; everyone else is
 * refused before anything they send is decoded. Every handler asks
 * access_may_act() before it touches a container or an image. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct ucred;

struct access_policy {
	char group[33];         /* the configured name, for messages */
	bool has_group;         /* it exists: its members may connect */
	gid_t gid;
};

enum access_class {
	ACCESS_DENIED = 0,
	ACCESS_MEMBER,
	ACCESS_ROOT,
};

/* Resolve the group by name. A group that does not exist leaves ckptd to
 * root alone (has_group false, returns 0); -errno if the lookup failed. */
int access_policy_init(struct access_policy *p, const char *group);

/* What a peer with these credentials may do: uid 0 is root; a uid whose
 * primary gid or one of whose supplementary gids is the group's is a
 * member; nobody else may use ckptd. */
enum access_class access_classify(const struct access_policy *p, uid_t uid, gid_t gid, const gid_t *groups,
				  size_t ngroups);

/* The credentials of a connected AF_UNIX peer as the kernel recorded them
 * at connect(): SO_PEERCRED and SO_PEERGROUPS. *ret_groups is malloc'ed. */
int access_peer_read(int fd, struct ucred *ret_cred, gid_t **ret_groups, size_t *ret_ngroups);

/* May a peer act on (see, change, remove) a container or an image owned by
 * owner? Root on everything, anyone else on their own only. */
bool access_may_act(uid_t peer_uid, uid_t owner_uid);
