// SPDX-License-Identifier: GPL-2.0-or-later
/* The container's mount namespace, set up by its init before the workload
 * or the first restored task exists, the same at run and at restart:
 *  - a fresh /proc of its pid namespace, the host's detached beneath it;
 *  - its own devpts (the console and its ptys);
 *  - unless privileged: a cgroup namespace at the container's cgroup, its
 *    cgroup2 mounts made again there (other containers' cgroups out of
 *    reach), cgroup v1 hierarchies and ckptd's runtime dir, state dir and
 *    store masked by empty read-only tmpfs;
 *  - with --root: that directory as "/" (pivot_root, the host's detached),
 *    with /proc, a minimal /dev, /sys read-only and the cgroup2 mount;
 *  - each --bind SRC:DST[:ro] of the host, in the container's root. */
#pragma once
#include "contain.h"

#define ROOTFS_MAX_HIDE 3

struct rootfs_config {
	const struct cr_contain *contain;
	const char *hide[ROOTFS_MAX_HIDE];   /* host dirs to mask; NULL ends */
};

/* In the init, in its new mount namespace (and new pid namespace).
 * Returns 0, or -errno with *ret_what naming the step that failed. */
int rootfs_setup(const struct rootfs_config *cfg, const char **ret_what);
