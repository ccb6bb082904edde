// SPDX-License-Identifier: GPL-2.0-or-later
/* Lifecycle events: a subscriber is a connection that sent an
 * EventsRequest; each event is one non-final Response to it.
 *
 * The loop never waits for a subscriber. Its queue is its socket's send
 * buffer, bounded by EVENTS_MAX_UNREAD: a subscriber with more than that
 * unread (or whose socket is full) gets a final "overflow" event and is
 * closed, so a stuck reader costs a bounded amount of memory and nothing
 * else. */
#include "access.h"
#include "events.h"
#include "container.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "wire.h"
#include <linux/sockios.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <time.h>

/* socket memory of unread events (the kernel's accounting, not payload) */
#define EVENTS_MAX_UNREAD (64 * 1024)

/* Which containers' events a peer sees: root every container, a member of
 * ckptd's group only its own (access.c). */
static bool events_may_see(const struct conn *c, const struct container *ct)
{
	return access_may_act(c->uid, ct->owner_uid);
}

static int64_t events_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void events_fill(Ckpt__Rpc__Response *resp, Ckpt__Rpc__Event *ev, const char *type,
			const char *container, char *details)
{
	ev->type = (char *)type;
	ev->container = (char *)container;
	ev->time_us = events_now_us();
	ev->details = details;
	resp->body_case = CKPT__RPC__RESPONSE__BODY_EVENT;
	resp->event = ev;
}

/* The last word to a subscriber that fell behind: best effort, then gone. */
static void events_drop(struct conn *c)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Event ev = CKPT__RPC__EVENT__INIT;

	log_warn("client pid %d: events: not reading, dropped", (int)c->pid);
	events_fill(&resp, &ev, "overflow", NULL, "events were lost: the subscriber did not keep up");
	resp.final = true;
	(void)wire_send_msg(c->fd, &resp.base, NULL, 0);
	conn_close(c);
}

static bool events_backlogged(const struct conn *c)
{
	int queued = 0;

	return ioctl(c->fd, SIOCOUTQ, &queued) == 0 && queued > EVENTS_MAX_UNREAD;
}

void events_publish(struct server *srv, const char *type, const struct container *ct,
		    const char *fmt, ...)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Event ev = CKPT__RPC__EVENT__INIT;
	char details[256] = "";
	struct conn *c, *next;
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(details, sizeof(details), fmt, ap);
		va_end(ap);
	}
	events_fill(&resp, &ev, type, ct->name, fmt ? details : NULL);
	for (c = srv->conns; c; c = next) {
		int r;

		next = c->next;
		if (!c->events || !events_may_see(c, ct))
			continue;
		if (events_backlogged(c)) {
			events_drop(c);
			continue;
		}
		r = wire_send_msg(c->fd, &resp.base, NULL, 0);
		if (r == -EAGAIN || r == -ENOBUFS)
			events_drop(c);
		else if (r < 0)
			conn_close(c);
	}
}

void events_subscribe(struct conn *c, const Ckpt__Rpc__Request *req, int *fds, size_t nfds)
{
	Ckpt__Rpc__Response resp = CKPT__RPC__RESPONSE__INIT;
	Ckpt__Rpc__Event ev = CKPT__RPC__EVENT__INIT;

	/* the first event says the subscription is in place: what happens
	 * after the client has read it, it will hear of */
	events_fill(&resp, &ev, "subscribed", NULL, NULL);
	if (conn_send(c, &resp, NULL, 0) < 0)
		return;
	c->events = true;
}
