// SPDX-License-Identifier: GPL-2.0-or-later
/* Container lifecycle events (rpc.proto EventsRequest / Event), streamed to
 * every subscriber as they happen. */
#pragma once
#include "rpc.pb-c.h"
#include <stddef.h>

struct conn;
struct container;
struct server;

/* The EventsRequest handler: the connection becomes a subscriber. */
void events_subscribe(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds);

/* Tell every subscriber that may see ct; details (printf) may be NULL. A
 * subscriber that does not keep up is dropped, never waited for. */
void events_publish(struct server *srv, const char *type, const struct container *ct,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
