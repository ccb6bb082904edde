// SPDX-License-Identifier: GPL-2.0-or-later
/* rseqcs: a thread that spends its life inside an rseq critical section,
 * for a checkpoint that stops it there and injects calls into it.
 *
 * The main thread arms glibc's rseq area with a section that spins for
 * ever; only an abort (the kernel's, after a preemption) gets it out, and
 * it counts the abort and enters again. A thread stopped there that comes
 * back inside the section with the section dropped unaborted (the kernel
 * clears it when the thread returns to user space anywhere else, as from
 * an injected call) spins on with no section armed: a watchdog thread
 * sees the area empty twice, 50 ms apart, with no abort in between, and
 * fails the program. SIGUSR2 (taken by the watchdog): "PASS rseqcs
 * <aborts>". */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/rseq.h>
#include <time.h>
#include <unistd.h>

#include "wl.h"

/* rdi: where the rseq area holds its section pointer; rsi: the section.
 * Returns only through the abort handler. */
__asm__(".text\n"
	".globl rseqcs_spin\n"
	"rseqcs_spin:\n"
	"	mov %rsi, (%rdi)\n"
	".globl rseqcs_start\n"
	"rseqcs_start:\n"
	"	jmp rseqcs_start\n"
	".globl rseqcs_post\n"
	"rseqcs_post:\n"
	"	.long 0x53053053\n"     /* RSEQ_SIG, before the abort handler */
	".globl rseqcs_abort\n"
	"rseqcs_abort:\n"
	"	ret\n");
void rseqcs_spin(volatile uint64_t *cs_field, const struct rseq_cs *cs);
extern const char rseqcs_start[], rseqcs_post[], rseqcs_abort[];

static struct rseq_cs desc __attribute__((aligned(32)));
static volatile uint64_t *cs_field;     /* the main thread's rseq_cs */
static volatile uint64_t aborts;

static void *watchdog(void *arg)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };
	sigset_t usr2;
	int empty = 0;
	uint64_t last = 0;

	(void)arg;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);
	for (;;) {
		uint64_t a = __atomic_load_n(&aborts, __ATOMIC_ACQUIRE);

		if (__atomic_load_n(cs_field, __ATOMIC_ACQUIRE) == 0 && a == last) {
			if (++empty == 2)
				fail("rseqcs: the section was dropped unaborted: spinning with no section armed "
				     "(%lu aborts)\n", (unsigned long)a);
		} else {
			empty = 0;
		}
		last = a;
		if (got_usr2) {
			got_usr2 = 0;
			say("PASS rseqcs %lu\n", (unsigned long)a);
		}
		nanosleep(&t, NULL);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr2, .sa_flags = SA_RESTART };
	struct rseq *rs;
	sigset_t usr2;
	pthread_t t;

	if (__rseq_size == 0)
		fail("rseqcs: glibc registered no rseq area\n");
	rs = (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
	cs_field = (volatile uint64_t *)&rs->rseq_cs;
	desc.start_ip = (uintptr_t)rseqcs_start;
	desc.post_commit_offset = (uintptr_t)rseqcs_post - (uintptr_t)rseqcs_start;
	desc.abort_ip = (uintptr_t)rseqcs_abort;
	sigaction(SIGUSR2, &sa, NULL);
	/* SIGUSR2 is the watchdog's: the spinner takes no signal in its section */
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	if (pthread_create(&t, NULL, watchdog, NULL))
		fail("rseqcs: pthread_create\n");
	say("READY rseqcs\n");
	for (;;) {
		rseqcs_spin(cs_field, &desc);
		__atomic_add_fetch(&aborts, 1, __ATOMIC_RELEASE);
	}
}
