// SPDX-License-Identifier: GPL-2.0-or-later
/* Kernel features C/R relies on, probed (never by version number). */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct kerndat_feature {
	const char *name;
	bool ok;
	char detail[160];
};

/* Probe everything; fills up to max entries, returns the count or -errno. */
int kerndat_check(struct kerndat_feature *ret, size_t max);
