/* host.c - what the VM controller does to the node besides QMP: atomic files, running a
 * helper (qemu-img, ip) with a deadline, one request to PID 1's control socket, the /dev/kvm
 * probe, MemTotal. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "vm_int.h"

long long vm_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *vm_path(const char *a, const char *b, const char *c)
{
	char *path;

	if ((c ? asprintf(&path, "%s/%s/%s", a, b, c) : asprintf(&path, "%s/%s", a, b)) < 0)
		abort();
	return path;
}

char *vm_file_read(const char *path)
{
	FILE *file = fopen(path, "rbe");
	char *text = NULL;
	size_t len = 0, cap = 0, n;

	if (!file)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if (cap > 1024 * 1024 || !(text = realloc(text, cap)))
				abort();
		}
		n = fread(text + len, 1, cap - len - 1, file);
		len += n;
	} while (n > 0);
	fclose(file);
	text[len] = '\0';
	return text;
}

int vm_file_write_if_changed(const char *path, const char *content)
{
	char *old = vm_file_read(path), *tmp;
	size_t len = strlen(content);
	int fd, saved;

	if (old && strcmp(old, content) == 0) {
		free(old);
		return 0;
	}
	free(old);
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		abort();
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, content, len) != (ssize_t)len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		free(tmp);
		errno = saved;
		return -1;
	}
	free(tmp);
	return 1;
}

int vm_run(char *const argv[], int timeout_ms, char **output)
{
	long long deadline = vm_monotonic_ms() + timeout_ms;
	char *text = NULL;
	size_t len = 0;
	int pipe_fds[2], status = -1;
	pid_t pid;

	if (output)
		*output = NULL;
	if (pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipe_fds[0]);
		close(pipe_fds[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		dup2(null, 0);
		dup2(pipe_fds[1], 1);
		dup2(pipe_fds[1], 2);
		execv(argv[0], argv);
		dprintf(2, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipe_fds[1]);
	for (;;) {
		struct pollfd pfd = { .fd = pipe_fds[0], .events = POLLIN };
		long long left = deadline - vm_monotonic_ms();
		char buf[1024];
		ssize_t n;

		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		n = read(pipe_fds[0], buf, sizeof buf);
		if (n <= 0)
			break;
		if (len < 16384) {
			text = realloc(text, len + (size_t)n + 1);
			if (!text)
				abort();
			memcpy(text + len, buf, (size_t)n);
			len += (size_t)n;
			text[len] = '\0';
		}
	}
	close(pipe_fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (text) {   /* one line for messages */
		for (char *p = text; *p; p++)
			if (*p == '\n' || *p == '\r')
				*p = ' ';
		while (len > 0 && text[len - 1] == ' ')
			text[--len] = '\0';
	}
	if (output)
		*output = text;
	else
		free(text);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* "ok N" and N lines, or "error MESSAGE". 1 complete, 0 more needed, -1 malformed. */
static int parse_reply(const char *buf, json_t **lines, bool *refused)
{
	const char *end = strchr(buf, '\n'), *p;
	long count;

	if (!end)
		return 0;
	if (strncmp(buf, "error ", 6) == 0) {
		*refused = true;
		*lines = json_pack("[s%]", buf + 6, (size_t)(end - buf - 6));
		return 1;
	}
	if (sscanf(buf, "ok %ld", &count) != 1 || count < 0)
		return -1;
	*lines = json_array();
	for (p = end + 1; count > 0; count--) {
		end = strchr(p, '\n');
		if (!end) {
			json_decref(*lines);
			*lines = NULL;
			return 0;
		}
		json_array_append_new(*lines, json_stringn(p, (size_t)(end - p)));
		p = end + 1;
	}
	return 1;
}

int vm_init_request(const char *socket_path, const char *request, json_t **lines)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	long long deadline = vm_monotonic_ms() + 2000;
	char *buf = NULL;
	size_t len = 0;
	bool refused = false;
	int fd, rc = -1, parsed = 0;

	*lines = NULL;
	if (strlen(socket_path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		close(fd);
		return -1;
	}
	while (parsed == 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - vm_monotonic_ms();
		char chunk[4096];
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) {
			errno = ETIMEDOUT;
			break;
		}
		n = recv(fd, chunk, sizeof chunk, 0);
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			break;
		}
		buf = realloc(buf, len + (size_t)n + 1);
		if (!buf)
			abort();
		memcpy(buf + len, chunk, (size_t)n);
		len += (size_t)n;
		buf[len] = '\0';
		parsed = parse_reply(buf, lines, &refused);
		if (parsed < 0)
			errno = EPROTO;
	}
	if (parsed == 1)
		rc = refused ? -2 : 0;
	free(buf);
	close(fd);
	return rc;
}

int vm_kvm_probe(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm_fd;

	if (fd < 0)
		return 0;
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(fd);
		return 0;
	}
	vm_fd = ioctl(fd, KVM_CREATE_VM, 0);
	if (vm_fd >= 0)
		close(vm_fd);
	close(fd);
	return vm_fd >= 0 ? 1 : 0;
}

void vm_remove_tree(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *entry;

	while (dir && (entry = readdir(dir))) {
		char *child;

		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		child = vm_path(path, entry->d_name, NULL);
		if (unlink(child) < 0 && errno == EISDIR)
			rmdir(child);
		free(child);
	}
	if (dir)
		closedir(dir);
	rmdir(path);
}

long long vm_mem_total_mib(void)
{
	FILE *file = fopen("/proc/meminfo", "re");
	char line[256];
	long long kib = 0;

	while (file && fgets(line, sizeof line, file))
		if (sscanf(line, "MemTotal: %lld kB", &kib) == 1)
			break;
	if (file)
		fclose(file);
	return kib / 1024;
}
