// SPDX-License-Identifier: GPL-2.0-or-later
/* The events stream: one EventsRequest, then an Event per Response for as
 * long as the caller wants them. */
#include <errno.h>
#include <string.h>

#include "libckpt.h"
#include "wire.h"

static int deliver(const Ckpt__Rpc__Event *e, ckpt_event_fn fn, void *userdata)
{
	const struct ckpt_event ev = {
		.type = e->type,
		.container = e->container,
		.time_us = e->time_us,
		.details = e->details,
	};

	return fn(&ev, userdata);
}

int ckpt_events(struct ckpt *h, ckpt_event_fn fn, void *userdata, struct ckpt_error *err)
{
	Ckpt__Rpc__EventsRequest rq = CKPT__RPC__EVENTS_REQUEST__INIT;
	Ckpt__Rpc__Request req = CKPT__RPC__REQUEST__INIT;
	int r;

	req.body_case = CKPT__RPC__REQUEST__BODY_EVENTS;
	req.events = &rq;
	if ((r = ckpt_send(h, &req, NULL, 0, err)) < 0)
		return r;
	for (;;) {
		Ckpt__Rpc__Response *resp = NULL;
		bool final, overflow;

		/* a final answer is an error or the overflow event, nothing else */
		r = ckpt_recv(h, &resp, err);
		if (r < 0)
			return r;
		if (resp->error) {
			r = ckpt_err_from_proto(err, resp->error);
			ckpt__rpc__response__free_unpacked(resp, NULL);
			return r;
		}
		if (resp->body_case != CKPT__RPC__RESPONSE__BODY_EVENT) {
			ckpt__rpc__response__free_unpacked(resp, NULL);
			return ckpt_err_client(err, -EPROTO, "unexpected reply from ckptd to events");
		}
		final = resp->final;
		overflow = !strcmp(resp->event->type, "overflow");
		r = deliver(resp->event, fn, userdata);
		ckpt__rpc__response__free_unpacked(resp, NULL);
		if (overflow || final)
			return ckpt_err_client(err, -ENOBUFS, "ckptd dropped this subscriber: it did not keep up");
		if (r != 0)
			return r;
	}
}
