// SPDX-License-Identifier: GPL-2.0-or-later
/* The hint table (hint.h). A row is the fix for one kind of error, written
 * as ckptctl commands; in it %N is the container, %A the kind's argument,
 * %U the user and %I " -i FILE" when the image came from a file. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hint.h"
#include "macro.h"
#include "rpc.pb-c.h"

#define E(x) CKPT__RPC__ERROR_CODE__##x

struct hint_row {
	const char *text;
	const char *arg;         /* %A when the facts give none */
};

static const struct hint_row hint_rows[HINT_KIND_MAX] = {
	[HINT_NO_CONTAINER] = { .text = "'ckptctl list' shows the containers you may use" },
	[HINT_NO_CONTAINER_RESTART] = { .text = "'ckptctl list' shows the containers you may use; "
					"'ckptctl restart %N -i FILE' makes %N from an image file" },
	[HINT_NO_IMAGE] = { .text = "'ckptctl images %N' lists its images" },
	[HINT_NO_STORED_IMAGE] = { .text = "'ckptctl checkpoint %N' stores one; "
				   "'ckptctl restart %N -i FILE' restarts from an image file" },
	[HINT_NAME_TAKEN] = { .text = "'ckptctl rm %N' removes it and its images, or choose another name" },
	[HINT_NAME_TAKEN_OTHER] = { .text = "choose another name: this one is another user's container" },
	[HINT_BUSY] = { .text = "'ckptctl cancel %N' stops its %A (it stays as it was), or wait for it to end",
		.arg = "operation" },
	[HINT_BUSY_WAIT] = { .text = "wait for its %A to end, then try again", .arg = "operation" },
	[HINT_MAX_OPS] = { .text = "try again once one has ended, or raise ckptd's --max-ops" },
	[HINT_RUNNING] = { .text = "checkpoint it first ('ckptctl checkpoint %N'), "
			   "or restart the image under a new name: 'ckptctl restart NEWNAME -i FILE'" },
	[HINT_CHECKPOINTED] = { .text = "it has no processes until 'ckptctl restart %N' brings them back" },
	[HINT_STOPPED] = { .text = "its workload has ended ('ckptctl logs %N' shows how); "
			   "'ckptctl run %N -- CMD' starts it again" },
	[HINT_UNTRUSTED] = { .text = "if you trust where it came from, 'ckptctl restart %N%I --trust-image'; "
			     "or copy the image.key of the ckptd that wrote it into %A",
				.arg = "ckptd's --trusted-keys directory" },
	[HINT_FILE_CHANGED] = { .text = "if the program copes with the file as it is now, "
				"'ckptctl restart %N%I --allow-changed-files'" },
	[HINT_CAPABILITY] = { .text = "the container lacks %A: one run with '--cap-add %A' has it "
			      "('ckptctl run NAME --cap-add %A -- CMD')",
				.arg = "that capability" },
	[HINT_PORT_TAKEN] = { .text = "publish another host port, or free this one with 'ckptctl rm %A'",
		.arg = "the container that has it" },
	[HINT_PORT_IN_USE] = { .text = "something else holds that address or port ('ss -ltnup' shows what): "
			       "free it and try again" },
	[HINT_NET_HELD] = { .text = "'ckptctl checkpoint %A' (or 'ckptctl rm %A') frees it for this restart",
			    .arg = "the container that has it" },
	[HINT_EMFILE] = { .text = "ckptd ran out of file descriptors: raise its limit "
			  "(LimitNOFILE= in ckptd.service, or 'ulimit -n' before starting ckptd)" },
	[HINT_STORE_FULL] = { .text = "the store is full: 'ckptctl images' lists the images, 'ckptctl images rm NAME ID' "
			      "removes one; or write the image elsewhere with '-o FILE'" },
	[HINT_REFUSED] = { .text = "'ckptctl checkpoint %N --check' lists everything a checkpoint would refuse, at once" },
	[HINT_DENIED] = { .text = "join group %A: as root, 'usermod -aG %A %U', then log in again",
		.arg = "ckpt" },
	[HINT_DENIED_NO_GROUP] = { .text = "only root may use ckptd until group %A exists: as root, "
				   "'groupadd --system %A', restart ckptd, then 'usermod -aG %A %U'",
					.arg = "ckpt" },
	[HINT_NO_DAEMON] = { .text = "is ckptd running? 'systemctl start ckptd', or run 'ckptd' as root "
			     "(--socket or $CKPTD_SOCKET names another socket)" },
};

size_t hint_format(const struct hint_facts *f, char *buf, size_t len)
{
	const struct hint_row *row;
	size_t n = 0;

	if (!len)
		return 0;
	buf[0] = '\0';
	if (f->kind <= HINT_NONE || f->kind >= HINT_KIND_MAX || !hint_rows[f->kind].text)
		return 0;
	row = &hint_rows[f->kind];
	for (const char *p = row->text; *p && n + 1 < len; p++) {
		const char *sub = NULL;

		if (*p == '%' && p[1]) {
			switch (*++p) {
			case 'N': sub = f->name ? f->name : "NAME"; break;
			case 'A': sub = f->arg ? f->arg : row->arg ? row->arg : ""; break;
			case 'U': sub = f->user ? f->user : "USER"; break;
			case 'I': sub = f->from_file ? " -i FILE" : ""; break;
			default: sub = "%"; p--; break;   /* not a placeholder: as it is */
			}
			n += snprintf(buf + n, len - n, "%s", sub);
			n = MIN(n, len - 1);
			continue;
		}
		buf[n++] = *p;
	}
	buf[n] = '\0';
	return n;
}

/* The first "CAP_XXX" in s, into arg. */
static bool hint_capability(const char *s, char *arg, size_t arg_len)
{
	const char *p = s ? strstr(s, "CAP_") : NULL;
	size_t n;

	if (!p || !arg_len)
		return false;
	n = 4 + strspn(p + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_");
	if (n == 4)
		return false;
	snprintf(arg, arg_len, "%.*s", (int)n, p);
	return true;
}

/* "... container NAME's, which is running": NAME, into arg. */
static bool hint_holder(const char *s, char *arg, size_t arg_len)
{
	const char *p = s ? strstr(s, "is container ") : NULL;
	const char *end;

	if (!p || !arg_len)
		return false;
	p += strlen("is container ");
	end = strstr(p, "'s");
	if (!end || end == p)
		return false;
	snprintf(arg, arg_len, "%.*s", (int)(end - p), p);
	return true;
}

enum hint_kind hint_classify(const char *verb, int code, int sys_errno, const char *reason, char *arg,
			     size_t arg_len)
{
	bool checkpoint = verb && streq(verb, "checkpoint");

	if (arg_len)
		arg[0] = '\0';
	switch (sys_errno) {
	case EKEYREJECTED:
		return HINT_UNTRUSTED;
	case EMFILE:
	case ENFILE:
		return HINT_EMFILE;
	case ENOSPC:
	case EDQUOT:
		return HINT_STORE_FULL;
	case EADDRINUSE:
		return hint_holder(reason, arg, arg_len) ? HINT_NET_HELD : HINT_PORT_IN_USE;
	}
	/* the image reader's word for a MAC it can't accept, whose errno a
	 * restart does not pass on */
	if (code == E(ERR_BAD_IMAGE) && reason && strstr(reason, "image not signed"))
		return HINT_UNTRUSTED;
	/* the engine names the option that restores a changed file anyway */
	if (reason && strstr(reason, "--allow-changed-files"))
		return HINT_FILE_CHANGED;
	/* a capability the container lacks; one its task dropped is the
	 * task's own doing, which no option of the container changes */
	if ((code == E(ERR_UNSUPPORTED) || code == E(ERR_BAD_IMAGE)) && !strstr(reason ? reason : "", "the task lacks") &&
	    hint_capability(reason, arg, arg_len))
		return HINT_CAPABILITY;
	if (checkpoint && code == E(ERR_UNSUPPORTED))
		return HINT_REFUSED;
	return HINT_NONE;
}
