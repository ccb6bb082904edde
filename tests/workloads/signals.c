// SPDX-License-Identifier: GPL-2.0-or-later
/* signals: dispositions (handler, flags, mask, restorer), ignored and blocked
 * signals must survive a restart, and the handler must still run.
 *
 * SIGUSR1: SA_SIGINFO|SA_RESTART handler with sa_mask {SIGTERM, SIGWINCH, SIGRTMIN+3}
 * SIGHUP, SIGPIPE: ignored.  SIGPROF: blocked.  SIGUSR2: verify and report.
 * SIGTRAP: a handler (the program raises SIGTRAP itself at each SIGUSR2 and
 * counts it). SIGSEGV: SA_ONSTACK|SA_NODEFER on an alternate stack; SIGCHLD:
 * SA_NOCLDSTOP; SIGCONT: SA_RESETHAND; SIGILL: a handler with SA_SIGINFO.
 * Each time the SIGUSR1 count changes it writes "usr1 count=N".
 * READY, then every ~25 ms the whole sigaction table and the blocked mask are
 * read back and compared with the snapshot taken after setting them up.
 * SIGUSR2: "PASS signals <iter> trap=<count> usr1=<count>". */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

#define NSIG_MAX 65

static volatile sig_atomic_t usr1_count;
static volatile sig_atomic_t usr1_bad;
static volatile sig_atomic_t trap_count;
static char altstack[64 * 1024];

static void on_trap(int sig) { if (sig == SIGTRAP) trap_count++; }
static void on_other(int sig) { (void)sig; }
static void on_other_info(int sig, siginfo_t *si, void *uc) { (void)sig; (void)si; (void)uc; }

/* Handlers with the flags whose loss would go unnoticed until they fire. */
static void install_more(void)
{
	static const struct { int sig, flags; } more[] = {
		{ SIGTRAP, SA_RESTART },
		{ SIGSEGV, SA_ONSTACK | SA_NODEFER },
		{ SIGCHLD, SA_NOCLDSTOP | SA_RESTART },
		{ SIGCONT, SA_RESETHAND },
		{ SIGILL, SA_SIGINFO },
	};
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	if (sigaltstack(&ss, NULL))
		fail("sigaltstack\n");
	for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_flags = more[i].flags;
		if (more[i].flags & SA_SIGINFO)
			sa.sa_sigaction = on_other_info;
		else
			sa.sa_handler = more[i].sig == SIGTRAP ? on_trap : on_other;
		sigaddset(&sa.sa_mask, SIGQUIT);
		if (sigaction(more[i].sig, &sa, NULL))
			fail("sigaction %d\n", more[i].sig);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL))
		fail("sigaction SIGPIPE\n");
}
static struct sigaction snap[NSIG_MAX];
static sigset_t snap_mask;
static unsigned long iter;

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
	sigset_t cur;

	/* While the handler runs, its sa_mask must be in effect. */
	sigprocmask(SIG_BLOCK, NULL, &cur);
	if (sig != SIGUSR1 || si->si_signo != SIGUSR1 || !sigismember(&cur, SIGTERM) ||
	    !sigismember(&cur, SIGWINCH) || !sigismember(&cur, SIGRTMIN + 3) ||
	    !sigismember(&cur, SIGUSR1))
		usr1_bad = 1;
	usr1_count++;
}

static int sa_equal(const struct sigaction *a, const struct sigaction *b)
{
	if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags ||
	    a->sa_restorer != b->sa_restorer)
		return 0;
	for (int s = 1; s < NSIG_MAX; s++)
		if (sigismember(&a->sa_mask, s) != sigismember(&b->sa_mask, s))
			return 0;
	return 1;
}

static void read_table(struct sigaction *t)
{
	for (int s = 1; s < NSIG_MAX; s++) {
		memset(&t[s], 0, sizeof(t[s]));
		if (s == SIGKILL || s == SIGSTOP || (s > 31 && s < SIGRTMIN))
			continue;
		if (sigaction(s, NULL, &t[s]))
			fail("sigaction(%d): %s\n", s, strerror(errno));
	}
}

static void verify_all(void)
{
	struct sigaction now[NSIG_MAX];
	sigset_t mask;

	read_table(now);
	for (int s = 1; s < NSIG_MAX; s++)
		if (!sa_equal(&now[s], &snap[s]))
			fail("sigaction of signal %d changed (handler %p flags %#x, was %p %#x)\n", s,
			     (void *)now[s].sa_handler, now[s].sa_flags,
			     (void *)snap[s].sa_handler, snap[s].sa_flags);
	if (snap[SIGUSR1].sa_sigaction != on_usr1 ||
	    (snap[SIGUSR1].sa_flags & (SA_SIGINFO | SA_RESTART)) != (SA_SIGINFO | SA_RESTART))
		fail("SIGUSR1 disposition\n");
	if (snap[SIGHUP].sa_handler != SIG_IGN || snap[SIGPIPE].sa_handler != SIG_IGN)
		fail("SIGHUP or SIGPIPE not ignored\n");
	if (snap[SIGTRAP].sa_handler != on_trap || !(snap[SIGSEGV].sa_flags & SA_ONSTACK) ||
	    !(snap[SIGSEGV].sa_flags & SA_NODEFER) || !(snap[SIGCONT].sa_flags & SA_RESETHAND) ||
	    !(snap[SIGCHLD].sa_flags & SA_NOCLDSTOP))
		fail("SIGTRAP, SIGSEGV, SIGCONT or SIGCHLD disposition\n");
	if (sigprocmask(SIG_BLOCK, NULL, &mask))
		fail("sigprocmask\n");
	for (int s = 1; s < NSIG_MAX; s++)
		if (s != SIGKILL && s != SIGSTOP && sigismember(&mask, s) != sigismember(&snap_mask, s))
			fail("blocked mask differs at signal %d\n", s);
	if (!sigismember(&mask, SIGPROF))
		fail("SIGPROF not blocked\n");
	if (usr1_bad)
		fail("SIGUSR1 handler ran with a wrong signal or mask\n");
}

int main(void)
{
	struct sigaction sa = { 0 };
	struct timespec ts = { 0, 25 * 1000 * 1000 };
	sigset_t m;
	int seen = 0;

	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGWINCH);
	sigaddset(&sa.sa_mask, SIGRTMIN + 3);
	if (sigaction(SIGUSR1, &sa, NULL))
		fail("sigaction SIGUSR1\n");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGHUP, &sa, NULL))
		fail("sigaction SIGHUP\n");
	sa.sa_handler = on_usr2;
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGUSR2, &sa, NULL))
		fail("sigaction SIGUSR2\n");
	sigemptyset(&m);
	sigaddset(&m, SIGPROF);
	if (sigprocmask(SIG_BLOCK, &m, NULL))
		fail("sigprocmask\n");

	install_more();
	read_table(snap);
	sigprocmask(SIG_BLOCK, NULL, &snap_mask);
	verify_all();
	say("READY\n");
	for (;;) {
		nanosleep(&ts, NULL);
		verify_all();
		if (usr1_count != seen) {
			seen = usr1_count;
			say("usr1 count=%d\n", seen);
		}
		if (got_usr2) {
			int traps = trap_count;

			got_usr2 = 0;
			/* its own SIGTRAP must reach its handler, not kill it */
			raise(SIGTRAP);
			if (trap_count != traps + 1)
				fail("SIGTRAP handler did not run (count %d, was %d)\n", (int)trap_count, traps);
			verify_all();
			say("PASS signals %lu trap=%d usr1=%d\n", iter, (int)trap_count, (int)usr1_count);
		}
		iter++;
	}
}
