// SPDX-License-Identifier: GPL-2.0-or-later
/* Rotation of container logs beyond srv->log_max_bytes (logrot.c). */
#pragma once

struct server;

/* Arm the periodic check (nothing if log_max_bytes is 0). */
int logrot_start(struct server *srv);
