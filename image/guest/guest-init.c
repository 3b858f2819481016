/* guest-init.c - PID 1 of Cairn's test guest (out/guest/initramfs.img, installed on every node
 * at /usr/share/cairn/guest/). It boots with the node's own kernel and proves what a VM test
 * needs to see, on the serial console:
 *
 *   cairn-guest: up (hostname H, kernel K, N ms)      the guest booted
 *   cairn-guest: eth0 MAC A.B.C.D/NN                   its NIC is up (and addressed)
 *   cairn-guest: reached IP                            a ping to IP was answered (once)
 *   cairn-guest: power button, powering off            ACPI power button: clean poweroff
 *
 * Kernel command line: cairn.guest.ip=A.B.C.D/NN (eth0's address; the kernel then answers
 * ICMP), cairn.guest.ping=IP (ping it every second until it answers), cairn.guest.hostname=H
 * (default cairn-guest). Modules come from /modules: "order" lists the .ko files, dependencies
 * first (written by mkguest.sh). PID 1 never exits: it ends in reboot(RB_POWER_OFF).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <linux/input.h>

#define PREFIX "cairn-guest: "
#define MODULES_DIR "/modules"
#define INPUTS_MAX 16
#define PING_ID 0x4347   /* "CG" */

struct guest {
	char hostname[64];
	char ip[32];                /* cairn.guest.ip, "" when unset */
	char ping[32];              /* cairn.guest.ping, "" when unset */
	struct in_addr ping_to;
	int icmp;                   /* raw ICMP socket, -1 when not pinging */
	unsigned short sequence;
	int inputs[INPUTS_MAX];
	size_t input_count;
	bool reached;               /* the ping was answered */
	char line[256];             /* console input being collected */
	size_t line_len;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int len;

	memcpy(line, PREFIX, sizeof PREFIX - 1);
	va_start(ap, fmt);
	len = vsnprintf(line + sizeof PREFIX - 1, sizeof line - sizeof PREFIX, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	len += (int)sizeof PREFIX - 1;
	if (len > (int)sizeof line - 2)
		len = (int)sizeof line - 2;
	line[len++] = '\n';
	if (write(STDOUT_FILENO, line, (size_t)len) < 0)
		return;
}

static long long boot_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_BOOTTIME, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void mount_basics(void)
{
	int console;

	mkdir("/dev", 0755);
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	console = open("/dev/console", O_RDWR | O_NOCTTY);
	if (console >= 0) {
		dup2(console, STDIN_FILENO);
		dup2(console, STDOUT_FILENO);
		dup2(console, STDERR_FILENO);
		if (console > STDERR_FILENO)
			close(console);
	}
}

/* Loads each module of MODULES_DIR/order; one already loaded or built in is fine. */
static void load_modules(void)
{
	char name[128], path[256];
	FILE *order = fopen(MODULES_DIR "/order", "r");

	if (!order) {
		say("cannot open " MODULES_DIR "/order: %s", strerror(errno));
		return;
	}
	while (fgets(name, sizeof name, order)) {
		name[strcspn(name, "\n")] = '\0';
		if (!name[0])
			continue;
		snprintf(path, sizeof path, MODULES_DIR "/%s", name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say("cannot open module %s: %s", path, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			say("cannot load module %s: %s", name, strerror(errno));
		close(fd);
	}
	fclose(order);
}

/* cairn.guest.* arguments of /proc/cmdline. */
static void read_cmdline(struct guest *g)
{
	char text[4096], *save = NULL;
	ssize_t len;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	len = read(fd, text, sizeof text - 1);
	close(fd);
	if (len <= 0)
		return;
	text[len] = '\0';
	for (char *arg = strtok_r(text, " \t\n", &save); arg; arg = strtok_r(NULL, " \t\n", &save)) {
		if (strncmp(arg, "cairn.guest.ip=", 15) == 0)
			snprintf(g->ip, sizeof g->ip, "%s", arg + 15);
		else if (strncmp(arg, "cairn.guest.ping=", 17) == 0)
			snprintf(g->ping, sizeof g->ping, "%s", arg + 17);
		else if (strncmp(arg, "cairn.guest.hostname=", 21) == 0)
			snprintf(g->hostname, sizeof g->hostname, "%s", arg + 21);
	}
}

static int link_up(int sock, const char *name)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

/* "A.B.C.D/NN" on NAME: SIOCSIFADDR, then SIOCSIFNETMASK (the kernel adds the subnet route). */
static int link_address(int sock, const char *name, const char *cidr)
{
	char address[32];
	const char *slash = strchr(cidr, '/');
	struct sockaddr_in *sin;
	struct ifreq ifr;
	long prefix = slash ? strtol(slash + 1, NULL, 10) : 32;

	snprintf(address, sizeof address, "%.*s", (int)(slash ? slash - cidr : (long)strlen(cidr)), cidr);
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	sin = (struct sockaddr_in *)&ifr.ifr_addr;
	sin->sin_family = AF_INET;
	if (prefix < 0 || prefix > 32 || inet_pton(AF_INET, address, &sin->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	if (ioctl(sock, SIOCSIFADDR, &ifr) < 0)
		return -1;
	sin->sin_addr.s_addr = htonl(prefix ? 0xffffffffu << (32 - prefix) : 0);
	return ioctl(sock, SIOCSIFNETMASK, &ifr);
}

static void setup_network(struct guest *g)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned char *mac;
	struct ifreq ifr;
	int tries;

	if (sock < 0) {
		say("cannot open a socket: %s", strerror(errno));
		return;
	}
	link_up(sock, "lo");
	for (tries = 0; link_up(sock, "eth0") < 0 && errno == ENODEV && tries < 20; tries++)
		usleep(100 * 1000);   /* virtio_net probes while loading; allow 2 s anyway */
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
	if (ioctl(sock, SIOCGIFHWADDR, &ifr) < 0) {
		say("no eth0: %s", strerror(errno));
		close(sock);
		return;
	}
	if (g->ip[0] && link_address(sock, "eth0", g->ip) < 0) {
		say("cannot set eth0 address %s: %s", g->ip, strerror(errno));
		g->ip[0] = '\0';
	}
	mac = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	say("eth0 %02x:%02x:%02x:%02x:%02x:%02x %s", mac[0], mac[1], mac[2], mac[3], mac[4],
	    mac[5], g->ip[0] ? g->ip : "(no address)");
	close(sock);
}

static unsigned short icmp_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	unsigned long sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (unsigned long)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (unsigned long)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((unsigned short)~sum);
}

static void ping_send(struct guest *g)
{
	unsigned char packet[sizeof(struct icmphdr) + 8] = { 0 };
	struct icmphdr *icmp = (struct icmphdr *)packet;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = g->ping_to };

	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(PING_ID);
	icmp->un.echo.sequence = htons(++g->sequence);
	memcpy(packet + sizeof *icmp, "cairn-gu", 8);
	icmp->checksum = icmp_checksum(packet, sizeof packet);
	sendto(g->icmp, packet, sizeof packet, 0, (struct sockaddr *)&to, sizeof to);
}

/* Reads one packet: true when it is the echo reply from the target. */
static bool ping_answered(struct guest *g)
{
	unsigned char packet[1500];
	struct sockaddr_in from;
	socklen_t from_len = sizeof from;
	ssize_t len = recvfrom(g->icmp, packet, sizeof packet, MSG_DONTWAIT,
			       (struct sockaddr *)&from, &from_len);
	size_t header;
	const struct icmphdr *icmp;

	if (len < (ssize_t)sizeof(struct iphdr))
		return false;
	header = (size_t)((const struct iphdr *)packet)->ihl * 4;
	if ((size_t)len < header + sizeof *icmp)
		return false;
	icmp = (const struct icmphdr *)(packet + header);
	return icmp->type == ICMP_ECHOREPLY && icmp->un.echo.id == htons(PING_ID) &&
	       from.sin_addr.s_addr == g->ping_to.s_addr;
}

/* Opens the /dev/input/event* devices that have a power key. */
static void open_inputs(struct guest *g)
{
	unsigned long keys[KEY_MAX / (8 * sizeof(unsigned long)) + 1];
	const size_t bits = 8 * sizeof(unsigned long);
	char path[300];
	struct dirent *entry;
	DIR *dir = opendir("/dev/input");

	while (dir && (entry = readdir(dir)) && g->input_count < INPUTS_MAX) {
		if (strncmp(entry->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof path, "/dev/input/%s", entry->d_name);
		int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(keys, 0, sizeof keys);
		if (ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0 ||
		    !(keys[KEY_POWER / bits] & (1UL << (KEY_POWER % bits)))) {
			close(fd);
			continue;
		}
		g->inputs[g->input_count++] = fd;
	}
	if (dir)
		closedir(dir);
}

static bool power_pressed(int fd)
{
	struct input_event events[16];
	ssize_t len = read(fd, events, sizeof events);

	for (ssize_t i = 0; len > 0 && i < len / (ssize_t)sizeof events[0]; i++)
		if (events[i].type == EV_KEY && events[i].code == KEY_POWER && events[i].value == 1)
			return true;
	return false;
}

static void power_off(void)
{
	say("power button, powering off");
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();   /* PID 1 must not exit */
}

/* A line typed on the console (a VM console session): echoed back with the guest's state,
 * so a client can check that bytes travel both ways at any time after boot. */
static void console_input(struct guest *g)
{
	char buf[128];
	ssize_t n = read(STDIN_FILENO, buf, sizeof buf);

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] != '\n' && buf[i] != '\r') {
			if (g->line_len < sizeof g->line - 1)
				g->line[g->line_len++] = buf[i];
			continue;
		}
		if (g->line_len == 0)
			continue;
		g->line[g->line_len] = '\0';
		say("echo %s", g->line);
		say("up (hostname %s, %lld ms)%s%s", g->hostname, boot_ms(),
		    g->reached ? ", reached " : "", g->reached ? g->ping : "");
		g->line_len = 0;
	}
}

/* Power key, console input and ping replies; a ping every second until answered. */
static void run(struct guest *g)
{
	long long next_ping = 0;

	for (;;) {
		struct pollfd fds[INPUTS_MAX + 2];
		nfds_t count = 0;
		int timeout = 1000;

		fds[count++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };

		if (g->input_count == 0)
			open_inputs(g);   /* until the power button's device shows up */
		for (size_t i = 0; i < g->input_count; i++)
			fds[count++] = (struct pollfd){ .fd = g->inputs[i], .events = POLLIN };
		if (g->icmp >= 0) {
			if (boot_ms() >= next_ping) {
				ping_send(g);
				next_ping = boot_ms() + 1000;
			}
			timeout = (int)(next_ping - boot_ms());
			if (timeout < 0)
				timeout = 0;
			fds[count++] = (struct pollfd){ .fd = g->icmp, .events = POLLIN };
		}
		if (poll(fds, count, timeout) <= 0)
			continue;
		for (nfds_t i = 0; i < count; i++) {
			if (!(fds[i].revents & POLLIN))
				continue;
			if (fds[i].fd == STDIN_FILENO) {
				console_input(g);
			} else if (fds[i].fd != g->icmp) {
				if (power_pressed(fds[i].fd))
					power_off();
			} else if (ping_answered(g)) {
				say("reached %s", g->ping);
				g->reached = true;
				close(g->icmp);
				g->icmp = -1;
			}
		}
	}
}

int main(void)
{
	struct guest g = { .hostname = "cairn-guest", .icmp = -1 };
	struct utsname uts;

	mount_basics();
	read_cmdline(&g);
	load_modules();
	sethostname(g.hostname, strlen(g.hostname));
	uname(&uts);
	say("up (hostname %s, kernel %s, %lld ms)", uts.nodename, uts.release, boot_ms());
	open_inputs(&g);      /* first: a press while eth0 comes up waits in the event queue */
	if (g.input_count == 0)
		say("no power button input device yet");
	setup_network(&g);
	if (g.ping[0]) {
		if (inet_pton(AF_INET, g.ping, &g.ping_to) != 1)
			say("cairn.guest.ping=%s is not an IPv4 address", g.ping);
		else if ((g.icmp = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP)) < 0)
			say("cannot open an ICMP socket: %s", strerror(errno));
	}
	run(&g);
	return 0;
}
