#include "dump.h"
#include "log.h"
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
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

void cr_tune_stream(int fd)
{
	struct stat st;

	/* A 64 KiB pipe costs a context switch every 64 KiB of a GiB image;
	 * the largest an unprivileged reader could also set is plenty. */
	if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
		(void)fcntl(fd, F_SETPIPE_SZ, 1 << 20);
}

const char *cr_task_path(pid_t pid, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/root%s", pid, path);

	return n > 0 && (size_t)n < len ? buf : NULL;
}
