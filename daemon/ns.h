// SPDX-License-Identifier: GPL-2.0-or-later
/* The namespaces a container owns besides its pid and mount namespaces:
 * UTS (its hostname), IPC (its SysV objects and POSIX message queues) and
 * time (its own CLOCK_MONOTONIC and CLOCK_BOOTTIME). The init creates them
 * with clone3(CLONE_NEWUTS|CLONE_NEWIPC) and ns_setup(), before any process
 * of the container exists. A private network namespace (net.c) comes from
 * clone3(CLONE_NEWNET) at run and from ns_setup() at restart. */
#pragma once
#include "cr.h"
#include <stdbool.h>
#include <stddef.h>

#define NS_HOSTNAME_MAX CR_UTS_NAME_MAX

/* RFC 1123 labels separated by dots: [A-Za-z0-9-], no label empty or
 * starting or ending with '-', 1-64 bytes in all. */
bool ns_hostname_valid(const char *name);
/* The hostname a container gets by default: its name with '_' as '-' (a
 * container name is otherwise a hostname). */
void ns_default_hostname(const char *container, char buf[NS_HOSTNAME_MAX + 1]);

/* In the init, before the first task: set the UTS names, create the time
 * namespace with offsets that make its clocks read cfg's now (or the
 * host's, without cfg->has_clocks), and enter it, so that init and every
 * task it forks share it. Returns 0 or -errno. */
/* Set in a restart's init that clone3 gave a network namespace of its own
 * (run --userns, --net private): ns_setup makes no other. */
extern bool ns_net_at_clone;
int ns_setup(const struct cr_ns_config *cfg);
/* In the init of a restart, after ns_setup and before the first task: the
 * semaphore set again, at its id, with its key, owner, mode and values. */
int ns_sem_create(const struct cr_sem_set *set);
