// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's user namespace (run --userns): ids 0..USERNS_COUNT-1
 * inside are one range of the host's, the same for uids and gids.
 *
 * ckptd picks a range from its pool unless root names one; no two
 * containers' ranges overlap and none holds host id 0. The range is part
 * of the container (its state file) and of its image (Header
 * userns_uid_map, userns_gid_map); every Creds record of such an image
 * holds ids as seen inside the namespace. */
#pragma once
#include "image.pb-c.h"
#include "proc.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define USERNS_COUNT 65536u
/* The pool: 0x70000000 + n * 65536, n < USERNS_POOL_SLOTS; above the ids
 * systemd gives its containers (up to 0x6fffffff), below its foreign
 * range (0x7ffe0000) and the ids with the sign bit set. */
#define USERNS_POOL_START 0x70000000u
#define USERNS_POOL_SLOTS 4094u
/* extents of one map an image may carry */
#define USERNS_MAX_EXTENTS 5

struct userns_range {
	uint32_t base, count;
};

/* Whether [base, base+count) is a range a container may have (not 0, no
 * wrap, below 2^31); NULL or why not. */
const char *userns_range_check(uint32_t base, uint32_t count);
bool userns_overlap(struct userns_range a, struct userns_range b);
/* The lowest pool range that overlaps none of used[0..n): 0, or -ENOSPC. */
int userns_pick(const struct userns_range *used, size_t n, uint32_t *ret_base);

/* A uid_map or gid_map of an image: at most USERNS_MAX_EXTENTS extents,
 * none empty, wrapping, overlapping another or mapping host id 0, and
 * inside ids from 0 on. NULL or why not. */
const char *userns_map_check(Ckpt__Img__IdMapExtent *const *m, size_t n);
/* Is the map exactly [0, count) -> [base, base+count)? */
bool userns_map_is(Ckpt__Img__IdMapExtent *const *m, size_t n, uint32_t base, uint32_t count);

/* Write "0 BASE COUNT" to /proc/PID/uid_map and gid_map (the caller holds
 * CAP_SETUID and CAP_SETGID above the namespace). 0 or -errno. */
int userns_write_maps(pid_t pid, uint32_t base, uint32_t count);
/* In a task that just made the namespace: become its root (uid, gid 0,
 * no supplementary group). 0 or -errno. */
int userns_become_root(void);

/* A status's ids as seen from the host, in place, as the namespace sees
 * them; false if one is not in the range (the caller refuses). */
bool userns_status_inside(struct proc_status *st, uint32_t base, uint32_t count, uint32_t *ret_bad);
