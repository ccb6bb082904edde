// SPDX-License-Identifier: GPL-2.0-or-later
#include "fault.h"
#include <stdlib.h>
#include <string.h>

bool fault_at(const char *point)
{
	const char *f = getenv("CKPTD_FAULT");

	return f && strcmp(f, point) == 0;
}

int fault_inject(struct cr_error *err, const char *point)
{
	if (!fault_at(point))
		return 0;
	return cr_fail(err, CR_ERR_INTERNAL, 0, "fault injected at %s (CKPTD_FAULT)", point);
}
