// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl's connection to ckptd: libckpt's, with progress on the terminal
 * and the library's errors recorded as ckptctl's. */
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>

#include "ckptctl.h"
#include "hint.h"
#include "macro.h"

struct ctl_cancel {
	struct ctl *c;
	const char *name;
	struct ckpt *h;            /* held until our answer: closing it early is fine too */
};

static struct ctl_cancel ctl_cancel;

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
	/* the first error is the one reported: a later failure of the
	 * library must not lend it its fields and hint */
	if (c->error[0]) {
		memset(&c->derr, 0, sizeof(c->derr));
		return r;
	}
	return ctl_fail(c, r, "%s", c->derr.message[0] ? c->derr.message : strerror(-r));
}

/* Why ckptd could not be reached, and what to do about it: start it, or
 * join the group the socket lets in. */
static void ctl_connect_hint(struct ctl *c)
{
	struct hint_facts hf = { .kind = HINT_NONE };
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = NULL;
	struct stat st;
	bool seen;

	switch (c->derr.sys_errno) {
	case ENOENT:
	case ECONNREFUSED:
		hf.kind = HINT_NO_DAEMON;
		break;
	case EACCES:
	case EPERM:
		/* the socket's group is the one ckptd lets in; root's means
		 * there is none (a socket out of sight: the default's) */
		seen = stat(c->socket_path, &st) == 0;
		if (seen && st.st_gid)
			gr = getgrgid(st.st_gid);
		hf.kind = gr || !seen ? HINT_DENIED : HINT_DENIED_NO_GROUP;
		hf.arg = gr ? gr->gr_name : NULL;
		hf.user = pw ? pw->pw_name : NULL;
		break;
	}
	hint_format(&hf, c->derr.hint, sizeof(c->derr.hint));
}

int ctl_connect(struct ctl *c)
{
	int r;

	if (c->h)
		return 0;
	r = ckpt_connect(c->socket_path, &c->h, &c->derr);
	if (r < 0 && c->derr.code == CKPT_E_CLIENT)
		ctl_connect_hint(c);
	if (r < 0)
		return ctl_lib(c, r);
	ckpt_set_progress(c->h, on_progress, c);
	return 0;
}

void ctl_disconnect(struct ctl *c)
{
	ckpt_close(ctl_cancel.h);
	ctl_cancel.h = NULL;
	ckpt_close(c->h);
	c->h = NULL;
}

/* ---- Ctrl-C: cancel the operation we wait for ---- */

static volatile sig_atomic_t ctl_interrupted;

static void ctl_on_sigint(int sig)
{
	/* a second Ctrl-C while the cancel runs: leave at once */
	if (ctl_interrupted) {
		signal(SIGINT, SIG_DFL);
		raise(SIGINT);
	}
	ctl_interrupted = 1;
}

/* Ask ckptd, on a connection of its own, to cancel the operation; our
 * own answer then says how it ended. */
static void ctl_on_interrupt(void *userdata)
{
	struct ctl_cancel *k = userdata;

	if (!ctl_interrupted || k->h)
		return;
	render_progress_clear(k->c);
	fprintf(stderr, "ckptctl: canceling the %s of %s (Ctrl-C again to leave at once)\n", k->c->verb, k->name);
	if (ckpt_connect(k->c->socket_path, &k->h, NULL) < 0)
		return;
	if (ckpt_cancel_start(k->h, k->name, NULL) < 0) {
		ckpt_close(k->h);
		k->h = NULL;
	}
}

void ctl_cancel_on_interrupt(struct ctl *c, const char *name)
{
	struct sigaction sa = { .sa_handler = ctl_on_sigint };   /* no SA_RESTART: the wait sees EINTR */

	if (!c->h)
		return;
	ctl_cancel = (struct ctl_cancel){ .c = c, .name = name };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	ckpt_set_interrupt(c->h, ctl_on_interrupt, &ctl_cancel);
}
