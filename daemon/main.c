// SPDX-License-Identifier: GPL-2.0-or-later
/* ckptd: parse, check, build the server, READY=1, run the loop, STOPPING=1
 * (the shape of systemd's src/oom/oomd.c). */
#include "container.h"
#include "log.h"
#include "macro.h"
#include "server.h"
#include "wire.h"
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#define DEFAULT_STATE_DIR "/var/lib/ckptd"

static const char *arg_socket;
static const char *arg_state_dir = DEFAULT_STATE_DIR;
static int arg_idle_timeout = SERVER_IDLE_TIMEOUT_S;
static int arg_op_timeout = SERVER_OP_TIMEOUT_S;
static int arg_max_conns = SERVER_MAX_CONNS;
static int arg_max_conns_per_uid = SERVER_MAX_CONNS_PER_UID;
static int arg_max_ops = SERVER_MAX_OPS;
static uint64_t arg_log_max_bytes = SERVER_LOG_MAX_BYTES;

static void help(void)
{
	printf("Usage: ckptd [OPTIONS]\n\n"
	       "Checkpoint/restart daemon: runs containers and moves them into images and back.\n\n"
	       "  -s, --socket PATH      listen on PATH (default $CKPTD_SOCKET or %s);\n"
	       "                         ignored under socket activation\n"
	       "  -d, --state-dir DIR    containers, logs and images (default %s)\n"
	       "  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
	       "      --idle-timeout S   close a client silent for S seconds (default %d)\n"
	       "      --timeout S        default deadline of a checkpoint or restart (default %d)\n"
	       "      --max-conns N      clients connected at once (default %d)\n"
	       "      --max-conns-per-uid N  ... of one uid (default %d)\n"
	       "      --max-ops N        checkpoints and restarts at once; more get ERR_BUSY (default %d)\n"
	       "      --log-max-size BYTES  rotate a container's log to log.1 beyond this\n"
	       "                         (K, M, G suffixes; 0: never; default %uM)\n"
	       "  -h, --help             show this help\n"
	       "      --version          show the version\n",
	       CKPTD_DEFAULT_SOCKET, DEFAULT_STATE_DIR, SERVER_IDLE_TIMEOUT_S, SERVER_OP_TIMEOUT_S,
	       SERVER_MAX_CONNS, SERVER_MAX_CONNS_PER_UID, SERVER_MAX_OPS, SERVER_LOG_MAX_BYTES >> 20);
}

static int parse_log_level(const char *s)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (streq(s, names[i]))
			return (int)i;
	return -EINVAL;
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
	enum { ARG_VERSION = 0x100, ARG_IDLE_TIMEOUT, ARG_OP_TIMEOUT, ARG_MAX_CONNS, ARG_MAX_CONNS_UID,
	       ARG_MAX_OPS, ARG_LOG_MAX };
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
		{ "timeout", required_argument, NULL, ARG_OP_TIMEOUT },
		{ "max-conns", required_argument, NULL, ARG_MAX_CONNS },
		{ "max-conns-per-uid", required_argument, NULL, ARG_MAX_CONNS_UID },
		{ "max-ops", required_argument, NULL, ARG_MAX_OPS },
		{ "log-max-size", required_argument, NULL, ARG_LOG_MAX },
		{}
	};
	int c, lvl;

	while ((c = getopt_long(argc, argv, "s:d:l:h", options, NULL)) >= 0) {
		switch (c) {
		case 's':
			arg_socket = optarg;
			break;
		case 'd':
			arg_state_dir = optarg;
			break;
		case 'l':
			lvl = parse_log_level(optarg);
			if (lvl < 0)
				return log_errno(-EINVAL, "unknown log level '%s'", optarg);
			log_set_level(lvl);
			break;
		case 'h':
			help();
			return 0;
		case ARG_IDLE_TIMEOUT:
		case ARG_OP_TIMEOUT: {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 86400)
				return log_errno(-EINVAL, "--%s: 1 to 86400 seconds, not '%s'",
						 c == ARG_OP_TIMEOUT ? "timeout" : "idle-timeout", optarg);
			*(c == ARG_OP_TIMEOUT ? &arg_op_timeout : &arg_idle_timeout) = (int)v;
			break;
		}
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
	if (arg_state_dir[0] != '/')
		return log_errno(-EINVAL, "--state-dir must be an absolute path");
	return 1;
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

/* Our own socket when not socket-activated: refuses to steal a live one. */
static int listen_own(const char *path)
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
	/* root only; SO_PEERCRED is checked anyway */
	if (chmod(path, 0600) < 0)
		return log_errno(-errno, "chmod %s: %m", path);
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

static int run(int argc, char **argv)
{
	struct event_base *base = NULL;
	struct server *srv = NULL;
	_cleanup_close_ int lfd = -1;
	const char *path = NULL;
	int r;

	log_set_prefix("ckptd");
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r;
	/* logs are 0640, everything else of ours is private */
	umask(0027);
	/* a client that went away must be an EPIPE, not our death */
	signal(SIGPIPE, SIG_IGN);
	r = mkdir_p(arg_state_dir, 0700);
	if (r < 0)
		return log_errno(r, "creating state dir %s: %m", arg_state_dir);
	r = check_state_dir(arg_state_dir);
	if (r < 0)
		return r;

	lfd = listen_activated();
	if (lfd == -ENOENT) {
		path = wire_socket_path(arg_socket);
		lfd = listen_own(path);
	} else if (lfd >= 0)
		(void)fcntl(lfd, F_SETFD, FD_CLOEXEC);
	if (lfd < 0)
		return lfd;
	if (fcntl(lfd, F_SETFL, O_NONBLOCK) < 0)
		return log_errno(-errno, "O_NONBLOCK: %m");

	base = event_base_new();
	if (!base)
		return log_errno(-ENOMEM, "event_base_new failed");
	r = server_new(base, lfd, arg_state_dir, &srv);
	if (r >= 0) {
		srv->idle_timeout_s = arg_idle_timeout;
		srv->op_timeout_s = arg_op_timeout;
		srv->max_conns = arg_max_conns;
		srv->max_conns_per_uid = arg_max_conns_per_uid;
		srv->max_ops = arg_max_ops;
		srv->log_max_bytes = arg_log_max_bytes;
	}
	if (r >= 0)
		r = container_load_all(srv);
	if (r >= 0) {
		log_info("ckptd %s ready on %s, state in %s", CKPTD_VERSION, path ? path : "the systemd socket",
			 arg_state_dir);
		sd_notifyf(0, "READY=1\nSTATUS=Listening on %s", path ? path : "the socket from systemd");
		r = server_run(srv);
		sd_notify(0, "STOPPING=1");
	}
	server_free(srv);
	event_base_free(base);
	if (path)
		unlink_own_socket(path);
	return r;
}

int main(int argc, char **argv)
{
	return run(argc, argv) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
