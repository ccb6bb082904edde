/* /proc parsers. Each works on an fd so tests can feed fixtures. */
#include "proc.h"
#include "macro.h"
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/resource.h>

#define PROC_FILE_MAX (64u << 20)

static int read_fd_all(int fd, char **ret, size_t *ret_len)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);

	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap >= PROC_FILE_MAX) {
				free(buf);
				return -EFBIG;
			}
			nb = realloc(buf, cap * 2 + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (n == 0)
			break;
		len += n;
	}
	buf[len] = 0;
	*ret = buf;
	*ret_len = len;
	return 0;
}

int proc_read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return read_fd_all(fd, ret_buf, ret_len);
}

static int open_pid(pid_t pid, const char *what)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* ---- maps / smaps ---- */

static const struct { char name[3]; uint64_t bit; } vmflag_names[] = {
	{ "rd", VMF_RD }, { "wr", VMF_WR }, { "ex", VMF_EX }, { "sh", VMF_SH }, { "mr", VMF_MR },
	{ "mw", VMF_MW }, { "me", VMF_ME }, { "ms", VMF_MS }, { "gd", VMF_GD }, { "pf", VMF_PF },
	{ "lo", VMF_LO }, { "io", VMF_IO }, { "sr", VMF_SR }, { "rr", VMF_RR }, { "dc", VMF_DC },
	{ "de", VMF_DE }, { "ac", VMF_AC }, { "nr", VMF_NR }, { "ht", VMF_HT }, { "sf", VMF_SF },
	{ "ar", VMF_AR }, { "wf", VMF_WF }, { "dd", VMF_DD }, { "sd", VMF_SD }, { "mm", VMF_MM },
	{ "hg", VMF_HG }, { "nh", VMF_NH }, { "mg", VMF_MG }, { "um", VMF_UM }, { "uw", VMF_UW },
	{ "ss", VMF_SS }, { "sl", VMF_SL }, { "bt", VMF_BT }, { "mt", VMF_MT }, { "ui", VMF_UI },
};

static uint64_t parse_vmflags(const char *s)
{
	uint64_t f = 0;
	size_t i;

	while (*s) {
		while (*s == ' ')
			s++;
		if (!s[0] || !s[1])
			break;
		for (i = 0; i < ARRAY_SIZE(vmflag_names); i++)
			if (s[0] == vmflag_names[i].name[0] && s[1] == vmflag_names[i].name[1])
				break;
		f |= i < ARRAY_SIZE(vmflag_names) ? vmflag_names[i].bit : VMF_OTHER;
		s += 2;
		while (*s && *s != ' ')
			s++;
	}
	return f;
}

/* "start-end perms offset maj:min inode   path" */
static int parse_vma_line(const char *line, struct proc_vma *v)
{
	char perms[8];
	int n = 0;
	unsigned long long s, e, off, ino;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu%n", &s, &e, perms, &off, &v->dev_major, &v->dev_minor, &ino, &n) != 7)
		return -EINVAL;
	if (strlen(perms) != 4 || s >= e)
		return -EINVAL;
	v->start = s;
	v->end = e;
	v->pgoff = off;
	v->ino = ino;
	v->prot = (perms[0] == 'r' ? 1 : 0) | (perms[1] == 'w' ? 2 : 0) | (perms[2] == 'x' ? 4 : 0);
	if (perms[3] != 's' && perms[3] != 'p')
		return -EINVAL;
	v->shared = perms[3] == 's';
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	v->path = *line ? strdup(line) : NULL;
	if (*line && !v->path)
		return -ENOMEM;
	return 0;
}

static bool is_vma_line(const char *line)
{
	const char *p = line;

	while (isxdigit((unsigned char)*p))
		p++;
	return p != line && *p == '-';
}

int proc_parse_vmas(int fd, struct proc_vma **ret_vmas, size_t *ret_n)
{
	_cleanup_free_ char *buf = NULL;
	struct proc_vma *vmas = NULL;
	size_t len, n = 0, cap = 0;
	char *line, *save = NULL;
	int r;

	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (is_vma_line(line)) {
			if (n == cap) {
				struct proc_vma *nv = realloc(vmas, (cap = cap ? cap * 2 : 64) * sizeof(*vmas));
				if (!nv) {
					r = -ENOMEM;
					goto fail;
				}
				vmas = nv;
			}
			memset(&vmas[n], 0, sizeof(vmas[n]));
			r = parse_vma_line(line, &vmas[n]);
			if (r < 0)
				goto fail;
			n++;
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			if (!n) {
				r = -EINVAL;
				goto fail;
			}
			vmas[n - 1].vmflags = parse_vmflags(line + 8);
		}
	}
	*ret_vmas = vmas;
	*ret_n = n;
	return 0;
fail:
	proc_vmas_free(vmas, n);
	return r;
}

int proc_vmas_pid(pid_t pid, bool smaps, struct proc_vma **ret_vmas, size_t *ret_n)
{
	_cleanup_close_ int fd = open_pid(pid, smaps ? "smaps" : "maps");

	if (fd < 0)
		return fd;
	return proc_parse_vmas(fd, ret_vmas, ret_n);
}

void proc_vmas_free(struct proc_vma *vmas, size_t n)
{
	size_t i;

	for (i = 0; vmas && i < n; i++)
		free(vmas[i].path);
	free(vmas);
}

/* ---- status ---- */

static int parse_pid_list(const char *s, pid_t *out, int max)
{
	int n = 0;
	char *end;

	while (*s) {
		long v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (n < max)
			out[n++] = (pid_t)v;
		s = end;
	}
	return n;
}

int proc_parse_status(int fd, struct proc_status *st)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t len;
	int r;

	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	memset(st, 0, sizeof(*st));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *v = strchr(line, ':');
		if (!v)
			return -EINVAL;
		*v++ = 0;
		while (*v == ' ' || *v == '\t')
			v++;
#define KEY(k) streq(line, k)
		if (KEY("Name"))
			snprintf(st->name, sizeof(st->name), "%s", v);
		else if (KEY("State"))
			st->state = v[0];
		else if (KEY("Tgid"))
			st->tgid = atoi(v);
		else if (KEY("Pid"))
			st->pid = atoi(v);
		else if (KEY("PPid"))
			st->ppid = atoi(v);
		else if (KEY("TracerPid"))
			st->tracer_pid = atoi(v);
		else if (KEY("NSpid"))
			st->nspid_n = parse_pid_list(v, st->nspid, 8);
		else if (KEY("NSpgid"))
			st->nspgid_n = parse_pid_list(v, st->nspgid, 8);
		else if (KEY("NSsid"))
			st->nssid_n = parse_pid_list(v, st->nssid, 8);
		else if (KEY("Uid")) {
			if (sscanf(v, "%u %u %u %u", &st->uid[0], &st->uid[1], &st->uid[2], &st->uid[3]) != 4)
				return -EINVAL;
		} else if (KEY("Gid")) {
			if (sscanf(v, "%u %u %u %u", &st->gid[0], &st->gid[1], &st->gid[2], &st->gid[3]) != 4)
				return -EINVAL;
		} else if (KEY("Groups")) {
			char *end;
			while (*v && st->ngroups < 64) {
				unsigned long g = strtoul(v, &end, 10);
				if (end == v)
					break;
				st->groups[st->ngroups++] = g;
				v = end;
			}
		} else if (KEY("Threads"))
			st->threads = atoi(v);
		else if (KEY("Umask"))
			st->umask = strtoul(v, NULL, 8);
		else if (KEY("SigQ")) {
			unsigned long long a, b;
			if (sscanf(v, "%llu/%llu", &a, &b) == 2) {
				st->sigq_cur = a;
				st->sigq_max = b;
			}
		}
#define HEX(k, f) else if (KEY(k)) st->f = strtoull(v, NULL, 16)
		HEX("SigPnd", sigpnd); HEX("ShdPnd", shdpnd); HEX("SigBlk", sigblk);
		HEX("SigIgn", sigign); HEX("SigCgt", sigcgt); HEX("CapInh", capinh);
		HEX("CapPrm", capprm); HEX("CapEff", capeff); HEX("CapBnd", capbnd);
		HEX("CapAmb", capamb);
#undef HEX
		else if (KEY("NoNewPrivs"))
			st->no_new_privs = atoi(v);
		else if (KEY("Seccomp"))
			st->seccomp = atoi(v);
#undef KEY
	}
	if (!st->pid || !st->nspid_n)
		return -EINVAL;
	return 0;
}

int proc_status_pid(pid_t pid, struct proc_status *ret)
{
	_cleanup_close_ int fd = open_pid(pid, "status");

	if (fd < 0)
		return fd;
	return proc_parse_status(fd, ret);
}

/* ---- stat ---- */

int proc_parse_stat(int fd, struct proc_stat *ps)
{
	_cleanup_free_ char *buf = NULL;
	unsigned long long f[64];
	char *open_p, *close_p, *p, *end;
	size_t len, n = 0;
	int r;

	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	open_p = strchr(buf, '(');
	close_p = strrchr(buf, ')');
	if (!open_p || !close_p || close_p < open_p || close_p[1] != ' ' || !close_p[2])
		return -EINVAL;
	memset(ps, 0, sizeof(*ps));
	ps->pid = atoi(buf);
	snprintf(ps->comm, sizeof(ps->comm), "%.*s", (int)(close_p - open_p - 1), open_p + 1);
	ps->state = close_p[2];
	/* fields 4.. (1-based) follow the state */
	p = close_p + 3;
	while (*p && n < ARRAY_SIZE(f)) {
		while (*p == ' ')
			p++;
		if (!*p || *p == '\n')
			break;
		f[n++] = strtoull(p, &end, 10);
		if (end == p)
			return -EINVAL;
		p = end;
	}
	if (n < 49)   /* up to field 52 (exit_code) */
		return -EINVAL;
#define F(k) f[(k) - 4]
	ps->ppid = F(4);
	ps->pgrp = F(5);
	ps->session = F(6);
	ps->tty_nr = F(7);
	ps->num_threads = F(20);
	ps->starttime = F(22);
	ps->start_code = F(26);
	ps->end_code = F(27);
	ps->start_stack = F(28);
	ps->exit_signal = F(38);
	ps->start_data = F(45);
	ps->end_data = F(46);
	ps->start_brk = F(47);
	ps->arg_start = F(48);
	ps->arg_end = F(49);
	ps->env_start = F(50);
	ps->env_end = F(51);
	ps->exit_code = F(52);
#undef F
	return 0;
}

int proc_stat_pid(pid_t pid, struct proc_stat *ret)
{
	_cleanup_close_ int fd = open_pid(pid, "stat");

	if (fd < 0)
		return fd;
	return proc_parse_stat(fd, ret);
}

/* ---- fdinfo ---- */

int proc_parse_fdinfo(int fd, struct proc_fdinfo *fi)
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t len;
	int r, seen = 0;

	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	memset(fi, 0, sizeof(*fi));
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "pos: %" SCNu64, &fi->pos) == 1)
			seen |= 1;
		else if (sscanf(line, "flags: %o", &fi->flags) == 1)
			seen |= 2;
		else if (sscanf(line, "mnt_id: %d", &fi->mnt_id) != 1)
			sscanf(line, "ino: %" SCNu64, &fi->ino);
	}
	return seen == 3 ? 0 : -EINVAL;
}

int proc_fdinfo_pid(pid_t pid, int fd, struct proc_fdinfo *ret)
{
	char what[48];
	_cleanup_close_ int f = -1;

	snprintf(what, sizeof(what), "fdinfo/%d", fd);
	f = open_pid(pid, what);
	if (f < 0)
		return f;
	return proc_parse_fdinfo(f, ret);
}

/* ---- limits ---- */

static int parse_limit_value(const char *s, uint64_t *v)
{
	char *end;

	if (strncmp(s, "unlimited", 9) == 0) {
		*v = RLIM_INFINITY;
		return 9;
	}
	*v = strtoull(s, &end, 10);
	return end == s ? -EINVAL : (int)(end - s);
}

int proc_parse_limits(int fd, struct proc_limit ret[16])
{
	_cleanup_free_ char *buf = NULL;
	char *line, *save = NULL;
	size_t len;
	int r, row = -1;

	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	/* Rows follow RLIMIT_* order after a header; values start at column 26. */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save), row++) {
		const char *p = line + 26;
		int k;

		if (row < 0)
			continue;
		if (row >= 16 || strlen(line) < 27)
			return -EINVAL;
		while (*p == ' ')
			p++;
		k = parse_limit_value(p, &ret[row].cur);
		if (k < 0)
			return -EINVAL;
		p += k;
		while (*p == ' ')
			p++;
		if (parse_limit_value(p, &ret[row].max) < 0)
			return -EINVAL;
	}
	return row == 16 ? 0 : -EINVAL;
}

int proc_limits_pid(pid_t pid, struct proc_limit ret[16])
{
	_cleanup_close_ int fd = open_pid(pid, "limits");

	if (fd < 0)
		return fd;
	return proc_parse_limits(fd, ret);
}

/* ---- listings ---- */

static int push_pid(pid_t **arr, size_t *n, size_t *cap, pid_t p)
{
	if (*n == *cap) {
		pid_t *na = realloc(*arr, (*cap = *cap ? *cap * 2 : 16) * sizeof(pid_t));
		if (!na)
			return -ENOMEM;
		*arr = na;
	}
	(*arr)[(*n)++] = p;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	return *(const pid_t *)a - *(const pid_t *)b;
}

int proc_children(pid_t ppid, pid_t **ret_pids, size_t *ret_n)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	pid_t *arr = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct proc_stat ps;
		pid_t p;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		p = atoi(de->d_name);
		if (proc_stat_pid(p, &ps) < 0 || ps.ppid != ppid)
			continue;   /* gone meanwhile, or not ours */
		if (push_pid(&arr, &n, &cap, p) < 0) {
			free(arr);
			return -ENOMEM;
		}
	}
	if (n)
		qsort(arr, n, sizeof(pid_t), cmp_pid);
	*ret_pids = arr;
	*ret_n = n;
	return 0;
}

int proc_threads(pid_t pid, pid_t **ret_tids, size_t *ret_n)
{
	char path[64];
	_cleanup_closedir_ DIR *d = NULL;
	pid_t *arr = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;

	snprintf(path, sizeof(path), "/proc/%d/task", pid);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (isdigit((unsigned char)de->d_name[0]) && push_pid(&arr, &n, &cap, atoi(de->d_name)) < 0) {
			free(arr);
			return -ENOMEM;
		}
	if (n)
		qsort(arr, n, sizeof(pid_t), cmp_pid);
	*ret_tids = arr;
	*ret_n = n;
	return 0;
}

int proc_posix_timers(pid_t pid)
{
	char path[64], *buf = NULL, *p;
	size_t len;
	int n = 0, r;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	for (p = buf; (p = strstr(p, "ID:")); p += 3)
		n++;
	free(buf);
	return n;
}

pid_t proc_pidfd_pid(int pidfd)
{
	char path[64], *buf = NULL, *p;
	size_t len;
	pid_t pid = -ENOENT;
	int r;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	r = proc_read_file(path, &buf, &len);
	if (r < 0)
		return r;
	p = strstr(buf, "\nPid:");
	if (p)
		pid = atoi(p + 5);
	free(buf);
	return pid > 0 ? pid : -ESRCH;
}
