/* test_supervisor.c - the supervisor against real child processes: runs the real
 * `init --host` binary ($INIT_HOST, default build/init-host) in a temporary folder and
 * drives it through its control socket. Timing assertions use generous tolerances. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include <dirent.h>
#include <stdbool.h>
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

static char dir[256];
static pid_t init_pid;
static const char *cgroup_root;   /* passed as --cgroup-root when set */

/* Writes DIR/svc/NAME.service; "@" in TEXT stands for the test folder. */
static void write_service(const char *name, const char *text)
{
	char path[512], body[4096];
	size_t n = 0;
	for (const char *p = text; *p && n + 300 < sizeof body; p++) {
		if (*p == '@')
			n += (size_t)snprintf(body + n, sizeof body - n, "%s", dir);
		else
			body[n++] = *p;
	}
	body[n] = '\0';
	snprintf(path, sizeof path, "%s/svc/%s.service.tmp", dir, name);
	file_put(path, body);
	char final[512];
	snprintf(final, sizeof final, "%s/svc/%s.service", dir, name);
	assert_int_equal(rename(path, final), 0);
}

static char *read_text(const char *path)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The last bytes of a file (at most 1 KiB). */
static char *read_tail(const char *path)
{
	static char buf[1025];
	int fd = open(path, O_RDONLY);
	off_t size = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
	ssize_t n = fd >= 0 ? pread(fd, buf, 1024, size > 1024 ? size - 1024 : 0) : 0;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static char *console_text(void)
{
	char path[300];
	snprintf(path, sizeof path, "%s/console.log", dir);
	return read_text(path);
}

static bool wait_console(const char *needle, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	while (now_ms() < end) {
		if (strstr(console_text(), needle))
			return true;
		sleep_ms(20);
	}
	fprintf(stderr, "missing console line: %s\n--- console ---\n%s---\n", needle, console_text());
	return false;
}

/* Sends one request; the whole reply (status line and data lines) goes into REPLY.
 * Returns 0 for "ok", -1 for "error". */
static int ctl(const char *request, char *reply, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t used = 0;
	long lines = -1;

	snprintf(addr.sun_path, sizeof addr.sun_path, "%.90s/sock", dir);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	assert_true(write(fd, request, strlen(request)) == (ssize_t)strlen(request));
	assert_true(write(fd, "\n", 1) == 1);
	while (used + 1 < len) {
		ssize_t n = read(fd, reply + used, len - used - 1);
		if (n <= 0)
			break;
		used += (size_t)n;
		reply[used] = '\0';
		if (strncmp(reply, "error ", 6) == 0 && strchr(reply, '\n'))
			break;
		if (strncmp(reply, "ok ", 3) == 0 && strchr(reply, '\n')) {
			long seen = 0;
			lines = strtol(reply + 3, NULL, 10);
			for (char *p = strchr(reply, '\n') + 1; *p; p++)
				seen += *p == '\n';
			if (seen >= lines)
				break;
		}
	}
	reply[used] = '\0';
	close(fd);
	return strncmp(reply, "ok ", 3) == 0 ? 0 : -1;
}

/* Value of KEY= in a status reply for NAME. */
static const char *status_field(const char *name, const char *key)
{
	static char reply[8192], value[512];
	char request[128], needle[64], *p;

	snprintf(request, sizeof request, "status %s", name);
	if (ctl(request, reply, sizeof reply) < 0)
		return "";
	snprintf(needle, sizeof needle, "\n%s=", key);
	if (!(p = strstr(reply, needle)))
		return "";
	p += strlen(needle);
	snprintf(value, sizeof value, "%.*s", (int)strcspn(p, "\n"), p);
	return value;
}

static bool wait_state(const char *name, const char *state, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;
	while (now_ms() < end) {
		if (strcmp(status_field(name, "state"), state) == 0)
			return true;
		sleep_ms(20);
	}
	fprintf(stderr, "service %s: state %s, expected %s\n%s", name, status_field(name, "state"),
		state, console_text());
	return false;
}

static void start_init(void)
{
	char svc[300], log[300], sock[300], console[300];
	const char *binary = getenv("INIT_HOST") ? getenv("INIT_HOST") : "build/init-host";

	snprintf(svc, sizeof svc, "%s/svc", dir);
	snprintf(log, sizeof log, "%s/log", dir);
	snprintf(sock, sizeof sock, "%s/sock", dir);
	snprintf(console, sizeof console, "%s/console.log", dir);
	init_pid = fork();
	assert_true(init_pid >= 0);
	if (init_pid == 0) {
		int fd = open(console, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		dup2(fd, 2);
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		if (cgroup_root)
			execl(binary, binary, "--host", "--socket", sock, "--services", svc, "--log-dir",
			      log, "--cgroup-root", cgroup_root, (char *)NULL);
		else
			execl(binary, binary, "--host", "--socket", sock, "--services", svc, "--log-dir",
			      log, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && access(sock, F_OK) < 0; i++)
		sleep_ms(10);
	assert_int_equal(access(sock, F_OK), 0);
}

/* Powers the supervisor off and expects exit status 0 within a few seconds. */
static void stop_init(void)
{
	char reply[256];
	int status = -1;

	if (init_pid <= 0)
		return;
	assert_int_equal(ctl("poweroff", reply, sizeof reply), 0);
	assert_string_equal(reply, "ok 0\n");
	for (int i = 0; i < 1000; i++) {
		if (waitpid(init_pid, &status, WNOHANG) == init_pid)
			break;
		sleep_ms(10);
	}
	if (!WIFEXITED(status)) {
		kill(init_pid, SIGKILL);
		waitpid(init_pid, &status, 0);
		fail_msg("init --host did not exit after poweroff\n%s", console_text());
	}
	init_pid = 0;
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(console_text(), "cairn: shutdown: powering off"));
}

static int setup(void **state)
{
	char path[300];
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/cairn-unit-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/svc", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/log", dir);
	mkdir(path, 0755);
	init_pid = 0;
	cgroup_root = NULL;
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];
	(void)state;
	if (init_pid > 0) {
		kill(init_pid, SIGKILL);
		waitpid(init_pid, NULL, 0);
	}
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static long long read_ns(const char *file)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	return atoll(read_text(path));
}

/* ---- tests ---- */

static void test_dependency_order(void **state)
{
	(void)state;
	write_service("a", "command = /bin/sh -c 'sleep 0.4; date +%s%N > @/a.ready; echo >&3; exec sleep 100'\n"
			   "ready = notify\n");
	write_service("b", "command = /bin/sh -c 'date +%s%N > @/b.start; exec sleep 100'\nneeds = a\n");
	write_service("c", "needs = b\ncommand = /bin/sh -c 'date +%s%N > @/c.start; exit 0'\nrestart = oneshot\n");
	write_service("d", "needs = c\ncommand = /bin/sh -c 'date +%s%N > @/d.start; exec sleep 100'\n");
	start_init();
	assert_true(wait_console("cairn: ready in ", 5000));
	assert_true(wait_state("d", "ready", 3000));
	assert_string_equal(status_field("c", "state"), "done");
	for (int i = 0; i < 100 && read_ns("d.start") == 0; i++)
		sleep_ms(20);
	long long a = read_ns("a.ready"), b = read_ns("b.start"), c = read_ns("c.start"), d = read_ns("d.start");
	assert_true(a > 0 && b > 0 && c > 0 && d > 0);
	assert_true(b >= a);   /* b started after a said it was ready */
	assert_true(d >= c);   /* d started after the oneshot c finished */
	char *con = console_text();
	assert_true(strstr(con, "cairn: service a: ready") < strstr(con, "cairn: service b: started"));
	assert_true(strstr(con, "cairn: service b: ready") < strstr(con, "cairn: service c: started"));
	assert_non_null(strstr(con, "cairn: stage2: started (pid "));
	stop_init();
	con = console_text();
	/* reverse dependency order on shutdown */
	assert_true(strstr(con, "cairn: shutdown: stopped d") < strstr(con, "cairn: shutdown: stopping b"));
	assert_true(strstr(con, "cairn: shutdown: stopped b") < strstr(con, "cairn: shutdown: stopping a"));
}

static void test_readiness_socket_tcp_exec(void **state)
{
	char svc[512];
	int port = 20000 + getpid() % 20000;
	(void)state;
	write_service("sock", "command = /bin/sh -c 'sleep 0.3; exec socat UNIX-LISTEN:@/s.sock,fork EXEC:/bin/cat'\n"
			      "ready = socket:@/s.sock\n");
	write_service("user", "needs = sock\ncommand = /bin/sh -c 'test -S @/s.sock && echo yes > @/user.out; exec sleep 100'\n");
	snprintf(svc, sizeof svc, "command = /bin/sh -c 'sleep 0.3; exec socat TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork EXEC:/bin/cat'\n"
		 "ready = tcp:127.0.0.1:%d\n", port, port);
	write_service("tcp", svc);
	write_service("check", "command = /bin/sh -c 'sleep 0.3; touch @/flag; exec sleep 100'\n"
			       "ready = exec:/bin/test -e @/flag\n");
	write_service("never", "command = /bin/sleep 100\nready = notify\n");
	start_init();
	assert_true(wait_state("user", "ready", 5000));
	assert_true(wait_state("tcp", "ready", 5000));
	assert_true(wait_state("check", "ready", 5000));
	assert_string_equal(read_text(strcat(strcpy(svc, dir), "/user.out")), "yes\n");
	assert_string_equal(status_field("never", "state"), "starting");
	assert_string_equal(status_field("never", "ready"), "notify");
	stop_init();
}

static void test_backoff_grows(void **state)
{
	char path[300];
	long long t[6];
	int n = 0;
	(void)state;
	write_service("crash", "command = /bin/sh -c 'date +%s%N >> @/starts; exit 3'\n"
			       "restart_delay = 100ms\nrestart_delay_max = 2s\n");
	start_init();
	snprintf(path, sizeof path, "%s/starts", dir);
	for (int i = 0; i < 400 && n < 6; i++) {
		char *text = read_text(path), *p = text;
		n = 0;
		while (*p && n < 6) {
			t[n++] = atoll(p) / 1000000;
			p = strchr(p, '\n');
			if (!p)
				break;
			p++;
		}
		if (n < 6)
			sleep_ms(25);
	}
	assert_int_equal(n, 6);   /* 0 + 100 + 200 + 400 + 800 + 1600 ms */
	/* The supervisor announces each delay, doubling; a timer never fires early, so each
	 * measured gap is at least its delay (the upper bound depends on the machine's load and
	 * is not asserted: make bench is where timing goes) */
	char *con = console_text();
	assert_non_null(strstr(con, "cairn: service crash: exited (status 3)"));
	for (int i = 1; i < 6; i++) {
		char line[96];
		long long delay = 100LL << (i - 1);
		snprintf(line, sizeof line, "cairn: service crash: restarting in %lld ms (attempt %d)",
			 delay, i);
		if (!strstr(con, line))
			fail_msg("console lacks '%s'", line);
		if (t[i] - t[i - 1] < delay - 5)
			fail_msg("start %d came %lld ms after the previous one, before its %lld ms delay",
				 i, t[i] - t[i - 1], delay);
	}
	assert_true(atoi(status_field("crash", "restarts")) >= 5);
	assert_string_equal(status_field("crash", "last_exit"), "status 3");
	stop_init();
}

static void test_stop_timeout_kills(void **state)
{
	char reply[1024];
	long long start;
	(void)state;
	write_service("stubborn", "command = /bin/sh -c 'trap \"echo got TERM\" TERM; echo up; while :; do sleep 0.05; done'\n"
				  "stop_timeout = 600ms\n");
	start_init();
	assert_true(wait_state("stubborn", "ready", 3000));
	sleep_ms(200);   /* let the shell install its trap */
	start = now_ms();
	assert_int_equal(ctl("stop stubborn", reply, sizeof reply), 0);
	assert_string_equal(reply, "ok 0\n");
	assert_string_equal(status_field("stubborn", "state"), "stopping");
	assert_true(wait_state("stubborn", "stopped", 5000));
	long long took = now_ms() - start;
	assert_true(took >= 500);
	assert_true(took < 4000);
	assert_string_equal(status_field("stubborn", "last_exit"), "signal KILL");
	assert_int_equal(ctl("logs stubborn", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "got TERM"));
	stop_init();
}

/* A pid written by a test process into DIR/FILE; 0 when none. */
static pid_t read_pid(const char *file)
{
	return (pid_t)read_ns(file);
}

static bool wait_file(const char *file, int timeout_ms)
{
	char path[300];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	for (long long end = now_ms() + timeout_ms; now_ms() < end; sleep_ms(20))
		if (access(path, F_OK) == 0)
			return true;
	return false;
}

/* The main process that stops on SIGUSR1 (the stop command's way) and says so; TERM is
 * caught and only reported, so a TERM that came would show in the log. */
#define GRACEFUL_MAIN "command = /bin/sh -c 'echo $$ > @/main.pid; trap \"echo got TERM\" TERM; " \
	"trap \"echo got USR1; exit 0\" USR1; echo up; while :; do sleep 0.05; done'\n"

/* stop_command ends the service by itself: no stop signal, and the command (still running
 * when the main process exits) is killed and reaped. PID 1 answers meanwhile. */
static void test_stop_command_graceful(void **state)
{
	char reply[2048];
	pid_t stop_pid;
	(void)state;
	write_service("vm", GRACEFUL_MAIN
		      "stop_command = /bin/sh -c 'echo $$ > @/stop.pid; echo stop command as $(id -u); "
		      "sleep 0.3; kill -USR1 $(cat @/main.pid); exec sleep 100'\n"
		      "stop_timeout = 20s\n");
	start_init();
	assert_true(wait_state("vm", "ready", 3000));
	assert_true(wait_file("main.pid", 3000));
	sleep_ms(200);   /* the traps */
	assert_int_equal(ctl("stop vm", reply, sizeof reply), 0);
	assert_true(wait_file("stop.pid", 3000));
	/* the stop command runs; PID 1 still answers and the service is stopping */
	assert_string_equal(status_field("vm", "state"), "stopping");
	assert_true(wait_state("vm", "stopped", 10000));
	assert_string_equal(status_field("vm", "last_exit"), "status 0");
	assert_int_equal(ctl("logs vm", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "stop command started"));
	assert_non_null(strstr(reply, "stop command as "));
	assert_non_null(strstr(reply, "got USR1"));
	assert_null(strstr(reply, "got TERM"));
	/* the stop command was killed and reaped (no zombie: the pid is gone) */
	stop_pid = read_pid("stop.pid");
	assert_true(stop_pid > 0);
	for (int i = 0; i < 250 && kill(stop_pid, 0) == 0; i++)
		sleep_ms(20);
	assert_int_equal(kill(stop_pid, 0), -1);
	assert_int_equal(errno, ESRCH);
	stop_init();
}

/* The main process that takes a moment to exit after the stop command's USR1 (as QEMU does
 * after its monitor answered `quit`). */
#define SLOW_EXIT_MAIN "command = /bin/sh -c 'echo $$ > @/main.pid; trap \"echo got TERM\" TERM; " \
	"trap \"echo got USR1; sleep 1; exit 0\" USR1; echo up; while :; do sleep 0.05; done'\n"

/* A stop command that succeeds and exits before the main process: the main process gets a
 * grace period to exit by itself, and no stop signal comes. */
static void test_stop_command_done_first(void **state)
{
	char reply[2048];
	(void)state;
	write_service("vm", SLOW_EXIT_MAIN
		      "stop_command = /bin/sh -c 'kill -USR1 $(cat @/main.pid); exit 0'\n"
		      "stop_timeout = 20s\n");
	start_init();
	assert_true(wait_state("vm", "ready", 3000));
	assert_true(wait_file("main.pid", 3000));
	sleep_ms(200);
	assert_int_equal(ctl("stop vm", reply, sizeof reply), 0);
	assert_true(wait_state("vm", "stopped", 10000));
	assert_string_equal(status_field("vm", "last_exit"), "status 0");
	assert_int_equal(ctl("logs vm", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "stop command done (status 0): waiting for the service to exit"));
	assert_non_null(strstr(reply, "got USR1"));
	assert_null(strstr(reply, "got TERM"));
	stop_init();
}

/* A stop command that fails: the stop signal follows at once, then SIGKILL as before. */
static void test_stop_command_fails(void **state)
{
	char reply[2048];
	(void)state;
	write_service("vm", GRACEFUL_MAIN "stop_command = /bin/sh -c 'echo cannot; exit 3'\n"
		      "stop_timeout = 500ms\n");
	start_init();
	assert_true(wait_state("vm", "ready", 3000));
	assert_true(wait_file("main.pid", 3000));
	sleep_ms(200);
	assert_int_equal(ctl("stop vm", reply, sizeof reply), 0);
	assert_true(wait_state("vm", "stopped", 10000));
	assert_string_equal(status_field("vm", "last_exit"), "signal KILL");
	assert_int_equal(ctl("logs vm", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "cannot"));
	assert_non_null(strstr(reply, "stop command exited (status 3) with the service still running: sending TERM"));
	assert_non_null(strstr(reply, "got TERM"));
	stop_init();
}

/* A stop command that runs past stop_timeout is killed, and the stop signal follows. */
static void test_stop_command_timeout(void **state)
{
	char reply[2048];
	long long start;
	pid_t stop_pid;
	(void)state;
	write_service("vm", "command = /bin/sh -c 'trap \"echo got TERM; exit 0\" TERM; while :; do sleep 0.05; done'\n"
		      "stop_command = /bin/sh -c 'echo $$ > @/stop.pid; exec sleep 100'\n"
		      "stop_timeout = 500ms\n");
	start_init();
	assert_true(wait_state("vm", "ready", 3000));
	sleep_ms(200);
	start = now_ms();
	assert_int_equal(ctl("stop vm", reply, sizeof reply), 0);
	assert_true(wait_state("vm", "stopped", 10000));
	assert_true(now_ms() - start >= 500);   /* a timer never fires early */
	assert_string_equal(status_field("vm", "last_exit"), "status 0");
	assert_int_equal(ctl("logs vm", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "stop command did not finish within 500 ms: sending TERM"));
	assert_non_null(strstr(reply, "got TERM"));
	stop_pid = read_pid("stop.pid");
	assert_true(stop_pid > 0);
	for (int i = 0; i < 250 && kill(stop_pid, 0) == 0; i++)
		sleep_ms(20);
	assert_int_equal(kill(stop_pid, 0), -1);
	stop_init();
}

/* A poweroff runs the stop command too (the node's power button, Ctrl-Alt-Del, the API). */
static void test_stop_command_at_shutdown(void **state)
{
	char path[300];
	(void)state;
	write_service("vm", GRACEFUL_MAIN
		      "stop_command = /bin/sh -c 'echo ran > @/stop.out; kill -USR1 $(cat @/main.pid)'\n"
		      "stop_timeout = 20s\n");
	write_service("plain", "command = /bin/sleep 100\n");
	start_init();
	assert_true(wait_state("vm", "ready", 3000));
	assert_true(wait_file("main.pid", 3000));
	sleep_ms(200);
	stop_init();
	snprintf(path, sizeof path, "%s/log/vm.log", dir);
	assert_non_null(strstr(read_text(path), "got USR1"));
	assert_null(strstr(read_text(path), "got TERM"));
	snprintf(path, sizeof path, "%s/stop.out", dir);
	assert_string_equal(read_text(path), "ran\n");
	assert_non_null(strstr(console_text(), "cairn: shutdown: stopped vm (status 0)"));
	assert_non_null(strstr(console_text(), "cairn: shutdown: stopped plain (signal TERM)"));
}

/* no_new_privs = yes: the process runs with NoNewPrivs 1 (and without it, 0). */
static void test_no_new_privs(void **state)
{
	char path[300];
	(void)state;
	write_service("nnp", "command = /bin/sh -c 'grep NoNewPrivs /proc/self/status > @/nnp.out; exec sleep 100'\n"
		      "no_new_privs = yes\n");
	write_service("plain", "command = /bin/sh -c 'grep NoNewPrivs /proc/self/status > @/plain.out; exec sleep 100'\n");
	start_init();
	assert_true(wait_file("nnp.out", 3000));
	assert_true(wait_file("plain.out", 3000));
	sleep_ms(100);
	snprintf(path, sizeof path, "%s/nnp.out", dir);
	assert_non_null(strstr(read_text(path), "NoNewPrivs:\t1"));
	snprintf(path, sizeof path, "%s/plain.out", dir);
	assert_non_null(strstr(read_text(path), "NoNewPrivs:\t0"));
	stop_init();
}

/* Zombie children of PID with state Z, and the count of all its children. */
static int count_children(pid_t parent, int *zombies)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int count = 0;
	*zombies = 0;
	while ((e = readdir(d))) {
		char path[300], *text, *paren;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
		text = read_text(path);
		if (!(paren = strrchr(text, ')')))
			continue;
		if (atoi(paren + 4) == parent) {
			count++;
			if (paren[2] == 'Z')
				(*zombies)++;
		}
	}
	closedir(d);
	return count;
}

static void test_orphans_reaped(void **state)
{
	int zombies, children;
	(void)state;
	write_service("forker", "command = /bin/sh -c '(sleep 0.2 &); (sh -c \"sleep 0.3\" &); (sleep 0.1 & sleep 0.1 &); exec sleep 100'\n");
	start_init();
	assert_true(wait_state("forker", "ready", 3000));
	sleep_ms(200);
	children = count_children(init_pid, &zombies);
	assert_true(children >= 1);   /* the orphans were reparented to the supervisor */
	sleep_ms(1000);
	children = count_children(init_pid, &zombies);
	assert_int_equal(zombies, 0);
	assert_int_equal(children, 1);   /* only `sleep 100` remains */
	stop_init();
}

static void test_rejected_definition(void **state)
{
	char reply[4096], path[300], expect[600];
	(void)state;
	write_service("good", "command = /bin/sleep 100\n");
	write_service("bad", "# comment\ncolour = blue\ncommand = /bin/true\nrestart = sometimes\n");
	start_init();
	assert_true(wait_state("good", "ready", 3000));
	snprintf(expect, sizeof expect, "cairn: service bad: definition rejected: %s/svc/bad.service:2: unknown key 'colour'", dir);
	assert_true(wait_console(expect, 2000));
	snprintf(expect, sizeof expect, "cairn: service bad: definition rejected: %s/svc/bad.service:4: invalid restart", dir);
	assert_true(wait_console(expect, 2000));
	assert_string_equal(status_field("bad", "state"), "failed");
	assert_non_null(strstr(status_field("bad", "reason"), "bad.service:2: unknown key"));
	char pid[32];
	snprintf(pid, sizeof pid, "%s", status_field("good", "pid"));
	/* a broken new file at run time: rejected, the rest keeps running */
	write_service("worse", "command = relative\n");
	assert_int_equal(ctl("rescan", reply, sizeof reply), 0);
	snprintf(expect, sizeof expect, "cairn: service worse: definition rejected: %s/svc/worse.service:1: command must start with an absolute path", dir);
	assert_true(wait_console(expect, 2000));
	assert_string_equal(status_field("good", "state"), "ready");
	assert_string_equal(status_field("good", "pid"), pid);
	/* fixing the file brings the service up */
	write_service("bad", "command = /bin/sleep 100\n");
	assert_int_equal(ctl("rescan", reply, sizeof reply), 0);
	assert_true(wait_state("bad", "ready", 3000));
	/* unknown needs and cycles fail only the services concerned */
	write_service("orphan", "command = /bin/sleep 100\nneeds = nosuch\n");
	write_service("p", "command = /bin/sleep 100\nneeds = q\n");
	write_service("q", "command = /bin/sleep 100\nneeds = p\n");
	assert_int_equal(ctl("rescan", reply, sizeof reply), 0);
	assert_true(wait_state("orphan", "failed", 2000));
	assert_string_equal(status_field("orphan", "reason"), "unknown need 'nosuch'");
	assert_string_equal(status_field("p", "state"), "failed");
	assert_non_null(strstr(status_field("p", "reason"), "dependency cycle: "));
	assert_int_equal(ctl("start p", reply, sizeof reply), -1);
	assert_string_equal(status_field("good", "pid"), pid);
	/* removing a file stops and forgets the service */
	snprintf(path, sizeof path, "%s/svc/good.service", dir);
	unlink(path);
	assert_int_equal(ctl("rescan", reply, sizeof reply), 0);
	for (int i = 0; i < 100 && ctl("status good", reply, sizeof reply) == 0; i++)
		sleep_ms(20);
	assert_string_equal(reply, "error no such service: good\n");
	stop_init();
}

static void test_control_protocol(void **state)
{
	char reply[8192], pid[32], path[300];
	(void)state;
	write_service("echo", "command = /bin/sh -c 'echo line one; echo line two >&2; exec sleep 100'\n"
			      "console = yes\n");
	write_service("once", "command = /bin/sh -c 'echo did it'\nrestart = oneshot\n");
	start_init();
	assert_true(wait_state("echo", "ready", 3000));
	assert_true(wait_state("once", "done", 3000));
	assert_int_equal(ctl("list", reply, sizeof reply), 0);
	snprintf(pid, sizeof pid, "%s", status_field("echo", "pid"));
	char expect[256];
	snprintf(expect, sizeof expect, "ok 2\necho ready %s 0\nonce done - 0\n", pid);
	assert_string_equal(reply, expect);
	assert_true(wait_console("[echo] line one", 2000));
	for (int i = 0; i < 100; i++) {
		ctl("logs echo", reply, sizeof reply);
		if (strcmp(reply, "ok 2\nline one\nline two\n") == 0)
			break;
		sleep_ms(20);
	}
	assert_string_equal(reply, "ok 2\nline one\nline two\n");
	assert_int_equal(ctl("logs echo 1", reply, sizeof reply), 0);
	assert_string_equal(reply, "ok 1\nline two\n");
	assert_int_equal(ctl("status echo", reply, sizeof reply), 0);
	assert_true(strncmp(reply, "ok 12\nname=echo\nstate=ready\npid=", 32) == 0);
	snprintf(path, sizeof path, "%s/log/echo.log", dir);
	assert_non_null(strstr(read_text(path), "line one\n"));
	assert_int_equal(ctl("stop echo", reply, sizeof reply), 0);
	assert_true(wait_state("echo", "stopped", 3000));
	assert_string_equal(status_field("echo", "pid"), "-");
	assert_int_equal(ctl("start echo", reply, sizeof reply), 0);
	assert_true(wait_state("echo", "ready", 3000));
	snprintf(pid, sizeof pid, "%s", status_field("echo", "pid"));
	assert_int_equal(ctl("restart echo", reply, sizeof reply), 0);
	for (int i = 0; i < 150 && strcmp(status_field("echo", "pid"), pid) == 0; i++)
		sleep_ms(20);
	assert_true(wait_state("echo", "ready", 3000));
	assert_string_not_equal(status_field("echo", "pid"), pid);
	/* kill: a crash on purpose, so the restart policy (always) brings a new process */
	snprintf(pid, sizeof pid, "%s", status_field("echo", "pid"));
	assert_int_equal(ctl("kill echo", reply, sizeof reply), 0);
	assert_string_equal(reply, "ok 0\n");
	for (int i = 0; i < 250 && strcmp(status_field("echo", "restarts"), "1") != 0; i++)
		sleep_ms(20);
	assert_string_equal(status_field("echo", "restarts"), "1");
	assert_true(wait_state("echo", "ready", 5000));
	assert_string_not_equal(status_field("echo", "pid"), pid);
	assert_non_null(strstr(status_field("echo", "last_exit"), "KILL"));
	assert_int_equal(ctl("kill once", reply, sizeof reply), -1);
	assert_string_equal(reply, "error once is not running\n");
	assert_int_equal(ctl("start once", reply, sizeof reply), 0);
	assert_true(wait_state("once", "done", 3000));
	assert_int_equal(ctl("rescan", reply, sizeof reply), 0);
	assert_string_equal(reply, "ok 0\n");
	assert_int_equal(ctl("status nosuch", reply, sizeof reply), -1);
	assert_string_equal(reply, "error no such service: nosuch\n");
	assert_int_equal(ctl("frobnicate", reply, sizeof reply), -1);
	assert_int_equal(ctl("logs echo 0", reply, sizeof reply), -1);
	assert_string_equal(reply, "error invalid line count\n");
	stop_init();
}

static void test_pipelined_and_long_requests(void **state)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char big[2000], reply[4096];
	size_t used = 0;
	int fd;
	(void)state;
	write_service("a", "command = /bin/sleep 100\n");
	start_init();
	assert_true(wait_state("a", "ready", 3000));
	snprintf(addr.sun_path, sizeof addr.sun_path, "%.90s/sock", dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	memset(big, 'x', sizeof big);
	big[sizeof big - 1] = '\n';
	assert_true(write(fd, "list\nstatus nosuch\n", 19) == 19);
	assert_true(write(fd, big, sizeof big) == sizeof big);
	assert_true(write(fd, "rescan\n", 7) == 7);
	shutdown(fd, SHUT_WR);
	for (ssize_t n; (n = read(fd, reply + used, sizeof reply - used - 1)) > 0;)
		used += (size_t)n;
	reply[used] = '\0';
	close(fd);
	char expect[256];
	snprintf(expect, sizeof expect, "ok 1\na ready %s 0\nerror no such service: nosuch\n"
		 "error request too long\nok 0\n", status_field("a", "pid"));
	assert_string_equal(reply, expect);
	stop_init();
}

static void test_sigterm_shuts_down(void **state)
{
	int status;
	(void)state;
	write_service("a", "command = /bin/sleep 100\nstop_signal = INT\n");
	start_init();
	assert_true(wait_state("a", "ready", 3000));
	kill(init_pid, SIGTERM);
	for (int i = 0; i < 500 && waitpid(init_pid, &status, WNOHANG) == 0; i++)
		sleep_ms(10);
	init_pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_non_null(strstr(console_text(), "cairn: shutdown: stopped a"));
}

static void test_privileges_and_environment(void **state)
{
	char reply[4096];
	(void)state;
	if (geteuid() != 0)
		skip();
	write_service("priv", "command = /bin/sh -c 'id -u; id -g; pwd; echo FOO=$FOO; echo NOTIFY=$NOTIFY_FD; "
			      "grep -e CapBnd -e CapAmb -e CapEff /proc/self/status; exec sleep 100'\n"
			      "user = 65534:65534\ndirectory = /tmp\nenv = FOO=bar baz\n"
			      "capabilities = CAP_NET_BIND_SERVICE CAP_KILL\n");
	write_service("nouser", "command = /bin/true\nuser = no_such_user_here\n");
	start_init();
	assert_true(wait_state("priv", "ready", 3000));
	for (int i = 0; i < 100; i++) {
		ctl("logs priv", reply, sizeof reply);
		if (strstr(reply, "CapAmb"))
			break;
		sleep_ms(20);
	}
	assert_string_equal(reply, "ok 8\n65534\n65534\n/tmp\nFOO=bar baz\nNOTIFY=\n"
				   "CapEff:\t0000000000000420\nCapBnd:\t0000000000000420\n"
				   "CapAmb:\t0000000000000420\n");
	assert_true(wait_state("nouser", "failed", 3000));
	assert_string_equal(status_field("nouser", "reason"), "user no_such_user_here: no such user");
	stop_init();
}

static void test_log_rotation(void **state)
{
	char path[300];
	struct stat st;
	(void)state;
	/* 12000 lines of 99 bytes + newline: 1.2 MB, more than the 1 MiB rotation size */
	write_service("chatty", "command = /bin/sh -c 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -n 12000; "
				"echo last line; exec sleep 100'\n");
	start_init();
	snprintf(path, sizeof path, "%s/log/chatty.log.1", dir);
	for (int i = 0; i < 300 && stat(path, &st) < 0; i++)
		sleep_ms(20);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size >= 1024 * 1024);
	snprintf(path, sizeof path, "%s/log/chatty.log", dir);
	for (int i = 0; i < 300 && !strstr(read_tail(path), "last line"); i++)
		sleep_ms(20);
	assert_non_null(strstr(read_tail(path), "\nlast line\n"));
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size < 1024 * 1024);
	char reply[8192];
	assert_int_equal(ctl("logs chatty 2", reply, sizeof reply), 0);
	assert_non_null(strstr(reply, "\nlast line\n"));
	stop_init();
}

static void test_inotify_and_sighup_rescan(void **state)
{
	(void)state;
	cgroup_root = "/nonexistent-cgroup-root";
	start_init();
	assert_true(wait_console("cairn: ready in ", 3000));   /* also with zero services */
	assert_true(wait_console("cgroup root /nonexistent-cgroup-root", 1000));
	write_service("late", "command = /bin/sleep 100\n");   /* no rescan request: inotify */
	assert_true(wait_state("late", "ready", 3000));
	write_service("later", "command = /bin/sleep 100\n");
	kill(init_pid, SIGHUP);
	assert_true(wait_state("later", "ready", 3000));
	/* a changed definition restarts the service with the new one */
	char pid[32];
	snprintf(pid, sizeof pid, "%s", status_field("late", "pid"));
	write_service("late", "command = /bin/sleep 200\n");
	for (int i = 0; i < 150 && strcmp(status_field("late", "pid"), pid) == 0; i++)
		sleep_ms(20);
	assert_true(wait_state("late", "ready", 3000));
	assert_string_not_equal(status_field("late", "pid"), pid);
	stop_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dependency_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readiness_socket_tcp_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff_grows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_timeout_kills, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_command_graceful, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_command_done_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_command_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_command_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_command_at_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_new_privs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphans_reaped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rejected_definition, setup, teardown),
		cmocka_unit_test_setup_teardown(test_control_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipelined_and_long_requests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_shuts_down, setup, teardown),
		cmocka_unit_test_setup_teardown(test_privileges_and_environment, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inotify_and_sighup_rescan, setup, teardown),
	};
	return cmocka_run_group_tests_name("supervisor", tests, NULL, NULL);
}
