/* host.c - what the VM controller does to the node besides QMP: running a helper (qemu-img,
 * ip) with a deadline (lib/runcmd), one request to PID 1's control socket (lib/initctl), the
 * /dev/kvm probe, MemTotal. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

int vm_init_request(const char *socket_path, const char *request, json_t **lines)
{
	char *error = NULL;
	int rc = initctl_request_timeout(socket_path, request, 2000, lines, &error), saved = errno;

	if (rc == -2)
		*lines = json_pack("[s]", error ? error : "");
	free(error);
	errno = saved;
	return rc;
}

/* The child's half of the probe: a one-page guest whose first byte is `hlt`, run on one vCPU
 * with the arch-capabilities MSR set as QEMU's `-cpu host` sets it. Writes the reason of a
 * failure to FD; exits 0 when the vCPU reached the hlt. */
static void kvm_probe_child(int fd)
{
	struct kvm_userspace_memory_region region = { .slot = 0, .memory_size = 4096 };
	struct { struct kvm_msrs head; struct kvm_msr_entry entry; } msrs = { { .nmsrs = 1 }, { 0 } };
	struct { struct kvm_msr_list head; uint32_t indices[256]; } list = { { .nmsrs = 256 }, { 0 } };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	struct kvm_run *run;
	const char *why = NULL;
	unsigned char *page;
	int kvm, vm = -1, vcpu = -1, size;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		dprintf(fd, "/dev/kvm: %s", strerror(errno));
		_exit(1);
	}
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		why = "/dev/kvm: unexpected KVM API version";
	else if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		why = "KVM_CREATE_VM failed";
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!why && page == MAP_FAILED)
		why = "no memory for the probe guest";
	if (!why) {
		page[0] = 0xf4;   /* hlt */
		region.userspace_addr = (uintptr_t)page;
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			why = "KVM_SET_USER_MEMORY_REGION failed";
	}
	if (!why && (vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		why = "KVM_CREATE_VCPU failed";
	if (!why && ((size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0 ||
		     (run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0)) ==
			     MAP_FAILED))
		why = "cannot map the vCPU's run area";
	if (!why && (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0 ||
		     (sregs.cs.base = 0, sregs.cs.selector = 0, ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) ||
		     ioctl(vcpu, KVM_SET_REGS, &regs) < 0))
		why = "cannot set the vCPU's registers";
	/* QEMU writes MSR 0x10a (IA32_ARCH_CAPABILITIES) when KVM offers it as a feature MSR;
	 * hosts with broken nested KVM refuse the write and QEMU aborts, so try it here */
	if (!why && ioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, &list) == 0) {
		for (uint32_t i = 0; i < list.head.nmsrs && i < 256; i++) {
			if (list.indices[i] != 0x10a)
				continue;
			msrs.entry.index = 0x10a;
			if (ioctl(kvm, KVM_GET_MSRS, &msrs) == 1 && ioctl(vcpu, KVM_SET_MSRS, &msrs) != 1)
				why = "the vCPU refused MSR 0x10a (arch capabilities), as QEMU would set it";
		}
	}
	if (!why && ioctl(vcpu, KVM_RUN, 0) < 0)
		why = "KVM_RUN failed";
	if (!why && run->exit_reason != KVM_EXIT_HLT) {
		dprintf(fd, "the probe vCPU stopped with exit reason %u instead of hlt", run->exit_reason);
		_exit(1);
	}
	if (why) {
		dprintf(fd, "%s%s%s", why, errno ? ": " : "", errno ? strerror(errno) : "");
		_exit(1);
	}
	_exit(0);
}

int vm_kvm_probe(char *reason, size_t size)
{
	int fds[2], status = 0, ok;
	char text[200] = "";
	ssize_t n = 0;
	pid_t pid;

	if (access("/dev/kvm", F_OK) < 0) {
		snprintf(reason, size, "no /dev/kvm");
		return 0;
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		snprintf(reason, size, "cannot run the KVM probe: %s", strerror(errno));
		return 0;
	}
	if (pid == 0) {
		close(fds[0]);
		alarm(VM_KVM_PROBE_MS / 1000 + 1);   /* a vCPU that never halts: SIGALRM ends it */
		errno = 0;
		kvm_probe_child(fds[1]);
	}
	close(fds[1]);
	/* the reason text, or EOF when the child exits; a hung KVM_RUN is killed at the deadline */
	struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
	long long deadline = vm_monotonic_ms() + VM_KVM_PROBE_MS;
	size_t len = 0;
	while (len < sizeof text - 1) {
		long long left = deadline - vm_monotonic_ms();
		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = read(fds[0], text + len, sizeof text - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	text[len] = '\0';
	close(fds[0]);
	if (vm_monotonic_ms() >= deadline)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (ok)
		snprintf(reason, size, "a KVM vCPU ran the probe guest to hlt");
	else if (text[0])
		snprintf(reason, size, "KVM probe: %s", text);
	else
		snprintf(reason, size, "KVM probe: the vCPU did not reach hlt within %d ms",
			 VM_KVM_PROBE_MS);
	return ok;
}

int vm_chown(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	return chown(path, uid, gid);
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
