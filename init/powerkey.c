/* powerkey.c - the power button: watch every /dev/input/event* that reports KEY_POWER;
 * a press starts the ordered shutdown and power-off. */
#include "supervisor.h"
#include "console.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define BITS_PER_LONG (8 * sizeof(unsigned long))

static bool reports_power_key(int fd)
{
	unsigned long keys[KEY_MAX / BITS_PER_LONG + 1];

	memset(keys, 0, sizeof keys);
	if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0)
		return false;
	return (keys[KEY_POWER / BITS_PER_LONG] >> (KEY_POWER % BITS_PER_LONG)) & 1;
}

void powerkey_open_all(void)
{
	DIR *dir = opendir("/dev/input");
	struct dirent *ent;

	if (!dir)
		return;
	while ((ent = readdir(dir)) && sup.power_count < SUPERVISOR_POWER_KEYS_MAX) {
		char path[300];
		int fd;

		if (strncmp(ent->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof path, "/dev/input/%s", ent->d_name);
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!reports_power_key(fd)) {
			close(fd);
			continue;
		}
		console_debug("stage2: power button on %s", path);
		supervisor_watch(fd, EPOLLIN, EV_POWER, (unsigned)sup.power_count);
		sup.power_fds[sup.power_count++] = fd;
	}
	closedir(dir);
}

void powerkey_event(unsigned index)
{
	struct input_event events[16];
	ssize_t n;

	if (index >= sup.power_count)
		return;
	while ((n = read(sup.power_fds[index], events, sizeof events)) > 0)
		for (size_t i = 0; i < (size_t)n / sizeof events[0]; i++)
			if (events[i].type == EV_KEY && events[i].code == KEY_POWER && events[i].value == 1)
				supervisor_request_shutdown(SHUTDOWN_POWEROFF);
	if (n == 0) {
		supervisor_unwatch(sup.power_fds[index]);
	}
}
