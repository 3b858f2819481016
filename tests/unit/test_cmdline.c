/* test_cmdline.c - unit tests for lib/cmdline/cmdline.c (kernel command line parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cmdline.h"

static struct cmdline cl;

static void parse(const char *text)
{
	cmdline_parse(text, strlen(text), &cl);
}

static void test_defaults(void **state)
{
	(void)state;
	parse("console=ttyS0 quiet root=/dev/ram0\n");
	assert_false(cl.debug);
	assert_int_equal(cl.rootfs, CMDLINE_ROOTFS_AUTO);
	assert_null(cl.config_url);
	assert_null(cl.config_inline);
	assert_int_equal(cl.vm_accel, -1);
	assert_int_equal(cl.problem_count, 0);
}

static void test_all_arguments(void **state)
{
	(void)state;
	parse("console=ttyS0 cairn.debug cairn.rootfs=iso cairn.config=http://10.0.2.2:8080/a.yaml "
	      "cairn.config.inline=aGVsbG8=\n");
	assert_true(cl.debug);
	assert_int_equal(cl.rootfs, CMDLINE_ROOTFS_ISO);
	assert_string_equal(cl.config_url, "http://10.0.2.2:8080/a.yaml");
	assert_string_equal(cl.config_inline, "aGVsbG8=");
	assert_int_equal(cl.problem_count, 0);
	parse("cairn.rootfs=ram cairn.debug=0");
	assert_int_equal(cl.rootfs, CMDLINE_ROOTFS_RAM);
	assert_false(cl.debug);
	assert_string_equal(cmdline_rootfs_name(cl.rootfs), "ram");
	parse("cairn.vm.accel=tcg");
	assert_int_equal(cl.vm_accel, 0);
	parse("cairn.vm.accel=kvm");
	assert_int_equal(cl.vm_accel, 1);
	parse("cairn.vm.accel=auto");
	assert_int_equal(cl.vm_accel, -1);
	parse("cairn.vm.accel=xen");
	assert_int_equal(cl.vm_accel, -1);
	assert_int_equal(cl.problem_count, 1);
	assert_string_equal(cl.problems[0].argument, "cairn.vm.accel=xen");
}

static void test_quotes(void **state)
{
	(void)state;
	parse("a=\"x y\" cairn.config=\"http://h/p q\" b");
	assert_string_equal(cl.config_url, "http://h/p q");
	assert_int_equal(cl.problem_count, 0);
}

static void test_problems(void **state)
{
	(void)state;
	parse("cairn.rootfs=disk cairn.bogus=1 cairn.config= cairn.debug=maybe cairn.config.inline");
	assert_int_equal(cl.problem_count, 5);
	assert_string_equal(cl.problems[0].argument, "cairn.rootfs=disk");
	assert_string_equal(cl.problems[0].reason, "invalid value (expected ram, iso or auto)");
	assert_string_equal(cl.problems[1].argument, "cairn.bogus=1");
	assert_string_equal(cl.problems[1].reason, "unknown argument");
	assert_string_equal(cl.problems[2].argument, "cairn.config=");
	assert_int_equal(cl.rootfs, CMDLINE_ROOTFS_AUTO);
	assert_false(cl.debug);
}

static void test_many_problems_bounded(void **state)
{
	char text[2048] = "";
	(void)state;
	for (int i = 0; i < 20; i++)
		strcat(text, "cairn.x ");
	parse(text);
	assert_int_equal(cl.problem_count, 20);
	assert_string_equal(cl.problems[CMDLINE_MAX_PROBLEMS - 1].argument, "cairn.x");
}

static void test_long_and_odd_input(void **state)
{
	static char text[3 * CMDLINE_MAX];
	(void)state;
	memset(text, 'a', sizeof text);
	cmdline_parse(text, sizeof text, &cl);  /* not NUL-terminated, longer than the limit */
	assert_int_equal(cl.problem_count, 0);
	cmdline_parse("\0cairn.debug\0", 13, &cl);
	assert_true(cl.debug);
	parse("\"\"  \"cairn.debug\"");
	assert_true(cl.debug);
	parse("");
	assert_int_equal(cl.problem_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_arguments),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_problems),
		cmocka_unit_test(test_many_problems_bounded),
		cmocka_unit_test(test_long_and_odd_input),
	};
	return cmocka_run_group_tests_name("cmdline", tests, NULL, NULL);
}
