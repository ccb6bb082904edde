// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd's image key and its trusted keys (key.h). */
#include "key.h"
#include "log.h"
#include "macro.h"
#include "statefile.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_DIR "keys"
#define KEY_FILE "image.key"

/* A key is what its file says only if no one but root could have put it
 * there: owned by us, written by no one else, a plain file or directory. */
static int key_check_owner(const struct stat *st, const char *what, mode_t forbidden)
{
	if (st->st_uid != geteuid() || (st->st_mode & forbidden))
		return log_errno(-EPERM, "%s: owned by uid %u with mode %04o; it must be owned by uid %u and %s",
				 what, (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), (unsigned)geteuid(),
				 forbidden & S_IRGRP ? "private (no access for group or others)" : "writable by no one else");
	return 0;
}

/* Read a key file (exactly MAC_KEY_LEN bytes) at dir_fd/name; logs why
 * not, but for -ENOENT. */
static int key_read(int dir_fd, const char *name, const char *what, mode_t forbidden, struct mac_key *ret)
{
	_cleanup_close_ int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct mac_key k;
	struct stat st;
	ssize_t n;
	int r;

	if (fd < 0 && errno == ENOENT)
		return -ENOENT;
	if (fd < 0)
		return log_errno(-errno, errno == ELOOP ? "%s: a symlink, refused" : "%s: %m", what);
	if (fstat(fd, &st) < 0)
		return log_errno(-errno, "%s: %m", what);
	if (!S_ISREG(st.st_mode))
		return log_errno(-EINVAL, "%s: not a regular file", what);
	r = key_check_owner(&st, what, forbidden);
	if (r < 0)
		return r;
	if (st.st_size != MAC_KEY_LEN)
		return log_errno(-EINVAL, "%s: %lld bytes; a key is %d", what, (long long)st.st_size, MAC_KEY_LEN);
	n = pread(fd, k.key, sizeof(k.key), 0);
	if (n != (ssize_t)sizeof(k.key))
		return log_errno(n < 0 ? -errno : -EIO, "%s: reading: %m", what);
	r = mac_key_set_id(&k);
	if (r < 0)
		return log_errno(r, "%s: computing its id: %m", what);
	*ret = k;
	explicit_bzero(&k, sizeof(k));
	return 0;
}

static int key_make(int dir_fd, const char *what)
{
	uint8_t key[MAC_KEY_LEN];
	size_t done = 0;
	int r;

	while (done < sizeof(key)) {
		ssize_t n = getrandom(key + done, sizeof(key) - done, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return log_errno(-errno, "%s: getrandom: %m", what);
		done += n;
	}
	r = statefile_write(dir_fd, KEY_FILE, key, sizeof(key));
	explicit_bzero(key, sizeof(key));
	if (r < 0)
		return log_errno(r, "%s: writing: %m", what);
	log_info("made a new image key in %s", what);
	return 0;
}

int key_load_own(int state_fd, struct mac_key *ret)
{
	_cleanup_close_ int dir_fd = -1;
	const char *what = KEY_DIR "/" KEY_FILE " in the state dir";
	struct stat st;
	int r;

	if (mkdirat(state_fd, KEY_DIR, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "creating the state dir's " KEY_DIR "/: %m");
	dir_fd = openat(state_fd, KEY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0)
		return log_errno(-errno, "the state dir's " KEY_DIR "/: %m");
	if (fstat(dir_fd, &st) < 0)
		return log_errno(-errno, "the state dir's " KEY_DIR "/: %m");
	r = key_check_owner(&st, "the state dir's " KEY_DIR "/", 0077);
	if (r < 0)
		return r;
	r = key_read(dir_fd, KEY_FILE, what, 0077, ret);
	if (r != -ENOENT)
		return r;
	r = key_make(dir_fd, what);
	return r < 0 ? r : key_read(dir_fd, KEY_FILE, what, 0077, ret);
}

static int key_ring_add(struct key_ring *ring, const struct mac_key *k)
{
	struct mac_key *v;

	if (ring->n >= MAC_MAX_KEYS)
		return log_errno(-E2BIG, "more than %d image keys", MAC_MAX_KEYS);
	v = reallocarray(ring->keys, ring->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ring->keys = v;
	v[ring->n++] = *k;
	return 0;
}

int key_load_trusted(const char *dir, struct key_ring *ring)
{
	_cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	char what[PATH_MAX + 32];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	if (dfd < 0 && errno == ENOENT)
		return 0;
	if (dfd < 0)
		return log_errno(-errno, "trusted keys %s: %m", dir);
	if (fstat(dfd, &st) < 0)
		return log_errno(-errno, "trusted keys %s: %m", dir);
	snprintf(what, sizeof(what), "trusted keys %s", dir);
	r = key_check_owner(&st, what, S_IWGRP | S_IWOTH);
	if (r < 0)
		return r;
	d = fdopendir(dup(dfd));
	if (!d)
		return log_errno(-errno, "trusted keys %s: %m", dir);
	while (r >= 0 && (de = readdir(d))) {
		struct mac_key k;

		/* editors' and installers' temporaries start with a dot */
		if (de->d_name[0] == '.')
			continue;
		snprintf(what, sizeof(what), "trusted key %s/%s", dir, de->d_name);
		/* a key others can read is one they can forge images with */
		r = key_read(dfd, de->d_name, what, 0077, &k);
		if (r == -ENOENT) {
			r = 0;
			continue;
		}
		if (r >= 0)
			r = key_ring_add(ring, &k);
		explicit_bzero(&k, sizeof(k));
	}
	closedir(d);
	return r;
}

int key_ring_load(int state_fd, const char *trusted_dir, struct key_ring *ret)
{
	struct key_ring ring = { 0 };
	char hex[MAC_KEY_ID_HEX];
	struct mac_key own;
	int r;

	r = key_load_own(state_fd, &own);
	if (r >= 0)
		r = key_ring_add(&ring, &own);
	explicit_bzero(&own, sizeof(own));
	if (r >= 0)
		r = key_load_trusted(trusted_dir, &ring);
	if (r < 0) {
		key_ring_free(&ring);
		return r;
	}
	ring.trusted_dir = trusted_dir;
	mac_key_id_hex(ring.keys[0].id, hex);
	log_info("image key id %s; %zu trusted key(s) from %s", hex, ring.n - 1, trusted_dir);
	for (size_t i = 1; i < ring.n; i++) {
		mac_key_id_hex(ring.keys[i].id, hex);
		log_info("trusted image key id %s", hex);
	}
	*ret = ring;
	return 0;
}

void key_ring_free(struct key_ring *ring)
{
	if (ring->keys)
		explicit_bzero(ring->keys, ring->n * sizeof(*ring->keys));
	free(ring->keys);
	ring->keys = NULL;
	ring->n = 0;
}
