// SPDX-License-Identifier: GPL-2.0-or-later
/* A small JSON reader (RFC 8259) into a tree, for `inspect --encode`. The
 * input is the user's, possibly edited by hand: every error names its byte
 * offset; depth and sizes are bounded by JSONV_MAX_DEPTH and memory. */
#include <inttypes.h>

#include "jsonv.h"
#include "macro.h"

struct parser {
	const char *s, *end;
	int depth;
	char *error;
	size_t error_len;
	const char *start;
};

static struct jsonv *fail(struct parser *p, const char *what)
{
	if (!p->error[0])
		snprintf(p->error, p->error_len, "JSON offset %zu: %s", (size_t)(p->s - p->start), what);
	return NULL;
}

static void skip_ws(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
		p->s++;
}

static struct jsonv *node(struct parser *p, enum jsonv_type t)
{
	struct jsonv *v = calloc(1, sizeof(*v));

	if (!v)
		return fail(p, "out of memory");
	v->type = t;
	return v;
}

static int hex4(const char *s, uint32_t *ret)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -EINVAL;
	}
	*ret = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string: the decoded bytes, NUL-terminated; \u0000 is refused (C
 * strings can't hold it, and no field of ours needs it). */
static char *parse_string(struct parser *p, size_t *ret_len)
{
	const char *q = ++p->s;
	size_t n = 0;
	char *out;

	/* the decoded string is never longer than its source */
	while (q < p->end && *q != '"')
		q += *q == '\\' && q + 1 < p->end ? 2 : 1;
	if (q >= p->end)
		return fail(p, "unterminated string"), NULL;
	out = malloc(q - p->s + 1);
	if (!out)
		return fail(p, "out of memory"), NULL;
	while (*p->s != '"') {
		unsigned char c = (unsigned char)*p->s;
		uint32_t cp, lo;

		if (c < 0x20) {
			free(out);
			return fail(p, "control character in a string"), NULL;
		}
		if (c != '\\') {
			out[n++] = (char)c;
			p->s++;
			continue;
		}
		p->s++;
		switch (*p->s) {
		case '"': out[n++] = '"'; break;
		case '\\': out[n++] = '\\'; break;
		case '/': out[n++] = '/'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u':
			if (p->end - p->s < 5 || hex4(p->s + 1, &cp) < 0)
				goto bad;
			p->s += 4;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (p->end - p->s < 7 || p->s[1] != '\\' || p->s[2] != 'u' || hex4(p->s + 3, &lo) < 0 ||
				    lo < 0xdc00 || lo > 0xdfff)
					goto bad;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				p->s += 6;
			} else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
				goto bad;
			}
			n += put_utf8(out + n, cp);
			break;
		default:
			goto bad;
		}
		p->s++;
	}
	p->s++;
	out[n] = '\0';
	*ret_len = n;
	return out;
bad:
	free(out);
	return fail(p, "bad escape in a string"), NULL;
}

static struct jsonv *parse_value(struct parser *p);

static struct jsonv *parse_container(struct parser *p, bool object)
{
	struct jsonv *v = node(p, object ? JSONV_OBJECT : JSONV_ARRAY);
	size_t cap = 0;

	if (!v)
		return NULL;
	if (++p->depth > JSONV_MAX_DEPTH) {
		jsonv_free(v);
		return fail(p, "nested too deep");
	}
	p->s++;
	skip_ws(p);
	if (p->s < p->end && *p->s == (object ? '}' : ']')) {
		p->s++;
		p->depth--;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		struct jsonv *e;

		skip_ws(p);
		if (object) {
			if (p->s >= p->end || *p->s != '"' || !(key = parse_string(p, &klen)))
				goto bad;
			skip_ws(p);
			if (p->s >= p->end || *p->s != ':') {
				free(key);
				goto bad;
			}
			p->s++;
		}
		e = parse_value(p);
		if (!e) {
			free(key);
			goto bad;
		}
		e->key = key;
		if (v->n == cap) {
			struct jsonv **k;

			cap = cap ? cap * 2 : 8;
			k = realloc(v->items, cap * sizeof(*k));
			if (!k) {
				jsonv_free(e);
				fail(p, "out of memory");
				goto bad;
			}
			v->items = k;
		}
		v->items[v->n++] = e;
		skip_ws(p);
		if (p->s < p->end && *p->s == ',') {
			p->s++;
			continue;
		}
		if (p->s < p->end && *p->s == (object ? '}' : ']')) {
			p->s++;
			p->depth--;
			return v;
		}
		goto bad;
	}
bad:
	jsonv_free(v);
	return fail(p, object ? "bad object" : "bad array");
}

static struct jsonv *parse_number(struct parser *p)
{
	const char *q = p->s;
	struct jsonv *v;

	if (q < p->end && *q == '-')
		q++;
	if (q >= p->end || !(*q >= '0' && *q <= '9'))
		return fail(p, "bad value");
	while (q < p->end && ((*q >= '0' && *q <= '9') || *q == '.' || *q == 'e' || *q == 'E' ||
			      *q == '+' || *q == '-'))
		q++;
	v = node(p, JSONV_NUMBER);
	if (!v)
		return NULL;
	v->str = strndup(p->s, q - p->s);
	if (!v->str) {
		free(v);
		return fail(p, "out of memory");
	}
	v->len = q - p->s;
	p->s = q;
	return v;
}

static bool word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(p->end - p->s) < n || memcmp(p->s, w, n) != 0)
		return false;
	p->s += n;
	return true;
}

static struct jsonv *parse_value(struct parser *p)
{
	struct jsonv *v;

	skip_ws(p);
	if (p->s >= p->end)
		return fail(p, "unexpected end");
	switch (*p->s) {
	case '{': return parse_container(p, true);
	case '[': return parse_container(p, false);
	case '"':
		v = node(p, JSONV_STRING);
		if (v && !(v->str = parse_string(p, &v->len))) {
			free(v);
			return NULL;
		}
		return v;
	}
	if (word(p, "true") || word(p, "false")) {
		v = node(p, JSONV_BOOL);
		if (v)
			v->b = p->s[-1] == 'e' && p->s[-2] == 'u';   /* tru"e", not fal"se" */
		return v;
	}
	if (word(p, "null"))
		return node(p, JSONV_NULL);
	return parse_number(p);
}

struct jsonv *jsonv_parse(const char *s, size_t len, char *error, size_t error_len)
{
	struct parser p = { .s = s, .end = s + len, .error = error, .error_len = error_len, .start = s };
	struct jsonv *v;

	error[0] = '\0';
	v = parse_value(&p);
	if (!v)
		return NULL;
	skip_ws(&p);
	if (p.s != p.end) {
		jsonv_free(v);
		return fail(&p, "trailing data after the document");
	}
	return v;
}

void jsonv_free(struct jsonv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		jsonv_free(v->items[i]);
	free(v->items);
	free(v->key);
	free(v->str);
	free(v);
}

const struct jsonv *jsonv_get(const struct jsonv *obj, const char *key)
{
	if (!obj || obj->type != JSONV_OBJECT)
		return NULL;
	for (size_t i = 0; i < obj->n; i++)
		if (streq(obj->items[i]->key, key))
			return obj->items[i];
	return NULL;
}

/* Integers as JSON numbers or decimal strings (64-bit values are strings
 * in our output, as in the protobuf JSON mapping). */
int jsonv_int(const struct jsonv *v, bool is_signed, int64_t *ret_i, uint64_t *ret_u)
{
	const char *s;
	char *end;

	if (!v || (v->type != JSONV_NUMBER && v->type != JSONV_STRING))
		return -EINVAL;
	s = v->str;
	if (!*s || strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E') || *s == ' ' || *s == '+')
		return -EINVAL;
	errno = 0;
	if (is_signed)
		*ret_i = strtoll(s, &end, 10);
	else if (*s == '-')
		return -ERANGE;
	else
		*ret_u = strtoull(s, &end, 10);
	if (errno || *end)
		return errno ? -errno : -EINVAL;
	return 0;
}
