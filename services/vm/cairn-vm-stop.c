/* cairn-vm-stop - a VM service's stop_command (PID 1 runs it before the stop signal, as the
 * VM's user): shuts the guest down through ACPI over QEMU's second QMP monitor.
 *
 *   cairn-vm-stop QMP_SOCKET [SECONDS]      (SECONDS: how long to wait, default 30)
 *
 * Presses the guest's power button (system_powerdown), again every 5 s (a press before the
 * guest's ACPI driver is up is lost), until QEMU reports the guest off (status "shutdown":
 * the VMs run with -no-shutdown) and then asks QEMU to quit, or until QEMU is gone.
 * Exit 0: the guest powered off (or QEMU was gone); PID 1 sees QEMU exit and the stop is done.
 * Exit 1: no poweroff within SECONDS, or no monitor to talk to; PID 1 then sends the stop
 * signal. A guest that is not running (paused, crashed) cannot see the button: QEMU is asked
 * to quit at once. Each step is one line on stderr (the VM service's log). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qmp.h"

#define PRESS_EVERY_MS 5000
#define QMP_TIMEOUT_MS 2000

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Asks QEMU to quit and waits (up to 5 s) for its monitor to close. */
static int quit(struct qmp *q, const char *why)
{
	struct qmp_error err;
	struct qmp_event ev;
	long long deadline = monotonic_ms() + 5000;

	fprintf(stderr, "cairn-vm-stop: %s: asking QEMU to quit\n", why);
	if (qmp_quit(q, &err, QMP_TIMEOUT_MS) < 0 && err.kind != QMP_ERROR_CLOSED) {
		fprintf(stderr, "cairn-vm-stop: %s\n", err.message);
		return 1;
	}
	while (monotonic_ms() < deadline) {
		int rc = qmp_next_event(q, &ev, (int)(deadline - monotonic_ms()), &err);
		if (rc < 0)
			return 0;   /* closed: QEMU is exiting */
		if (rc > 0)
			qmp_event_clear(&ev);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct qmp_error err;
	struct qmp_status status;
	struct qmp *q;
	long long seconds = argc > 2 ? strtoll(argv[2], NULL, 10) : 30, start, deadline,
		  next_press = 0;
	int presses = 0, rc;

	if (argc < 2 || argc > 3 || seconds <= 0 || seconds > 86400) {
		fprintf(stderr, "usage: cairn-vm-stop QMP_SOCKET [SECONDS]\n");
		return 2;
	}
	start = monotonic_ms();
	deadline = start + seconds * 1000;
	q = qmp_connect(argv[1], QMP_TIMEOUT_MS, &err);
	if (!q) {
		fprintf(stderr, "cairn-vm-stop: %s\n", err.message);
		return 1;
	}
	for (;;) {
		long long now = monotonic_ms(), wait_until;
		struct qmp_event ev;

		if (qmp_query_status(q, &status, &err, QMP_TIMEOUT_MS) < 0) {
			if (err.kind == QMP_ERROR_CLOSED) {
				fprintf(stderr, "cairn-vm-stop: QEMU is gone\n");
				rc = 0;
				break;
			}
			fprintf(stderr, "cairn-vm-stop: %s\n", err.message);
			rc = 1;
			break;
		}
		if (strcmp(status.status, "shutdown") == 0) {
			char why[96];
			snprintf(why, sizeof why, "the guest powered off after %.1f s",
				 (double)(monotonic_ms() - start) / 1000);
			rc = quit(q, why);
			break;
		}
		if (strcmp(status.status, "running") != 0) {
			char why[96];
			snprintf(why, sizeof why, "the guest is %s and cannot see the power button",
				 status.status);
			rc = quit(q, why);
			break;
		}
		if (now >= deadline) {
			fprintf(stderr, "cairn-vm-stop: no guest poweroff within %lld s (%d presses)\n",
				seconds, presses);
			rc = 1;
			break;
		}
		if (now >= next_press) {
			if (qmp_system_powerdown(q, &err, QMP_TIMEOUT_MS) < 0) {
				fprintf(stderr, "cairn-vm-stop: %s\n", err.message);
				rc = err.kind == QMP_ERROR_CLOSED ? 0 : 1;
				break;
			}
			presses++;
			fprintf(stderr, "cairn-vm-stop: power button pressed (%d)\n", presses);
			next_press = now + PRESS_EVERY_MS;
		}
		/* an event (SHUTDOWN, or any) or the next press brings the next look */
		wait_until = next_press < deadline ? next_press : deadline;
		rc = qmp_next_event(q, &ev, (int)(wait_until > now ? wait_until - now : 0), &err);
		if (rc > 0)
			qmp_event_clear(&ev);
	}
	qmp_close(q);
	return rc;
}
