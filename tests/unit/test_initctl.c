/* test_initctl.c - lib/initctl against the real PID 1: runs `init --host` ($INIT_HOST,
 * default build/init-host) in a temporary folder with one service, and asks it list, status
 * and a refused request through initctl_request(); the pure reply parsers on their edges; a
 * socket that never answers and one that does not exist. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "initctl.h"


static char sock[512];
static pid_t init_pid;

/* The `list` line of service NAME as initctl parses it; false when PID 1 does not list it. */
static bool find_service(const char *name, struct initctl_service *out)
{
	json_t *lines = NULL, *line;
	char *error = NULL;
	bool found = false;
	size_t i;

	assert_int_equal(initctl_request(sock, "list", &lines, &error), 0);
	assert_null(error);
	json_array_foreach(lines, i, line) {
		struct initctl_service service;

		assert_int_equal(initctl_parse_service(json_string_value(line), &service), 0);
		if (strcmp(service.name, name) == 0) {
			*out = service;
			found = true;
		}
	}
	json_decref(lines);
	return found;
}

static int setup(void **state)
{
	(void)state;
	if (test_dir_make("test-initctl") < 0)
		return -1;
	snprintf(sock, sizeof sock, "%s", test_path("run/init.sock"));
	mkdir(test_path("svc"), 0755);
	file_put(test_path("svc/sleeper.service"), "command = /bin/sleep 1000\n");
	init_pid = init_start("run", "svc");
	return 0;
}

static int teardown(void **state)
{
	json_t *lines = NULL;
	char *error = NULL;
	int status;

	(void)state;
	if (init_pid > 0) {
		if (initctl_request(sock, "poweroff", &lines, &error) < 0)
			kill(init_pid, SIGKILL);
		json_decref(lines);
		free(error);
		for (int i = 0; i < 1000 && waitpid(init_pid, &status, WNOHANG) != init_pid; i++)
			sleep_ms(10);
		kill(init_pid, SIGKILL);
		waitpid(init_pid, NULL, WNOHANG);
	}
	test_dir_remove();
	return 0;
}

static void test_list_and_status(void **state)
{
	struct initctl_service service = { 0 };
	json_t *lines = NULL, *services;
	char *error = NULL;
	bool running = false;

	(void)state;
	/* PID 1 starts the service soon after it reads the folder (ready at once: no ready check) */
	for (int i = 0; i < 500 && !running; i++) {
		running = find_service("sleeper", &service) && (strcmp(service.state, "running") == 0 ||
								strcmp(service.state, "ready") == 0);
		if (!running)
			sleep_ms(10);
	}
	assert_true(running);
	assert_true(service.pid > 0);
	assert_int_equal(kill((pid_t)service.pid, 0), 0);   /* the pid is a real process */
	assert_int_equal(service.restarts, 0);

	assert_int_equal(initctl_request(sock, "list", &lines, &error), 0);
	services = initctl_services_json(lines);
	assert_non_null(services);
	assert_int_equal(json_array_size(services), json_array_size(lines));
	json_decref(services);
	json_decref(lines);

	assert_int_equal(initctl_request(sock, "status sleeper", &lines, &error), 0);
	assert_null(error);
	assert_true(json_array_size(lines) > 0);
	{
		bool state_line = false;
		json_t *line;
		size_t i;

		json_array_foreach(lines, i, line)
			if (strcmp(json_string_value(line), "state=running") == 0 ||
			    strcmp(json_string_value(line), "state=ready") == 0)
				state_line = true;
		assert_true(state_line);
	}
	json_decref(lines);
}

static void test_refused_and_unreachable(void **state)
{
	json_t *lines = NULL;
	char *error = NULL;
	char path[200];

	(void)state;
	/* PID 1's "error MESSAGE" */
	assert_int_equal(initctl_request(sock, "status no-such-service", &lines, &error), -2);
	assert_null(lines);
	assert_non_null(error);
	assert_non_null(strstr(error, "no-such-service"));
	free(error);
	assert_int_equal(initctl_request(sock, "frobnicate", &lines, &error), -2);
	free(error);
	/* no socket there */
	snprintf(path, sizeof path, "%s/nothing.sock", test_dir());
	assert_int_equal(initctl_request(path, "list", &lines, &error), -1);
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(error, "nothing.sock"));
	free(error);
	/* a path longer than a unix socket's */
	char long_path[300];
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = '\0';
	assert_int_equal(initctl_request(long_path, "list", &lines, &error), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	free(error);
}

/* A socket that accepts (the backlog) but never answers: the deadline ends the request. */
static void test_no_reply(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	json_t *lines = NULL;
	char *error = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	(void)state;
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s/mute.sock", test_dir());
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(initctl_request_timeout(addr.sun_path, "list", 100, &lines, &error), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_non_null(strstr(error, "no reply in time"));
	assert_null(lines);
	free(error);
	close(fd);
}

static void test_parse(void **state)
{
	struct initctl_service service;
	json_t *lines = NULL, *services;
	char *error = NULL;
	const char *list = "ok 2\nsshd running 42 1\noneshot stopped - 0\n";

	(void)state;
	assert_int_equal(initctl_parse_reply("ok 0\n", 5, &lines, &error), 1);
	assert_int_equal(json_array_size(lines), 0);
	json_decref(lines);
	assert_int_equal(initctl_parse_reply("ok 2\na 1\n", 9, &lines, &error), 0);   /* incomplete */
	assert_int_equal(initctl_parse_reply("ok", 2, &lines, &error), 0);
	assert_int_equal(initctl_parse_reply("error nope\n", 11, &lines, &error), -2);
	assert_string_equal(error, "nope");
	free(error);
	assert_int_equal(initctl_parse_reply("ok x\n", 5, &lines, &error), -1);
	free(error);
	assert_int_equal(initctl_parse_reply("ok 5000\n", 8, &lines, &error), -1);   /* > LINES_MAX */
	free(error);
	assert_int_equal(initctl_parse_reply(list, strlen(list), &lines, &error), 1);
	services = initctl_services_json(lines);
	assert_non_null(services);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(services, 0), "pid")), 42);
	assert_true(json_is_null(json_object_get(json_array_get(services, 1), "pid")));
	json_decref(services);
	json_decref(lines);

	assert_int_equal(initctl_parse_service("vm-web running 1234 3", &service), 0);
	assert_string_equal(service.name, "vm-web");
	assert_string_equal(service.state, "running");
	assert_int_equal(service.pid, 1234);
	assert_int_equal(service.restarts, 3);
	assert_int_equal(initctl_parse_service("a stopped - 0", &service), 0);
	assert_int_equal(service.pid, 0);
	assert_int_equal(initctl_parse_service("a running 0 0", &service), -1);
	assert_int_equal(initctl_parse_service("a running -5 0", &service), -1);
	assert_int_equal(initctl_parse_service("a running 12x 0", &service), -1);
	assert_int_equal(initctl_parse_service("a running 12", &service), -1);
	assert_int_equal(initctl_parse_service("a running 12 0 extra", &service), -1);
	assert_int_equal(initctl_parse_service(NULL, &service), -1);
	lines = json_pack("[s]", "broken");
	assert_null(initctl_services_json(lines));
	json_decref(lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_and_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_reply, setup, teardown),
		cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
