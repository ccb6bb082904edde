// SPDX-License-Identifier: GPL-2.0-or-later
/* Logging to the journal with structured fields when run by systemd. */
#pragma once
#include <stdbool.h>

/* stderr is connected to journald (JOURNAL_STREAM matches it). */
bool journal_stderr_is_journal(void);
/* Route log lines to journald when stderr goes there; stderr otherwise. */
void journal_setup(void);
