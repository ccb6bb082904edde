// SPDX-License-Identifier: GPL-2.0-or-later
/* What a container may do and see: its capability set, the user its
 * workload runs as, its root filesystem and the host paths bound into it.
 *
 * Part of the container (ckptd's state file) and of its image (Header
 * fields contain_caps..binds). The set bounds every task: run drops the
 * rest from the bounding set of the workload, a restart refuses a task
 * that would hold more (validate_creds_allowed) whatever the image says. */
#pragma once
#include "cr.h"
#include "image.pb-c.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONTAIN_PATH_MAX 256
#define CONTAIN_MAX_BINDS 16
#define CONTAIN_CAP_LAST 40          /* CAP_CHECKPOINT_RESTORE */
#define CONTAIN_CAPS_ALL ((2ull << CONTAIN_CAP_LAST) - 1)

struct contain_bind {
	char src[CONTAIN_PATH_MAX];      /* host path */
	char dst[CONTAIN_PATH_MAX];      /* in the container's root */
	bool ro;
};

struct cr_contain {
	uint64_t caps;                   /* bounding set of every task */
	bool privileged;                 /* every capability, nothing masked */
	bool has_user;                   /* run --user: */
	uint32_t uid, gid;               /* the workload's ids ... */
	uint32_t ngroups;                /* ... and supplementary groups */
	uint32_t groups[CR_MAX_GROUPS];
	char root[CONTAIN_PATH_MAX];     /* "": the host's root */
	uint32_t nbinds;
	struct contain_bind binds[CONTAIN_MAX_BINDS];
	bool userns;                     /* run --userns (userns.h): */
	uint32_t userns_base;            /* ids 0.. inside are base.. on the host */
	uint32_t userns_count;
};

/* Root's containers by default: what a service commonly needs, nothing
 * that reaches the host (README, "Security model"). */
uint64_t contain_default_caps(void);
/* A capability by name ("NET_ADMIN", "cap_net_admin"): its number, or -1. */
int contain_cap_number(const char *name);
const char *contain_cap_name(unsigned cap);
/* "CHOWN,KILL,..." into buf ("" for none). */
void contain_caps_format(uint64_t caps, char *buf, size_t len);
/* "SRC:DST[:ro]" with absolute, ".."-free paths; 0 or -EINVAL. */
int contain_bind_parse(const char *s, struct contain_bind *ret);
/* Absolute, no ".." component, shorter than CONTAIN_PATH_MAX. */
bool contain_path_ok(const char *p);

/* Header fields of c; storage lives in st until the header is written. */
struct contain_hdr {
	Ckpt__Img__ContainBind b[CONTAIN_MAX_BINDS];
	Ckpt__Img__ContainBind *bp[CONTAIN_MAX_BINDS];
	Ckpt__Img__IdMapExtent map;
	Ckpt__Img__IdMapExtent *mapp[1];
};
void contain_to_header(const struct cr_contain *c, Ckpt__Img__Header *h, struct contain_hdr *st);
/* Whether an image's container may come back in container c: its set no
 * larger, and the same user, root, binds and user namespace map (restart sets those up before
 * it reads the image). NULL, or why not. */
const char *contain_check_header(const Ckpt__Img__Header *h, const struct cr_contain *c, char *buf, size_t len);
