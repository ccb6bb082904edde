// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl's connection to ckptd: libckpt's, with progress on the terminal
 * and the library's errors recorded as ckptctl's. */
#include "ckptctl.h"
#include "macro.h"

static void on_progress(const char *phase, bool has_done, uint64_t done, bool has_total,
			uint64_t total, void *userdata)
{
	render_progress(userdata, phase, has_done, done, has_total, total);
}

int ctl_lib(struct ctl *c, int r)
{
	render_progress_clear(c);
	if (r >= 0)
		return r;
	return ctl_fail(c, r, "%s", c->derr.message[0] ? c->derr.message : strerror(-r));
}

int ctl_connect(struct ctl *c)
{
	int r;

	if (c->h)
		return 0;
	r = ckpt_connect(c->socket_path, &c->h, &c->derr);
	if (r < 0)
		return ctl_lib(c, r);
	ckpt_set_progress(c->h, on_progress, c);
	return 0;
}

void ctl_disconnect(struct ctl *c)
{
	ckpt_close(c->h);
	c->h = NULL;
}
