// SPDX-License-Identifier: GPL-2.0-or-later
/* The fill of a restart --lazy, as ckptd sees it (daemon/cr/lazy.h): the
 * restart's worker hands over the filler's report socket, its pidfd and a
 * dup of every userfaultfd it serves. ckptd holding those means that a
 * filler that dies leaves the faulting threads blocked, never reading
 * zeroes where their data was: ckptd then kills the container. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct container;
struct server;

/* fds[n] (taken) from the restart's worker: the first ones are the report
 * socket and the pidfd, then userfaultfds. */
void lazyfill_take(struct container *c, int *fds, size_t n);
/* A fill is under way. */
bool lazyfill_running(const struct container *c);
/* Kill the filler and let go of everything (the container goes). */
void lazyfill_stop(struct container *c);
/* The init exited while a fill went on: by the program's own end, or
 * killed by the kernel with a filler that died (its guard, daemon/cr/
 * lazy.c), whose own end may trail the init's. A filler that ends within
 * a short wait (the loop goes on meanwhile) is heard as ever (the latter
 * is a failed fill, fill-failed); one still running is stopped, as
 * lazyfill_stop. */
void lazyfill_init_exited(struct container *c);
/* At start, after the containers are loaded: a filler that an earlier
 * ckptd left going is found (by its status memfd, daemon/cr/lazy.h) and
 * watched as if this ckptd had started it: a dup of each of its
 * userfaultfds kept, the container busy until it ends, killed if it dies
 * before every page is in. */
int lazyfill_adopt_all(struct server *srv);
