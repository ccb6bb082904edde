// SPDX-License-Identifier: GPL-2.0-or-later
/* --hook PHASE=COMMAND: COMMAND runs (sh -c) at that phase of a checkpoint
 * or restart, which waits for it; its exit status is the answer. */
#include <fcntl.h>
#include <sys/wait.h>

#include "ckptctl.h"
#include "macro.h"

int hooks_parse(struct ctl *c, const char *val, struct ctl_hooks *hk)
{
	const char *eq = strchr(val, '=');
	size_t len = eq ? (size_t)(eq - val) : 0;

	if (!eq || !len || !eq[1])
		return ctl_usage(c, "--hook wants PHASE=COMMAND, not '%s'", val);
	if (hk->n >= CTL_MAX_HOOKS)
		return ctl_usage(c, "too many --hook (at most %d)", CTL_MAX_HOOKS);
	if (len >= sizeof(hk->phase[0]))
		return ctl_usage(c, "--hook: no phase '%.*s'", (int)MIN(len, 64), val);
	memcpy(hk->phase[hk->n], val, len);
	hk->phase[hk->n][len] = '\0';
	for (size_t i = 0; i < hk->n; i++)
		if (streq(hk->phase[i], hk->phase[hk->n]))
			return ctl_usage(c, "--hook: two hooks for phase %s", hk->phase[i]);
	hk->cmd[hk->n] = eq + 1;
	hk->names[hk->n] = hk->phase[hk->n];
	/* "killed" is told, never waited at: nothing is left to undo then */
	if (!streq(hk->phase[hk->n], "killed"))
		hk->wait[hk->n_wait++] = hk->phase[hk->n];
	hk->n++;
	return 0;
}

static _Noreturn void hook_exec(const struct ckpt_phase *p, const char *cmd)
{
	char pid[16];
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

	snprintf(pid, sizeof(pid), "%d", p->init_host_pid);
	if (setenv("CKPT_CONTAINER", p->container ?: "", 1) < 0 || setenv("CKPT_PHASE", p->name, 1) < 0 ||
	    setenv("CKPT_INIT_PID", pid, 1) < 0 || setenv("CKPT_NETNS", p->netns ?: "", 1) < 0)
		_exit(127);
	/* stdout may be the image stream: the hook's output goes to stderr */
	if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		_exit(127);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

int hooks_run(const struct ckpt_phase *p, char *reason, size_t reason_size, void *userdata)
{
	const struct ctl_hooks *hk = userdata;
	const char *cmd = NULL;
	int status;
	pid_t pid;

	for (size_t i = 0; i < hk->n && !cmd; i++)
		if (streq(hk->phase[i], p->name))
			cmd = hk->cmd[i];
	if (!cmd)
		return 0;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(reason, reason_size, "hook for %s: fork: %s", p->name, strerror(errno));
		return -1;
	}
	if (pid == 0)
		hook_exec(p, cmd);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			snprintf(reason, reason_size, "hook for %s: waitpid: %s", p->name, strerror(errno));
			return -1;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		snprintf(reason, reason_size, "hook for %s exited with status %d", p->name, WEXITSTATUS(status));
	else
		snprintf(reason, reason_size, "hook for %s killed by signal %d", p->name, WTERMSIG(status));
	return 1;
}
