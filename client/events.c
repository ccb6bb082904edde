// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl events: container lifecycle events as they happen, a line each
 * (--json: a JSON object per line), until interrupted. */
#include <inttypes.h>
#include <time.h>

#include "ckptctl.h"
#include "macro.h"

/* The strings come from the wire and go to a terminal: printable only. */
static void print_clean(const char *s)
{
	for (; s && *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
}

static int on_event(const struct ckpt_event *ev, void *userdata)
{
	struct ctl *c = userdata;

	/* "subscribed" is printed too: a script can wait for it */
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "type", ev->type);
		if (ev->container)
			json_str(j, "container", ev->container);
		json_i64(j, "time_us", ev->time_us);
		if (ev->details)
			json_str(j, "details", ev->details);
		/* the line ends and is flushed: a reader sees it now */
		return ctl_json_end(c) < 0 ? -EIO : 0;
	} else {
		char when[64];
		time_t t = (time_t)(ev->time_us / 1000000);
		struct tm tm;

		if (!localtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm))
			snprintf(when, sizeof(when), "%" PRId64, ev->time_us / 1000000);
		printf("%s.%03d  %-12s  ", when, (int)(ev->time_us / 1000 % 1000), ev->type);
		print_clean(ev->container ?: "-");
		if (ev->details) {
			fputs("  ", stdout);
			print_clean(ev->details);
		}
		putchar('\n');
	}
	return fflush(stdout) == 0 ? 0 : -EIO;
}

int verb_events(struct ctl *c, int argc, char **argv)
{
	int r;

	for (int i = 1; i < argc; i++)
		return ctl_is_opt(argv[i]) ? ctl_unknown_opt(c, argv[i])
					   : ctl_usage(c, "unexpected argument '%s'", argv[i]);
	if ((r = ctl_connect(c)) < 0)
		return r;
	r = ckpt_events(c->h, on_event, c, &c->derr);
	if (r == -EIO)
		return ctl_fail(c, r, "write to stdout: %m");
	return ctl_lib(c, r);
}
