// SPDX-License-Identifier: GPL-2.0-or-later
/* Shared memory objects (MAP_SHARED|MAP_ANONYMOUS memory, memfds): saved
 * once with their pages, whoever maps or holds them; on restart the worker
 * creates each one, fills it, and hands it to the tasks through the pool. */
#include "restore.h"
#include "validate.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#ifndef F_SEAL_EXEC
#define F_SEAL_EXEC 0x0020
#endif

/* ---- checkpoint ---- */

/* Pages with data, whole: a memfd's partial last page is read up to its
 * end and zero-filled after it. */
int shm_write_pages(struct dump_ctx *ctx, int fd, uint64_t size, uint32_t id)
{
	uint64_t end = ALIGN_UP(size, PAGE_SZ);
	off_t off = 0;

	for (;;) {
		off_t data = lseek(fd, off, SEEK_DATA), hole;

		if (data < 0 && errno == ENXIO)
			return 0;
		hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "shm %u: finding its pages", id);
		hole = MIN((uint64_t)ALIGN_UP(hole, (off_t)PAGE_SZ), end);
		data &= ~(off_t)(PAGE_SZ - 1);
		for (off = data; off < hole;) {
			Ckpt__Img__Pagemap pm = CKPT__IMG__PAGEMAP__INIT;
			size_t len = MIN((uint64_t)(hole - off), (uint64_t)PAGEBUF_LEN);
			size_t want = MIN((uint64_t)len, size - off);
			ssize_t n = pread(fd, ctx->pagebuf, want, off);
			int r;

			if (n == (ssize_t)want)
				memset((char *)ctx->pagebuf + want, 0, len - want);
			if (n != (ssize_t)want)
				return cr_fail(ctx->err, CR_ERR_KERNEL, n < 0 ? errno : EIO, "shm %u: reading at %lld", id, (long long)off);
			pm.vaddr = off;
			pm.nr_pages = len / PAGE_SZ;
			r = image_write_msg(&ctx->w, IMG_PAGEMAP, &pm.base);
			if (r >= 0)
				r = image_write_record(&ctx->w, IMG_PAGES, ctx->pagebuf, len);
			if (r < 0)
				return cr_fail(ctx->err, CR_ERR_IO, -r, "writing the image");
			ctx->pages += pm.nr_pages;
			off += len;
		}
		if ((uint64_t)off >= end)
			return 0;
	}
}

dev_t shm_internal_dev(void)
{
	static dev_t dev;
	struct stat st;
	int fd;

	if (dev)
		return dev;
	/* a memfd lives where MAP_SHARED|MAP_ANONYMOUS memory and SysV
	 * segments do: the kernel's shm mount, mounted nowhere, where only
	 * the kernel names files */
	fd = memfd_create("ckptd-probe", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0)
		dev = st.st_dev;
	close(fd);
	return dev;
}

int shm_dump(struct dump_ctx *ctx, const char *path, bool memfd, const char *name, uint32_t *ret_id)
{
	Ckpt__Img__Shm m = CKPT__IMG__SHM__INIT;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	void *obj;
	int r, seals = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "opening %s", path);
	obj = malloc(1);
	r = obj ? objhash_lookup_add(ctx->files, OBJ_SHM, st.st_ino ^ ((uint64_t)st.st_dev << 32), obj, NULL, ret_id, NULL) : -ENOMEM;
	if (r <= 0)
		free(obj);
	if (r <= 0)
		return r < 0 ? cr_fail(ctx->err, CR_ERR_INTERNAL, -r, "object table") : 0;
	if ((uint64_t)st.st_size > CR_SHM_MAX_SIZE || (!memfd && st.st_size % PAGE_SZ))
		return cr_fail(ctx->err, CR_ERR_UNSUPPORTED, 0, "%s: a shared memory object of %lld bytes: not supported",
			       path, (long long)st.st_size);
	if (memfd) {
		seals = fcntl(fd, F_GET_SEALS);
		if (seals < 0)
			return cr_fail(ctx->err, CR_ERR_KERNEL, errno, "%s: F_GET_SEALS", path);
	}
	m.id = *ret_id;
	m.kind = memfd ? CKPT__IMG__SHM_KIND__SHM_MEMFD : CKPT__IMG__SHM_KIND__SHM_ANON;
	m.size = st.st_size;
	m.name = (char *)name;
	m.has_seals = memfd;
	m.seals = seals;
	r = dump_write_msg(ctx, 0, IMG_SHM, &m.base);
	if (r < 0)
		return r;
	return dump_object_pages_later(ctx, CKPT__IMG__SEGMENT_OWNER__SEG_SHM, m.id, fd, st.st_size);
}

/* ---- restart ---- */

/* A MAP_SHARED|MAP_ANONYMOUS object of our own: map it, keep a file for it. */
static int create_anon(uint64_t size)
{
	char path[64];
	void *a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int fd;

	if (a == MAP_FAILED)
		return -errno;
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)a, (unsigned long)a + (unsigned long)size);
	fd = open(path, O_RDWR | O_CLOEXEC);
	fd = fd < 0 ? -errno : fd;
	munmap(a, size);
	return fd;
}

static int create_memfd(const Ckpt__Img__Shm *m)
{
	/* Without MFD_ALLOW_SEALING a memfd reports F_SEAL_SEAL alone. */
	unsigned flags = MFD_CLOEXEC | (m->seals == F_SEAL_SEAL ? 0 : MFD_ALLOW_SEALING);
	int fd = memfd_create(m->name ? m->name : "", flags);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, m->size) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int shm_restore(struct restore_ctx *ctx, const void *payload, size_t len)
{
	Ckpt__Img__Shm *m = image_unpack(&ctx->rd, &ckpt__img__shm__descriptor, payload, len);
	struct restore_obj *o;
	const char *why;
	int fd, slot, r;

	if (!m)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "shm record: %s", ctx->rd.error);
	why = validate_shm(m);
	if (why) {
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "shm %u: %s", m->id, why);
		goto out;
	}
	fd = m->kind == CKPT__IMG__SHM_KIND__SHM_MEMFD ? create_memfd(m) : create_anon(m->size);
	if (fd < 0) {
		r = cr_fail(ctx->err, CR_ERR_KERNEL, -fd, "shm %u: creating %lu bytes", m->id, (unsigned long)m->size);
		goto out;
	}
	slot = restore_pool_add(ctx, fd);
	o = slot < 0 ? NULL : calloc(1, sizeof(*o));
	if (!o) {
		r = cr_fail(ctx->err, CR_ERR_INTERNAL, ENOMEM, "shm %u", m->id);
		goto out;
	}
	*o = (struct restore_obj){ .slot = slot, .pipe = { -1, -1 }, .size = m->size,
				   .memfd = m->kind == CKPT__IMG__SHM_KIND__SHM_MEMFD,
				   .seals = m->has_seals ? m->seals : 0 };
	r = objhash_insert_id(ctx->objs, OBJ_SHM, m->id, o);
	if (r < 0) {
		free(o);
		r = cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "shm id %u appears twice", m->id);
		goto out;
	}
	ctx->cur_shm = o;
out:
	protobuf_c_message_free_unpacked(&m->base, NULL);
	return r < 0 ? r : 0;
}

int shm_restore_pages(struct restore_ctx *ctx, const Ckpt__Img__Pagemap *pm, const void *pages, size_t len)
{
	struct restore_obj *o = ctx->cur_shm;
	uint64_t end = ALIGN_UP(o->size, PAGE_SZ);
	size_t want;
	ssize_t n;

	if (pm->vaddr % PAGE_SZ || pm->nr_pages == 0 || pm->nr_pages > IMAGE_MAX_PAGES / PAGE_SZ ||
	    len != pm->nr_pages * PAGE_SZ || pm->vaddr > end || len > end - pm->vaddr)
		return cr_fail(ctx->err, CR_ERR_BAD_IMAGE, 0, "shm pages at %#lx don't fit the object", (unsigned long)pm->vaddr);
	/* a memfd's partial last page: up to its size, which must not grow */
	want = MIN((uint64_t)len, o->size - pm->vaddr);
	n = pwrite(ctx->pool[o->slot], pages, want, pm->vaddr);
	if (n != (ssize_t)want)
		return cr_fail(ctx->err, CR_ERR_KERNEL, n < 0 ? errno : EIO, "writing shm pages at %#lx", (unsigned long)pm->vaddr);
	ctx->pages += pm->nr_pages;
	return 0;
}

struct seal_pass {
	struct restore_ctx *ctx;
	bool late;
};

static int seal_one(void *obj, void *arg)
{
	struct restore_obj *o = obj;
	struct seal_pass *sp = arg;
	uint32_t seals = o->seals;

	/* a ghost's pages are in: its mtime as it was */
	if (o->ghost && !sp->late && o->ghost_mtime_ns >= 0) {
		struct timespec ts[2] = { { .tv_nsec = UTIME_OMIT },
					  { o->ghost_mtime_ns / 1000000000, o->ghost_mtime_ns % 1000000000 } };

		if (futimens(sp->ctx->pool[o->slot], ts) < 0)
			return cr_fail(sp->ctx->err, CR_ERR_KERNEL, errno, "the deleted file %s: setting its mtime", o->ghost_path);
		return 0;
	}
	/* Without MFD_ALLOW_SEALING it already reads F_SEAL_SEAL. */
	if (o->ghost || !o->memfd || !seals || seals == F_SEAL_SEAL || sp->late != !!(seals & F_SEAL_FUTURE_WRITE))
		return 0;
	if (fcntl(sp->ctx->pool[o->slot], F_ADD_SEALS, seals) < 0)
		return cr_fail(sp->ctx->err, CR_ERR_KERNEL, errno, "sealing a memfd with %#x", seals);
	return 0;
}

/* Seals forbid what restore itself does: writing the pages (sealed once
 * they are in, before the tasks map it: F_SEAL_WRITE lets read-only shared
 * mappings be made, as they were), and for F_SEAL_FUTURE_WRITE mapping it
 * writable (sealed last, when every task has its mappings). */
int shm_restore_seal(struct restore_ctx *ctx, bool late)
{
	struct seal_pass sp = { ctx, late };

	return objhash_for_each(ctx->objs, OBJ_SHM, seal_one, &sp);
}
