// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd: parse, check, build the server, READY=1, run the loop, STOPPING=1
 * (the shape of systemd's src/oom/oomd.c). */
#include "access.h"
#include "config.h"
#include "container.h"
#include "key.h"
#include "journal.h"
#include "log.h"
#include "mac.h"
#include "macro.h"
#include "opqueue.h"
#include "server.h"
#include "wire.h"
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#define DEFAULT_STATE_DIR "/var/lib/ckptd"

/* What the command line set (it wins over the file), and the file named. */
static struct ckptd_config arg_cli;
static const char *arg_config;
/* The settings in force: defaults, then the file, then the command line. */
static struct ckptd_config cfg;
static struct access_policy policy;
static const char *arg_trusted_keys = KEY_DEFAULT_TRUSTED_DIR;
static bool arg_key_id;
static int arg_max_conns = SERVER_MAX_CONNS;
static int arg_max_conns_per_uid = SERVER_MAX_CONNS_PER_UID;
static int arg_max_ops = SERVER_MAX_OPS;
static uint64_t arg_log_max_bytes = SERVER_LOG_MAX_BYTES;

static void help(void)
{
	printf("Usage: ckptd [OPTIONS]\n\n"
	       "Checkpoint/restart daemon: runs containers and moves them into images and back.\n\n"
	       "  -c, --config FILE      settings (default %s; options given here win)\n"
	       "  -s, --socket PATH      listen on PATH (default $CKPTD_SOCKET or %s);\n"
	       "                         ignored under socket activation\n"
	       "  -d, --state-dir DIR    containers, logs and images (default %s)\n"
	       "  -g, --group GROUP      its members may use ckptd on what they own (default %s)\n"
	       "  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
	       "      --idle-timeout S   close a client silent for S seconds (default %d)\n"
	       "      --timeout S        default deadline of a checkpoint or restart (default %d)\n"
	       "      --trusted-keys DIR image keys of other machines whose images restore here\n"
	       "                         (default %s)\n"
	       "      --key-id           show the id of this ckptd's image key and exit\n"
	       "      --max-conns N      clients connected at once (default %d)\n"
	       "      --max-conns-per-uid N  ... of one uid (default %d)\n"
	       "      --max-ops N        checkpoints and restarts at once; more wait in a queue (default %d)\n"
	       "      --queue-length N   checkpoints and restarts waiting for a slot; more get\n"
	       "                         ERR_BUSY (0: none wait; default %d)\n"
	       "      --log-max-size BYTES  rotate a container's log to log.1 beyond this\n"
	       "                         (K, M, G suffixes; 0: never; default %uM)\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n",
	       CONFIG_DEFAULT_PATH, CKPTD_DEFAULT_SOCKET, DEFAULT_STATE_DIR, CONFIG_DEFAULT_GROUP,
	       SERVER_IDLE_TIMEOUT_S, SERVER_OP_TIMEOUT_S, KEY_DEFAULT_TRUSTED_DIR,
	       SERVER_MAX_CONNS, SERVER_MAX_CONNS_PER_UID, SERVER_MAX_OPS, OPQUEUE_LENGTH_DEFAULT,
	       SERVER_LOG_MAX_BYTES >> 20);
}

/* "64M": bytes, with K, M, G suffixes; 0 (never) or at least 4 KiB. */
static int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || v > (1ull << 40) >> shift || (v && v << shift < 4096))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

/* 1: go on, 0: done (help), <0: error */
static int parse_argv(int argc, char **argv)
{
	enum { ARG_VERSION = 0x100, ARG_IDLE_TIMEOUT, ARG_OP_TIMEOUT, ARG_TRUSTED_KEYS, ARG_KEY_ID, ARG_MAX_CONNS,
	       ARG_MAX_CONNS_UID, ARG_MAX_OPS, ARG_LOG_MAX, ARG_QUEUE_LENGTH };
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "group", required_argument, NULL, 'g' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
		{ "timeout", required_argument, NULL, ARG_OP_TIMEOUT },
		{ "trusted-keys", required_argument, NULL, ARG_TRUSTED_KEYS },
		{ "key-id", no_argument, NULL, ARG_KEY_ID },
		{ "max-conns", required_argument, NULL, ARG_MAX_CONNS },
		{ "max-conns-per-uid", required_argument, NULL, ARG_MAX_CONNS_UID },
		{ "max-ops", required_argument, NULL, ARG_MAX_OPS },
		{ "log-max-size", required_argument, NULL, ARG_LOG_MAX },
		{ "queue-length", required_argument, NULL, ARG_QUEUE_LENGTH },
		{}
	};
	static const struct { int opt; enum config_key key; const char *name; } keyed[] = {
		{ 's', CONFIG_SOCKET, "socket" }, { 'd', CONFIG_STATE_DIR, "state-dir" },
		{ 'g', CONFIG_GROUP, "group" }, { 'l', CONFIG_LOG_LEVEL, "log-level" },
		{ ARG_IDLE_TIMEOUT, CONFIG_IDLE_TIMEOUT, "idle-timeout" }, { ARG_OP_TIMEOUT, CONFIG_TIMEOUT, "timeout" },
		{ ARG_QUEUE_LENGTH, CONFIG_QUEUE_LENGTH, "queue-length" },
	};
	char why[256];
	size_t i;
	int c;

	while ((c = getopt_long(argc, argv, "c:s:d:g:l:h", options, NULL)) >= 0) {
		for (i = 0; i < ARRAY_SIZE(keyed); i++)
			if (keyed[i].opt == c)
				break;
		if (i < ARRAY_SIZE(keyed)) {
			if (config_set(&arg_cli, keyed[i].key, optarg, why, sizeof(why)) < 0)
				return log_errno(-EINVAL, "--%s: %s", keyed[i].name, why);
			continue;
		}
		switch (c) {
		case 'c':
			arg_config = optarg;
			break;
		case 'h':
			help();
			return 0;
		case ARG_TRUSTED_KEYS:
			arg_trusted_keys = optarg;
			break;
		case ARG_KEY_ID:
			arg_key_id = true;
			break;
		case ARG_MAX_CONNS:
		case ARG_MAX_CONNS_UID:
		case ARG_MAX_OPS: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 65536)
				return log_errno(-EINVAL, "--%s: 1 to 65536, not '%s'", c == ARG_MAX_CONNS ? "max-conns" : c == ARG_MAX_OPS ? "max-ops" : "max-conns-per-uid", optarg);
			*(c == ARG_MAX_CONNS ? &arg_max_conns : c == ARG_MAX_OPS ? &arg_max_ops : &arg_max_conns_per_uid) = (int)v;
			break;
		}
		case ARG_LOG_MAX:
			if (parse_size(optarg, &arg_log_max_bytes) < 0)
				return log_errno(-EINVAL, "--log-max-size: a size in bytes (K, M, G suffixes), 0 or at least 4K, not '%s'",
						 optarg);
			break;
		case ARG_VERSION:
			printf("ckptd %s\n", CKPTD_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc)
		return log_errno(-EINVAL, "unexpected argument '%s'", argv[optind]);
	if (arg_trusted_keys[0] != '/')
		return log_errno(-EINVAL, "--trusted-keys must be an absolute path");
	return 1;
}

/* The event loop answers every client: on a busy machine (workers copying
 * memory, the containers themselves) a list or a cancel must not wait for
 * their time slices. A better nice value only shortens that wait: with
 * tens of runnable tasks on a few CPUs the loop still waits for one to
 * end its slice (issue 10: list p99 over 100 ms at nice -5). At a low
 * SCHED_RR priority it takes a CPU as soon as a request arrives; it does
 * little work per request, and a loop gone runaway is held to the kernel's
 * real-time share (sched_rt_runtime_us). Where real time is refused
 * (a container without CAP_SYS_NICE, a cgroup with no real-time budget)
 * loop_nice applies. Either way SCHED_RESET_ON_FORK makes every process it
 * forks (workers, container inits, hooks) start at SCHED_OTHER, nice 0, so
 * nothing it runs for others inherits the precedence. */
/* Real-time tasks held to a share of each period? Without it (-1) a loop
 * gone runaway at SCHED_RR would keep its CPU from everyone else. */
static bool rt_throttled(void)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/sys/kernel/sched_rt_runtime_us", "re");
	long us = -1;

	return f && fscanf(f, "%ld", &us) == 1 && us >= 0;
}

static void loop_priority(int rt_priority, int nice)
{
	struct sched_param sp = { .sched_priority = rt_priority };

	if (rt_priority > 0 && !rt_throttled()) {
		log_warn("loop_rt_priority: sched_rt_runtime_us is -1 (no real-time throttling): the event loop runs "
			 "at loop_nice %d instead", nice);
	} else if (rt_priority > 0) {
		if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) == 0)
			return;
		log_warn("loop_rt_priority: SCHED_RR %d: %m; the event loop runs at loop_nice %d instead",
			 rt_priority, nice);
	}
	if (nice == 0)
		return;
	sp.sched_priority = 0;
	if (sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &sp) < 0) {
		log_warn("loop_nice: SCHED_RESET_ON_FORK: %m; the event loop keeps its priority");
		return;
	}
	if (setpriority(PRIO_PROCESS, 0, nice) < 0)
		log_warn("loop_nice: setpriority %d: %m; the event loop keeps its priority", nice);
}

/* Defaults, then the file (the default one may be missing), then argv. */

static int load_config(void)
{
	char why[PATH_MAX + 300];
	int k, r;

	cfg = (struct ckptd_config){ .log_level = log_get_level(), .idle_timeout_s = SERVER_IDLE_TIMEOUT_S,
				     .timeout_s = SERVER_OP_TIMEOUT_S, .queue_length = OPQUEUE_LENGTH_DEFAULT,
				     .loop_nice = CONFIG_LOOP_NICE_DEFAULT,
				     .loop_rt_priority = CONFIG_LOOP_RT_PRIORITY_DEFAULT };
	snprintf(cfg.group, sizeof(cfg.group), "%s", CONFIG_DEFAULT_GROUP);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", DEFAULT_STATE_DIR);
	r = config_load(arg_config ? arg_config : CONFIG_DEFAULT_PATH, &cfg, why, sizeof(why));
	if (r == -ENOENT && !arg_config)
		r = 0;
	if (r < 0)
		return log_errno(r, "configuration: %s", why);
	for (k = 0; k < _CONFIG_KEY_MAX; k++) {
		if (!(arg_cli.set & (1u << k)))
			continue;
		switch ((enum config_key)k) {
		case CONFIG_GROUP: memcpy(cfg.group, arg_cli.group, sizeof(cfg.group)); break;
		case CONFIG_SOCKET: memcpy(cfg.socket, arg_cli.socket, sizeof(cfg.socket)); break;
		case CONFIG_STATE_DIR: memcpy(cfg.state_dir, arg_cli.state_dir, sizeof(cfg.state_dir)); break;
		case CONFIG_LOG_LEVEL: cfg.log_level = arg_cli.log_level; break;
		case CONFIG_IDLE_TIMEOUT: cfg.idle_timeout_s = arg_cli.idle_timeout_s; break;
		case CONFIG_TIMEOUT: cfg.timeout_s = arg_cli.timeout_s; break;
		case CONFIG_QUEUE_LENGTH: cfg.queue_length = arg_cli.queue_length; break;
		case CONFIG_LOOP_NICE: cfg.loop_nice = arg_cli.loop_nice; break;
		case CONFIG_LOOP_RT_PRIORITY: cfg.loop_rt_priority = arg_cli.loop_rt_priority; break;
		case CONFIG_INCREMENTAL: cfg.incremental_auto = arg_cli.incremental_auto; break;
		default: break;
		}
		cfg.set |= 1u << k;
	}
	log_set_level(cfg.log_level);
	return 0;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Everything below the state dir is trusted (names, cgroup paths, images):
 * a dir that someone else owns or may write into would let them plant it. */
static int check_state_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return log_errno(-errno, "state dir %s: %m", path);
	if (!S_ISDIR(st.st_mode))
		return log_errno(-ENOTDIR, "state dir %s: not a directory", path);
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return log_errno(-EPERM, "state dir %s: owned by uid %u with mode %04o; it must be owned by uid %u "
				 "and writable by no one else", path, (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777), (unsigned)geteuid());
	return 0;
}

/* The socket ckptd bound, so that it removes at exit only that one and not
 * whatever has taken its name since. */
static dev_t own_socket_dev;
static ino_t own_socket_ino;

static void unlink_own_socket(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == own_socket_dev &&
	    st.st_ino == own_socket_ino)
		unlink(path);
}

/* Root and the group may connect (SO_PEERCRED and SO_PEERGROUPS are
 * checked anyway); without the group, root alone. */
static int socket_set_access(const char *path, const struct access_policy *ap)
{
	if (ap->has_group && chown(path, 0, ap->gid) < 0)
		return log_errno(-errno, "chown %s to group %s: %m", path, ap->group);
	if (chmod(path, ap->has_group ? 0660 : 0600) < 0)
		return log_errno(-errno, "chmod %s: %m", path);
	return 0;
}

/* Our own socket when not socket-activated: refuses to steal a live one. */
static int listen_own(const char *path, const struct access_policy *ap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1;
	char dir[sizeof(sa.sun_path)];
	struct stat st;
	char *slash;
	int r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return log_errno(-ENAMETOOLONG, "socket path %s too long", path);
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = mkdir_p(dir, 0755);
		if (r < 0)
			return log_errno(r, "creating %s: %m", dir);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return log_errno(-errno, "socket: %m");
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return log_errno(-EEXIST, "%s exists and is not a socket", path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return log_errno(-EADDRINUSE, "%s: another ckptd is listening", path);
		close(fd);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return log_errno(-errno, "socket: %m");
		unlink(path);        /* stale, from a ckptd that died */
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_errno(-errno, "bind %s: %m", path);
	r = socket_set_access(path, ap);
	if (r < 0)
		return r;
	if (lstat(path, &st) < 0)
		return log_errno(-errno, "stat %s: %m", path);
	own_socket_dev = st.st_dev;
	own_socket_ino = st.st_ino;
	if (listen(fd, 64) < 0)
		return log_errno(-errno, "listen %s: %m", path);
	return TAKE_FD(fd);
}

static int listen_activated(void)
{
	int n = sd_listen_fds(1);

	if (n < 0)
		return log_errno(n, "sd_listen_fds: %m");
	if (n == 0)
		return -ENOENT;
	if (n > 1)
		return log_errno(-EINVAL, "got %d sockets from systemd, expected one", n);
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
		return log_errno(-EINVAL, "the socket passed by systemd is not a listening AF_UNIX SOCK_SEQPACKET");
	return SD_LISTEN_FDS_START;
}

/* systemd made the socket (ckptd.socket, SocketGroup=ckpt): ckptd.conf
 * decides who may connect, so its group is given the socket. A socket
 * systemd bound elsewhere than a path ckptd can name is left alone, with
 * a warning if members can't reach it. */
static void activated_socket_access(int fd, const struct access_policy *ap)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa);
	struct stat st;

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0 || sa.sun_path[0] != '/')
		return;
	sa.sun_path[sizeof(sa.sun_path) - 1] = '\0';
	if (lstat(sa.sun_path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return;
	if (socket_set_access(sa.sun_path, ap) >= 0)
		return;
	if (ap->has_group && (st.st_gid != ap->gid || (st.st_mode & 060) != 060))
		log_warn("socket %s from systemd has group %u and mode %04o: members of group %s can't connect; "
			 "set SocketGroup=%s and SocketMode=0660 in ckptd.socket", sa.sun_path, (unsigned)st.st_gid,
			 (unsigned)(st.st_mode & 07777), ap->group, ap->group);
}

/* The image keys, before anything listens: a ckptd that can't sign or
 * verify images must not start. --key-id: show ours and stop. */
static int load_keys(struct key_ring *ret)
{
	_cleanup_close_ int fd = open(cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char hex[MAC_KEY_ID_HEX];
	int r;

	if (fd < 0)
		return log_errno(-errno, "state dir %s: %m", cfg.state_dir);
	r = key_ring_load(fd, arg_trusted_keys, ret);
	if (r < 0 || !arg_key_id)
		return r < 0 ? r : 1;
	mac_key_id_hex(ret->keys[0].id, hex);
	printf("%s\n", hex);
	return 0;
}

static int run(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct server *srv = NULL;
	struct key_ring keys = { 0 };
	_cleanup_close_ int lfd = -1;
	const char *path = NULL;
	int r;

	log_set_prefix("ckptd");
	journal_setup();
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	r = load_config();
	if (r < 0)
		return r;
	loop_priority(cfg.loop_rt_priority, cfg.loop_nice);
	r = access_policy_init(&policy, cfg.group);
	if (r < 0)
		return log_errno(r, "looking up group %s: %m", cfg.group);
	if (!policy.has_group)
		log_warn("group %s does not exist: only root may use ckptd", cfg.group);
	/* logs are 0640, everything else of ours is private */
	umask(0027);
	/* a client that went away must be an EPIPE, not our death */
	signal(SIGPIPE, SIG_IGN);
	r = mkdir_p(cfg.state_dir, 0700);
	if (r < 0)
		return log_errno(r, "creating state dir %s: %m", cfg.state_dir);
	r = check_state_dir(cfg.state_dir);
	if (r < 0)
		return r;
	/* libcrypto is opened, not linked: here, once, rather than in
	 * every worker a request forks */
	r = mac_lib_open();
	if (r < 0)
		return r;
	r = load_keys(&keys);
	if (r <= 0) {
		key_ring_free(&keys);
		return r;
	}
	/* before the first worker is forked: each inherits the tables */
	r = mac_warm();
	if (r < 0)
		log_warn("preparing the image MACs: %s", strerror(-r));

	lfd = listen_activated();
	if (lfd == -ENOENT) {
		/* --socket, then $CKPTD_SOCKET, then the file's, then the default */
		const char *env = getenv("CKPTD_SOCKET");

		path = wire_socket_path(arg_cli.set & (1u << CONFIG_SOCKET) ? arg_cli.socket :
					(env && *env) || !cfg.socket[0] ? NULL : cfg.socket);
		lfd = listen_own(path, &policy);
	} else if (lfd >= 0) {
		(void)fcntl(lfd, F_SETFD, FD_CLOEXEC);
		activated_socket_access(lfd, &policy);
	}
	if (lfd < 0)
		r = lfd;
	else if (fcntl(lfd, F_SETFL, O_NONBLOCK) < 0)
		r = log_errno(-errno, "O_NONBLOCK: %m");
	else if (!(base = event_base_new()))
		r = log_errno(-ENOMEM, "event_base_new failed");
	if (r < 0) {
		key_ring_free(&keys);
		return r;
	}
	r = server_new(base, lfd, cfg.state_dir, &srv);
	if (r >= 0) {
		srv->idle_timeout_s = cfg.idle_timeout_s;
		srv->op_timeout_s = cfg.timeout_s;
		srv->access = policy;
		srv->keys = &keys;
		srv->max_conns = arg_max_conns;
		srv->max_conns_per_uid = arg_max_conns_per_uid;
		srv->max_ops = arg_max_ops;
		srv->max_queue = cfg.queue_length;
		srv->incremental_auto = cfg.incremental_auto;
		srv->log_max_bytes = arg_log_max_bytes;
	}
	if (r >= 0)
		r = container_load_all(srv);
	if (r >= 0) {
		log_info("ckptd %s ready on %s, state in %s, for root%s%s", CKPTD_VERSION,
			 path ? path : "the systemd socket", cfg.state_dir, policy.has_group ? " and group " : " only",
			 policy.has_group ? policy.group : "");
		sd_notifyf(0, "READY=1\nSTATUS=Listening on %s", path ? path : "the socket from systemd");
		r = server_run(srv);
		sd_notify(0, "STOPPING=1");
	}
	server_free(srv);
	event_base_free(base);
	key_ring_free(&keys);
	if (path)
		unlink_own_socket(path);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
