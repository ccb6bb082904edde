// SPDX-License-Identifier: GPL-2.0-or-later
/* Renderers shared by the verbs: states, sizes, times, progress, and the
 * JSON form of a container and of an image. */
#include <inttypes.h>
#include <time.h>

#include "ckptctl.h"
#include "macro.h"

const char *render_state(enum ckpt_state s)
{
	return ckpt_state_name(s);
}

void render_image_json(struct json *j, const char *key, const struct ckpt_image *ii)
{
	json_obj_begin(j, key);
	json_str(j, "id", ii->id);
	json_str(j, "container", ii->container);
	if (ii->has_size)
		json_u64(j, "size", ii->size);
	if (ii->has_created)
		json_i64(j, "created", ii->created);
	if (ii->has_owner_uid)
		json_u64(j, "owner_uid", ii->owner_uid);
	if (ii->has_trusted)
		json_bool(j, "trusted", ii->trusted);
	if (ii->key_id)
		json_str(j, "key_id", ii->key_id);
	if (ii->parent_id)
		json_str(j, "parent_id", ii->parent_id);
	json_obj_end(j);
}

void render_container_json(struct json *j, const char *key, const struct ckpt_container *ci)
{
	json_obj_begin(j, key);
	json_str(j, "name", ci->name);
	json_str(j, "state", render_state(ci->state));
	if (ci->has_pid)
		json_i64(j, "pid", ci->pid);
	if (ci->has_host_pid)
		json_i64(j, "host_pid", ci->host_pid);
	if (ci->has_init_host_pid)
		json_i64(j, "init_host_pid", ci->init_host_pid);
	if (ci->has_exit_status)
		json_i64(j, "exit_status", ci->exit_status);
	if (ci->tty)
		json_bool(j, "tty", true);
	if (ci->has_owner_uid)
		json_u64(j, "owner_uid", ci->owner_uid);
	if (ci->owner)
		json_str(j, "owner", ci->owner);
	json_arr_begin(j, "argv");
	for (size_t i = 0; i < ci->n_argv; i++)
		json_str(j, NULL, ci->argv[i]);
	json_arr_end(j);
	if (ci->has_net) {
		json_str(j, "net", ci->net == CKPT_NET_HOST ? "host" : "private");
		json_arr_begin(j, "publish");
		for (size_t i = 0; i < ci->n_publish; i++)
			json_str(j, NULL, ci->publish[i]);
		json_arr_end(j);
		if (ci->net_address)
			json_str(j, "net_address", ci->net_address);
		if (ci->net_host_address)
			json_str(j, "net_host_address", ci->net_host_address);
		if (ci->net_veth)
			json_str(j, "net_veth", ci->net_veth);
	}
	if (ci->has_caps)
		json_u64(j, "caps", ci->caps);
	if (ci->privileged)
		json_bool(j, "privileged", true);
	if (ci->user)
		json_str(j, "user", ci->user);
	if (ci->root)
		json_str(j, "root", ci->root);
	if (ci->n_bind) {
		json_arr_begin(j, "bind");
		for (size_t i = 0; i < ci->n_bind; i++)
			json_str(j, NULL, ci->bind[i]);
		json_arr_end(j);
	}
	if (ci->userns)
		json_str(j, "userns", ci->userns);
	render_limits_json(j, ci->memory_limit, ci->pids_limit, ci->cpus_milli);
	json_arr_begin(j, "images");
	for (size_t i = 0; i < ci->n_images; i++)
		render_image_json(j, NULL, &ci->images[i]);
	json_arr_end(j);
	json_obj_end(j);
}

void render_limits_json(struct json *j, uint64_t memory, uint32_t pids, uint32_t cpus_milli)
{
	char cpus[32];

	if (memory)
		json_u64(j, "memory_limit", memory);
	if (pids)
		json_u64(j, "pids_limit", pids);
	if (cpus_milli) {
		snprintf(cpus, sizeof(cpus), "%u.%03u", cpus_milli / 1000, cpus_milli % 1000);
		json_str(j, "cpus", cpus);
	}
}

/* "private 10.213.0.6 8080:80/tcp,..." / "host" / "-" */
void render_net(char *buf, size_t len, const struct ckpt_container *ci)
{
	size_t n, i;

	if (!ci->has_net) {
		snprintf(buf, len, "-");
		return;
	}
	n = snprintf(buf, len, "%s", ci->net == CKPT_NET_HOST ? "host" : "private");
	if (ci->net_address && n < len)
		n += snprintf(buf + n, len - n, " %s", ci->net_address);
	for (i = 0; i < ci->n_publish && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%s", i ? "," : " ", ci->publish[i]);
}

void render_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void render_time(char *buf, size_t len, int64_t unix_secs)
{
	time_t t = (time_t)unix_secs;
	struct tm tm;

	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(buf, len, "%" PRId64, unix_secs);
}

/* stdout may carry an image stream: progress only ever goes to a tty on stderr. */
void render_progress(struct ctl *c, const char *phase_in, bool has_done, uint64_t done,
		     bool has_total, uint64_t total)
{
	char phase[41] = "";
	size_t n = 0;

	if (!isatty(STDERR_FILENO))
		return;
	/* The phase comes from the wire: only printable bytes reach the tty. */
	for (const char *s = phase_in ?: ""; *s && n + 1 < sizeof(phase); s++)
		if (*s >= 0x20 && *s < 0x7f)
			phase[n++] = *s;
	phase[n] = '\0';
	fprintf(stderr, "\r\033[K%s", phase);
	if (has_done && has_total)
		fprintf(stderr, " %" PRIu64 "/%" PRIu64, done, total);
	else if (has_done)
		fprintf(stderr, " %" PRIu64, done);
	fflush(stderr);
	c->progress_shown = true;
}

void render_progress_clear(struct ctl *c)
{
	if (!c->progress_shown)
		return;
	fputs("\r\033[K", stderr);
	fflush(stderr);
	c->progress_shown = false;
}
