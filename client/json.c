// SPDX-License-Identifier: GPL-2.0-or-later
/* A minimal streaming JSON writer: enough for ckptctl --json, no library. */
#include <inttypes.h>

#include "ckptctl.h"
#include "macro.h"

/* Length of a valid UTF-8 sequence at s, or 0 if invalid (overlong,
 * surrogate, out of range, truncated). */
static size_t utf8_seq_len(const unsigned char *s)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)   /* also stops at the NUL */
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Paths and comm names are arbitrary bytes; JSON must be valid UTF-8, so
 * invalid bytes become U+FFFD. */
void json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"': fputs("\\\"", f); p++; continue;
		case '\\': fputs("\\\\", f); p++; continue;
		case '\n': fputs("\\n", f); p++; continue;
		case '\r': fputs("\\r", f); p++; continue;
		case '\t': fputs("\\t", f); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p);
			p++;
			continue;
		}
		n = utf8_seq_len(p);
		if (n == 0) {
			fputs("\\ufffd", f);
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

void json_init(struct json *j, FILE *f)
{
	*j = (struct json){ .f = f, .depth = 0 };
	j->first[0] = true;
}

static void json_key(struct json *j, const char *key)
{
	if (!j->first[j->depth])
		fputc(',', j->f);
	j->first[j->depth] = false;
	if (key) {
		json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void json_open(struct json *j, const char *key, char ch)
{
	json_key(j, key);
	fputc(ch, j->f);
	/* Deeper nesting than we ever emit is a bug; degrade to one level. */
	if (j->depth + 1 < JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json *j, char ch)
{
	fputc(ch, j->f);
	if (j->depth > 0)
		j->depth--;
}

void json_obj_begin(struct json *j, const char *key) { json_open(j, key, '{'); }
void json_obj_end(struct json *j) { json_close(j, '}'); }
void json_arr_begin(struct json *j, const char *key) { json_open(j, key, '['); }
void json_arr_end(struct json *j) { json_close(j, ']'); }

void json_str(struct json *j, const char *key, const char *val)
{
	json_key(j, key);
	json_string(j->f, val);
}

void json_u64(struct json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, val);
}

void json_i64(struct json *j, const char *key, int64_t val)
{
	json_key(j, key);
	fprintf(j->f, "%" PRId64, val);
}

void json_bool(struct json *j, const char *key, bool val)
{
	json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

/* Addresses exceed 2^53, where JSON numbers stop being exact in most parsers. */
void json_hex(struct json *j, const char *key, uint64_t val)
{
	json_key(j, key);
	fprintf(j->f, "\"0x%" PRIx64 "\"", val);
}

void json_raw_begin(struct json *j, const char *key)
{
	json_key(j, key);
}

void json_null(struct json *j, const char *key)
{
	json_key(j, key);
	fputs("null", j->f);
}

int json_finish(struct json *j)
{
	fputc('\n', j->f);
	if (fflush(j->f) != 0)
		return negerrno();
	return 0;
}

/* ---- the one --json path of the verbs ---- */

struct json *ctl_json_begin(struct ctl *c)
{
	/* an image on stdout keeps it: the object goes to stderr then */
	json_init(&c->out, c->stdout_is_image ? stderr : stdout);
	json_obj_begin(&c->out, NULL);
	return &c->out;
}

int ctl_json_end(struct ctl *c)
{
	json_obj_end(&c->out);
	return json_finish(&c->out);
}

void json_error_fields(struct json *j, const struct ckpt_error *e)
{
	if (e->task_pid)
		json_i64(j, "task_pid", e->task_pid);
	if (e->task_host_pid)
		json_i64(j, "task_host_pid", e->task_host_pid);
	if (e->object[0])
		json_str(j, "object", e->object);
	if (e->reason[0])
		json_str(j, "reason", e->reason);
	if (e->hint[0])
		json_str(j, "hint", e->hint);
}
