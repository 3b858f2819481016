/* stage1_rootfs.c - find rootfs.squashfs (in the initramfs, or on an iso9660 block device),
 * check its SHA-256 against /etc/cairn/rootfs.sha256, mount it read-only through a loop
 * device on STAGE1_NEWROOT. Every failure is fatal (stage1_fail). */
#include "cmdline.h"
#include "console.h"
#include "stage1.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RAM_IMAGE "/rootfs.squashfs"
#define ISO_MOUNT "/run/cairn/iso"
#define ISO_IMAGE ISO_MOUNT "/cairn/rootfs.squashfs"
#define DIGEST_FILE "/etc/cairn/rootfs.sha256"
#define BLOCK_WAIT_MS 10000

static long long monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_candidate(const char *name)
{
	return strncmp(name, "sr", 2) == 0 || strncmp(name, "vd", 2) == 0 ||
	       strncmp(name, "sd", 2) == 0 || strncmp(name, "nvme", 4) == 0;
}

/* One pass over /sys/class/block; returns true when the ISO is mounted with the image. */
static bool try_block_devices(char *tried, size_t tried_len)
{
	DIR *dir = opendir("/sys/class/block");
	struct dirent *ent;
	bool found = false;

	if (!dir)
		return false;
	while (!found && (ent = readdir(dir))) {
		char dev[300];
		if (!is_candidate(ent->d_name))
			continue;
		snprintf(dev, sizeof dev, "/dev/%s", ent->d_name);
		if (!strstr(tried, ent->d_name) && strlen(tried) + strlen(ent->d_name) + 2 < tried_len) {
			strcat(tried, " ");
			strcat(tried, ent->d_name);
		}
		if (mount(dev, ISO_MOUNT, "iso9660", MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
			continue;
		if (access(ISO_IMAGE, R_OK) == 0) {
			console_debug("stage1: found %s on %s", ISO_IMAGE, dev);
			found = true;
		} else {
			umount(ISO_MOUNT);
		}
	}
	closedir(dir);
	return found;
}

static const char *find_image(int mode)
{
	char tried[512] = "";
	long long deadline;

	if (mode != CMDLINE_ROOTFS_ISO && access(RAM_IMAGE, R_OK) == 0)
		return RAM_IMAGE;
	if (mode == CMDLINE_ROOTFS_RAM)
		stage1_fail("rootfs.squashfs not found", "expected " RAM_IMAGE " in the initramfs "
			    "(cairn.rootfs=ram)");
	mkdir("/run/cairn", 0755);
	mkdir(ISO_MOUNT, 0755);
	deadline = monotonic_ms() + BLOCK_WAIT_MS;
	for (;;) {
		struct timespec pause = { 0, 100 * 1000000 };
		if (try_block_devices(tried, sizeof tried))
			return ISO_IMAGE;
		if (monotonic_ms() > deadline)
			break;
		nanosleep(&pause, NULL);
	}
	stage1_fail("rootfs.squashfs not found", "expected " RAM_IMAGE " in the initramfs or "
		    "/cairn/rootfs.squashfs on an iso9660 device (tried:%s)", tried[0] ? tried : " none");
}

static void verify_image(const char *image)
{
	char expected[80] = "", got[65];
	const char *error;
	long long start = monotonic_ms();
	int fd = open(DIGEST_FILE, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, expected, sizeof expected - 1) : -1;
	size_t hexlen = 0;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		stage1_fail("rootfs.sha256 missing", "expected " DIGEST_FILE " in the initramfs: %s",
			    strerror(errno));
	expected[n] = '\0';
	while (hexlen < 64 && isxdigit((unsigned char)expected[hexlen]) &&
	       !isupper((unsigned char)expected[hexlen]))
		hexlen++;
	if (hexlen != 64 || (expected[64] != '\0' && expected[64] != '\n'))
		stage1_fail("rootfs.sha256 invalid", "expected 64 lowercase hex characters in " DIGEST_FILE);
	expected[64] = '\0';
	if (digest_sha256_file(image, got, &error) < 0)
		stage1_fail("rootfs.squashfs digest", "%s: %s: %s", image, error, strerror(errno));
	if (strcmp(expected, got) != 0)
		stage1_fail("rootfs.squashfs digest mismatch", "expected %s, got %s", expected, got);
	console_debug("stage1: %s verified in %lld ms", image, monotonic_ms() - start);
}

/* Attaches IMAGE read-only to a free loop device; writes its path into DEV and returns the
 * open loop fd: with LO_FLAGS_AUTOCLEAR, closing it before the mount would detach it. */
static int attach_loop(const char *image, char *dev, size_t devlen)
{
	struct loop_config config;
	int ctl, num, loop_fd = -1, file_fd;

	if ((ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC)) < 0)
		stage1_fail("loop device", "/dev/loop-control: %s (module loop)", strerror(errno));
	if ((num = ioctl(ctl, LOOP_CTL_GET_FREE)) < 0)
		stage1_fail("loop device", "LOOP_CTL_GET_FREE: %s", strerror(errno));
	close(ctl);
	snprintf(dev, devlen, "/dev/loop%d", num);
	for (int i = 0; i < 50 && (loop_fd = open(dev, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT; i++) {
		struct timespec pause = { 0, 20 * 1000000 };
		nanosleep(&pause, NULL);   /* devtmpfs may add the node a moment later */
	}
	if (loop_fd < 0)
		stage1_fail("loop device", "%s: %s", dev, strerror(errno));
	if ((file_fd = open(image, O_RDONLY | O_CLOEXEC)) < 0)
		stage1_fail("rootfs.squashfs", "%s: %s", image, strerror(errno));
	memset(&config, 0, sizeof config);
	config.fd = (unsigned)file_fd;
	config.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	snprintf((char *)config.info.lo_file_name, LO_NAME_SIZE, "%s", image);
	if (ioctl(loop_fd, LOOP_CONFIGURE, &config) < 0) {
		if (ioctl(loop_fd, LOOP_SET_FD, file_fd) < 0 ||
		    ioctl(loop_fd, LOOP_SET_STATUS64, &config.info) < 0)
			stage1_fail("loop device", "attach %s to %s: %s", image, dev, strerror(errno));
	}
	close(file_fd);
	return loop_fd;
}

void stage1_mount_rootfs(int mode)
{
	const char *image = find_image(mode);
	char dev[64];
	int loop_fd;

	console_debug("stage1: using %s", image);
	verify_image(image);
	loop_fd = attach_loop(image, dev, sizeof dev);
	mkdir(STAGE1_NEWROOT, 0755);
	if (mount(dev, STAGE1_NEWROOT, "squashfs", MS_RDONLY | MS_NODEV, NULL) < 0)
		stage1_fail("mount rootfs.squashfs", "%s on %s as squashfs: %s", dev, STAGE1_NEWROOT,
			    strerror(errno));
	close(loop_fd);   /* the mount holds the device now */
}
