// SPDX-License-Identifier: GPL-2.0-or-later
/* Errors that suggest their fix: the one table of what a user is told to
 * do about an error, where there is something to do. Pure: facts in, one
 * line of text out. ckptd fills in the facts only it knows (the container,
 * its state, the operation in its way, the configured group and trusted-keys
 * directory) and sends the hint with the error (rpc.proto Error.hint);
 * ckptctl uses the same table for what fails before ckptd is reached. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum hint_kind {
	HINT_NONE = 0,
	HINT_NO_CONTAINER,       /* name: no such container (or not the peer's) */
	HINT_NO_CONTAINER_RESTART, /* the same, for a restart from the store */
	HINT_NO_IMAGE,           /* name has no image of that id */
	HINT_NO_STORED_IMAGE,    /* name has no stored image at all */
	HINT_NAME_TAKEN,         /* name exists (running or checkpointed) */
	HINT_NAME_TAKEN_OTHER,   /* name is another user's container */
	HINT_BUSY,               /* name runs arg ("checkpoint", "restart"): cancelable */
	HINT_BUSY_WAIT,          /* name runs arg ("kill", "rm", ...): to be waited for */
	HINT_MAX_OPS,            /* ckptd runs --max-ops checkpoints and restarts */
	HINT_RUNNING,            /* restart of a running container */
	HINT_CHECKPOINTED,       /* an operation that needs processes, on a checkpointed one */
	HINT_STOPPED,            /* the same, on a stopped one */
	HINT_UNTRUSTED,          /* the image's MAC is none ckptd trusts; arg: the trusted-keys dir */
	HINT_FILE_CHANGED,       /* a file changed since the checkpoint */
	HINT_CAPABILITY,         /* the container lacks capability arg ("CAP_NET_ADMIN") */
	HINT_PORT_TAKEN,         /* the host port is published by container arg */
	HINT_PORT_IN_USE,        /* an address or port is held by something outside ckptd */
	HINT_NET_HELD,           /* a restart's address or port is running container arg's */
	HINT_EMFILE,             /* ckptd ran out of file descriptors */
	HINT_STORE_FULL,         /* the image store's filesystem (or quota) is full */
	HINT_REFUSED,            /* a checkpoint refused an object: --check lists them all */
	HINT_DENIED,             /* the peer may not use ckptd; arg: the group that may */
	HINT_DENIED_NO_GROUP,    /* ... and that group (arg) does not exist */
	HINT_NO_DAEMON,          /* nothing listens on the socket */
	HINT_KIND_MAX,
};

struct hint_facts {
	enum hint_kind kind;
	const char *name;        /* the container; NULL: "NAME" */
	const char *arg;         /* what the kind says; NULL: the kind's placeholder */
	const char *user;        /* the user, for HINT_DENIED*; NULL: "USER" */
	bool from_file;          /* a restart that read its image from -i FILE */
};

/* The hint for f into buf (NUL-terminated, truncated to len); returns its
 * length, 0 (buf "") when the kind has none. */
size_t hint_format(const struct hint_facts *f, char *buf, size_t len);

/* The kind of an error of a checkpoint, restart or import (verb), as far
 * as its rpc ErrorCode, errno and reason tell; a capability it names goes
 * to arg (arg_len bytes). HINT_NONE: nothing to suggest. */
enum hint_kind hint_classify(const char *verb, int code, int sys_errno, const char *reason, char *arg,
			     size_t arg_len);
