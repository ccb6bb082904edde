// SPDX-License-Identifier: GPL-2.0-or-later
/* The JSON form of image records (docs/image-json.md), generic over the
 * protobuf-c descriptors of proto/image.proto, both ways: a message to
 * JSON for `inspect --json`, JSON back to a message for `inspect --encode`.
 * The mapping is the protobuf JSON mapping with the .proto field names:
 * 64-bit integers as decimal strings, bytes as base64, enums by name;
 * a proto2 optional field that is not set is left out. One addition: a
 * string that is not valid UTF-8 (a path is any bytes) is {"base64": ...},
 * so that decoding and encoding again gives the same bytes. */
#include <inttypes.h>

#include "ckptctl.h"
#include "image_json.h"
#include "macro.h"

/* ---- base64 (RFC 4648, with padding) ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void json_base64(FILE *f, const uint8_t *p, size_t len)
{
	char q[4];

	fputc('"', f);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < len)
			v |= p[i + 2];
		q[0] = b64[v >> 18];
		q[1] = b64[(v >> 12) & 63];
		q[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
		q[3] = i + 2 < len ? b64[v & 63] : '=';
		fwrite(q, 1, 4, f);
	}
	fputc('"', f);
}

static int b64_val(char c)
{
	const char *p = c ? strchr(b64, c) : NULL;

	return p ? (int)(p - b64) : -1;
}

int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out;
	size_t n = 0;

	if (len % 4)
		return -EINVAL;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 4) {
		int a = b64_val(s[i]), b = b64_val(s[i + 1]), c, d;
		bool last = i + 4 == len;

		c = last && s[i + 2] == '=' && s[i + 3] == '=' ? -2 : b64_val(s[i + 2]);
		d = last && s[i + 3] == '=' ? -2 : b64_val(s[i + 3]);
		if (a < 0 || b < 0 || c == -1 || d == -1) {
			free(out);
			return -EINVAL;
		}
		out[n++] = (uint8_t)(a << 2 | b >> 4);
		if (c >= 0)
			out[n++] = (uint8_t)(b << 4 | c >> 2);
		if (c >= 0 && d >= 0)
			out[n++] = (uint8_t)(c << 6 | d);
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

/* ---- message -> JSON ---- */

static bool utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		uint32_t cp;
		size_t n;

		if (*p < 0x80) {
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			n = 2, cp = *p & 0x1f;
		else if ((*p & 0xf0) == 0xe0)
			n = 3, cp = *p & 0x0f;
		else if ((*p & 0xf8) == 0xf0)
			n = 4, cp = *p & 0x07;
		else
			return false;
		for (size_t i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		p += n;
	}
	return true;
}

static void value_json(struct json *j, const char *key, const ProtobufCFieldDescriptor *fd, const void *v);

static void msg_body(struct json *j, const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[i];
		const char *base = (const char *)m;
		const void *member = base + fd->offset;

		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + fd->quantifier_offset);
			const char *arr = *(const char *const *)member;

			if (!n)
				continue;
			json_arr_begin(j, fd->name);
			for (size_t k = 0; k < n; k++)
				value_json(j, NULL, fd, arr + k * image_json_elem_size(fd->type));
			json_arr_end(j);
			continue;
		}
		if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + fd->quantifier_offset) != fd->id)
				continue;
		} else if (fd->label == PROTOBUF_C_LABEL_OPTIONAL || fd->label == PROTOBUF_C_LABEL_NONE) {
			if (fd->type == PROTOBUF_C_TYPE_MESSAGE || fd->type == PROTOBUF_C_TYPE_STRING) {
				/* as protobuf_c_message_pack: a default string is not written */
				const void *p = *(const void *const *)member;

				if (!p || p == fd->default_value)
					continue;
			} else if (fd->quantifier_offset && !*(const protobuf_c_boolean *)(base + fd->quantifier_offset)) {
				continue;
			}
		}
		value_json(j, fd->name, fd, member);
	}
}

static void value_json(struct json *j, const char *key, const ProtobufCFieldDescriptor *fd, const void *v)
{
	const ProtobufCEnumValue *ev;
	char buf[32];

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		json_i64(j, key, *(const int32_t *)v);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		json_u64(j, key, *(const uint32_t *)v);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		snprintf(buf, sizeof(buf), "%" PRId64, *(const int64_t *)v);
		json_str(j, key, buf);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		snprintf(buf, sizeof(buf), "%" PRIu64, *(const uint64_t *)v);
		json_str(j, key, buf);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
		json_raw_begin(j, key);
		fprintf(j->f, "%.9g", (double)*(const float *)v);
		break;
	case PROTOBUF_C_TYPE_DOUBLE:
		json_raw_begin(j, key);
		fprintf(j->f, "%.17g", *(const double *)v);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		json_bool(j, key, *(const protobuf_c_boolean *)v);
		break;
	case PROTOBUF_C_TYPE_ENUM:
		ev = protobuf_c_enum_descriptor_get_value(fd->descriptor, *(const int *)v);
		if (ev)
			json_str(j, key, ev->name);
		else
			json_i64(j, key, *(const int *)v);
		break;
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(const char *const *)v;

		if (!s || utf8_valid(s)) {
			json_str(j, key, s ? s : "");
			break;
		}
		json_obj_begin(j, key);
		json_raw_begin(j, "base64");
		json_base64(j->f, (const uint8_t *)s, strlen(s));
		json_obj_end(j);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = v;

		json_raw_begin(j, key);
		json_base64(j->f, b->data, b->len);
		break;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		json_obj_begin(j, key);
		msg_body(j, *(const ProtobufCMessage *const *)v);
		json_obj_end(j);
		break;
	}
}

size_t image_json_elem_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(void *);
	default:
		return 4;
	}
}

void image_json_msg(struct json *j, const char *key, const ProtobufCMessage *m)
{
	json_obj_begin(j, key);
	msg_body(j, m);
	json_obj_end(j);
}

/* ---- JSON -> message ---- */

struct decoder {
	char *error;
	size_t error_len;
};

static int dfail(struct decoder *d, const char *path, const char *what)
{
	if (!d->error[0])
		snprintf(d->error, d->error_len, "%s: %s", path, what);
	return -EINVAL;
}

static int json_to_msg(struct decoder *d, const char *path, const ProtobufCMessageDescriptor *desc,
		       const struct jsonv *obj, ProtobufCMessage **ret);

static int scalar_from(struct decoder *d, const char *path, const ProtobufCFieldDescriptor *fd,
		       const struct jsonv *v, void *out)
{
	const ProtobufCEnumValue *ev;
	int64_t i = 0;
	uint64_t u = 0;
	int r;

	switch (fd->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (jsonv_int(v, true, &i, &u) < 0 || i < INT32_MIN || i > INT32_MAX)
			return dfail(d, path, "not a 32-bit signed integer");
		*(int32_t *)out = (int32_t)i;
		return 0;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (jsonv_int(v, false, &i, &u) < 0 || u > UINT32_MAX)
			return dfail(d, path, "not a 32-bit unsigned integer");
		*(uint32_t *)out = (uint32_t)u;
		return 0;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (jsonv_int(v, true, &i, &u) < 0)
			return dfail(d, path, "not a 64-bit signed integer");
		*(int64_t *)out = i;
		return 0;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (jsonv_int(v, false, &i, &u) < 0)
			return dfail(d, path, "not a 64-bit unsigned integer");
		*(uint64_t *)out = u;
		return 0;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE: {
		char *end;
		double x;

		if (v->type != JSONV_NUMBER)
			return dfail(d, path, "not a number");
		x = strtod(v->str, &end);
		if (*end)
			return dfail(d, path, "not a number");
		if (fd->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)out = (float)x;
		else
			*(double *)out = x;
		return 0;
	}
	case PROTOBUF_C_TYPE_BOOL:
		if (v->type != JSONV_BOOL)
			return dfail(d, path, "not true or false");
		*(protobuf_c_boolean *)out = v->b;
		return 0;
	case PROTOBUF_C_TYPE_ENUM:
		if (v->type == JSONV_STRING) {
			ev = protobuf_c_enum_descriptor_get_value_by_name(fd->descriptor, v->str);
			if (!ev)
				return dfail(d, path, "not a value of its enum");
			*(int *)out = ev->value;
			return 0;
		}
		if (jsonv_int(v, true, &i, &u) < 0 || i < INT32_MIN || i > INT32_MAX)
			return dfail(d, path, "not an enum name or number");
		*(int *)out = (int)i;
		return 0;
	case PROTOBUF_C_TYPE_STRING: {
		const struct jsonv *b = jsonv_get(v, "base64");
		uint8_t *raw;
		size_t n;

		if (v->type == JSONV_STRING) {
			if (strlen(v->str) != v->len)
				return dfail(d, path, "a NUL in a string");
			*(char **)out = strdup(v->str);
			return *(char **)out ? 0 : dfail(d, path, "out of memory");
		}
		if (v->type != JSONV_OBJECT || v->n != 1 || !b || b->type != JSONV_STRING)
			return dfail(d, path, "not a string or {\"base64\": ...}");
		r = base64_decode(b->str, b->len, &raw, &n);
		if (r < 0)
			return dfail(d, path, "bad base64");
		raw[n] = '\0';
		if (strlen((char *)raw) != n) {
			free(raw);
			return dfail(d, path, "a NUL in a string");
		}
		*(char **)out = (char *)raw;
		return 0;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = out;

		if (v->type != JSONV_STRING || base64_decode(v->str, v->len, &bd->data, &bd->len) < 0)
			return dfail(d, path, "not a base64 string");
		return 0;
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		if (v->type != JSONV_OBJECT)
			return dfail(d, path, "not an object");
		return json_to_msg(d, path, fd->descriptor, v, (ProtobufCMessage **)out);
	}
	return dfail(d, path, "a field type this tool does not know");
}

static int field_from(struct decoder *d, const char *path, ProtobufCMessage *m,
		      const ProtobufCFieldDescriptor *fd, const struct jsonv *v)
{
	char *base = (char *)m;
	char sub[512];

	snprintf(sub, sizeof(sub), "%s.%s", path, fd->name);
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t es = image_json_elem_size(fd->type), *n = (size_t *)(base + fd->quantifier_offset);
		char *arr;

		if (v->type != JSONV_ARRAY)
			return dfail(d, sub, "not an array");
		arr = calloc(v->n ? v->n : 1, es);
		if (!arr)
			return dfail(d, sub, "out of memory");
		*(char **)(base + fd->offset) = arr;
		for (size_t k = 0; k < v->n; k++) {
			char el[560];
			int r;

			snprintf(el, sizeof(el), "%s[%zu]", sub, k);
			r = scalar_from(d, el, fd, v->items[k], arr + k * es);
			if (r < 0)
				return r;
			*n = k + 1;    /* what free_unpacked frees */
		}
		return 0;
	}
	if (v->type == JSONV_NULL)
		return dfail(d, sub, "null: leave an unset field out instead");
	if (fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)(base + fd->quantifier_offset) = fd->id;
	else if (fd->quantifier_offset && fd->type != PROTOBUF_C_TYPE_MESSAGE && fd->type != PROTOBUF_C_TYPE_STRING)
		*(protobuf_c_boolean *)(base + fd->quantifier_offset) = 1;
	/* a default string is static: never handed to free */
	if (fd->type == PROTOBUF_C_TYPE_STRING)
		*(char **)(base + fd->offset) = NULL;
	return scalar_from(d, sub, fd, v, base + fd->offset);
}

static int json_to_msg(struct decoder *d, const char *path, const ProtobufCMessageDescriptor *desc,
		       const struct jsonv *obj, ProtobufCMessage **ret)
{
	ProtobufCMessage *m;
	int r = 0;

	m = calloc(1, desc->sizeof_message);
	if (!m)
		return dfail(d, path, "out of memory");
	desc->message_init(m);
	/* Strings left at a static default would be freed by free_unpacked:
	 * copy them, so every pointer of the message is ours. */
	for (unsigned i = 0; i < desc->n_fields && r >= 0; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		char **sp = (char **)((char *)m + fd->offset);

		if (fd->type == PROTOBUF_C_TYPE_STRING && fd->label != PROTOBUF_C_LABEL_REPEATED && *sp)
			*sp = NULL;
	}
	*ret = m;
	for (size_t i = 0; i < obj->n && r >= 0; i++) {
		const struct jsonv *v = obj->items[i];
		const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field_by_name(desc, v->key);
		char sub[512];

		if (!fd) {
			snprintf(sub, sizeof(sub), "%s.%s", path, v->key);
			return dfail(d, sub, "no such field in this record");
		}
		for (size_t k = 0; k < i; k++)
			if (streq(obj->items[k]->key, v->key)) {
				snprintf(sub, sizeof(sub), "%s.%s", path, v->key);
				return dfail(d, sub, "given twice");
			}
		r = field_from(d, path, m, fd, v);
	}
	if (r < 0)
		return r;
	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *fd = &desc->fields[i];
		char sub[512];

		if (fd->label == PROTOBUF_C_LABEL_REQUIRED && !jsonv_get(obj, fd->name)) {
			snprintf(sub, sizeof(sub), "%s.%s", path, fd->name);
			return dfail(d, sub, "a required field is missing");
		}
	}
	return 0;
}

int image_json_to_msg(const struct jsonv *obj, const ProtobufCMessageDescriptor *desc, const char *path,
		      ProtobufCMessage **ret, char *error, size_t error_len)
{
	struct decoder d = { .error = error, .error_len = error_len };
	ProtobufCMessage *m = NULL;
	int r;

	error[0] = '\0';
	if (!obj || obj->type != JSONV_OBJECT)
		return dfail(&d, path, "not an object");
	r = json_to_msg(&d, path, desc, obj, &m);
	if (r < 0) {
		if (m)
			protobuf_c_message_free_unpacked(m, NULL);
		return r;
	}
	*ret = m;
	return 0;
}
