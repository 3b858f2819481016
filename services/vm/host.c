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

/* run_command() (file.h), its output made one line for messages. */
int vm_run(char *const argv[], int timeout_ms, char **output)
{
	char *text = NULL;
	int rc = run_command(argv, &text, timeout_ms);

	if (text) {
		size_t len = strlen(text);
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
	return rc;
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

time_t vm_process_started(long pid)
{
	char path[64], *text, *end;
	unsigned long long ticks = 0;
	double uptime = 0;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *file;
	time_t now = time(NULL);

	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	text = file_read(path);
	/* field 22, starttime; the comm (field 2) may hold spaces and ')', so count after the last ')' */
	end = text ? strrchr(text, ')') : NULL;
	if (end && sscanf(end + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			  "%*d %*d %*d %llu", &ticks) != 1)
		ticks = 0;
	free(text);
	file = fopen("/proc/uptime", "re");
	if (!file || fscanf(file, "%lf", &uptime) != 1 || !ticks || hz <= 0) {
		if (file)
			fclose(file);
		return now;
	}
	fclose(file);
	double age = uptime - (double)ticks / (double)hz;
	return age > 0 ? now - (time_t)(age + 0.5) : now;
}
