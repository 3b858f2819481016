/* test_control.c - unit tests for init/control.c (control protocol request parser). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "control.h"

static struct control_request req;
static const char *error;

static int parse(const char *line)
{
	error = NULL;
	return control_parse_request(line, strlen(line), &req, &error);
}

static void test_verbs(void **state)
{
	(void)state;
	assert_int_equal(parse("list"), 0);
	assert_int_equal(req.verb, CONTROL_LIST);
	assert_int_equal(parse("status web"), 0);
	assert_int_equal(req.verb, CONTROL_STATUS);
	assert_string_equal(req.name, "web");
	assert_int_equal(parse("start getty@ttyS0"), 0);
	assert_int_equal(req.verb, CONTROL_START);
	assert_string_equal(req.name, "getty@ttyS0");
	assert_int_equal(parse("stop a"), 0);
	assert_int_equal(req.verb, CONTROL_STOP);
	assert_int_equal(parse("restart a\r"), 0);
	assert_int_equal(req.verb, CONTROL_RESTART);
	assert_string_equal(req.name, "a");
	assert_int_equal(parse("rescan"), 0);
	assert_int_equal(req.verb, CONTROL_RESCAN);
	assert_int_equal(parse("reboot"), 0);
	assert_int_equal(req.verb, CONTROL_REBOOT);
	assert_int_equal(parse("poweroff"), 0);
	assert_int_equal(req.verb, CONTROL_POWEROFF);
	assert_int_equal(parse("kill ovn-controller"), 0);
	assert_int_equal(req.verb, CONTROL_KILL);
	assert_string_equal(req.name, "ovn-controller");
	assert_int_equal(parse("kill"), -1);
	assert_string_equal(control_verb_name(CONTROL_LOGS), "logs");
}

static void test_logs(void **state)
{
	(void)state;
	assert_int_equal(parse("logs a"), 0);
	assert_int_equal(req.verb, CONTROL_LOGS);
	assert_int_equal(req.lines, CONTROL_LOG_LINES_DEFAULT);
	assert_int_equal(parse("logs  a   5  "), 0);
	assert_int_equal(req.lines, 5);
	assert_int_equal(parse("logs a 100000"), 0);
	assert_int_equal(req.lines, 100000);
	assert_int_equal(parse("logs a 0"), -1);
	assert_string_equal(error, "invalid line count");
	assert_int_equal(parse("logs a 100001"), -1);
	assert_int_equal(parse("logs a 99999999999999999999999"), -1);
	assert_int_equal(parse("logs a -1"), -1);
	assert_int_equal(parse("logs a 5x"), -1);
}

static void test_errors(void **state)
{
	char longline[CONTROL_REQUEST_MAX + 10];
	(void)state;
	assert_int_equal(parse(""), -1);
	assert_string_equal(error, "empty request");
	assert_int_equal(parse("   "), -1);
	assert_int_equal(parse("fly"), -1);
	assert_non_null(strstr(error, "unknown command"));
	assert_int_equal(parse("LIST"), -1);
	assert_int_equal(parse("status"), -1);
	assert_string_equal(error, "missing service name");
	assert_int_equal(parse("stop ../x"), -1);
	assert_string_equal(error, "invalid service name");
	assert_int_equal(parse("list extra"), -1);
	assert_string_equal(error, "unexpected argument");
	assert_int_equal(parse("start a b"), -1);
	assert_string_equal(error, "unexpected argument");
	assert_int_equal(parse("logs a 5 6"), -1);
	assert_int_equal(parse("list\tx"), -1);
	assert_string_equal(error, "control character in request");
	assert_int_equal(control_parse_request("li\0st", 5, &req, &error), -1);
	memset(longline, 'a', sizeof longline);
	assert_int_equal(control_parse_request(longline, sizeof longline, &req, &error), -1);
	assert_string_equal(error, "request too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs),
		cmocka_unit_test(test_logs),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("control", tests, NULL, NULL);
}
