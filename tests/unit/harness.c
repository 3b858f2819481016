/* harness.c - the daemon-level unit tests' shared helpers (harness.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#ifndef CAIRND_HOST
#define CAIRND_HOST "build/cairnd-host"
#endif
#ifndef INIT_HOST_DEFAULT
#define INIT_HOST_DEFAULT "build/init-host"
#endif

static char dir[256];

/* --- the temp folder ---------------------------------------------------------------------- */

int test_dir_make(const char *tag)
{
	snprintf(dir, sizeof dir, "/tmp/cairn-%s.XXXXXX", tag);
	if (!mkdtemp(dir))
		return -1;
	mkdir(test_path("run"), 0755);
	mkdir(test_path("log"), 0755);
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

void test_dir_remove(void)
{
	const char *keep = getenv("CAIRN_TEST_KEEP");

	if (!dir[0])
		return;
	if (keep && strcmp(keep, "1") == 0)
		fprintf(stderr, "harness: kept %s\n", dir);
	else
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}

const char *test_dir(void)
{
	return dir;
}

char *test_path(const char *name)
{
	static char paths[16][512];
	static unsigned next;
	char *path = paths[next++ % 16];

	snprintf(path, sizeof paths[0], "%s/%s", dir, name);
	return path;
}

/* --- time, files, commands ------------------------------------------------------------- */

void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *file_text(const char *path, size_t *len)
{
	FILE *file = fopen(path, "rb");
	char *text = NULL;
	size_t size = 0, used = 0;

	if (!file)
		return NULL;
	for (;;) {
		if (used + 4096 + 1 > size) {
			size = size ? size * 2 : 8192;
			text = realloc(text, size);
			if (!text)
				fail_msg("out of memory reading %s", path);
		}
		size_t n = fread(text + used, 1, size - used - 1, file);
		used += n;
		if (n == 0)
			break;
	}
	fclose(file);
	text[used] = '\0';
	if (len)
		*len = used;
	return text;
}

void file_put(const char *path, const char *text)
{
	FILE *file = fopen(path, "wb");

	if (!file)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	if (fwrite(text, 1, strlen(text), file) != strlen(text) || fclose(file) != 0)
		fail_msg("cannot write %s: %s", path, strerror(errno));
}

bool file_wait_for(const char *path, const char *needle, int ms)
{
	long long deadline = now_ms() + ms;

	for (;;) {
		char *text = file_text(path, NULL);
		bool found = text && strstr(text, needle);

		free(text);
		if (found)
			return true;
		if (now_ms() >= deadline)
			return false;
		sleep_ms(50);
	}
}

static int shell_v(const char *format, va_list args, char *command, size_t size)
{
	int status;

	vsnprintf(command, size, format, args);
	status = system(command);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int shell_status(const char *format, ...)
{
	char command[4096];
	va_list args;
	int status;

	va_start(args, format);
	status = shell_v(format, args, command, sizeof command);
	va_end(args);
	return status;
}

void shell(const char *format, ...)
{
	char command[4096];
	va_list args;
	int status;

	va_start(args, format);
	status = shell_v(format, args, command, sizeof command);
	va_end(args);
	if (status != 0)
		fail_msg("command failed (status %d): %s", status, command);
}

/* --- processes ---------------------------------------------------------------------------- */

pid_t child_start(const char *const argv[], const char *log)
{
	pid_t parent = getpid(), pid = fork();

	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (log) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int child_stop(pid_t *pid, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int status = 0;
	pid_t got = 0;

	if (*pid <= 0)
		return 0;
	kill(*pid, SIGTERM);
	while ((got = waitpid(*pid, &status, WNOHANG)) == 0 && now_ms() < deadline)
		sleep_ms(10);
	if (got != *pid) {
		kill(*pid, SIGKILL);
		if (waitpid(*pid, &status, 0) != *pid)
			status = -1;
	}
	*pid = 0;
	if (status == -1)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- loopback ports -------------------------------------------------------------------- */

int port_free(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof addr;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		fail_msg("no free loopback port: %s", strerror(errno));
	close(fd);
	return ntohs(addr.sin_port);
}

bool port_open(int port)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool open = fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;

	if (fd >= 0)
		close(fd);
	return open;
}

bool port_wait(int port, int ms)
{
	long long deadline = now_ms() + ms;

	while (!port_open(port)) {
		if (now_ms() >= deadline)
			return false;
		sleep_ms(10);
	}
	return true;
}

/* --- PID 1 and cairnd ------------------------------------------------------------------ */

pid_t init_start(const char *services)
{
	const char *binary = getenv("INIT_HOST") ? getenv("INIT_HOST") : INIT_HOST_DEFAULT;
	char socket_path[512], services_dir[512], log_dir[512], log[512];
	const char *argv[] = { binary, "--host", "--socket", socket_path, "--services", services_dir,
			       "--log-dir", log_dir, NULL };
	long long deadline = now_ms() + 5000;
	pid_t pid;

	snprintf(socket_path, sizeof socket_path, "%s", test_path("run/init.sock"));
	snprintf(services_dir, sizeof services_dir, "%s", test_path(services));
	snprintf(log_dir, sizeof log_dir, "%s", test_path("log"));
	snprintf(log, sizeof log, "%s", test_path("init.log"));
	mkdir(services_dir, 0755);
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);   /* PID 1's own leaks are test_supervisor's */
	pid = child_start(argv, log);
	unsetenv("ASAN_OPTIONS");
	while (access(socket_path, F_OK) < 0) {
		if (now_ms() >= deadline)
			fail_msg("init --host made no %s (see %s)", socket_path, log);
		sleep_ms(10);
	}
	return pid;
}

void cairnd_start(struct cairnd *cairnd, const char *state, const char *log,
		  const char *const extra[])
{
	char state_dir[512], run_dir[512], log_dir[512], kmsg[512], cmdline[512], sysfs[512],
		log_path[512];
	const char *argv[48] = { CAIRND_HOST, "--listen", cairnd->listen, "--state", state_dir,
				 "--run", run_dir, "--log-dir", log_dir, "--kmsg", kmsg,
				 "--cmdline", cmdline, "--sysfs", sysfs };
	size_t argc = 15;

	cairnd->port = port_free();
	snprintf(cairnd->listen, sizeof cairnd->listen, "127.0.0.1:%d", cairnd->port);
	snprintf(state_dir, sizeof state_dir, "%s", test_path(state));
	snprintf(run_dir, sizeof run_dir, "%s", test_path("run"));
	snprintf(log_dir, sizeof log_dir, "%s", test_path("log"));
	snprintf(kmsg, sizeof kmsg, "%s", test_path("kmsg"));
	snprintf(cmdline, sizeof cmdline, "%s", test_path("no-cmdline"));
	snprintf(sysfs, sizeof sysfs, "%s", test_path("sys"));
	snprintf(log_path, sizeof log_path, "%s", test_path(log));
	for (size_t i = 0; extra && extra[i] && argc < 47; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	cairnd->pid = child_start(argv, log_path);
	if (!port_wait(cairnd->port, 10000))
		fail_msg("cairnd-host does not listen on %s (see %s)", cairnd->listen, log_path);
}

int cairnd_stop(struct cairnd *cairnd)
{
	return child_stop(&cairnd->pid, 5000);
}

/* --- certificates (certtool) ---------------------------------------------------------- */

static void cert_key(const char *name)
{
	shell("certtool --no-text --generate-privkey --key-type=ecdsa --outfile %s/%s.key >/dev/null 2>&1",
	      dir, name);
}

void cert_ca(const char *name)
{
	char template[80];

	snprintf(template, sizeof template, "%s.tmpl", name);
	file_put(test_path(template), "cn = \"cairn test CA\"\nca\ncert_signing_key\nexpiration_days = 2\n");
	cert_key(name);
	shell("cd %s && certtool --no-text --generate-self-signed --load-privkey %s.key --template %s.tmpl "
	      "--outfile %s.pem >/dev/null 2>&1", dir, name, name, name);
}

void cert_make(const char *name, const char *ca, const char *template_text)
{
	char template[80];

	snprintf(template, sizeof template, "%s.tmpl", name);
	file_put(test_path(template), template_text);
	cert_key(name);
	shell("cd %s && certtool --no-text --generate-certificate --load-privkey %s.key --load-ca-certificate "
	      "%s.pem --load-ca-privkey %s.key --template %s.tmpl --outfile %s.pem >/dev/null 2>&1",
	      dir, name, ca, ca, name, name);
}

void cert_client(const char *name, const char *ca, const char *organization)
{
	char template[256];

	snprintf(template, sizeof template, "cn = \"%s\"\norganization = \"%s\"\n"
		 "expiration_days = 2\ntls_www_client\nsigning_key\n", name, organization);
	cert_make(name, ca, template);
}

void cert_server(const char *name, const char *ca)
{
	cert_make(name, ca, "cn = \"node-1\"\nip_address = \"127.0.0.1\"\n"
		  "expiration_days = 2\ntls_www_server\nsigning_key\n");
}

void pem_append(char *out, size_t size, const char *key, const char *file)
{
	char *pem = file_text(test_path(file), NULL), *line, *save = NULL;

	if (!pem)
		fail_msg("no PEM file %s", test_path(file));
	snprintf(out + strlen(out), size - strlen(out), "    %s: |\n", key);
	for (line = strtok_r(pem, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		snprintf(out + strlen(out), size - strlen(out), "      %s\n", line);
	free(pem);
}

/* --- HTTPS calls (curl) ---------------------------------------------------------------- */

static char *body, *curl_error;

int https(int port, const char *method, const char *url, const char *client,
	  const char *data_file, const char *extra)
{
	char command[4096], auth[1200] = "", data[600] = "", code[16] = "";
	bool insecure = client && strcmp(client, "insecure") == 0;
	FILE *pipe;

	if (insecure)
		snprintf(auth, sizeof auth, "-k");
	else if (client)
		snprintf(auth, sizeof auth, "--cacert %s/ca.pem --cert %s/%s.pem --key %s/%s.key", dir,
			 dir, client, dir, client);
	else
		snprintf(auth, sizeof auth, "--cacert %s/ca.pem", dir);
	if (data_file)
		snprintf(data, sizeof data, "--data-binary @%s", test_path(data_file));
	snprintf(command, sizeof command,
		 "curl -sS --max-time 10 -o %s/body -w '%%{http_code}' -X %s %s %s %s "
		 "'https://127.0.0.1:%d%s' 2>%s/curl.err", dir, method, auth, data, extra ? extra : "",
		 port, url, dir);
	unlink(test_path("body"));
	pipe = popen(command, "r");
	if (!pipe)
		fail_msg("cannot run curl: %s", strerror(errno));
	if (!fgets(code, sizeof code, pipe))
		code[0] = '\0';
	pclose(pipe);
	free(body);
	free(curl_error);
	body = file_text(test_path("body"), NULL);
	curl_error = file_text(test_path("curl.err"), NULL);
	return atoi(code);
}

const char *https_body(void)
{
	return body ? body : "";
}

const char *https_error(void)
{
	return curl_error ? curl_error : "";
}

json_t *https_body_json(void)
{
	json_error_t error;
	json_t *json = json_loads(https_body(), 0, &error);

	if (!json)
		fail_msg("the body is not JSON (%s): %s", error.text, https_body());
	return json;
}
