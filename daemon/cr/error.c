/* The first error of a job, kept for the client. */
#include "cr.h"
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cr_fail(struct cr_error *e, enum cr_errcode code, int err, const char *fmt, ...)
{
	char buf[sizeof(e->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (err > 0) {
		size_t n = strlen(buf);
		snprintf(buf + n, sizeof(buf) - n, ": %s", strerror(err));
	}
	log_error("%s", buf);
	if (e && e->code == CR_OK) {
		e->code = code;
		memcpy(e->msg, buf, sizeof(e->msg));
	}
	return err > 0 ? -err : -EINVAL;
}
