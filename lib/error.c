// SPDX-License-Identifier: GPL-2.0-or-later
/* Errors as fields: the daemon's Error message, or a failure on this side. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "libckpt.h"

static const char *const errc_names[] = {
	[CKPT_E_NONE] = "ERR_NONE",
	[CKPT_E_INVALID_REQUEST] = "ERR_INVALID_REQUEST",
	[CKPT_E_PERMISSION_DENIED] = "ERR_PERMISSION_DENIED",
	[CKPT_E_NOT_FOUND] = "ERR_NOT_FOUND",
	[CKPT_E_EXISTS] = "ERR_EXISTS",
	[CKPT_E_BAD_STATE] = "ERR_BAD_STATE",
	[CKPT_E_UNSUPPORTED] = "ERR_UNSUPPORTED",
	[CKPT_E_BAD_IMAGE] = "ERR_BAD_IMAGE",
	[CKPT_E_IO] = "ERR_IO",
	[CKPT_E_BUSY] = "ERR_BUSY",
	[CKPT_E_KERNEL] = "ERR_KERNEL",
	[CKPT_E_INTERNAL] = "ERR_INTERNAL",
	[CKPT_E_CANCELED] = "ERR_CANCELED",
};

/* What a caller that only looks at the return value learns. */
int ckpt_errc_errno(int code)
{
	switch (code) {
	case CKPT_E_INVALID_REQUEST: return -EINVAL;
	case CKPT_E_PERMISSION_DENIED: return -EPERM;
	case CKPT_E_NOT_FOUND: return -ENOENT;
	case CKPT_E_EXISTS: return -EEXIST;
	case CKPT_E_BAD_STATE: return -EBADFD;
	case CKPT_E_UNSUPPORTED: return -EOPNOTSUPP;
	case CKPT_E_BAD_IMAGE: return -EBADMSG;
	case CKPT_E_BUSY: return -EBUSY;
	case CKPT_E_CANCELED: return -ECANCELED;
	default: return -EIO;
	}
}

static void err_reset(struct ckpt_error *err, int code, const char *name)
{
	memset(err, 0, sizeof(*err));
	err->code = code;
	err->code_name = name;
}

static void err_vmessage(struct ckpt_error *err, const char *fmt, va_list ap)
{
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

int ckpt_err_client(struct ckpt_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (r >= 0)
		r = -EIO;
	if (!err)
		return r;
	err_reset(err, CKPT_E_CLIENT, "CLIENT");
	err->sys_errno = -r;
	errno = -r;   /* for %m */
	va_start(ap, fmt);
	err_vmessage(err, fmt, ap);
	va_end(ap);
	return r;
}

int ckpt_err_invalid(struct ckpt_error *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	err_reset(err, CKPT_E_INVALID_REQUEST, errc_names[CKPT_E_INVALID_REQUEST]);
	err->sys_errno = EINVAL;
	va_start(ap, fmt);
	err_vmessage(err, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The strings come from the wire and are shown on terminals: control
 * bytes become spaces. */
static void copy_printable(char *dst, size_t cap, const char *src)
{
	size_t i;

	snprintf(dst, cap, "%s", src ? src : "");
	for (i = 0; dst[i]; i++)
		if ((unsigned char)dst[i] < 0x20 || dst[i] == 0x7f)
			dst[i] = ' ';
}

int ckpt_err_from_proto(struct ckpt_error *err, const Ckpt__Rpc__Error *e)
{
	int code = e->code;
	int r;

	if (code <= CKPT_E_NONE || code > CKPT_E_CANCELED)
		code = CKPT_E_INTERNAL;
	r = ckpt_errc_errno(code);
	if (!err)
		return r;
	err_reset(err, code, errc_names[code]);
	if (e->has_sys_errno && e->sys_errno > 0 && e->sys_errno < 4096)
		err->sys_errno = e->sys_errno;
	err->task_pid = e->has_task_pid ? e->task_pid : 0;
	err->task_host_pid = e->has_task_host_pid ? e->task_host_pid : 0;
	copy_printable(err->message, sizeof(err->message), e->message);
	copy_printable(err->object, sizeof(err->object), e->object);
	copy_printable(err->reason, sizeof(err->reason), e->reason);
	copy_printable(err->hint, sizeof(err->hint), e->hint);
	if (!err->message[0])
		snprintf(err->message, sizeof(err->message), "ckptd error %s", err->code_name);
	return r;
}
