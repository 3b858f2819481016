/* stage1.c - PID 1 in the initramfs, as a list of steps: early mounts, kernel command line,
 * modules, rootfs.squashfs, writable places, extra service definitions, switch_root, exec
 * stage 2. Any failure prints one "cairn: stage1: error: ..." line and halts forever. */
#include "cmdline.h"
#include "console.h"
#include "stage1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define NR STAGE1_NEWROOT

static void mount_or_fail(const char *source, const char *target, const char *type,
			  unsigned long flags, const char *data)
{
	mkdir(target, 0755);
	if (mount(source, target, type, flags, data) < 0)
		stage1_fail("mount", "%s on %s: %s", type ? type : source, target, strerror(errno));
}

static void early_mounts(void)
{
	mkdir("/dev", 0755);
	/* devtmpfs may already be mounted by the kernel (CONFIG_DEVTMPFS_MOUNT) */
	if (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") < 0 && errno != EBUSY)
		stage1_fail("mount", "devtmpfs on /dev: %s", strerror(errno));
	console_open("/dev/console", true);
	mount_or_fail("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_or_fail("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
}

static int read_cmdline(struct cmdline *cmdline)
{
	static char text[CMDLINE_MAX];
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof text) : -1;

	if (fd >= 0)
		close(fd);
	cmdline_parse(text, n > 0 ? (size_t)n : 0, cmdline);
	console_debug_enabled = cmdline->debug;
	for (size_t i = 0; i < cmdline->problem_count && i < CMDLINE_MAX_PROBLEMS; i++)
		console_line("stage1: warning: %s: %s", cmdline->problems[i].argument,
			     cmdline->problems[i].reason);
	return cmdline->rootfs;
}

/* tmpfs for the writable places, then /run, /dev, /proc, /sys move into the new root. */
static void prepare_newroot(void)
{
	static const char *const writable[] = { NR "/var", NR "/system/state", NR "/tmp" };
	static const char *const moved[] = { "/run", "/dev", "/proc", "/sys" };
	char target[64];

	for (size_t i = 0; i < sizeof writable / sizeof writable[0]; i++) {
		struct stat st;
		if (stat(writable[i], &st) < 0)
			stage1_fail("root image", "%s: missing mount point in rootfs.squashfs", writable[i]);
		if (mount("tmpfs", writable[i], "tmpfs", MS_NOSUID | MS_NODEV,
			  i == 2 ? "mode=1777" : "mode=0755") < 0)
			stage1_fail("mount", "tmpfs on %s: %s", writable[i], strerror(errno));
	}
	for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++) {
		snprintf(target, sizeof target, NR "%s", moved[i]);
		if (mount(moved[i], target, NULL, MS_MOVE, NULL) < 0)
			stage1_fail("mount", "move %s to %s: %s", moved[i], target, strerror(errno));
	}
}

static void copy_file(const char *from, const char *to)
{
	char buf[8192];
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		console_line("stage1: warning: copy %s to %s: %s", from, to, strerror(errno));
		close(in);
		return;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, (size_t)n) != n) {
			console_line("stage1: warning: copy %s to %s: %s", from, to, strerror(errno));
			break;
		}
	close(in);
	close(out);
}

/* Extra definitions shipped in the initramfs (/cairn/services) go to /run/cairn/services. */
static void copy_extra_services(void)
{
	DIR *dir = opendir("/cairn/services");
	struct dirent *ent;

	mkdir(NR "/run/cairn", 0755);
	mkdir(NR "/run/cairn/services", 0755);
	if (!dir)
		return;
	while ((ent = readdir(dir))) {
		char from[300], to[330];
		size_t n = strlen(ent->d_name);
		if (n <= 8 || strcmp(ent->d_name + n - 8, ".service") != 0)
			continue;
		snprintf(from, sizeof from, "/cairn/services/%s", ent->d_name);
		snprintf(to, sizeof to, NR "/run/cairn/services/%s", ent->d_name);
		copy_file(from, to);
		console_debug("stage1: extra service definition %s", ent->d_name);
	}
	closedir(dir);
}

static void __attribute__((noreturn)) switch_root_and_exec(void)
{
	char *const argv[] = { "/sbin/init", "--stage2", NULL };

	if (chdir(NR) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		stage1_fail("switch_root", "%s: %s", NR, strerror(errno));
	console_debug("stage1: exec /sbin/init --stage2");
	execv(argv[0], argv);
	stage1_fail("exec stage 2", "/sbin/init in rootfs.squashfs: %s", strerror(errno));
}

void stage1_main(void)
{
	static struct cmdline cmdline;
	int rootfs_mode;

	umask(022);
	early_mounts();
	rootfs_mode = read_cmdline(&cmdline);
	console_debug("stage1: started (rootfs=%s)", cmdline_rootfs_name(cmdline.rootfs));
	stage1_load_modules();
	stage1_mount_rootfs(rootfs_mode);
	prepare_newroot();
	copy_extra_services();
	switch_root_and_exec();
}
