// SPDX-License-Identifier: GPL-2.0-or-later
/* Image records as JSON and back (image_json.c, docs/image-json.md). */
#pragma once
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdio.h>

#include "jsonv.h"

struct json;

/* "..." holding base64 of p[0..len). */
void json_base64(FILE *f, const uint8_t *p, size_t len);
/* Decode base64 (with padding) into a malloc'd buffer with one spare byte. */
int base64_decode(const char *s, size_t len, uint8_t **ret, size_t *ret_len);
/* Bytes one element of a repeated field of type t takes in its array. */
size_t image_json_elem_size(ProtobufCType t);
/* m as a JSON object under key (NULL in an array). */
void image_json_msg(struct json *j, const char *key, const ProtobufCMessage *m);
/* obj as a message of desc (free with protobuf_c_message_free_unpacked);
 * on error -EINVAL with error naming the field by its path. */
int image_json_to_msg(const struct jsonv *obj, const ProtobufCMessageDescriptor *desc, const char *path,
		      ProtobufCMessage **ret, char *error, size_t error_len);
