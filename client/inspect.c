// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptctl inspect FILE|-: a local, daemon-free dump of an image's records;
 * with --json every record whole (docs/image-json.md), which
 * `inspect --encode` writes back into an image.
 * The image is untrusted: the reader in common/image.c bounds and checks
 * every record; here every string is escaped before it reaches a terminal. */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>

#include "ckptctl.h"
#include "image.h"
#include "image.pb-c.h"
#include "image_json.h"
#include "macro.h"

struct inspect {
	bool json;
	struct json j;          /* json mode */
	FILE *f;
	uint32_t page_size;     /* from the header, for page counts */
	uint64_t records;
	bool bad_record;        /* a record that read fine but didn't unpack */
	uint64_t bad_offset;
};

/* Human mode: bytes outside printable ASCII become \xNN, so an image can't
 * drive the terminal; in key=value fields so do spaces, so a field is one word. */
static void print_safe(FILE *f, const char *s, bool escape_space)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || *p == '\\' || (escape_space && *p == ' '))
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
}

/* Field emitters of the summary: "key=value". */
static void f_str(struct inspect *in, const char *key, const char *val)
{
	if (!val)
		return;
	fprintf(in->f, " %s=", key);
	print_safe(in->f, val, true);
}

static void f_u64(struct inspect *in, const char *key, uint64_t val)
{
	fprintf(in->f, " %s=%" PRIu64, key, val);
}

static void f_i64(struct inspect *in, const char *key, int64_t val)
{
	fprintf(in->f, " %s=%" PRId64, key, val);
}

static void f_hex(struct inspect *in, const char *key, uint64_t val)
{
	fprintf(in->f, " %s=0x%" PRIx64, key, val);
}

/* FILE_CHR -> "chr", VMA_FILE_PRIVATE -> "file-private"; an unknown value
 * is data, not a crash: it prints as its number. */
static const char *enum_name(const ProtobufCEnumDescriptor *d, int v, const char *prefix,
			     char *buf, size_t len)
{
	const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
	const char *name;
	size_t i;

	if (!ev) {
		snprintf(buf, len, "%d", v);
		return buf;
	}
	name = ev->name;
	if (!strncmp(name, prefix, strlen(prefix)))
		name += strlen(prefix);
	for (i = 0; name[i] && i + 1 < len; i++)
		buf[i] = name[i] == '_' ? '-' : (char)tolower((unsigned char)name[i]);
	buf[i] = '\0';
	return buf;
}

/* net=private|host|MODE, net_address=A.B.C.D/N, net_gateway=..., publish=HP:P/tcp,... */
static void inspect_net(struct inspect *in, const Ckpt__Img__NetConfig *n)
{
	char a[24], pub[64 * 24] = "", mode[16];
	size_t len = 0;

	snprintf(mode, sizeof(mode), "%u", n->mode);
	f_str(in, "net", n->mode == 1 ? "private" : n->mode == 2 ? "host" : mode);
	if (n->has_address) {
		snprintf(a, sizeof(a), "%u.%u.%u.%u/%u", n->address >> 24, (n->address >> 16) & 255,
			 (n->address >> 8) & 255, n->address & 255, n->prefix_len);
		f_str(in, "net_address", a);
		snprintf(a, sizeof(a), "%u.%u.%u.%u", n->host_address >> 24, (n->host_address >> 16) & 255,
			 (n->host_address >> 8) & 255, n->host_address & 255);
		f_str(in, "net_gateway", a);
	}
	for (size_t i = 0; i < n->n_publish && len < sizeof(pub); i++)
		len += snprintf(pub + len, sizeof(pub) - len, "%s%u:%u/%s", i ? "," : "", n->publish[i]->host_port,
				n->publish[i]->port, n->publish[i]->protocol == 17 ? "udp" : n->publish[i]->protocol == 6 ? "tcp" : "?");
	if (n->n_publish)
		f_str(in, "publish", pub);
}

/* "SRC:DST[:ro],..." */
static void inspect_binds(struct inspect *in, const Ckpt__Img__Header *h)
{
	char buf[4096];
	size_t len = 0;

	for (size_t i = 0; i < h->n_binds && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s:%s%s", i ? "," : "", h->binds[i]->src,
				h->binds[i]->dst, h->binds[i]->ro ? ":ro" : "");
	if (h->n_binds)
		f_str(in, "binds", buf);
}

/* A user namespace map: "INSIDE OUTSIDE COUNT,..." as in /proc/PID/uid_map */
static void inspect_idmap(struct inspect *in, const char *key, Ckpt__Img__IdMapExtent *const *m, size_t n)
{
	char buf[256];
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof(buf); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%u %u %u", i ? "," : "", m[i]->inside, m[i]->outside,
				m[i]->count);
	if (n)
		f_str(in, key, buf);
}

static void inspect_header(struct inspect *in, const Ckpt__Img__Header *h)
{
	f_u64(in, "format_version", h->format_version);
	f_str(in, "arch", h->arch);
	f_u64(in, "page_size", h->page_size);
	f_str(in, "kernel_release", h->kernel_release);
	f_str(in, "container", h->container);
	f_str(in, "parent_id", h->parent_id);
	if (h->has_parent_digest)
		f_hex(in, "parent_digest", h->parent_digest);
	if (h->has_created)
		f_i64(in, "created", h->created);
	f_str(in, "hostname", h->hostname);
	if (h->has_xfeatures)
		f_hex(in, "xfeatures", h->xfeatures);
	if (h->has_xstate_size)
		f_u64(in, "xstate_size", h->xstate_size);
	if (h->has_vdso_size)
		f_hex(in, "vdso_size", h->vdso_size);
	if (h->has_vvar_size)
		f_hex(in, "vvar_size", h->vvar_size);
	if (h->has_vvar_vclock_size)
		f_hex(in, "vvar_vclock_size", h->vvar_vclock_size);
	if (h->has_vdso_hash)
		f_hex(in, "vdso_hash", h->vdso_hash);
	if (h->has_task_count)
		f_u64(in, "task_count", h->task_count);
	if (h->net)
		inspect_net(in, h->net);
	if (h->has_contain_caps)
		f_hex(in, "contain_caps", h->contain_caps);
	if (h->has_privileged && h->privileged)
		f_u64(in, "privileged", 1);
	if (h->has_user_uid)
		f_u64(in, "user_uid", h->user_uid);
	if (h->has_user_gid)
		f_u64(in, "user_gid", h->user_gid);
	f_str(in, "root", h->root);
	inspect_binds(in, h);
	inspect_idmap(in, "userns_uid_map", h->userns_uid_map, h->n_userns_uid_map);
	inspect_idmap(in, "userns_gid_map", h->userns_gid_map, h->n_userns_gid_map);
	/* Only a sane power of two is used to count pages below. */
	if (h->page_size >= 4096 && h->page_size <= (1u << 21) && !(h->page_size & (h->page_size - 1)))
		in->page_size = h->page_size;
}

static void inspect_task(struct inspect *in, const Ckpt__Img__Task *t)
{
	f_i64(in, "pid", t->pid);
	f_str(in, "comm", t->comm);
	f_i64(in, "ppid", t->ppid);
	f_i64(in, "sid", t->sid);
	f_i64(in, "pgid", t->pgid);
	f_u64(in, "sigactions", t->n_sigactions);
	f_hex(in, "sigmask", t->sigmask);
	f_str(in, "cwd", t->cwd);
	f_str(in, "exe", t->mm ? t->mm->exe : NULL);
	if (t->rseq)
		f_hex(in, "rseq", t->rseq->ptr);
	if (t->has_robust_list)
		f_hex(in, "robust_list", t->robust_list);
	f_u64(in, "regs_bytes", t->regs.len);
	f_u64(in, "xstate_bytes", t->xstate.len);
}

static void inspect_file(struct inspect *in, const Ckpt__Img__File *fl)
{
	char buf[32];

	f_u64(in, "id", fl->id);
	f_str(in, "kind", enum_name(&ckpt__img__file_kind__descriptor, fl->kind, "FILE_", buf, sizeof(buf)));
	f_str(in, "path", fl->path);
	f_hex(in, "flags", fl->flags);
	if (fl->has_pos)
		f_u64(in, "pos", fl->pos);
	if (fl->has_size)
		f_u64(in, "size", fl->size);
	if (fl->has_pipe_id)
		f_u64(in, "pipe", fl->pipe_id);
	if (fl->has_shm_id)
		f_u64(in, "shm", fl->shm_id);
	if (fl->has_ghost_id)
		f_u64(in, "ghost", fl->ghost_id);
	if (fl->n_inotify_watches)
		f_u64(in, "inotify_watches", fl->n_inotify_watches);
}

static void inspect_fds(struct inspect *in, const Ckpt__Img__Fds *fds)
{
	fprintf(in->f, " fds(fd=file):");
	for (size_t i = 0; i < fds->n_fds; i++)
		fprintf(in->f, " %u=%u%s", fds->fds[i]->fd, fds->fds[i]->file_id,
			fds->fds[i]->cloexec ? "e" : "");
}

static void vma_prot(const Ckpt__Img__Vma *v, char buf[5])
{
	buf[0] = v->prot & PROT_READ ? 'r' : '-';
	buf[1] = v->prot & PROT_WRITE ? 'w' : '-';
	buf[2] = v->prot & PROT_EXEC ? 'x' : '-';
	buf[3] = v->flags & MAP_SHARED ? 's' : 'p';
	buf[4] = '\0';
}

static void inspect_mm(struct inspect *in, const Ckpt__Img__Mm *mm)
{
	char prot[5], kbuf[32];

	fprintf(in->f, " vmas=%zu", mm->n_vmas);
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Ckpt__Img__Vma *v = mm->vmas[i];
		const char *kind = enum_name(&ckpt__img__vma_kind__descriptor, v->kind, "VMA_", kbuf, sizeof(kbuf));

		vma_prot(v, prot);
		fprintf(in->f, "\n    %012" PRIx64 "-%012" PRIx64 " %s %s", v->start, v->end, prot, kind);
		if (v->path) {
			fprintf(in->f, "%*s", (int)(14 - MIN(strlen(kind), 13)), "");
			print_safe(in->f, v->path, false);
		}
		if (v->has_pgoff && v->pgoff)
			fprintf(in->f, " +0x%" PRIx64, v->pgoff);
		if (v->has_shm_id)
			fprintf(in->f, " shm %u", v->shm_id);
		if (v->has_inherit && v->inherit)
			fprintf(in->f, " inherited");
	}
}

static void inspect_pagemap(struct inspect *in, const Ckpt__Img__Pagemap *pm)
{
	f_hex(in, "vaddr", pm->vaddr);
	f_u64(in, "nr_pages", pm->nr_pages);
}

static void inspect_pipe(struct inspect *in, const Ckpt__Img__Pipe *pp)
{
	f_u64(in, "id", pp->id);
	f_u64(in, "size", pp->size);
	f_u64(in, "bytes", pp->data.len);
}

static void inspect_shm(struct inspect *in, const Ckpt__Img__Shm *m)
{
	char buf[32];

	f_u64(in, "id", m->id);
	f_str(in, "kind", enum_name(&ckpt__img__shm_kind__descriptor, m->kind, "SHM_", buf, sizeof(buf)));
	f_u64(in, "size", m->size);
	f_str(in, "name", m->name);
	if (m->has_seals)
		f_hex(in, "seals", m->seals);
}

static void inspect_ghost(struct inspect *in, const Ckpt__Img__Ghost *m)
{
	f_u64(in, "id", m->id);
	f_str(in, "path", m->path);
	f_u64(in, "size", m->size);
	f_hex(in, "mode", m->mode);
}

static void inspect_tree(struct inspect *in, const Ckpt__Img__Tree *t)
{
	f_u64(in, "tasks", t->n_tasks);
	f_u64(in, "max_fd", t->max_fd);
	for (size_t i = 0; i < t->n_tasks; i++) {
		const Ckpt__Img__TreeTask *e = t->tasks[i];

		fprintf(in->f, "\n    pid %d ppid %d pgid %d sid %d %s", e->pid, e->ppid, e->pgid, e->sid,
			e->zombie ? "zombie" : "");
		if (e->n_threads)
			fprintf(in->f, "threads %zu", e->n_threads + 1);
	}
}

static void inspect_thread(struct inspect *in, const Ckpt__Img__Thread *t)
{
	f_i64(in, "tid", t->tid);
	f_str(in, "comm", t->comm);
	f_hex(in, "sigmask", t->sigmask);
	if (t->rseq)
		f_hex(in, "rseq", t->rseq->ptr);
}

static void inspect_tail(struct inspect *in, const Ckpt__Img__Tail *t)
{
	f_u64(in, "records", t->records);
	f_u64(in, "bytes", t->bytes);
	/* the key it names; whether it verifies is ckptd's to say (`images`) */
	if (t->mac && t->mac->key_id.len == MAC_KEY_ID_LEN) {
		char hex[MAC_KEY_ID_HEX];

		mac_key_id_hex(t->mac->key_id.data, hex);
		f_str(in, "mac_key_id", hex);
	}
}

static void inspect_segment(struct inspect *in, const Ckpt__Img__Segment *sg)
{
	static const char *const owners[] = { "task", "shm", "ghost", "sysv-shm" };

	f_u64(in, "index", sg->index);
	f_str(in, "owner", (unsigned)sg->owner < 4 ? owners[sg->owner] : "unknown");
	f_i64(in, "id", sg->id);
}

static void inspect_meta_end(struct inspect *in, const Ckpt__Img__MetaEnd *e)
{
	f_u64(in, "records", e->records);
	f_u64(in, "segments", e->segments);
	f_u64(in, "bytes", e->bytes);
}

static const ProtobufCMessageDescriptor *meta_desc(uint32_t type)
{
	switch (type) {
	case IMG_HEADER: return &ckpt__img__header__descriptor;
	case IMG_TASK: return &ckpt__img__task__descriptor;
	case IMG_FILE: return &ckpt__img__file__descriptor;
	case IMG_FDS: return &ckpt__img__fds__descriptor;
	case IMG_MM: return &ckpt__img__mm__descriptor;
	case IMG_PAGEMAP: return &ckpt__img__pagemap__descriptor;
	case IMG_DROP: return &ckpt__img__pagemap__descriptor;
	case IMG_PARENT_REF: return &ckpt__img__pagemap__descriptor;
	case IMG_TAIL: return &ckpt__img__tail__descriptor;
	case IMG_PIPE: return &ckpt__img__pipe__descriptor;
	case IMG_SHM: return &ckpt__img__shm__descriptor;
	case IMG_GHOST: return &ckpt__img__ghost__descriptor;
	case IMG_TREE: return &ckpt__img__tree__descriptor;
	case IMG_THREAD: return &ckpt__img__thread__descriptor;
	case IMG_SEGMENT: return &ckpt__img__segment__descriptor;
	case IMG_META_END: return &ckpt__img__meta_end__descriptor;
	case IMG_SYSV_SHM: return &ckpt__img__sysv_shm__descriptor;
	case IMG_MAC: return &ckpt__img__mac__descriptor;
	default: return NULL;
	}
}

/* Unpack and render one metadata payload; -EBADMSG (reason in r->error) if
 * it doesn't parse. */
static int inspect_meta(struct inspect *in, struct image_reader *r, uint32_t type,
			const void *payload, size_t len)
{
	const ProtobufCMessageDescriptor *desc = meta_desc(type);
	void *msg;

	if (!desc)
		return 0;
	msg = image_unpack(r, desc, payload, len);
	if (!msg)
		return -EBADMSG;
	switch (type) {
	case IMG_HEADER: inspect_header(in, msg); break;
	case IMG_TASK: inspect_task(in, msg); break;
	case IMG_FILE: inspect_file(in, msg); break;
	case IMG_FDS: inspect_fds(in, msg); break;
	case IMG_MM: inspect_mm(in, msg); break;
	case IMG_PAGEMAP: inspect_pagemap(in, msg); break;
	case IMG_DROP: inspect_pagemap(in, msg); break;
	case IMG_PARENT_REF: inspect_pagemap(in, msg); break;
	case IMG_TAIL: inspect_tail(in, msg); break;
	case IMG_PIPE: inspect_pipe(in, msg); break;
	case IMG_SHM: inspect_shm(in, msg); break;
	case IMG_GHOST: inspect_ghost(in, msg); break;
	case IMG_TREE: inspect_tree(in, msg); break;
	case IMG_THREAD: inspect_thread(in, msg); break;
	case IMG_SEGMENT: inspect_segment(in, msg); break;
	case IMG_META_END: inspect_meta_end(in, msg); break;
	}
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}

static void inspect_pages(struct inspect *in, size_t len)
{
	if (in->page_size)
		f_u64(in, "pages", len / in->page_size);
}

/* JSON mode: the record whole, metadata as "msg", any other payload
 * (pages) as base64 "data": enough to write it back (inspect --encode). */
static int inspect_record_json(struct inspect *in, struct image_reader *r, uint32_t type,
			       const void *payload, size_t len)
{
	const ProtobufCMessageDescriptor *desc = meta_desc(type);
	void *msg;

	if (!desc) {
		json_raw_begin(&in->j, "data");
		json_base64(in->j.f, payload, len);
		return 0;
	}
	msg = image_unpack(r, desc, payload, len);
	if (!msg)
		return -EBADMSG;
	image_json_msg(&in->j, "msg", msg);
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}

static int inspect_record(struct inspect *in, struct image_reader *r, uint64_t off,
			  uint32_t type, const void *payload, size_t len)
{
	int ret;

	if (in->json) {
		json_obj_begin(&in->j, NULL);
		json_u64(&in->j, "offset", off);
		json_str(&in->j, "type", image_rec_type_name(type));
		json_u64(&in->j, "length", len);
		ret = inspect_record_json(in, r, type, payload, len);
	} else {
		fprintf(in->f, "%10" PRIu64 "  %-8s %9zu ", off, image_rec_type_name(type), len);
		ret = type == IMG_PAGES ? (inspect_pages(in, len), 0)
					: inspect_meta(in, r, type, payload, len);
	}
	if (ret < 0) {
		/* The reader has moved past the record: remember where it was. */
		in->bad_record = true;
		in->bad_offset = off;
	}
	if (in->json)
		json_obj_end(&in->j);
	else
		fputc('\n', in->f);
	in->records++;
	return ret;
}

/* Walk the stream; returns 0 for a complete, verified image, else -errno
 * with the reason in r->error (or left to strerror). */
static int inspect_stream(struct inspect *in, struct image_reader *r)
{
	for (;;) {
		const void *payload = NULL;
		uint32_t type = 0;
		size_t len = 0;
		int ret;

		ret = image_read_record(r, &type, &payload, &len);
		if (ret < 0)
			return ret;
		/* The verified TAIL: render it if the reader handed it over. */
		if (ret == 0) {
			if (type == IMG_TAIL && payload)
				return inspect_record(in, r, r->rec_offset, type, payload, len);
			return 0;
		}
		ret = inspect_record(in, r, r->rec_offset, type, payload, len);
		if (ret < 0)
			return ret;
	}
}

static int inspect_open(struct ctl *c, const char *path)
{
	int fd;

	if (streq(path, "-")) {
		if (isatty(STDIN_FILENO))
			return ctl_fail(c, -EINVAL, "refusing to read an image from a terminal; redirect stdin");
		return STDIN_FILENO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ctl_fail(c, negerrno(), "open %s: %m", path);
	return fd;
}

/* ---- inspect --encode: the JSON form back to an image ---- */

static int read_all(struct ctl *c, int fd, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;

	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *b;

			cap = cap ? cap * 2 : 1 << 16;
			b = realloc(buf, cap + 1);
			if (!b)
				return ctl_fail(c, -ENOMEM, "reading the JSON: out of memory");
			buf = b;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ctl_fail(c, negerrno(), "reading the JSON: %m");
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

static int rec_type_by_name(const char *name)
{
	for (uint32_t t = IMG_HEADER; t <= IMG_TYPE_MAX; t++)
		if (streq(image_rec_type_name(t), name))
			return (int)t;
	return -EINVAL;
}

/* The tail's counts and checksum are the writer's, never the JSON's; its
 * MAC is the JSON's as it is (like an IMG_MAC record's): an unchanged
 * document is the same image, an edited one fails its MAC at restart. */
static int encode_tail(struct ctl *c, struct image_writer *w, const struct jsonv *msg, const char *path)
{
	Ckpt__Img__Tail *t = NULL;
	char at[64], err[512];
	int r;

	if (msg) {
		snprintf(at, sizeof(at), "%s.msg", path);
		r = image_json_to_msg(msg, &ckpt__img__tail__descriptor, at, (ProtobufCMessage **)&t, err, sizeof(err));
		if (r < 0)
			return ctl_fail(c, r, "%s", err);
	}
	r = image_write_tail_mac(w, t ? t->mac : NULL);
	if (t)
		protobuf_c_message_free_unpacked(&t->base, NULL);
	return r < 0 ? ctl_fail(c, r, "writing the image: %m") : 0;
}

/* One record of the JSON form: its payload packed or decoded, written. */
static int encode_record(struct ctl *c, struct image_writer *w, const struct jsonv *rec, size_t i, bool last,
			 uint32_t *segs)
{
	const struct jsonv *type = jsonv_get(rec, "type"), *msg = jsonv_get(rec, "msg"), *data = jsonv_get(rec, "data");
	const ProtobufCMessageDescriptor *desc;
	ProtobufCMessage *m = NULL;
	_cleanup_free_ uint8_t *buf = NULL;
	char path[48], err[512];
	size_t len;
	int t, r;

	snprintf(path, sizeof(path), "records[%zu]", i);
	if (!type || type->type != JSONV_STRING || (t = rec_type_by_name(type->str)) < 0 || t == IMG_ERROR)
		return ctl_fail(c, -EINVAL, "%s: no \"type\", or not one of an image's record types", path);
	if ((i == 0) != (t == IMG_HEADER) || last != (t == IMG_TAIL))
		return ctl_fail(c, -EINVAL, "%s: %s: an image is a header first, a tail last, and neither elsewhere",
				path, type->str);
	desc = meta_desc((uint32_t)t);
	if (t == IMG_TAIL)
		return encode_tail(c, w, msg, path);
	if (desc) {
		if (!msg || data)
			return ctl_fail(c, -EINVAL, "%s: a %s record has \"msg\" and no \"data\"", path, type->str);
		snprintf(path, sizeof(path), "records[%zu].msg", i);
		r = image_json_to_msg(msg, desc, path, &m, err, sizeof(err));
		if (r < 0)
			return ctl_fail(c, r, "%s", err);
		if (t == IMG_SEGMENT)
			(*segs)++;
		/* like the tail's, the metadata's counts are the writer's */
		if (t == IMG_META_END) {
			Ckpt__Img__MetaEnd *e = (Ckpt__Img__MetaEnd *)m;

			e->records = w->records;
			e->segments = *segs;
			e->bytes = w->bytes;
		}
		r = image_write_msg(w, (uint32_t)t, m);
		protobuf_c_message_free_unpacked(m, NULL);
	} else {
		if (!data || msg || data->type != JSONV_STRING)
			return ctl_fail(c, -EINVAL, "%s: a %s record has base64 \"data\" and no \"msg\"", path, type->str);
		if (base64_decode(data->str, data->len, &buf, &len) < 0)
			return ctl_fail(c, -EINVAL, "%s.data: not base64", path);
		r = image_write_record(w, (uint32_t)t, buf, len);
	}
	if (r == -EFBIG)
		return ctl_fail(c, r, "records[%zu]: larger than an image record may be", i);
	return r < 0 ? ctl_fail(c, r, "writing the image: %m") : 0;
}

static int inspect_encode(struct ctl *c, const char *path)
{
	_cleanup_free_ char *text = NULL;
	const struct jsonv *recs;
	struct image_writer w;
	struct jsonv *doc;
	char err[256];
	size_t len = 0;
	uint32_t segs = 0;
	int fd, r;

	if (isatty(STDOUT_FILENO))
		return ctl_fail(c, -EINVAL, "refusing to write an image to a terminal; redirect stdout");
	fd = inspect_open(c, path);
	if (fd < 0)
		return fd;
	r = read_all(c, fd, &text, &len);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0)
		return r;
	doc = jsonv_parse(text, len, err, sizeof(err));
	if (!doc)
		return ctl_fail(c, -EINVAL, "%s", err);
	recs = jsonv_get(doc, "records");
	if (!recs || recs->type != JSONV_ARRAY || recs->n < 2) {
		jsonv_free(doc);
		return ctl_fail(c, -EINVAL, "no \"records\" array with a header and a tail (the form of inspect --json)");
	}
	image_writer_init(&w, STDOUT_FILENO);
	for (size_t i = 0; i < recs->n && r >= 0; i++)
		r = encode_record(c, &w, recs->items[i], i, i + 1 == recs->n, &segs);
	image_writer_free(&w);
	jsonv_free(doc);
	return r;
}

int verb_inspect(struct ctl *c, int argc, char **argv)
{
	struct inspect in = { .json = c->json, .f = stdout };
	struct image_reader r;
	const char *path = NULL;
	bool encode = false;
	int fd, ret;

	for (int i = 1; i < argc; i++) {
		if (streq(argv[i], "--encode")) {
			encode = true;
			continue;
		}
		if (ctl_is_opt(argv[i]))
			return ctl_unknown_opt(c, argv[i]);
		if (path)
			return ctl_usage(c, "unexpected argument '%s'", argv[i]);
		path = argv[i];
	}
	if (!path)
		return ctl_usage(c, "missing FILE (or - for stdin)");
	if (encode)
		return inspect_encode(c, path);
	fd = inspect_open(c, path);
	if (fd < 0)
		return fd;

	image_reader_init(&r, fd);
	/* the JSON form is the whole image: --encode writes its MAC back */
	r.pass_mac = in.json;
	if (in.json) {
		json_init(&in.j, stdout);
		json_obj_begin(&in.j, NULL);
		json_arr_begin(&in.j, "records");
	} else {
		printf("%10s  %-8s %9s  %s\n", "OFFSET", "TYPE", "LENGTH", "SUMMARY");
	}
	ret = inspect_stream(&in, &r);
	if (ret < 0 && in.bad_record)
		ctl_fail(c, ret, "offset %" PRIu64 ": %s", in.bad_offset, r.error);
	else if (ret < 0)
		ctl_fail(c, ret, "%s", r.error[0] ? r.error : strerror(-ret));
	if (in.json) {
		json_arr_end(&in.j);
		json_bool(&in.j, "valid", ret >= 0);
		if (ret < 0)
			json_str(&in.j, "error", c->error);
		else
			json_null(&in.j, "error");
		json_obj_end(&in.j);
		json_finish(&in.j);
	}
	image_reader_free(&r);
	if (fd != STDIN_FILENO)
		close(fd);
	return ret < 0 ? ret : 0;
}
