// SPDX-License-Identifier: GPL-2.0-or-later
/* A container's resource limits (run --memory/--pids/--cpus): on cgroup2 when
 * the controller is enabled for the container's cgroup, else in a cgroup of
 * that controller's v1 hierarchy named like the v2 one (ckptd-NAME). */
#pragma once
#include "cgroup.h"
#include <stdint.h>

#define CG_LIMIT_MEMORY_MIN (4ull << 20)
#define CG_LIMIT_MEMORY_MAX (1ull << 50)
#define CG_LIMIT_PIDS_MAX 4194304u

struct cg_limits {
	uint64_t memory;       /* bytes; 0: none */
	uint32_t pids;         /* 0: none */
	uint32_t cpus_milli;   /* thousandths of a CPU; 0: none */
};

static inline bool cg_limits_any(const struct cg_limits *l)
{
	return l && (l->memory || l->pids || l->cpus_milli);
}

/* NULL if within bounds, else why not. */
const char *cg_limits_check(const struct cg_limits *l, char *buf, size_t len);
/* Set the limits for the container NAME (cg: its cgroup) and move pid (its
 * init, before its workload starts) into each v1 cgroup made for them.
 * -EOPNOTSUPP with why naming the controller if this machine lacks it. */
int cg_limits_apply(const char *name, const struct cgroup *cg, const struct cg_limits *l, pid_t pid, char *why,
		    size_t whylen);
/* Remove the v1 cgroups made for NAME's limits (their members must be gone). */
void cg_limits_remove(const char *name);
