/* test_svcdef.c - unit tests for init/svcdef.c: every key, every error kind with its
 * FILE:LINE, all errors of a file reported, quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "svcdef.h"

static struct svcdef def;
static struct svcdef_errors errors;

static int parse(const char *path, const char *text)
{
	svcdef_errors_reset(&errors);
	return svcdef_parse(path, text, strlen(text), &def, &errors);
}

static int teardown(void **state)
{
	(void)state;
	svcdef_free(&def);
	svcdef_errors_free(&errors);
	return 0;
}

static void test_full_definition(void **state)
{
	(void)state;
	assert_int_equal(parse("/etc/cairn/services/web.service",
		"# a web server\n"
		"\n"
		"command = /bin/sh -c 'echo \"hi there\"; exit 1' \"two words\" a\\ b\n"
		"user = 1000:100\n"
		"directory = /var/lib/web\n"
		"env = A=1\n"
		"env = B=x=y\n"
		"needs = net  db\n"
		"needs = api\n"
		"ready = tcp:127.0.0.1:8080\n"
		"restart = on-failure\n"
		"restart_delay = 250ms\n"
		"restart_delay_max = 1m\n"
		"stop_signal = INT\n"
		"stop_timeout = 3s\n"
		"memory_max = 256M\n"
		"cpu_max = 50%\n"
		"capabilities = CAP_NET_ADMIN cap_net_raw\n"
		"console = yes\n"
		"stop_command = /usr/sbin/cairn-vm-stop '/run/a b/stop.sock' 30\n"
		"no_new_privs = yes\n"), 0);
	assert_int_equal(errors.count, 0);
	assert_string_equal(def.name, "web");
	assert_string_equal(def.argv[0], "/bin/sh");
	assert_string_equal(def.argv[1], "-c");
	assert_string_equal(def.argv[2], "echo \"hi there\"; exit 1");
	assert_string_equal(def.argv[3], "two words");
	assert_string_equal(def.argv[4], "a b");
	assert_null(def.argv[5]);
	assert_string_equal(def.user, "1000:100");
	assert_string_equal(def.directory, "/var/lib/web");
	assert_int_equal(def.env_count, 2);
	assert_string_equal(def.env[1], "B=x=y");
	assert_int_equal(def.needs_count, 3);
	assert_string_equal(def.needs[0], "net");
	assert_string_equal(def.needs[1], "db");
	assert_string_equal(def.needs[2], "api");
	assert_int_equal(def.ready, SVCDEF_READY_TCP);
	assert_string_equal(def.ready_path, "127.0.0.1");
	assert_int_equal(def.ready_port, 8080);
	assert_int_equal(def.restart, SVCDEF_RESTART_ON_FAILURE);
	assert_int_equal(def.restart_delay_ms, 250);
	assert_int_equal(def.restart_delay_max_ms, 60000);
	assert_int_equal(def.stop_signal, SIGINT);
	assert_int_equal(def.stop_timeout_ms, 3000);
	assert_int_equal(def.memory_max, 256ull << 20);
	assert_int_equal(def.cpu_max_percent, 50);
	assert_true(def.has_capabilities);
	assert_int_equal(def.capabilities, (1ull << 12) | (1ull << 13));
	assert_true(def.console);
	assert_string_equal(def.stop_argv[0], "/usr/sbin/cairn-vm-stop");
	assert_string_equal(def.stop_argv[1], "/run/a b/stop.sock");
	assert_string_equal(def.stop_argv[2], "30");
	assert_null(def.stop_argv[3]);
	assert_true(def.no_new_privs);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("x/a.service", "command=/bin/true"), 0);
	assert_null(def.user);
	assert_null(def.directory);
	assert_int_equal(def.env_count, 0);
	assert_int_equal(def.needs_count, 0);
	assert_int_equal(def.ready, SVCDEF_READY_NONE);
	assert_int_equal(def.restart, SVCDEF_RESTART_ALWAYS);
	assert_int_equal(def.restart_delay_ms, 100);
	assert_int_equal(def.restart_delay_max_ms, 30000);
	assert_int_equal(def.stop_signal, SIGTERM);
	assert_int_equal(def.stop_timeout_ms, 10000);
	assert_int_equal(def.memory_max, 0);
	assert_false(def.has_capabilities);
	assert_false(def.console);
	assert_null(def.stop_argv);
	assert_false(def.no_new_privs);
}

static void test_ready_kinds(void **state)
{
	(void)state;
	assert_int_equal(parse("a.service", "command=/x\nready=notify\n"), 0);
	assert_int_equal(def.ready, SVCDEF_READY_NOTIFY);
	svcdef_free(&def);
	assert_int_equal(parse("a.service", "command=/x\nready=socket:/run/a.sock\n"), 0);
	assert_int_equal(def.ready, SVCDEF_READY_SOCKET);
	assert_string_equal(def.ready_path, "/run/a.sock");
	svcdef_free(&def);
	assert_int_equal(parse("a.service", "command=/x\nready=exec:/bin/check --fast 'a b'\n"), 0);
	assert_int_equal(def.ready, SVCDEF_READY_EXEC);
	assert_string_equal(def.ready_argv[0], "/bin/check");
	assert_string_equal(def.ready_argv[2], "a b");
	svcdef_free(&def);
	assert_int_equal(parse("a.service", "command=/x\nready=tcp:[::1]:53\n"), 0);
	assert_string_equal(def.ready_path, "::1");
	assert_int_equal(def.ready_port, 53);
	svcdef_free(&def);
	assert_int_equal(parse("a.service", "command=/x\nrestart=oneshot\nuser=daemon\n"), 0);
	assert_int_equal(def.restart, SVCDEF_RESTART_ONESHOT);
	assert_string_equal(svcdef_restart_name(def.restart), "oneshot");
	assert_string_equal(svcdef_ready_name(SVCDEF_READY_EXEC), "exec");
}

/* One error per line; the parser must report every one with its line number. */
static void test_every_error_kind(void **state)
{
	static const char *const expected[] = {
		"/d/bad.service:1: expected 'key = value'",
		"/d/bad.service:2: unknown key 'colour'",
		"/d/bad.service:3: empty value for 'user'",
		"/d/bad.service:4: command must start with an absolute path",
		"/d/bad.service:6: duplicate key 'command' (first set on line 5)",
		"/d/bad.service:7: invalid user (expected root, a user name or UID[:GID])",
		"/d/bad.service:8: directory must be an absolute path",
		"/d/bad.service:9: invalid env (expected KEY=VALUE)",
		"/d/bad.service:10: invalid service name in needs: 'b/c'",
		"/d/bad.service:11: a service cannot need itself",
		"/d/bad.service:12: invalid ready (expected none, notify, socket:PATH, tcp:HOST:PORT or exec:COMMAND)",
		"/d/bad.service:13: invalid restart (expected always, on-failure, never or oneshot)",
		"/d/bad.service:14: invalid duration (expected Nms, Ns or Nm, at most 24 h)",
		"/d/bad.service:15: invalid stop_signal (expected a name like TERM or a number)",
		"/d/bad.service:16: invalid size (expected N, NK, NM, NG or NT)",
		"/d/bad.service:17: invalid cpu_max (expected N% with N >= 1)",
		"/d/bad.service:18: unknown capability 'CAP_FLY'",
		"/d/bad.service:19: invalid console (expected yes or no)",
		"/d/bad.service:20: unterminated single quote",
		"/d/bad.service:21: invalid ready tcp port (expected 1..65535)",
		"/d/bad.service:22: invalid ready socket (expected socket:/absolute/path, under 108 bytes)",
		"/d/bad.service:23: invalid env (KEY must be letters, digits and _)",
		"/d/bad.service:24: NUL byte in line",
		"/d/bad.service:25: invalid ready exec (expected exec:/absolute/path [ARGS])",
		"/d/bad.service:27: duplicate key 'restart_delay' (first set on line 26)",
		"/d/bad.service:28: stop_command must start with an absolute path",
		"/d/bad.service:29: invalid no_new_privs (expected yes or no)",
		"/d/bad.service:31: duplicate key 'stop_command' (first set on line 30)",
		"/d/bad.service:32: duplicate key 'stop_command' (first set on line 30)",
	};
	const char text[] =
		"just words\n"
		"colour = blue\n"
		"user =\n"
		"command = relative/path\n"
		"command = /bin/true\n"
		"command = /bin/false\n"
		"user = Bad User\n"
		"directory = var/lib\n"
		"env = NOEQUALS\n"
		"needs = a b/c\n"
		"needs = bad\n"
		"ready = carrier-pigeon\n"
		"restart = sometimes\n"
		"stop_timeout = 10 seconds\n"
		"stop_signal = SIGNOPE\n"
		"memory_max = lots\n"
		"cpu_max = 50\n"
		"capabilities = CAP_NET_ADMIN CAP_FLY\n"
		"console = maybe\n"
		"ready = exec:/bin/x 'y\n"
		"ready = tcp:localhost:99999\n"
		"ready = socket:relative\n"
		"env = A-B=1\n"
		"env = A\0B\n"
		"ready = exec:\n"
		"restart_delay = 1s\n"
		"restart_delay = 2s\n"
		"stop_command = cairn-vm-stop\n"
		"no_new_privs = 1\n"
		"stop_command = /bin/true\n"
		"stop_command = /bin/false\n"
		"stop_command = /bin/x \"y\n";
	char *line;
	size_t i = 0;
	(void)state;

	svcdef_errors_reset(&errors);
	assert_int_equal(svcdef_parse("/d/bad.service", text, sizeof text - 1, &def, &errors), -1);
	assert_int_equal(errors.count, sizeof expected / sizeof expected[0]);
	line = errors.text;
	for (i = 0; i < sizeof expected / sizeof expected[0]; i++) {
		size_t n = strcspn(line, "\n");
		assert_int_equal(n, strlen(expected[i]));
		assert_memory_equal(line, expected[i], n);
		line += n + 1;
	}
	assert_null(def.argv);   /* freed on error */
}

static void test_file_level_errors(void **state)
{
	static char big[SVCDEF_FILE_MAX + 10];
	char longline[SVCDEF_LINE_MAX + 20];
	(void)state;
	assert_int_equal(parse("/d/x.service", "# only a comment\n"), -1);
	assert_string_equal(errors.text, "/d/x.service:1: missing required key 'command'\n");
	assert_int_equal(parse("/d/bad name.service", "command=/x\n"), -1);
	assert_non_null(strstr(errors.text, "/d/bad name.service:0: invalid file name"));
	assert_int_equal(parse("/d/noext", "command=/x\n"), -1);
	assert_int_equal(parse("/d/.service", "command=/x\n"), -1);
	assert_int_equal(parse("/d/x.service", "command=/x\nrestart_delay=5s\nrestart_delay_max=1s\n"), -1);
	assert_string_equal(errors.text, "/d/x.service:2: restart_delay is larger than restart_delay_max\n");
	memset(big, '#', sizeof big - 1);
	assert_int_equal(parse("/d/x.service", big), -1);
	assert_non_null(strstr(errors.text, "file too large"));
	memset(longline, 'a', sizeof longline - 1);
	longline[sizeof longline - 1] = '\0';
	assert_int_equal(parse("/d/x.service", longline), -1);
	assert_string_equal(errors.text, "/d/x.service:1: line too long (over 4096 bytes)\n");
}

static void test_many_errors_bounded(void **state)
{
	static char text[4096];
	(void)state;
	text[0] = '\0';
	for (int i = 0; i < 100; i++)
		strcat(text, "bogus = 1\n");
	assert_int_equal(parse("/d/x.service", text), -1);
	assert_int_equal(errors.count, 100);
	/* only the first SVCDEF_ERRORS_MAX are kept as text */
	size_t lines = 0;
	for (const char *p = errors.text; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, SVCDEF_ERRORS_MAX);
}

static void test_split_words(void **state)
{
	char **words;
	size_t n;
	const char *reason;
	(void)state;
	assert_int_equal(svcdef_split_words("  a 'b c'  \"d\\\"e\" f\\ g ''", &words, &n, &reason), 0);
	assert_int_equal(n, 5);
	assert_string_equal(words[0], "a");
	assert_string_equal(words[1], "b c");
	assert_string_equal(words[2], "d\"e");
	assert_string_equal(words[3], "f g");
	assert_string_equal(words[4], "");
	svcdef_free_words(words);
	assert_int_equal(svcdef_split_words("a \"b", &words, &n, &reason), -1);
	assert_string_equal(reason, "unterminated double quote");
	assert_int_equal(svcdef_split_words("a\\", &words, &n, &reason), -1);
	assert_string_equal(reason, "backslash at end of value");
	assert_int_equal(svcdef_split_words("'$HOME' `x`", &words, &n, &reason), 0);
	assert_string_equal(words[0], "$HOME");   /* no expansion */
	svcdef_free_words(words);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(svcdef_name_valid("getty@ttyS0", 11));
	assert_true(svcdef_name_valid("kube-apiserver", 14));
	assert_false(svcdef_name_valid("", 0));
	assert_false(svcdef_name_valid("-x", 2));
	assert_false(svcdef_name_valid(".x", 2));
	assert_false(svcdef_name_valid("a b", 3));
	assert_false(svcdef_name_valid("a/b", 3));
	char longname[70];
	memset(longname, 'a', sizeof longname);
	assert_true(svcdef_name_valid(longname, 63));
	assert_false(svcdef_name_valid(longname, 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_full_definition, teardown),
		cmocka_unit_test_teardown(test_defaults, teardown),
		cmocka_unit_test_teardown(test_ready_kinds, teardown),
		cmocka_unit_test_teardown(test_every_error_kind, teardown),
		cmocka_unit_test_teardown(test_file_level_errors, teardown),
		cmocka_unit_test_teardown(test_many_errors_bounded, teardown),
		cmocka_unit_test(test_split_words),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("svcdef", tests, NULL, NULL);
}
