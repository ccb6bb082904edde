// SPDX-License-Identifier: GPL-2.0-or-later
/* Argument helpers and the first-error-wins failure record. */
#include <stdarg.h>

#include "ckptctl.h"
#include "macro.h"

static void ctl_vrecord(struct ctl *c, int r, const char *fmt, va_list ap)
{
	/* Keep the first reason: it is the cause, later ones are fallout. */
	if (c->error[0])
		return;
	errno = r < 0 ? -r : EINVAL;
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
}

int ctl_fail(struct ctl *c, int r, const char *fmt, ...)
{
	va_list ap;

	if (r >= 0)
		r = -EIO;
	va_start(ap, fmt);
	ctl_vrecord(c, r, fmt, ap);
	va_end(ap);
	return r;
}

int ctl_usage(struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->error[0])
		c->usage_error = true;
	va_start(ap, fmt);
	ctl_vrecord(c, -EINVAL, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int ctl_check_name(struct ctl *c, const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CTL_NAME_MAX)
		return ctl_usage(c, "invalid name '%.80s': must be 1-%d characters", name, CTL_NAME_MAX);
	if (name[0] == '.')
		return ctl_usage(c, "invalid name '%s': must not start with '.'", name);
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return ctl_usage(c, "invalid name '%s': only [A-Za-z0-9_.-] allowed", name);
	return 0;
}

bool ctl_is_opt(const char *arg)
{
	/* "-" alone is a value (stdin/stdout), not an option. */
	return arg[0] == '-' && arg[1] != '\0';
}

int ctl_unknown_opt(struct ctl *c, const char *arg)
{
	return ctl_usage(c, "unknown option '%s'", arg);
}

int ctl_opt(struct ctl *c, int argc, char **argv, int *i, const char *lng, char shrt,
	    bool want_value, const char **ret_val)
{
	const char *a = argv[*i];
	size_t n = strlen(lng);

	if (!strncmp(a, lng, n) && a[n] == '=') {
		if (!want_value)
			return ctl_usage(c, "%s takes no value", lng);
		*ret_val = a + n + 1;
		return 1;
	}
	if (!streq(a, lng) && !(shrt && a[0] == '-' && a[1] == shrt && a[2] == '\0'))
		return 0;
	if (!want_value) {
		*ret_val = NULL;
		return 1;
	}
	if (*i + 1 >= argc)
		return ctl_usage(c, "%s needs a value", a);
	*ret_val = argv[++*i];
	return 1;
}

int ctl_parse_name_only(struct ctl *c, int argc, char **argv, const char **ret_name)
{
	const char *name = NULL;

	for (int i = 1; i < argc; i++) {
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (name)
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		name = argv[i];
	}
	if (!name)
		return ctl_usage(c, "missing NAME");
	*ret_name = name;
	return ctl_check_name(c, name);
}
