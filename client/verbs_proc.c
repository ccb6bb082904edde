// SPDX-License-Identifier: GPL-2.0-or-later
/* Verbs about a container's life: ps, wait, stats. */
#include <inttypes.h>

#include "ckptctl.h"
#include "macro.h"


/* A command line may hold any byte but NUL: one row each, whatever it
 * holds, so newlines, tabs, other control characters and backslashes are
 * written as C escapes (--json keeps the raw string). */
static void put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\\')
			fputs("\\\\", stdout);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\t')
			fputs("\\t", stdout);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

static void ps_table(const struct ckpt_ps_result *p)
{
	printf("%7s  %7s  %7s  %-5s  %s\n", "PID", "HOSTPID", "PPID", "STATE", "COMMAND");
	for (size_t i = 0; i < p->n_processes; i++) {
		const struct ckpt_process *pi = &p->processes[i];

		printf("%7d  %7d  %7d  %-5s  ", pi->pid, pi->host_pid, pi->ppid, pi->state ?: "?");
		put_escaped(pi->command ?: "");
		putchar('\n');
	}
}

int verb_ps(struct ctl *c, int argc, char **argv)
{
	struct ckpt_ps_result res = {};
	const char *name = NULL;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_ps(c->h, name, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_arr_begin(j, "processes");
		for (size_t i = 0; i < res.n_processes; i++) {
			const struct ckpt_process *pi = &res.processes[i];

			json_obj_begin(j, NULL);
			json_i64(j, "pid", pi->pid);
			json_i64(j, "host_pid", pi->host_pid);
			json_i64(j, "ppid", pi->ppid);
			json_str(j, "state", pi->state);
			json_str(j, "command", pi->command);
			json_obj_end(j);
		}
		json_arr_end(j);
		ctl_json_end(c);
	} else {
		ps_table(&res);
	}
	ckpt_ps_result_free(&res);
	return 0;
}

int verb_wait(struct ctl *c, int argc, char **argv)
{
	struct ckpt_container_result res = {};
	const struct ckpt_container *ci = &res.container;
	const char *name = NULL;
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_wait(c->h, name, &res, &c->derr))) < 0)
		return r;
	/* without a status it failed: one answer, the error object */
	if (!ci->has_exit_status) {
		r = ctl_fail(c, -ENODATA, "%s stopped, its exit status is unknown (ckptd restarted meanwhile)",
			     ci->name);
	} else if (c->json) {
		struct json *j = ctl_json_begin(c);

		render_container_json(j, "container", ci);
		ctl_json_end(c);
	} else {
		printf("%s exited with status %d\n", ci->name, ci->exit_status);
	}
	/* the workload's status becomes ours, as with the shell's wait */
	if (ci->has_exit_status)
		c->exit_status = ci->exit_status & 0xff;
	ckpt_container_result_free(&res);
	return r;
}

int verb_stats(struct ctl *c, int argc, char **argv)
{
	struct ckpt_stats_result res = {}, *s = &res;
	const char *name = NULL;
	char mem[32] = "-", img[32];
	int r;

	if ((r = ctl_parse_name_only(c, argc, argv, &name)) < 0)
		return r;
	if ((r = ctl_connect(c)) < 0 || (r = ctl_lib(c, ckpt_stats(c->h, name, &res, &c->derr))) < 0)
		return r;
	if (c->json) {
		struct json *j = ctl_json_begin(c);

		json_str(j, "name", name);
		json_str(j, "state", render_state(s->state));
		if (s->has_memory_bytes) {
			json_u64(j, "memory_bytes", s->memory_bytes);
			json_str(j, "memory_source", s->memory_source);
		}
		json_u64(j, "processes", s->processes);
		json_u64(j, "images", s->images);
		json_u64(j, "image_bytes", s->image_bytes);
		render_limits_json(j, s->memory_limit, s->pids_limit, s->cpus_milli);
		ctl_json_end(c);
	} else {
		if (s->has_memory_bytes)
			render_size(mem, sizeof(mem), s->memory_bytes);
		render_size(img, sizeof(img), s->image_bytes);
		printf("%-12s  %10s  %-14s  %5s  %6s  %s\n", "STATE", "MEMORY", "(SOURCE)", "PROCS", "IMAGES",
		       "IMAGE BYTES");
		printf("%-12s  %10s  %-14s  %5u  %6u  %s\n", render_state(s->state), mem,
		       s->memory_source ?: "-", s->processes, s->images, img);
		if (s->memory_limit || s->pids_limit || s->cpus_milli) {
			char lim[32] = "-";

			if (s->memory_limit)
				render_size(lim, sizeof(lim), s->memory_limit);
			printf("limits: memory %s, pids ", lim);
			s->pids_limit ? printf("%u", s->pids_limit) : printf("-");
			s->cpus_milli ? printf(", cpus %u.%03u\n", s->cpus_milli / 1000, s->cpus_milli % 1000)
				      : printf(", cpus -\n");
		}
	}
	ckpt_stats_result_free(&res);
	return 0;
}
