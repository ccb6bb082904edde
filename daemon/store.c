// SPDX-License-Identifier: GPL-2.0-or-later
/* The image store: plain files in the container's images/ dir, named by id. */
#include "store.h"
#include "image.h"
#include "image.pb-c.h"
#include "log.h"
#include "macro.h"
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

#define IMAGES_DIR "images"

bool store_id_valid(const char *id)
{
	size_t n = strspn(id, "0123456789");

	/* decimal, no leading zero, fits an uint32 comfortably */
	return n > 0 && n <= 9 && id[n] == '\0' && id[0] != '0';
}

/* Never through a symlink: one planted as images/ must not make ckptd
 * truncate, rename or clean up *.img.tmp files somewhere else. */
static int images_dir(int dir_fd)
{
	int fd = openat(dir_fd, IMAGES_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	return fd < 0 ? -errno : fd;
}

/* "12.img" -> 12; 0 for anything else (including "12.img.tmp"). */
static unsigned long image_name_id(const char *name)
{
	size_t n = strspn(name, "0123456789");

	if (n == 0 || n > 9 || name[0] == '0' || !streq(name + n, ".img"))
		return 0;
	return strtoul(name, NULL, 10);
}

static int cmp_image(const void *a, const void *b)
{
	unsigned long x = strtoul(((const struct store_image *)a)->id, NULL, 10);
	unsigned long y = strtoul(((const struct store_image *)b)->id, NULL, 10);

	return x < y ? -1 : x > y;
}

int store_list(int dir_fd, struct store_image **ret, size_t *ret_n)
{
	_cleanup_free_ struct store_image *v = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int fd;

	fd = images_dir(dir_fd);
	if (fd == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return negerrno();
	}
	while ((de = readdir(d))) {
		unsigned long id = image_name_id(de->d_name);
		struct stat st;

		if (!id || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (GROW(v, cap, n, 8) < 0)
			return -ENOMEM;
		snprintf(v[n].id, sizeof(v[n].id), "%lu", id);
		v[n].size = st.st_size;
		v[n].mtime = st.st_mtime;
		v[n].owner_uid = st.st_uid;
		n++;
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_image);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

int store_newest(int dir_fd, char ret_id[STORE_ID_MAX])
{
	_cleanup_free_ struct store_image *v = NULL;
	size_t n;
	int r;

	r = store_list(dir_fd, &v, &n);
	if (r < 0)
		return r;
	if (n == 0)
		return -ENOENT;
	memcpy(ret_id, v[n - 1].id, STORE_ID_MAX);
	return 0;
}

int store_next_id(int dir_fd, char ret_id[STORE_ID_MAX])
{
	char id[STORE_ID_MAX];
	int r;

	r = store_newest(dir_fd, id);
	if (r == -ENOENT) {
		snprintf(ret_id, STORE_ID_MAX, "1");
		return 0;
	}
	if (r < 0)
		return r;
	snprintf(ret_id, STORE_ID_MAX, "%lu", strtoul(id, NULL, 10) + 1);
	return 0;
}

int store_open(int dir_fd, const char *id)
{
	_cleanup_close_ int dfd = -1;
	char name[STORE_ID_MAX + 8];
	int fd;

	if (!store_id_valid(id))
		return -EINVAL;
	dfd = images_dir(dir_fd);
	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "%s.img", id);
	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

int store_create_tmp(int dir_fd, const char *id, uid_t owner)
{
	_cleanup_close_ int dfd = -1;
	char name[STORE_ID_MAX + 16];
	int fd;

	if (!store_id_valid(id))
		return -EINVAL;
	if (mkdirat(dir_fd, IMAGES_DIR, 0700) < 0 && errno != EEXIST)
		return -errno;
	dfd = images_dir(dir_fd);
	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "%s.img.tmp", id);
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (fchown(fd, owner, (gid_t)-1) < 0) {
		int r = -errno;

		close(fd);
		unlinkat(dfd, name, 0);
		return r;
	}
	return fd;
}

int store_commit(int dir_fd, const char *id, int fd)
{
	_cleanup_close_ int dfd = -1;
	char tmp[STORE_ID_MAX + 16], name[STORE_ID_MAX + 8];

	if (fsync(fd) < 0)
		return -errno;
	dfd = images_dir(dir_fd);
	if (dfd < 0)
		return dfd;
	snprintf(tmp, sizeof(tmp), "%s.img.tmp", id);
	snprintf(name, sizeof(name), "%s.img", id);
	if (renameat(dfd, tmp, dfd, name) < 0)
		return -errno;
	/* the rename itself must be durable too */
	if (fsync(dfd) < 0)
		return -errno;
	return 0;
}

void store_abort(int dir_fd, const char *id)
{
	_cleanup_close_ int dfd = images_dir(dir_fd);
	char tmp[STORE_ID_MAX + 16];

	if (dfd < 0)
		return;
	snprintf(tmp, sizeof(tmp), "%s.img.tmp", id);
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT)
		log_warn("removing image %s: %m", tmp);
}

void store_clean_tmp(int dir_fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	fd = images_dir(dir_fd);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 8 && streq(de->d_name + n - 8, ".img.tmp"))
			unlinkat(dirfd(d), de->d_name, 0);
	}
}

/* Verifying reads a whole image: `images` asks again and again about the
 * same immutable files, so recent answers are kept. */
struct store_verdict {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	const struct mac_key *keys;
	size_t nkeys;
	bool trusted, has_key_id;
	uint8_t key_id[MAC_KEY_ID_LEN];
};

#define STORE_VERDICTS 64
static struct store_verdict store_verdicts[STORE_VERDICTS];
static size_t store_verdict_next;

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static struct store_verdict *store_verdict_find(const struct stat *st, const struct mac_key *keys, size_t n)
{
	for (size_t i = 0; i < STORE_VERDICTS; i++) {
		struct store_verdict *v = &store_verdicts[i];

		if (v->ino == st->st_ino && v->dev == st->st_dev && v->size == st->st_size &&
		    ts_eq(v->mtime, st->st_mtim) && ts_eq(v->ctime, st->st_ctim) && v->keys == keys && v->nkeys == n)
			return v;
	}
	return NULL;
}

int store_verify(int dir_fd, const char *id, const struct mac_key *keys, size_t n, bool *ret_trusted,
		 uint8_t ret_key_id[MAC_KEY_ID_LEN], bool *ret_has_key_id)
{
	_cleanup_close_ int fd = store_open(dir_fd, id);
	struct store_verdict *v;
	struct image_reader rd;
	const void *payload;
	struct stat st;
	uint32_t type;
	size_t len;
	int r;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	v = store_verdict_find(&st, keys, n);
	if (!v) {
		image_reader_init(&rd, fd);
		r = image_reader_verify(&rd, keys, n);
		while (r >= 0 && (r = image_read_record(&rd, &type, &payload, &len)) == 1)
			;
		v = &store_verdicts[store_verdict_next++ % STORE_VERDICTS];
		*v = (struct store_verdict){
			.dev = st.st_dev, .ino = st.st_ino, .size = st.st_size, .mtime = st.st_mtim,
			.ctime = st.st_ctim, .keys = keys, .nkeys = n,
			.trusted = r == 0 && rd.mac_ok, .has_key_id = rd.mac_seen,
		};
		memcpy(v->key_id, rd.mac_key_id, MAC_KEY_ID_LEN);
		image_reader_free(&rd);
	}
	*ret_trusted = v->trusted;
	*ret_has_key_id = v->has_key_id;
	memcpy(ret_key_id, v->key_id, MAC_KEY_ID_LEN);
	return 0;
}

int store_remove(int dir_fd, const char *id)
{
	_cleanup_close_ int dfd = -1;
	char name[STORE_ID_MAX + 8];

	if (!store_id_valid(id))
		return -EINVAL;
	dfd = images_dir(dir_fd);
	if (dfd < 0)
		return dfd;
	snprintf(name, sizeof(name), "%s.img", id);
	if (unlinkat(dfd, name, 0) < 0)
		return -errno;
	/* the removal must survive a crash like a commit does */
	return fsync(dfd) < 0 ? -errno : 0;
}

static const ProtobufCMessageDescriptor *meta_desc(uint32_t type)
{
	switch (type) {
	case IMG_HEADER: return &ckpt__img__header__descriptor;
	case IMG_TASK: return &ckpt__img__task__descriptor;
	case IMG_FILE: return &ckpt__img__file__descriptor;
	case IMG_FDS: return &ckpt__img__fds__descriptor;
	case IMG_MM: return &ckpt__img__mm__descriptor;
	case IMG_PAGEMAP: case IMG_DROP: return &ckpt__img__pagemap__descriptor;
	case IMG_PIPE: return &ckpt__img__pipe__descriptor;
	case IMG_SHM: return &ckpt__img__shm__descriptor;
	case IMG_GHOST: return &ckpt__img__ghost__descriptor;
	case IMG_TREE: return &ckpt__img__tree__descriptor;
	case IMG_THREAD: return &ckpt__img__thread__descriptor;
	case IMG_SYSV_SHM: return &ckpt__img__sysv_shm__descriptor;
	default: return NULL;
	}
}

/* The verified tail payload of the image copied: the copy's tail. */
static int store_copy_tail(struct image_writer *w, const void *payload, size_t len)
{
	Ckpt__Img__Tail *t = payload ? ckpt__img__tail__unpack(NULL, len, payload) : NULL;
	int ret;

	if (!t)
		return -EBADMSG;
	ret = image_write_tail_mac(w, t->mac);
	protobuf_c_message_free_unpacked(&t->base, NULL);
	return ret;
}

/* The writer makes the same bytes from the same records (the checksum
 * chain and the tail's counts depend on nothing else); the image's IMG_MAC
 * records and its tail's MAC are copied as they are, so the copy is the
 * image byte for byte. */
int store_copy_verified(int in_fd, int out_fd, uint64_t deadline_ms, uint64_t *ret_bytes,
			char *why, size_t why_len)
{
	struct image_reader r;
	struct image_writer w;
	const void *payload = NULL;
	size_t len = 0;
	int ret;

	why[0] = '\0';
	image_reader_init(&r, in_fd);
	r.pass_mac = true;
	r.raw_pages = true;   /* a copy keeps compressed pages as they are */
	image_writer_init(&w, out_fd);
	ret = deadline_ms ? image_io_set_deadline(&r.io, in_fd, false, deadline_ms) : 0;
	if (ret < 0)
		snprintf(r.error, sizeof(r.error), "preparing the stream: %s", strerror(-ret));
	while (ret >= 0) {
		const ProtobufCMessageDescriptor *desc;
		uint32_t type;
		uint64_t off = r.offset;
		void *msg;

		ret = image_read_record(&r, &type, &payload, &len);
		if (ret <= 0)
			break;
		desc = meta_desc(type);
		if (desc) {
			msg = image_unpack(&r, desc, payload, len);
			if (!msg) {
				ret = -EBADMSG;
				snprintf(why, why_len, "offset %" PRIu64 ": %s", off, r.error);
				break;
			}
			protobuf_c_message_free_unpacked(msg, NULL);
		}
		ret = image_write_record(&w, type, payload, len);
		if (ret < 0)
			snprintf(r.error, sizeof(r.error), "writing the copy: %s", strerror(-ret));
	}
	if (ret == 0) {
		ret = store_copy_tail(&w, payload, len);
		if (ret < 0)
			snprintf(r.error, sizeof(r.error), "writing the copy: %s", strerror(-ret));
	}
	if (ret < 0 && !why[0])
		snprintf(why, why_len, "%s", r.error[0] ? r.error : strerror(-ret));
	if (ret >= 0)
		*ret_bytes = w.offset;
	image_reader_free(&r);
	image_writer_free(&w);
	return ret < 0 ? ret : 0;
}

int store_parent(int dir_fd, const char *id, char ret_parent[STORE_ID_MAX])
{
	_cleanup_close_ int fd = store_open(dir_fd, id);
	Ckpt__Img__Header *h = NULL;
	struct image_reader rd;
	const void *p;
	uint32_t type;
	size_t len;
	int r;

	if (fd < 0)
		return fd;
	image_reader_init(&rd, fd);
	r = image_read_record(&rd, &type, &p, &len);
	if (r > 0 && type == IMG_HEADER)
		h = image_unpack(&rd, &ckpt__img__header__descriptor, p, len);
	r = r < 0 ? r : !h ? -EBADMSG : 0;
	if (h && h->parent_id) {
		r = store_id_valid(h->parent_id) ? 1 : -EBADMSG;
		if (r > 0)
			snprintf(ret_parent, STORE_ID_MAX, "%s", h->parent_id);
	}
	if (h)
		protobuf_c_message_free_unpacked(&h->base, NULL);
	image_reader_free(&rd);
	return r;
}

int store_child(int dir_fd, const char *id, char ret_child[STORE_ID_MAX])
{
	_cleanup_free_ struct store_image *imgs = NULL;
	char parent[STORE_ID_MAX];
	size_t n;
	int r = store_list(dir_fd, &imgs, &n);

	int found = 0;

	for (size_t i = 0; r >= 0 && i < n; i++)
		if (store_parent(dir_fd, imgs[i].id, parent) > 0 && streq(parent, id) && found++ == 0)
			snprintf(ret_child, STORE_ID_MAX, "%s", imgs[i].id);
	return r < 0 ? r : found;
}

void store_cache_free(struct store_cache *sc)
{
	free(sc->imgs);
	*sc = (struct store_cache){ 0 };
}

static int64_t timespec_ms(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

int store_list_cached(int dir_fd, struct store_cache *sc, struct store_image **ret, size_t *ret_n)
{
	struct store_image *v = NULL;
	struct timespec now;
	struct stat st;
	int r;

	if (fstatat(dir_fd, IMAGES_DIR, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		store_cache_free(sc);
		return errno == ENOENT ? store_list(dir_fd, ret, ret_n) : -errno;
	}
	if (!sc->valid || sc->ino != st.st_ino || sc->mtime.tv_sec != st.st_mtim.tv_sec ||
	    sc->mtime.tv_nsec != st.st_mtim.tv_nsec) {
		store_cache_free(sc);
		clock_gettime(CLOCK_REALTIME, &now);
		r = store_list(dir_fd, &sc->imgs, &sc->n);
		if (r < 0)
			return r;
		sc->ino = st.st_ino;
		sc->mtime = st.st_mtim;
		sc->valid = timespec_ms(&now) - timespec_ms(&st.st_mtim) >= STORE_CACHE_RACY_MS;
	}
	if (sc->n && !(v = malloc(sc->n * sizeof(*v))))
		return -ENOMEM;
	if (sc->n)
		memcpy(v, sc->imgs, sc->n * sizeof(*v));
	*ret = v;
	*ret_n = sc->n;
	if (!sc->valid)
		store_cache_free(sc);
	return 0;
}
