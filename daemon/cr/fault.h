// SPDX-License-Identifier: GPL-2.0-or-later
/* Fault injection for tests (CRIU's CKPT-style switch): CKPTD_FAULT=<point>
 * in ckptd's environment makes the engine fail at that point, so the tests
 * can drive every rollback path. Points: ckpt-frozen, ckpt-seized,
 * ckpt-pages, ckpt-tail, restore-spawned, restore-pages, restore-handoff. */
#pragma once
#include "cr.h"
#include <stdbool.h>

bool fault_at(const char *point);
/* fault_at() and, if so, fail the job with a message naming the point. */
int fault_inject(struct cr_error *err, const char *point);
