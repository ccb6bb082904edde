// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl checkpoint NAME --check: what a checkpoint would refuse, every
 * object at once. The container is frozen as long as a checkpoint would
 * hold it, nothing is written, and it runs on. Exit status 1 when
 * something would be refused (or the check could not finish), 0 when a
 * checkpoint would succeed. */
#include <inttypes.h>

#include "ckptctl.h"
#include "macro.h"

static void check_json(struct ctl *c, const char *name, const struct ckpt_checkpoint_result *cr)
{
	struct json *j = ctl_json_begin(c);

	json_str(j, "name", name);
	json_bool(j, "ok", cr->n_errors == 0);
	json_arr_begin(j, "errors");
	for (size_t i = 0; i < cr->n_errors; i++) {
		const struct ckpt_error *e = &cr->errors[i];

		json_obj_begin(j, NULL);
		json_str(j, "code", e->code_name);
		json_str(j, "message", e->message);
		json_error_fields(j, e);
		if (e->sys_errno)
			json_i64(j, "sys_errno", e->sys_errno);
		json_obj_end(j);
	}
	json_arr_end(j);
	ctl_json_end(c);
}

void checkpoint_check_render(struct ctl *c, const char *name, const struct ckpt_checkpoint_result *cr)
{
	size_t refused = 0;

	c->exit_status = cr->n_errors ? 1 : 0;
	if (c->json) {
		check_json(c, name, cr);
		return;
	}
	for (size_t i = 0; i < cr->n_errors; i++)
		refused += cr->errors[i].code == CKPT_E_UNSUPPORTED;
	if (!cr->n_errors) {
		printf("%s: a checkpoint would refuse nothing\n", name);
		return;
	}
	printf("%s: a checkpoint would refuse %zu object%s:\n", name, refused, refused == 1 ? "" : "s");
	for (size_t i = 0; i < cr->n_errors; i++) {
		printf("  %s\n", cr->errors[i].message);
		if (cr->errors[i].hint[0])
			printf("    hint: %s\n", cr->errors[i].hint);
	}
}
