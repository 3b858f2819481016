/* test_runcmd.c - lib/runcmd with real programs: exit status and output, a signal, a program
 * that does not exist, the output cap, a program killed at its deadline; run_command_with():
 * input on stdin, stdout alone, a network namespace (this one, by its fd) and a bad one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "runcmd.h"

static void test_status_and_output(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	char *out = NULL;

	(void)state;
	assert_int_equal(run_command(argv, &out, 10000), 3);
	assert_non_null(out);
	assert_non_null(strstr(out, "out\n"));
	assert_non_null(strstr(out, "err\n"));
	free(out);
	char *quiet[] = { "/bin/true", NULL };
	assert_int_equal(run_command(quiet, NULL, 10000), 0);
}

static void test_signal_missing_cap(void **state)
{
	char *killed[] = { "/bin/sh", "-c", "kill -TERM $$", NULL };
	char *missing[] = { "/nonexistent/program", NULL };
	char *big[] = { "/bin/sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x", NULL };
	char *out = NULL;

	(void)state;
	assert_int_equal(run_command(killed, NULL, 10000), 128 + 15);
	assert_int_equal(run_command(missing, NULL, 10000), 127);
	assert_int_equal(run_command(big, &out, 10000), 0);
	assert_int_equal(strlen(out), 65536);   /* kept up to the cap, the rest read and dropped */
	free(out);
}

static void test_deadline(void **state)
{
	char *argv[] = { "/bin/sleep", "30", NULL };

	(void)state;
	errno = 0;
	assert_int_equal(run_command(argv, NULL, 100), -1);
	assert_int_equal(errno, ETIMEDOUT);
}

static void test_with_options(void **state)
{
	char *cat[] = { "/bin/sh", "-c", "cat; echo err >&2", NULL };
	char *truth[] = { "/bin/true", NULL };
	struct run_options o = { "line one\nline two\n", -1, 1 };
	char *out = NULL;

	(void)state;
	assert_int_equal(run_command_with(cat, &o, &out, 10000), 0);
	assert_string_equal(out, "line one\nline two\n");   /* stdin back; stderr not collected */
	free(out);
	o.input = NULL;
	o.netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(o.netns_fd >= 0);
	if (geteuid() == 0)      /* setns() needs CAP_SYS_ADMIN, even into one's own namespace */
		assert_int_equal(run_command_with(truth, &o, NULL, 10000), 0);
	close(o.netns_fd);
	o.netns_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);   /* not a namespace */
	assert_int_equal(run_command_with(truth, &o, &out, 10000), 126);
	assert_non_null(strstr(out, "setns: "));
	free(out);
	close(o.netns_fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_and_output),
		cmocka_unit_test(test_signal_missing_cap),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_with_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
