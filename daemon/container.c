// SPDX-License-Identifier: GPL-2.0-or-later
/* The container table and its persistence, and the birth and death of inits.
 *
 * On disk, STATE/containers/NAME/ holds `state` (key=value lines), `argv`
 * (NUL-separated), `log` and `images/`. Running containers survive ckptd:
 * at start an init that is still alive (same pid and starttime as saved) is
 * re-adopted through a pidfd. */
#include "container.h"
#include "creds.h"
#include "intent.h"
#include "events.h"
#include <arpa/inet.h>
#include "handlers.h"
#include "init.h"
#include "log.h"
#include "loopwatch.h"
#include "macro.h"
#include "net.h"
#include "ns.h"
#include "proc.h"
#include "rootfs.h"
#include "server.h"
#include "statefile.h"
#include "store.h"
#include "worker.h"
#include "userns.h"
#include <event2/event.h>
#include "lazyfill.h"
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <strings.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <linux/sched.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>

#define CONTAINERS_DIR "containers"
#define STATE_FILE_MAX 16384
#define ARGV_FILE_MAX (256 * 1024)

static const char *const state_names[] = {
	[CONTAINER_STOPPED] = "stopped",
	[CONTAINER_RUNNING] = "running",
	[CONTAINER_CHECKPOINTED] = "checkpointed",
};

bool container_name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= CONTAINER_NAME_MAX && name[0] != '.' &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

struct container *container_find(struct server *srv, const char *name)
{
	struct container *c;

	for (c = srv->containers; c; c = c->next)
		if (streq(c->name, name))
			return c;
	return NULL;
}

static void container_free_argv(struct container *c)
{
	size_t i;

	for (i = 0; c->argv && i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	c->argv = NULL;
	c->argc = 0;
}

int container_set_argv(struct container *c, char *const *argv, size_t argc)
{
	char **v = calloc(argc + 1, sizeof(char *));
	size_t i;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < argc; i++)
		if (!(v[i] = strdup(argv[i]))) {
			while (i--)
				free(v[i]);
			free(v);
			return -ENOMEM;
		}
	container_free_argv(c);
	c->argv = v;
	c->argc = argc;
	return 0;
}

static int container_open_log(struct container *c)
{
	int fd = openat(c->dir_fd, "log", O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);

	if (fd < 0)
		return log_errno(-errno, "container %s: opening its log: %m", c->name);
	c->log_fd = fd;
	return 0;
}

/* STATE/containers, never through a symlink: something planted in the state
 * dir must not move where containers are created, read or removed. */
static int containers_dir(struct server *srv)
{
	int fd = openat(srv->state_fd, CONTAINERS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return log_errno(-errno, "opening %s/" CONTAINERS_DIR ": %m", srv->state_dir);
	return fd;
}

static int container_alloc(struct server *srv, const char *name, bool create, struct container **ret)
{
	_cleanup_close_ int cfd = -1;
	struct container *c;
	int r;

	/* the name is a path component: callers validated it, never trust that here */
	if (!container_name_valid(name))
		return -EINVAL;
	cfd = containers_dir(srv);
	if (cfd < 0)
		return cfd;
	if (create && mkdirat(cfd, name, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "creating %s/" CONTAINERS_DIR "/%s: %m", srv->state_dir, name);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->srv = srv;
	c->init_pidfd = c->log_fd = c->pending_fd = c->console_fd = c->init_ready_fd = -1;
	c->contain.caps = contain_default_caps();   /* a record without caps= predates them */
	snprintf(c->name, sizeof(c->name), "%s", name);
	c->dir_fd = openat(cfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (c->dir_fd < 0) {
		r = log_errno(-errno, "opening %s/" CONTAINERS_DIR "/%s: %m", srv->state_dir, name);
		container_free(c);
		return r;
	}
	if (mkdirat(c->dir_fd, "images", 0700) < 0 && errno != EEXIST) {
		r = log_errno(-errno, "container %s: creating images/: %m", name);
		container_free(c);
		return r;
	}
	r = container_open_log(c);
	if (r < 0) {
		container_free(c);
		return r;
	}
	c->next = srv->containers;
	srv->containers = c;
	*ret = c;
	return 0;
}

/* The owner's user name, for list; a uid without one shows as its number. */
void container_set_owner(struct container *c, uid_t uid)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	c->owner_uid = uid;
	c->owner_name[0] = '\0';
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res && strlen(res->pw_name) < sizeof(c->owner_name))
		snprintf(c->owner_name, sizeof(c->owner_name), "%s", res->pw_name);
}

int container_new(struct server *srv, const char *name, uid_t owner, struct container **ret)
{
	int r = container_alloc(srv, name, true, ret);

	if (r >= 0)
		container_set_owner(*ret, owner);
	return r;
}

void container_incr_drop(struct container *c)
{
	for (size_t i = 0; i < c->incr_nfds; i++)
		safe_close(c->incr_fds[i]);
	free(c->incr_fds);
	c->incr_fds = NULL;
	c->incr_nfds = 0;
	c->incr_parent[0] = 0;
	c->incr_digest = 0;
}

void container_incr_keep(struct container *c, int *fds, size_t n, const char *id, uint64_t digest)
{
	int *v = n ? realloc(c->incr_fds, (c->incr_nfds + n) * sizeof(int)) : c->incr_fds;
	size_t i;

	if ((n && !v) || c->incr_nfds + n > CONTAINER_INCR_FDS_MAX || strlen(id) >= sizeof(c->incr_parent)) {
		/* the chain ends here: the next image is a full one */
		log_warn("container %s: write tracking not kept (%zu userfaultfds)", c->name, c->incr_nfds + n);
		if (v)
			c->incr_fds = v;
		for (i = 0; i < n; i++)
			close(fds[i]);
		container_incr_drop(c);
		return;
	}
	c->incr_fds = v;
	for (i = 0; i < n; i++)
		c->incr_fds[c->incr_nfds++] = fds[i];
	snprintf(c->incr_parent, sizeof(c->incr_parent), "%s", id);
	c->incr_digest = digest;
}

void container_free(struct container *c)
{
	if (!c)
		return;
	query_wait_gone(c);
	if (c->log_worker)
		worker_abort(c->log_worker);    /* its done() needs c */
	if (c->ev_init)
		event_free(c->ev_init);
	if (c->ev_cg_gone)
		event_free(c->ev_cg_gone);
	container_unwatch_ready(c);
	store_cache_free(&c->images);
	if (c->op_conn)
		c->op_conn->waiting = NULL;
	if (c->pending_conn)
		c->pending_conn->waiting = NULL;
	if (c->cancel_conn)
		c->cancel_conn->canceling = NULL;
	c->pending_fd = safe_close(c->pending_fd);
	if (c->op_result)
		ckpt__rpc__response__free_unpacked(c->op_result, NULL);
	container_incr_drop(c);
	for (size_t i = 0; i < c->incr_nnew; i++)
		close(c->incr_new[i]);
	free(c->incr_new);
	c->init_pidfd = safe_close(c->init_pidfd);
	c->console_fd = safe_close(c->console_fd);
	c->log_fd = safe_close(c->log_fd);
	c->dir_fd = safe_close(c->dir_fd);
	container_free_argv(c);
	free(c);
}

void container_drop(struct container *c)
{
	struct container **p;

	lazyfill_stop(c);
	for (p = &c->srv->containers; *p; p = &(*p)->next)
		if (*p == c) {
			*p = c->next;
			break;
		}
	container_free(c);
}

/* rm -r of a directory we own; dir_fd is consumed. */
static int rm_rf_at(int dir_fd)
{
	_cleanup_closedir_ DIR *d = fdopendir(dir_fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(dir_fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (streq(de->d_name, ".") || streq(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno == EISDIR) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0 && rm_rf_at(sub) >= 0 && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
				continue;
		}
		r = -errno;
	}
	return r;
}

/* Removing a container's directory can take long: a tmpfs frees every page
 * of an 8 GiB image as it unlinks it. The loop only renames the directory
 * out of the way (instant, atomic: the name is free again at once) and a
 * thread of its own removes the rest. No container's name starts with '.',
 * so a ckptd stopped half-way finds TRASH_PREFIX entries at its next start
 * and removes them then. */
#define TRASH_PREFIX ".rm-"

struct trash {
	int cfd;                          /* the containers directory */
	char name[sizeof(TRASH_PREFIX) + CONTAINER_NAME_MAX + 24];
};

static void *trash_remove(void *arg)
{
	struct trash *t = arg;
	int fd = openat(t->cfd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int r = fd < 0 ? -errno : rm_rf_at(fd);

	if (r >= 0 && unlinkat(t->cfd, t->name, AT_REMOVEDIR) < 0)
		r = -errno;
	if (r < 0)
		log_errno(r, "removing " CONTAINERS_DIR "/%s: %m (retried at ckptd's next start)", t->name);
	close(t->cfd);
	free(t);
	return NULL;
}

/* Hands the removal of cfd/t->name to a thread; removes it here if no
 * thread can be had. Takes t and t->cfd. */
static void trash_start(struct trash *t)
{
	pthread_attr_t attr;
	pthread_t th;
	int r;

	r = pthread_attr_init(&attr);
	if (r == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		r = pthread_create(&th, &attr, trash_remove, t);
		pthread_attr_destroy(&attr);
	}
	if (r != 0)
		trash_remove(t);
}

/* Renames cfd/name to a trash name and starts its removal. */
static int trash_dir(int cfd, const char *name)
{
	static unsigned long seq;
	struct trash *t = calloc(1, sizeof(*t));

	if (!t)
		return -ENOMEM;
	snprintf(t->name, sizeof(t->name), TRASH_PREFIX "%s.%d.%lu", name, (int)getpid(), ++seq);
	if (renameat(cfd, name, cfd, t->name) < 0) {
		int r = -errno;

		free(t);
		return r;
	}
	t->cfd = fcntl(cfd, F_DUPFD_CLOEXEC, 3);
	if (t->cfd < 0) {
		int r = -errno;

		free(t);
		return r;
	}
	trash_start(t);
	return 0;
}

/* What an earlier ckptd left half-removed. */
static void trash_sweep(int cfd, DIR *d)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d))) {
		struct trash *t;

		if (strncmp(de->d_name, TRASH_PREFIX, strlen(TRASH_PREFIX)) != 0 || de->d_type != DT_DIR)
			continue;
		t = calloc(1, sizeof(*t));
		if (!t || snprintf(t->name, sizeof(t->name), "%s", de->d_name) >= (int)sizeof(t->name) ||
		    (t->cfd = fcntl(cfd, F_DUPFD_CLOEXEC, 3)) < 0) {
			free(t);
			continue;
		}
		trash_start(t);
	}
}

int container_destroy(struct container *c)
{
	_cleanup_close_ int cfd = -1;
	int r;

	net_release(c->srv, c);
	container_cleanup_cgroup(c);
	if (c->has_cgroup)
		log_warn("container %s: cgroup %s left behind", c->name, c->cg.dir);
	cfd = containers_dir(c->srv);
	r = cfd < 0 ? cfd : trash_dir(cfd, c->name);
	if (r < 0)
		log_errno(r, "container %s: removing %s/" CONTAINERS_DIR "/%s: %m", c->name, c->srv->state_dir,
			  c->name);
	container_drop(c);
	return r;
}

/* ---- persistence ---- */

/* net=private|host, net_address=A.B.C.D (the container's; its /30 gives
 * the host end), publish=HOSTPORT:PORT/PROTO lines. */
static int container_save_net(const struct container *c, char *buf, size_t len)
{
	char a[16], p[NET_PUBLISH_STR_MAX];
	size_t n, i;

	n = snprintf(buf, len, "net=%s\n", c->net.private_ns ? "private" : "host");
	if (c->net.addr && n < len)
		n += snprintf(buf + n, len - n, "net_address=%s\n", net_addr_str(c->net.addr, a));
	for (i = 0; i < c->net.npublish && n < len; i++) {
		net_format_publish(&c->net.publish[i], p);
		n += snprintf(buf + n, len - n, "publish=%s\n", p);
	}
	return n;
}

/* caps=HEX, privileged=1, user=UID:GID[:G,...], root=DIR, bind=SRC:DST[:ro] lines. */
static int container_save_contain(const struct cr_contain *k, char *buf, size_t len)
{
	size_t n, i;

	n = snprintf(buf, len, "caps=%" PRIx64 "\n", k->caps);
	if (k->privileged && n < len)
		n += snprintf(buf + n, len - n, "privileged=1\n");
	if (k->has_user && n < len) {
		n += snprintf(buf + n, len - n, "user=%u:%u:", k->uid, k->gid);
		for (i = 0; i < k->ngroups && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%u", i ? "," : "", k->groups[i]);
		if (n < len)
			n += snprintf(buf + n, len - n, "\n");
	}
	if (k->root[0] && n < len)
		n += snprintf(buf + n, len - n, "root=%s\n", k->root);
	for (i = 0; i < k->nbinds && n < len; i++)
		n += snprintf(buf + n, len - n, "bind=%s:%s%s\n", k->binds[i].src, k->binds[i].dst,
			      k->binds[i].ro ? ":ro" : "");
	if (k->userns && n < len)
		n += snprintf(buf + n, len - n, "userns=%u:%u\n", k->userns_base, k->userns_count);
	return n;
}

/* userns=BASE:COUNT. A range not as ckptd writes it still makes a user
 * namespace, with a map the kernel refuses: the container fails to
 * start rather than run in the host's ids. */
static void container_load_userns(struct cr_contain *k, const char *v)
{
	unsigned long b, n;
	char *end;

	k->userns = true;
	k->userns_base = 0;
	k->userns_count = 0;
	b = strtoul(v, &end, 10);
	if (*end++ != ':')
		return;
	n = strtoul(end, &end, 10);
	if (*end || b > UINT32_MAX || n > UINT32_MAX || userns_range_check(b, n))
		return;
	k->userns_base = b;
	k->userns_count = n;
}

/* One line of the record's containment part. What is not as ckptd writes
 * it leaves the container with less: no capability, no bind, a root that
 * fails to set up rather than the host's. */
static void container_load_contain(struct cr_contain *k, const char *key, const char *v)
{
	char *end;

	if (streq(key, "caps")) {
		k->caps = strtoull(v, &end, 16) & CONTAIN_CAPS_ALL;
		if (*end)
			k->caps = 0;
	} else if (streq(key, "privileged"))
		k->privileged = streq(v, "1");
	else if (streq(key, "user")) {
		unsigned long u = strtoul(v, &end, 10), g;

		if (*end++ != ':')
			return;
		g = strtoul(end, &end, 10);
		if (*end++ != ':' || u > UINT32_MAX || g > UINT32_MAX)
			return;
		k->has_user = true;
		k->uid = u;
		k->gid = g;
		while (*end && k->ngroups < CR_MAX_GROUPS) {
			k->groups[k->ngroups++] = strtoul(end, &end, 10);
			if (*end == ',')
				end++;
			else
				break;
		}
	} else if (streq(key, "root")) {
		if (contain_path_ok(v))
			snprintf(k->root, sizeof(k->root), "%s", v);
		else
			snprintf(k->root, sizeof(k->root), "/nonexistent");
	} else if (streq(key, "bind") && k->nbinds < CONTAIN_MAX_BINDS &&
		   contain_bind_parse(v, &k->binds[k->nbinds]) == 0)
		k->nbinds++;
	else if (streq(key, "userns"))
		container_load_userns(k, v);
}

/* One line of the record's network part; anything not as ckptd writes it
 * leaves the container without a veth (and its NAT), not with a wrong one. */
static void container_load_net(struct container *c, const char *key, const char *v)
{
	struct in_addr a;

	if (streq(key, "net"))
		c->net.private_ns = streq(v, "private");
	else if (streq(key, "net_address") && inet_pton(AF_INET, v, &a) == 1) {
		uint32_t addr = ntohl(a.s_addr);

		if ((addr & CR_NET_RANGE_MASK) == CR_NET_RANGE_BASE && (addr & 3) == 2) {
			c->net.addr = addr;
			c->net.host_addr = addr - 1;
			c->net.prefix_len = CR_NET_PREFIX_LEN;
		}
	} else if (streq(key, "publish") && c->net.npublish < CR_NET_MAX_PUBLISH &&
		   net_parse_publish(v, &c->net.publish[c->net.npublish]) == 0)
		c->net.npublish++;
}

/* A limit read back from the state file: one out of bounds is dropped. */
static void container_load_limit(struct cg_limits *l, const char *key, const char *v)
{
	struct cg_limits t = *l;
	unsigned long long x;
	char *end, buf[128];

	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || end == v || *end)
		return;
	if (streq(key, "limit_memory"))
		t.memory = x;
	else if (x <= UINT32_MAX)
		*(streq(key, "limit_pids") ? &t.pids : &t.cpus_milli) = (uint32_t)x;
	if ((t.memory && t.memory < CG_LIMIT_MEMORY_MIN) || cg_limits_check(&t, buf, sizeof(buf)))
		return;
	*l = t;
}

int container_save(struct container *c)
{
	char buf[STATE_FILE_MAX];
	_cleanup_free_ char *av = NULL;
	size_t avlen = 0, i;
	int n, r;

	n = snprintf(buf, sizeof(buf), "state=%s\nowner_uid=%u\ninit_pid=%d\ninit_start=%" PRIu64 "\n",
		     state_names[c->state], (unsigned)c->owner_uid, (int)c->init_pid, c->init_start);
	if (c->has_exit_status)
		n += snprintf(buf + n, sizeof(buf) - n, "exit_status=%d\n", c->exit_status);
	if (c->has_cgroup)
		n += snprintf(buf + n, sizeof(buf) - n, "cgroup_v1=%d\ncgroup=%s\n", c->cg.v1, c->cg.dir);
	if (c->hostname[0])
		n += snprintf(buf + n, sizeof(buf) - n, "hostname=%s\n", c->hostname);
	if (cg_limits_any(&c->limits))
		n += snprintf(buf + n, sizeof(buf) - n, "limit_memory=%" PRIu64 "\nlimit_pids=%u\nlimit_cpus_milli=%u\n",
			      c->limits.memory, c->limits.pids, c->limits.cpus_milli);
	n += container_save_net(c, buf + n, sizeof(buf) - (size_t)n);
	if (c->tty)
		n += snprintf(buf + n, sizeof(buf) - n, "tty=1\n");
	if ((size_t)n < sizeof(buf))
		n += container_save_contain(&c->contain, buf + n, sizeof(buf) - (size_t)n);
	if ((size_t)n >= sizeof(buf))
		return log_errno(-ENAMETOOLONG, "container %s: state too long", c->name);
	r = statefile_write(c->dir_fd, "state", buf, n);
	if (r < 0)
		return log_errno(r, "container %s: saving its state: %m", c->name);
	for (i = 0; i < c->argc; i++)
		avlen += strlen(c->argv[i]) + 1;
	av = malloc(avlen + 1);
	if (!av)
		return -ENOMEM;
	for (i = 0, n = 0; i < c->argc; i++)
		n += sprintf(av + n, "%s", c->argv[i]) + 1;
	r = statefile_write(c->dir_fd, "argv", av, avlen);
	if (r < 0)
		return log_errno(r, "container %s: saving its argv: %m", c->name);
	return 0;
}

static int container_load_argv(struct container *c)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_free_ char **v = NULL;
	size_t len, n = 0, i;
	int r;

	r = statefile_read(c->dir_fd, "argv", ARGV_FILE_MAX, &buf, &len);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (i = 0; i < len; i++)
		n += buf[i] == '\0';
	v = calloc(n + 1, sizeof(char *));
	if (!v)
		return -ENOMEM;
	for (i = 0, n = 0; i < len; i += strlen(buf + i) + 1)
		v[n++] = buf + i;
	return container_set_argv(c, v, n);
}

/* A cgroup path read back from the state file. ckptd kills what it lists
 * and removes it, so it must be ours by name and a cgroup indeed: not a
 * directory made to look like one, with a cgroup.procs naming anyone. */
bool container_cgroup_ours(const char *name, const char *dir)
{
	char tail[CONTAINER_NAME_MAX + 16];
	size_t n = strlen(dir), t;
	struct statfs sf;

	t = snprintf(tail, sizeof(tail), "/ckptd-%s", name);
	if (dir[0] != '/' || strstr(dir, "/../") || n <= t || !streq(dir + n - t, tail))
		return false;
	return statfs(dir, &sf) == 0 && (sf.f_type == CGROUP2_SUPER_MAGIC || sf.f_type == CGROUP_SUPER_MAGIC);
}

/* owner_uid=N as container_save writes it; anything else is root's: a
 * damaged record takes a container away from a member, never gives one. */
static uid_t container_parse_owner(const char *v)
{
	unsigned long long u = 0;
	size_t i;

	for (i = 0; v[i]; i++) {
		if (v[i] < '0' || v[i] > '9' || i >= 10)
			return 0;
		u = u * 10 + (unsigned)(v[i] - '0');
	}
	return i == 0 || u >= (uid_t)-1 ? 0 : (uid_t)u;
}

static int container_load_state(struct container *c)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t len;
	int r;

	/* records from before owners were kept are root's: only root could ask then */
	uid_t owner = 0;

	r = statefile_read(c->dir_fd, "state", STATE_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, '=');

		if (!v)
			continue;
		*v++ = '\0';
		if (streq(line, "state"))
			c->state = streq(v, "running") ? CONTAINER_RUNNING :
				   streq(v, "checkpointed") ? CONTAINER_CHECKPOINTED : CONTAINER_STOPPED;
		else if (streq(line, "owner_uid"))
			owner = container_parse_owner(v);
		else if (streq(line, "init_pid"))
			c->init_pid = atoi(v);
		else if (streq(line, "init_start"))
			c->init_start = strtoull(v, NULL, 10);
		else if (streq(line, "tty"))
			c->tty = streq(v, "1");
		else if (streq(line, "exit_status")) {
			c->has_exit_status = true;
			c->exit_status = atoi(v);
		} else if (streq(line, "cgroup_v1"))
			c->cg.v1 = atoi(v);
		else if (streq(line, "limit_memory") || streq(line, "limit_pids") || streq(line, "limit_cpus_milli"))
			container_load_limit(&c->limits, line, v);
		else if (streq(line, "net") || streq(line, "net_address") || streq(line, "publish"))
			container_load_net(c, line, v);
		else if (streq(line, "caps") || streq(line, "privileged") || streq(line, "user") ||
			 streq(line, "root") || streq(line, "bind") || streq(line, "userns"))
			container_load_contain(&c->contain, line, v);
		else if (streq(line, "cgroup") && container_cgroup_ours(c->name, v) && strlen(v) < sizeof(c->cg.dir)) {
			snprintf(c->cg.dir, sizeof(c->cg.dir), "%s", v);
			c->has_cgroup = true;
		}
	}
	container_set_owner(c, owner);
	return 0;
}

static void container_on_init_exit(evutil_socket_t fd, short what, void *arg);

static int container_watch_init(struct container *c)
{
	c->ev_init = event_new(c->srv->base, c->init_pidfd, EV_READ | EV_PERSIST, container_on_init_exit, c);
	if (!c->ev_init || event_add(c->ev_init, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* The saved init is still the same process: adopt it. */
static bool container_adopt(struct container *c)
{
	struct proc_stat st;
	int fd;

	if (c->init_pid <= 0 || proc_stat_pid(c->init_pid, &st) < 0 || st.starttime != c->init_start)
		return false;
	fd = syscall(SYS_pidfd_open, c->init_pid, 0);
	if (fd < 0)
		return false;
	/* the pid might have been recycled between the two looks */
	if (proc_stat_pid(c->init_pid, &st) < 0 || st.starttime != c->init_start) {
		close(fd);
		return false;
	}
	c->init_pidfd = fd;
	c->init_is_child = false;
	if (container_watch_init(c) < 0)
		return false;
	if (c->tty && container_take_console(c) < 0)
		log_warn("container %s: its console is gone: attach will fail", c->name);
	/* a checkpoint interrupted by our death would have left it frozen */
	if (c->has_cgroup)
		cgroup_thaw(&c->cg);
	container_find_workload(c);
	log_info("container %s: re-adopted init %d", c->name, c->init_pid);
	return true;
}

/* Kill and remove what a dead container left in its cgroup. */
void container_cleanup_cgroup(struct container *c)
{
	int r;

	if (!c->has_cgroup) {
		cg_limits_remove(c->name);
		return;
	}
	cgroup_kill(&c->cg);
	r = cgroup_remove(&c->cg);
	if (r < 0 && r != -ENOENT) {
		/* left for cgroup_create to reuse, or the next rm to retry */
		log_debug("container %s: removing cgroup %s: %s", c->name, c->cg.dir, strerror(-r));
		return;
	}
	c->has_cgroup = false;
	cg_limits_remove(c->name);
}

static int container_load(struct server *srv, const char *name)
{
	struct container *c;
	int r;

	r = container_alloc(srv, name, false, &c);
	if (r < 0)
		return r;
	r = container_load_state(c);
	if (r >= 0)
		r = container_load_argv(c);
	if (r < 0 && intent_read(c->dir_fd, &(struct intent){}) >= 0)
		r = 0;    /* an operation that made it had not yet saved it */
	if (r < 0) {
		log_errno(r, "container %s: loading its state: %m; ignoring it", name);
		container_drop(c);
		return 0;
	}
	/* an operation ckptd died in the middle of, finished or undone */
	r = intent_recover(c);
	if (r == 1) {
		container_destroy(c);
		return 0;
	}
	if (r < 0)
		log_errno(r, "container %s: recovering its interrupted operation: %m", name);
	if (c->state == CONTAINER_RUNNING && !container_adopt(c)) {
		log_info("container %s: init %d is gone, now stopped", name, c->init_pid);
		c->state = CONTAINER_STOPPED;
		c->has_exit_status = false;
	}
	if (c->state != CONTAINER_RUNNING) {
		c->init_pid = 0;
		c->init_start = 0;
		container_cleanup_cgroup(c);
		if (c->net.addr)
			net_cleanup(c->name, c->state == CONTAINER_CHECKPOINTED);    /* ckptd died before it could */
	}
	store_clean_tmp(c->dir_fd);
	return container_save(c);
}

int container_load_all(struct server *srv)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (mkdirat(srv->state_fd, CONTAINERS_DIR, 0700) < 0 && errno != EEXIST)
		return log_errno(-errno, "creating %s/" CONTAINERS_DIR ": %m", srv->state_dir);
	fd = containers_dir(srv);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (container_name_valid(de->d_name) && de->d_type == DT_DIR)
			container_load(srv, de->d_name);
	lazyfill_adopt_all(srv);
	trash_sweep(fd, d);
	return 0;
}

/* ---- what a container may do and see ---- */

static int contain_caps_from_run(const Ckpt__Rpc__RunRequest *r, uint64_t *caps, char *why, size_t len)
{
	size_t i;
	int n;

	*caps = r->privileged ? CONTAIN_CAPS_ALL : contain_default_caps();
	for (i = 0; i < r->n_cap_add + r->n_cap_drop; i++) {
		bool add = i < r->n_cap_add;
		const char *name = add ? r->cap_add[i] : r->cap_drop[i - r->n_cap_add];
		uint64_t bits;

		if (!strcasecmp(name, "ALL"))
			bits = CONTAIN_CAPS_ALL;
		else if ((n = contain_cap_number(name)) >= 0)
			bits = 1ull << n;
		else {
			snprintf(why, len, "unknown capability '%.40s' (names as in capabilities(7), or ALL)", name);
			return -EINVAL;
		}
		*caps = add ? *caps | bits : *caps & ~bits;
	}
	return 0;
}

/* USER[:GROUP], names (the host's passwd and group) or numbers; a user
 * by name brings its supplementary groups. */
static int contain_user_from_run(const char *spec, struct cr_contain *k, char *why, size_t len)
{
	char ubuf[CONTAIN_PATH_MAX], *grp, *end, pwbuf[4096];
	struct passwd pw, *pwr = NULL;
	struct group gr, *grr = NULL;
	gid_t groups[CR_MAX_GROUPS];
	int ng = CR_MAX_GROUPS, i;
	unsigned long v;

	if (strlen(spec) >= sizeof(ubuf) || !spec[0])
		goto bad;
	snprintf(ubuf, sizeof(ubuf), "%s", spec);
	grp = strchr(ubuf, ':');
	if (grp)
		*grp++ = '\0';
	errno = 0;
	v = strtoul(ubuf, &end, 10);
	if (!*end && ubuf[0] && v < UINT32_MAX) {
		k->uid = v;
		k->gid = v;
		if (getpwuid_r(v, &pw, pwbuf, sizeof(pwbuf), &pwr) != 0)
			pwr = NULL;
	} else if (getpwnam_r(ubuf, &pw, pwbuf, sizeof(pwbuf), &pwr) != 0 || !pwr) {
		snprintf(why, len, "--user: no user '%.64s'", ubuf);
		return -ENOENT;
	}
	if (pwr) {
		k->uid = pw.pw_uid;
		k->gid = pw.pw_gid;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0) {
			snprintf(why, len, "--user: user '%.64s' has more than %d groups", ubuf, CR_MAX_GROUPS);
			return -E2BIG;
		}
		for (i = 0, k->ngroups = 0; i < ng; i++)
			k->groups[k->ngroups++] = groups[i];
	}
	if (grp) {
		char grbuf[4096];

		v = strtoul(grp, &end, 10);
		if (!*end && grp[0] && v < UINT32_MAX)
			k->gid = v;
		else if (getgrnam_r(grp, &gr, grbuf, sizeof(grbuf), &grr) == 0 && grr)
			k->gid = gr.gr_gid;
		else {
			snprintf(why, len, "--user: no group '%.64s'", grp);
			return -ENOENT;
		}
	}
	k->has_user = true;
	return 0;
bad:
	snprintf(why, len, "--user: '%.64s' is not USER[:GROUP]", spec);
	return -EINVAL;
}

int container_limits_from_run(const Ckpt__Rpc__RunRequest *r, struct cg_limits *ret, char *why, size_t len)
{
	struct cg_limits l = {
		.memory = r->has_memory_limit ? r->memory_limit : 0,
		.pids = r->has_pids_limit ? r->pids_limit : 0,
		.cpus_milli = r->has_cpus_milli ? r->cpus_milli : 0,
	};
	char buf[128];
	const char *bad;

	if ((r->has_memory_limit && !l.memory) || (r->has_pids_limit && !l.pids) || (r->has_cpus_milli && !l.cpus_milli)) {
		snprintf(why, len, "a limit of 0 (--memory, --pids and --cpus want a positive value)");
		return -EINVAL;
	}
	bad = cg_limits_check(&l, buf, sizeof(buf));
	if (bad) {
		snprintf(why, len, "%s", bad);
		return -EINVAL;
	}
	*ret = l;
	return 0;
}

int container_contain_from_run(const Ckpt__Rpc__RunRequest *r, struct cr_contain *ret, char *why, size_t len)
{
	struct cr_contain k = { .privileged = r->has_privileged && r->privileged };
	struct stat st;
	size_t i;
	int e;

	if ((e = contain_caps_from_run(r, &k.caps, why, len)) < 0)
		return e;
	if (r->user && (e = contain_user_from_run(r->user, &k, why, len)) < 0)
		return e;
	if (r->root) {
		if (!contain_path_ok(r->root) || streq(r->root, "/")) {
			snprintf(why, len, "--root '%.200s': not an absolute path below /", r->root);
			return -EINVAL;
		}
		if (stat(r->root, &st) < 0 || !S_ISDIR(st.st_mode)) {
			snprintf(why, len, "--root %.200s: not a directory", r->root);
			return -ENOTDIR;
		}
		snprintf(k.root, sizeof(k.root), "%s", r->root);
	}
	if (r->n_bind > CONTAIN_MAX_BINDS) {
		snprintf(why, len, "more than %d --bind", CONTAIN_MAX_BINDS);
		return -E2BIG;
	}
	for (i = 0; i < r->n_bind; i++) {
		if (contain_bind_parse(r->bind[i], &k.binds[i]) < 0) {
			snprintf(why, len, "--bind '%.200s': not SRC:DST[:ro] with absolute paths", r->bind[i]);
			return -EINVAL;
		}
		if (stat(k.binds[i].src, &st) < 0) {
			snprintf(why, len, "--bind %.200s: %s", k.binds[i].src, strerror(errno));
			return -ENOENT;
		}
		/* on the host's tree a mount point is never made: it must exist */
		if (!k.root[0] && stat(k.binds[i].dst, &st) < 0) {
			snprintf(why, len, "--bind %.200s: %s (without --root the target must exist)", k.binds[i].dst,
				 strerror(errno));
			return -ENOENT;
		}
	}
	k.nbinds = r->n_bind;
	if (r->has_userns && r->userns) {
		if (k.privileged || k.has_user) {
			snprintf(why, len, "--userns: the workload is root of its own user namespace; not with --privileged or --user");
			return -EINVAL;
		}
		/* the host's mounts under its own are locked: covered, not
		 * gone; CAP_SYS_ADMIN of the namespace could uncover them */
		if (k.caps & (1ull << CAP_SYS_ADMIN)) {
			snprintf(why, len, "--userns: not with CAP_SYS_ADMIN (it could take off the mounts that hide the host's)");
			return -EINVAL;
		}
		k.userns = true;
		k.userns_base = r->has_userns_base ? r->userns_base : 0;
		k.userns_count = USERNS_COUNT;
	}
	*ret = k;
	return 0;
}

int container_userns_assign(struct server *srv, const struct container *self, struct cr_contain *k, char *why, size_t len)
{
	struct userns_range used[256], want = { k->userns_base, k->userns_count };
	const struct container *o;
	const char *bad;
	size_t n = 0;

	if (!k->userns)
		return 0;
	for (o = srv->containers; o; o = o->next) {
		if (o == self || !o->contain.userns)
			continue;
		if (k->userns_base && userns_overlap(want, (struct userns_range){ o->contain.userns_base, o->contain.userns_count })) {
			snprintf(why, len, "--userns=%u: ids %u..%u overlap container %s's user namespace (%u..%u)", want.base,
				 want.base, want.base + want.count - 1, o->name, o->contain.userns_base,
				 o->contain.userns_base + o->contain.userns_count - 1);
			return -EBUSY;
		}
		if (n == ARRAY_SIZE(used)) {
			snprintf(why, len, "--userns: more than %zu containers with a user namespace", ARRAY_SIZE(used));
			return -ENOSPC;
		}
		used[n++] = (struct userns_range){ o->contain.userns_base, o->contain.userns_count };
	}
	if (k->userns_base) {
		if ((bad = userns_range_check(want.base, want.count))) {
			snprintf(why, len, "--userns=%u: %s", want.base, bad);
			return -EINVAL;
		}
		return 0;
	}
	if (userns_pick(used, n, &k->userns_base) < 0) {
		snprintf(why, len, "--userns: no free range left in ckptd's pool");
		return -ENOSPC;
	}
	return 0;
}

int container_creds_limit(const struct container *c, struct cr_creds_limit *ret)
{
	int r = creds_allowed(c->owner_uid, c->contain.privileged ? CONTAIN_CAPS_ALL : c->contain.caps, ret);

	if (r >= 0 && c->contain.userns)
		ret->id_count = c->contain.userns_count;
	return r;
}

uid_t container_file_uid(const struct container *c)
{
	return c->contain.userns ? c->contain.userns_base : c->owner_uid;
}

gid_t container_file_gid(const struct container *c)
{
	return c->contain.userns ? c->contain.userns_base : container_owner_gid(c);
}

gid_t container_owner_gid(const struct container *c)
{
	struct passwd pw, *pwr = NULL;
	char buf[4096];

	if (getpwuid_r(c->owner_uid, &pw, buf, sizeof(buf), &pwr) != 0 || !pwr)
		return c->owner_uid ? (gid_t)c->owner_uid : 0;
	return pw.pw_gid;
}

/* A member's container runs as the member, with its groups and no
 * capability: what it asks beyond that is refused, never granted. */
int container_contain_member(uid_t member, struct cr_contain *k, char *why, size_t len)
{
	struct passwd pw, *pwr = NULL;
	gid_t groups[CR_MAX_GROUPS];
	int ng = CR_MAX_GROUPS;
	char buf[4096];

	if (k->privileged || k->caps & ~contain_default_caps()) {
		snprintf(why, len, "only root may run a container with --privileged or --cap-add");
		return -EPERM;
	}
	if (k->userns) {
		snprintf(why, len, "--userns: only root may run a container in a user namespace");
		return -EPERM;
	}
	if (k->has_user && k->uid != member) {
		snprintf(why, len, "--user: a member's container runs as the member (uid %u)", (unsigned)member);
		return -EPERM;
	}
	k->has_user = true;
	k->uid = member;
	k->gid = member;
	k->ngroups = 0;
	k->caps = 0;
	if (getpwuid_r(member, &pw, buf, sizeof(buf), &pwr) == 0 && pwr) {
		k->gid = pw.pw_gid;
		if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &ng) < 0) {
			snprintf(why, len, "user %u has more than %d groups", (unsigned)member, CR_MAX_GROUPS);
			return -E2BIG;
		}
		for (int i = 0; i < ng; i++)
			k->groups[k->ngroups++] = groups[i];
	}
	return 0;
}

static void container_drain_now(struct container *c);

/* ---- the init ---- */

static pid_t container_clone(struct container *c, int cgroup_fd, bool newnet, int *ret_pidfd)
{
	struct clone_args args = {
		/* with CLONE_NEWUSER the kernel makes the user namespace
		 * first: it owns every other namespace made here */
		.flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_PIDFD |
			 (newnet ? CLONE_NEWNET : 0) | (c->contain.userns ? CLONE_NEWUSER : 0),
		.pidfd = (uintptr_t)ret_pidfd,
		.exit_signal = SIGCHLD,
	};

	if (cgroup_fd >= 0) {
		args.flags |= CLONE_INTO_CGROUP;
		args.cgroup = cgroup_fd;
	}
	return syscall(SYS_clone3, &args, sizeof(args));
}

/* Wait (bounded) until init closed its ready fd: the workload exists. */
/* How long a run's answer waits for its init to say the workload exists. */
#define CONTAINER_READY_S 2

static void container_wait_ready(struct container *c, int ready_fd)
{
	struct pollfd p = { .fd = ready_fd, .events = POLLIN };
	char b;

	if (poll(&p, 1, CONTAINER_READY_S * 1000) <= 0)
		log_warn("container %s: init %d slow to start", c->name, c->init_pid);
	else
		(void)!read(ready_fd, &b, 1);
}

static void container_on_ready(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	struct loopwatch lw;

	loopwatch_begin(&lw);
	if (what & EV_TIMEOUT)
		log_warn("container %s: init %d slow to start", c->name, c->init_pid);
	c->ready_done(c);
	loopwatch_end(&lw, "run %s: its init is ready", c->name);
}

int container_watch_ready(struct container *c, void (*done)(struct container *c))
{
	struct timeval tv = { CONTAINER_READY_S, 0 };

	c->ready_done = done;
	c->ev_init_ready = event_new(c->srv->base, c->init_ready_fd, EV_READ, container_on_ready, c);
	if (!c->ev_init_ready || event_add(c->ev_init_ready, &tv) < 0)
		return -ENOMEM;
	return 0;
}

void container_unwatch_ready(struct container *c)
{
	if (c->ev_init_ready)
		event_free(c->ev_init_ready);
	c->ev_init_ready = NULL;
	c->init_ready_fd = safe_close(c->init_ready_fd);
}

static void container_abort_init(pid_t pid, int *pidfd)
{
	syscall(SYS_pidfd_send_signal, *pidfd, SIGKILL, NULL, 0);
	waitpid(pid, NULL, 0);
	*pidfd = safe_close(*pidfd);
}

/* What a container must not see of ckptd: the directory of its socket
 * (where other clients connect), its state dir (and the store in it). */
static void container_hidden_dirs(const struct server *srv, char *sockdir, struct rootfs_config *fs)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	size_t n = 0;
	char *slash;

	sockdir[0] = '\0';
	if (getsockname(srv->listen_fd, (struct sockaddr *)&sa, &len) == 0 && sa.sun_family == AF_UNIX &&
	    sa.sun_path[0] == '/') {
		memcpy(sockdir, sa.sun_path, sizeof(sa.sun_path));
		sockdir[sizeof(sa.sun_path)] = '\0';
		slash = strrchr(sockdir, '/');
		*slash = '\0';
		if (sockdir[0])     /* never "/" */
			fs->hide[n++] = sockdir;
	}
	if (srv->state_dir && srv->state_dir[0] == '/' && srv->state_dir[1])
		fs->hide[n++] = srv->state_dir;
}

/* run, --net private: the init waits (sync pipe) in its new network
 * namespace until it is configured, so the workload starts with its network. */
static int container_clone_init(struct container *c, const struct init_run *run, int cgroup_fd,
				int ctl_child, int *ret_pidfd, char *why, size_t whylen)
{
	_cleanup_close_ int ready_r = -1, ready_w = -1, sync_r = -1, sync_w = -1;
	bool newnet = run && c->net.private_ns;
	/* in a user namespace, /sys needs a network namespace that namespace
	 * owns before init mounts it: a restart's init gets it at clone too */
	bool clone_net = newnet || (c->contain.userns && c->net.private_ns);
	char sockdir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct rootfs_config fs = { .contain = &c->contain };
	int p[2];
	pid_t pid;
	int r;

	container_hidden_dirs(c->srv, sockdir, &fs);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	ready_r = p[0];
	ready_w = p[1];
	bool limits = run && cg_limits_any(&c->limits);

	if (c->cg.v1 || newnet || c->contain.userns || limits) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		sync_r = p[0];
		sync_w = p[1];
	}
	pid = container_clone(c, c->cg.v1 ? -1 : cgroup_fd, clone_net, ret_pidfd);
	if (pid < 0)
		return log_errno(-errno, "container %s: clone3: %m", c->name);
	if (pid == 0) {
		ns_net_at_clone = clone_net && !run;
		if (sync_w >= 0)
			close(sync_w);     /* else we would wait for our own write end */
		init_main(c->log_fd, ctl_child, sync_r, ready_w, c->tty, run, &fs);
	}
	ready_w = safe_close(ready_w);
	if (c->cg.v1) {
		r = cgroup_attach(&c->cg, pid);
		if (r < 0) {
			container_abort_init(pid, ret_pidfd);
			return log_errno(r, "container %s: moving init %d into %s: %m", c->name, pid, c->cg.dir);
		}
	}
	/* a restart's limits are the image's: its worker sets them */
	if (limits) {
		r = cg_limits_apply(c->name, &c->cg, &c->limits, pid, why, whylen);
		if (r < 0) {
			container_abort_init(pid, ret_pidfd);
			return log_errno(r, "container %s: setting its limits: %s", c->name, why);
		}
	}
	if (c->contain.userns) {
		r = userns_write_maps(pid, c->contain.userns_base, c->contain.userns_count);
		if (r < 0) {
			container_abort_init(pid, ret_pidfd);
			snprintf(why, whylen, "writing its user namespace's maps (0 %u %u): %s", c->contain.userns_base,
				 c->contain.userns_count, strerror(-r));
			return log_errno(r, "container %s: %s", c->name, why);
		}
	}
	if (newnet) {
		r = net_setup(c->name, pid, &c->net, why, whylen);
		if (r < 0) {
			container_abort_init(pid, ret_pidfd);
			return log_errno(r, "container %s: setting up its network: %s", c->name, why);
		}
	}
	sync_w = safe_close(sync_w);
	c->init_pid = pid;
	/* a console is taken from init once it made one; run answers with
	 * the workload's pid, once init says it exists: ops.c waits for that
	 * in the loop (init_ready_fd), so that nothing else waits for an init
	 * that has yet to get a CPU. A restart's init is ready when it answers
	 * the worker, which waits for it instead of the loop. */
	if (c->tty)
		container_wait_ready(c, ready_r);
	else if (run)
		c->init_ready_fd = TAKE_FD(ready_r);
	return 0;
}

int container_spawn(struct container *c, const struct init_run *run, int *ret_ctl_fd, char *why, size_t whylen)
{
	_cleanup_close_ int cgroup_fd = -1, ctl_parent = -1, ctl_child = -1, pidfd = -1;
	struct proc_stat st;
	int r;

	container_drain_now(c);
	r = cgroup_create(c->name, &c->cg);
	if (r < 0)
		return log_errno(r, "container %s: creating its cgroup: %m", c->name);
	c->has_cgroup = true;
	if (!c->cg.v1) {
		cgroup_fd = cgroup_open(&c->cg);
		if (cgroup_fd < 0)
			return log_errno(cgroup_fd, "container %s: opening cgroup %s: %m", c->name, c->cg.dir);
	}
	if (!run) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
			return -errno;
		ctl_parent = sv[0];
		ctl_child = sv[1];
	}
	why[0] = '\0';
	r = container_clone_init(c, run, cgroup_fd, ctl_child, &pidfd, why, whylen);
	if (r < 0)
		return r;
	c->init_pidfd = TAKE_FD(pidfd);
	c->init_is_child = true;
	c->has_exit_status = false;
	c->workload_pid = c->workload_nspid = 0;
	c->init_start = proc_stat_pid(c->init_pid, &st) >= 0 ? st.starttime : 0;
	r = container_watch_init(c);
	if (r < 0) {
		container_kill_all(c);
		return r;
	}
	if (c->tty && (r = container_take_console(c)) < 0) {
		container_kill_all(c);
		return log_errno(r, "container %s: taking its console from init: %m", c->name);
	}
	if (run && c->init_ready_fd < 0)
		container_find_workload(c);
	log_info("container %s: init %d started in %s", c->name, c->init_pid, c->cg.dir);
	if (ret_ctl_fd)
		*ret_ctl_fd = TAKE_FD(ctl_parent);
	return 0;
}

int container_take_console(struct container *c)
{
	int fd = (int)syscall(SYS_pidfd_getfd, c->init_pidfd, INIT_CONSOLE_FD, 0);

	if (fd < 0)
		return -errno;
	safe_close(c->console_fd);
	c->console_fd = fd;
	return 0;
}

int container_kill_all(struct container *c)
{
	int r = 0;

	/* init's death takes its pid namespace along; the cgroup catches the rest */
	if (c->init_pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->init_pidfd, SIGKILL, NULL, 0) < 0 &&
	    errno != ESRCH)
		r = log_errno(-errno, "container %s: killing init %d: %m", c->name, c->init_pid);
	/* the loop does not wait for them: init's exit (watched) tells */
	if (c->has_cgroup)
		cgroup_kill_nowait(&c->cg);
	return r;
}

/* init's first child from /proc/PID/task/PID/children (init has one
 * thread): one small read, where proc_children reads the stat of every
 * process on the host, which list must not do on the loop. 0 if none,
 * -errno if the file can't be read. */
static pid_t container_first_child(pid_t init)
{
	char path[64], buf[32];
	_cleanup_close_ int fd = -1;
	ssize_t n;
	long v;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	return v > 0 && v <= INT32_MAX ? (pid_t)v : 0;
}

void container_find_workload(struct container *c)
{
	_cleanup_free_ pid_t *kids = NULL;
	struct proc_status st;
	size_t n = 0;
	pid_t kid;

	c->workload_pid = c->workload_nspid = 0;
	if (c->init_pid <= 0)
		return;
	kid = container_first_child(c->init_pid);
	if (kid == -ENOENT && proc_children(c->init_pid, &kids, &n) >= 0 && n > 0)
		kid = kids[0];     /* a kernel without CONFIG_PROC_CHILDREN */
	if (kid <= 0)
		return;
	c->workload_pid = kid;
	if (proc_status_pid(kid, &st) >= 0 && st.nspid_n > 0)
		c->workload_nspid = st.nspid[st.nspid_n - 1];
}

static void container_on_init_exit(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	int st, status = -1;
	struct loopwatch lw;
	pid_t pid = c->init_pid;

	if (c->init_is_child) {
		/* our unreaped child: its pid can't have been reused */
		pid_t p = waitpid(c->init_pid, &st, WNOHANG);

		if (p == 0) {
			/* exited, but a tracer (a lazy fill's guard, daemon/cr/
			 * ptguard.c) waits for it first: asked again shortly,
			 * never spun on its pidfd, readable all the while */
			struct timeval tv = { .tv_sec = 0, .tv_usec = 10000 };

			if (fd >= 0 && (event_del(c->ev_init) < 0 ||
					event_assign(c->ev_init, c->srv->base, -1, EV_TIMEOUT, container_on_init_exit, c) < 0))
				log_error("container %s: init %d: waiting for its tracer to let it go", c->name, c->init_pid);
			event_add(c->ev_init, &tv);
			return;
		}
		if (p > 0)
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	loopwatch_begin(&lw);
	container_init_exited(c, status);
	loopwatch_end(&lw, "init %d exited", (int)pid);
}

/* How long the members of a dead init's cgroup may take to leave it before
 * the cgroup is left behind for the next init to reuse. */
#define CONTAINER_CG_DRAIN_MS 7000

/* true once the cgroup is gone (or can't be removed for another reason
 * than members still leaving it). */
static bool container_cgroup_try_gone(struct container *c)
{
	int r;

	if (!c->has_cgroup) {
		cg_limits_remove(c->name);
		return true;
	}
	r = cgroup_try_remove(&c->cg);
	if (r == -EBUSY)
		return false;
	if (r < 0)
		log_debug("container %s: removing cgroup %s: %s", c->name, c->cg.dir, strerror(-r));
	else
		c->has_cgroup = false;
	cg_limits_remove(c->name);
	return true;
}

/* The cgroup is empty (or given up on): an operation waiting for init's
 * end may answer now, and a restart find the cgroup free. */
static void container_cgroup_drained(struct container *c)
{
	if (c->has_cgroup)
		log_debug("container %s: cgroup %s still busy after %d ms; left for reuse", c->name, c->cg.dir,
			  CONTAINER_CG_DRAIN_MS);
	if (c->op != OP_NONE)
		ops_init_exited(c);
}

static void container_on_cg_retry(evutil_socket_t fd, short what, void *arg)
{
	struct container *c = arg;
	struct timeval tv = { 0 };

	if (!container_cgroup_try_gone(c) && (mono_us() / 1000) < c->cg_gone_deadline_ms) {
		c->cg_gone_wait_ms = MIN(c->cg_gone_wait_ms * 2, 100);
		tv.tv_usec = c->cg_gone_wait_ms * 1000;
		evtimer_add(c->ev_cg_gone, &tv);
		return;
	}
	container_cgroup_drained(c);
}

/* A dead init's pid namespace dies with it, but its members leave the
 * cgroup as they finish exiting, which can take a while on a loaded
 * machine: the loop does not sleep on it, a timer retries the rmdir. */
static void container_drain_cgroup(struct container *c)
{
	struct timeval tv = { 0, 2000 };

	if (c->has_cgroup)
		cgroup_kill_nowait(&c->cg);
	if (container_cgroup_try_gone(c)) {
		container_cgroup_drained(c);
		return;
	}
	if (!c->ev_cg_gone)
		c->ev_cg_gone = evtimer_new(c->srv->base, container_on_cg_retry, c);
	if (!c->ev_cg_gone) {
		container_cleanup_cgroup(c);
		container_cgroup_drained(c);
		return;
	}
	c->cg_gone_deadline_ms = (mono_us() / 1000) + CONTAINER_CG_DRAIN_MS;
	c->cg_gone_wait_ms = 2;
	evtimer_add(c->ev_cg_gone, &tv);
}

/* A new init needs the cgroup a dead one is still leaving: wait for it
 * here (rare: only a run right after a workload ended by itself). */
static void container_drain_now(struct container *c)
{
	if (!c->ev_cg_gone || !evtimer_pending(c->ev_cg_gone, NULL))
		return;
	evtimer_del(c->ev_cg_gone);
	container_cleanup_cgroup(c);
}

void container_init_exited(struct container *c, int status)
{
	log_info("container %s: init %d exited (%d)", c->name, c->init_pid, status);
	if (c->ev_init) {
		event_free(c->ev_init);
		c->ev_init = NULL;
	}
	container_incr_drop(c);
	lazyfill_init_exited(c);
	c->init_pidfd = safe_close(c->init_pidfd);
	c->console_fd = safe_close(c->console_fd);
	c->init_pid = 0;
	c->init_start = 0;
	c->workload_pid = c->workload_nspid = 0;
	c->has_exit_status = status >= 0;
	c->exit_status = status;
	/* a restart's network is the image's, which only its worker knew */
	if (c->net.addr || c->op == OP_RESTART)
		net_cleanup(c->name, c->op == OP_CHECKPOINT || c->op == OP_RESTART ||
				     c->state == CONTAINER_CHECKPOINTED);    /* it comes back */
	if (c->op == OP_NONE) {
		c->state = CONTAINER_STOPPED;
		container_save(c);
		if (c->has_exit_status)
			events_publish(c->srv, "exited", c, "status %d", c->exit_status);
		else
			events_publish(c->srv, "exited", c, "status unknown");
		query_wait_wake(c);
	}
	container_drain_cgroup(c);
}

/* ---- replies ---- */

Ckpt__Rpc__ContainerState container_rpc_state(const struct container *c)
{
	if (c->op != OP_NONE)
		return CKPT__RPC__CONTAINER_STATE__STATE_BUSY;
	switch (c->state) {
	case CONTAINER_RUNNING: return CKPT__RPC__CONTAINER_STATE__STATE_RUNNING;
	case CONTAINER_CHECKPOINTED: return CKPT__RPC__CONTAINER_STATE__STATE_CHECKPOINTED;
	default: return CKPT__RPC__CONTAINER_STATE__STATE_STOPPED;
	}
}

/* One allocation per ContainerInfo; ci comes first so it can be freed from
 * it. The publish and bind strings follow the block, only as many as the
 * container has: a list builds one of these per container, and room for
 * every possible bind (8 KiB) made each list grow and shrink the heap. */
struct info_block {
	Ckpt__Rpc__ContainerInfo ci;
	struct store_image *imgs;
	Ckpt__Rpc__ImageInfo *ii;
	Ckpt__Rpc__ImageInfo **iip;
	char (*publish)[NET_PUBLISH_STR_MAX];
	char *publishp[CR_NET_MAX_PUBLISH];
	char addr[16], host_addr[16], veth[IF_NAMESIZE];
	char user[32], userns[32];
	char (*bind)[2 * CONTAIN_PATH_MAX + 4];
	char *bindp[CONTAIN_MAX_BINDS];
};

static void container_info_contain(const struct container *c, struct info_block *b)
{
	const struct cr_contain *k = &c->contain;
	size_t i;

	b->ci.has_caps = b->ci.has_privileged = true;
	b->ci.caps = k->caps;
	b->ci.privileged = k->privileged;
	if (k->has_user) {
		snprintf(b->user, sizeof(b->user), "%u:%u", k->uid, k->gid);
		b->ci.user = b->user;
	}
	if (k->root[0])
		b->ci.root = (char *)k->root;
	for (i = 0; i < k->nbinds; i++) {
		snprintf(b->bind[i], sizeof(b->bind[i]), "%s:%s%s", k->binds[i].src, k->binds[i].dst,
			 k->binds[i].ro ? ":ro" : "");
		b->bindp[i] = b->bind[i];
	}
	b->ci.n_bind = k->nbinds;
	b->ci.bind = b->bindp;
	if (k->userns) {
		snprintf(b->userns, sizeof(b->userns), "%u:%u", k->userns_base, k->userns_count);
		b->ci.userns = b->userns;
	}
}

static void container_info_net(const struct container *c, struct info_block *b)
{
	size_t i;

	b->ci.has_net = true;
	b->ci.net = c->net.private_ns ? CKPT__RPC__NET_MODE__NET_PRIVATE : CKPT__RPC__NET_MODE__NET_HOST;
	for (i = 0; i < c->net.npublish; i++) {
		net_format_publish(&c->net.publish[i], b->publish[i]);
		b->publishp[i] = b->publish[i];
	}
	b->ci.n_publish = c->net.npublish;
	b->ci.publish = b->publishp;
	if (c->net.addr) {
		b->ci.net_address = (char *)net_addr_str(c->net.addr, b->addr);
		b->ci.net_host_address = (char *)net_addr_str(c->net.host_addr, b->host_addr);
		net_names(c->name, b->veth, NULL);
		b->ci.net_veth = b->veth;
	}
}

int container_info(struct container *c, Ckpt__Rpc__ContainerInfo **ret)
{
	size_t npub = MIN(c->net.npublish, (size_t)CR_NET_MAX_PUBLISH);
	size_t nbinds = MIN(c->contain.nbinds, (size_t)CONTAIN_MAX_BINDS);
	struct info_block *b = calloc(1, sizeof(*b) + npub * sizeof(*b->publish) + nbinds * sizeof(*b->bind));
	size_t n = 0, i;
	int r;

	if (!b)
		return -ENOMEM;
	b->publish = (void *)(b + 1);
	b->bind = (void *)((char *)(b + 1) + npub * sizeof(*b->publish));
	b->ci = (Ckpt__Rpc__ContainerInfo)CKPT__RPC__CONTAINER_INFO__INIT;
	r = store_list_cached(c->dir_fd, &c->images, &b->imgs, &n);
	if (r < 0 || (n && (!(b->ii = calloc(n, sizeof(*b->ii))) || !(b->iip = calloc(n, sizeof(*b->iip)))))) {
		container_info_free(&b->ci);
		return r < 0 ? r : -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		b->ii[i] = (Ckpt__Rpc__ImageInfo)CKPT__RPC__IMAGE_INFO__INIT;
		b->ii[i].id = b->imgs[i].id;
		b->ii[i].container = c->name;
		b->ii[i].has_size = b->ii[i].has_created = true;
		b->ii[i].size = b->imgs[i].size;
		b->ii[i].created = b->imgs[i].mtime;
		b->ii[i].has_owner_uid = true;
		b->ii[i].owner_uid = b->imgs[i].owner_uid;
		b->iip[i] = &b->ii[i];
	}
	b->ci.name = c->name;
	b->ci.state = container_rpc_state(c);
	b->ci.n_images = n;
	b->ci.images = b->iip;
	b->ci.n_argv = c->argc;
	b->ci.argv = c->argv;
	b->ci.has_owner_uid = true;
	b->ci.owner_uid = c->owner_uid;
	b->ci.owner = c->owner_name[0] ? c->owner_name : NULL;
	b->ci.has_tty = c->tty;
	b->ci.tty = c->tty;
	if (c->init_pid > 0) {
		if (c->workload_pid <= 0)
			container_find_workload(c);
		b->ci.has_init_host_pid = true;
		b->ci.init_host_pid = c->init_pid;
		b->ci.has_pid = b->ci.has_host_pid = c->workload_pid > 0;
		b->ci.pid = c->workload_nspid;
		b->ci.host_pid = c->workload_pid;
	}
	container_info_net(c, b);
	container_info_contain(c, b);
	b->ci.has_memory_limit = c->limits.memory != 0;
	b->ci.memory_limit = c->limits.memory;
	b->ci.has_pids_limit = c->limits.pids != 0;
	b->ci.pids_limit = c->limits.pids;
	b->ci.has_cpus_milli = c->limits.cpus_milli != 0;
	b->ci.cpus_milli = c->limits.cpus_milli;
	if (c->state != CONTAINER_RUNNING && c->has_exit_status) {
		b->ci.has_exit_status = true;
		b->ci.exit_status = c->exit_status;
	}
	*ret = &b->ci;
	return 0;
}

void container_info_free(Ckpt__Rpc__ContainerInfo *ci)
{
	struct info_block *b = (struct info_block *)ci;

	if (!b)
		return;
	free(b->imgs);
	free(b->ii);
	free(b->iip);
	free(b);
}

int container_contain_from_restart(const Ckpt__Rpc__RestartRequest *r, struct cr_contain *k, char *why, size_t len)
{
	uint64_t caps = contain_default_caps();
	int n;

	for (size_t i = 0; i < r->n_cap_add; i++) {
		if (!strcasecmp(r->cap_add[i], "ALL"))
			caps = CONTAIN_CAPS_ALL;
		else if ((n = contain_cap_number(r->cap_add[i])) >= 0)
			caps |= 1ull << n;
		else {
			snprintf(why, len, "--cap-add: unknown capability '%.40s' (names as in capabilities(7), or ALL)", r->cap_add[i]);
			return -EINVAL;
		}
	}
	k->privileged = r->has_privileged && r->privileged;
	k->caps = k->privileged ? CONTAIN_CAPS_ALL : caps;
	return 0;
}
