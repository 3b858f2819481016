/* trivial-init.c - the lab's smallest PID 1.
 *
 * Packed alone into an initramfs, it proves that a kernel boots under the chosen accelerator
 * (the KVM probe) and gives the bench its baseline: kernel start to poweroff, nothing else.
 * It mounts devtmpfs to get /dev/console, prints one marker line and powers the machine off.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MARKER "cairn-lab: trivial init up"

int main(void)
{
	struct timespec now;
	char line[128];
	int console;
	int len;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	console = open("/dev/console", O_WRONLY | O_NOCTTY);
	if (console < 0)
		console = 1;
	clock_gettime(CLOCK_BOOTTIME, &now);
	len = snprintf(line, sizeof(line), "%s in %lld ms\n", MARKER,
		       (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if (write(console, line, (size_t)len) < 0)
		return 1;
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause(); /* PID 1 must not exit: that would panic the kernel */
}
