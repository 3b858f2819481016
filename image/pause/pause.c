/* pause: the sandbox ("pause") process of a Kubernetes pod.
 *
 * It holds the pod's namespaces open and does nothing else. Run as PID 1 of
 * the pod's PID namespace it also adopts orphans, so it reaps every child that
 * exits. SIGINT and SIGTERM end it with status 0; everything else is left at
 * the kernel default (as PID 1, that means ignored unless it is SIGKILL).
 *
 * The three signals are blocked and taken synchronously with sigwaitinfo(), so
 * there is no handler code running asynchronously at all. Blocked signals are
 * queued even for a namespace's init, whose default-disposition signals the
 * kernel would otherwise drop; the no-op handlers below make that explicit.
 *
 * Build: musl-gcc -std=c11 -static -Os -s -Wall -Wextra -Werror -o pause pause.c
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void nothing(int sig) { (void)sig; }

static void say(const char *msg)
{
	size_t n = strlen(msg);
	while (n > 0) {
		ssize_t w = write(2, msg, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		msg += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGCHLD };
	struct sigaction sa;
	sigset_t set;
	size_t i;

	(void)argv;
	if (argc > 1) {
		say("usage: pause (no arguments; waits until SIGINT or SIGTERM)\n");
		return 2;
	}

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nothing;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&set);
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		if (sigaction(sigs[i], &sa, NULL) != 0 || sigaddset(&set, sigs[i]) != 0) {
			say("pause: cannot set up signals\n");
			return 1;
		}
	}
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
		say("pause: cannot block signals\n");
		return 1;
	}
	if (getpid() != 1)
		say("pause: note: not running as PID 1, orphans will not be reaped here\n");

	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig < 0)
			continue; /* EINTR from a stop/continue; nothing else is possible */
		if (sig == SIGINT || sig == SIGTERM)
			return 0;
		/* SIGCHLD: several exits may have merged into one signal, reap them all. */
		for (;;) {
			pid_t p = waitpid(-1, NULL, WNOHANG);
			if (p > 0)
				continue;
			if (p < 0 && errno == EINTR)
				continue;
			break; /* 0: children left but none exited; -1/ECHILD: none left */
		}
	}
}
