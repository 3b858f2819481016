/* guest-init.c - PID 1 of Cairn's test guest (out/guest/initramfs.img, installed on every node
 * at /usr/share/cairn/guest/). It boots with the node's own kernel and proves what a VM test
 * needs to see, on the serial console:
 *
 *   cairn-guest: up (hostname H, kernel K, N ms)      the guest booted
 *   cairn-guest: eth0 MAC A.B.C.D/NN                   its NIC is up (and addressed)
 *   cairn-guest: eth0 MAC A.B.C.D/NN (dhcp, router R, mtu M)    ... from a DHCP lease
 *   cairn-guest: reached IP                            a ping to IP was answered (once)
 *   cairn-guest: power button, powering off            ACPI power button: clean poweroff
 *
 * Kernel command line: cairn.guest.ip=A.B.C.D/NN (eth0's address; the kernel then answers
 * ICMP) or cairn.guest.ip=dhcp (busybox's udhcpc asks; its script /etc/udhcpc.script hands
 * each lease to PID 1 through the FIFO /run/cairn-dhcp), cairn.guest.ping=IP (ping it every
 * 200 ms, forever, keeping statistics), cairn.guest.hostname=H (default cairn-guest). A TCP
 * sink listens on port 5001. Console commands (one per line): status, ping IP, outage reset,
 * tcp IP SECONDS, disk write SEED, disk sum, disk seq start|stop|last; see README.md. Modules come from /modules: "order" lists the .ko files,
 * dependencies first (written by mkguest.sh). PID 1 never exits: it ends in
 * reboot(RB_POWER_OFF).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include <net/route.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/wait.h>

#define PREFIX "cairn-guest: "
#define MODULES_DIR "/modules"
#define INPUTS_MAX 16
#define PING_ID 0x4347   /* "CG" */
#define PING_INTERVAL_MS 200
#define TCP_PORT 5001
#define SINKS_MAX 4
#define DHCP_FIFO "/run/cairn-dhcp"
#define DHCP_SCRIPT "/etc/udhcpc.script"
#define BUSYBOX "/bin/busybox"

/* The current ping target and what its echoes did since it was set (or reset). */
struct ping {
	char target[32];            /* "" when not pinging */
	struct in_addr to;
	unsigned short sequence;    /* of the last echo sent */
	unsigned short answered_seq;   /* newest sequence answered; older replies are ignored */
	unsigned long long sent, answered;
	unsigned long long unanswered_run;   /* echoes sent since the last answer */
	long long last_answer_ms;   /* boot_ms() of the last answer, -1 before the first */
	long long longest_outage_ms;   /* longest gap between two answers, 0 before the second */
	long long next_ms;          /* when the next echo is due */
	bool reached;               /* answered at least once ("reached IP" printed) */
};

/* A connection into the TCP sink: what it received so far. */
struct sink {
	int fd;                     /* -1 when free */
	char peer[INET_ADDRSTRLEN];
	unsigned long long bytes;
	long long since_ms;
};

/* eth0's lease from udhcpc, as applied. */
struct lease {
	char ip[INET_ADDRSTRLEN], mask[INET_ADDRSTRLEN], router[INET_ADDRSTRLEN];
	int mtu;
};

struct guest {
	char hostname[64];
	char ip[32];                /* cairn.guest.ip, "" when unset; "dhcp" for DHCP */
	char mac[18];               /* eth0's MAC, "" without eth0 */
	bool dhcp;                  /* cairn.guest.ip=dhcp */
	pid_t udhcpc;               /* its pid, 0 when not running */
	long long udhcpc_next_ms;   /* when to start it (again) */
	int dhcp_fifo;              /* read end of DHCP_FIFO, -1 when not using DHCP */
	char dhcp_buf[256];         /* partial line from the FIFO */
	size_t dhcp_len;
	bool dhcp_failed_said;      /* "no answer" is said once */
	struct lease lease;         /* applied lease, ip "" before the first */
	struct ping ping;
	int icmp;                   /* raw ICMP socket, -1 when not pinging */
	int listener;               /* TCP sink on port TCP_PORT, -1 when it could not listen */
	struct sink sinks[SINKS_MAX];
	int inputs[INPUTS_MAX];
	size_t input_count;
	char line[256];             /* console input being collected */
	size_t line_len;
	char eth0_line[160];        /* the last "eth0 ..." line, repeated by every command */
	pid_t seq_writer;           /* `disk seq start`'s child, 0 when not running */
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
			snprintf(g->ping.target, sizeof g->ping.target, "%s", arg + 17);
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
		g->dhcp = false;
		close(sock);
		return;
	}
	mac = (unsigned char *)ifr.ifr_hwaddr.sa_data;
	snprintf(g->mac, sizeof g->mac, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
		 mac[3], mac[4], mac[5]);
	if (g->dhcp) {
		say("dhcp: asking for eth0's address (udhcpc)");
		close(sock);
		return;
	}
	if (g->ip[0] && link_address(sock, "eth0", g->ip) < 0) {
		say("cannot set eth0 address %s: %s", g->ip, strerror(errno));
		g->ip[0] = '\0';
	}
	snprintf(g->eth0_line, sizeof g->eth0_line, "eth0 %s %s", g->mac,
		 g->ip[0] ? g->ip : "(no address)");
	say("%s", g->eth0_line);
	close(sock);
}

/* DHCP: udhcpc (busybox) in the foreground as PID 1's child, without -n so that it keeps
 * asking; its script writes each lease to DHCP_FIFO, which PID 1 holds open read-write (so it
 * never sees end of file and the script's open never blocks). */
static void dhcp_open(struct guest *g)
{
	if (mkfifo(DHCP_FIFO, 0600) < 0 && errno != EEXIST) {
		say("cannot make %s: %s", DHCP_FIFO, strerror(errno));
		g->dhcp = false;
		return;
	}
	g->dhcp_fifo = open(DHCP_FIFO, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (g->dhcp_fifo < 0) {
		say("cannot open %s: %s", DHCP_FIFO, strerror(errno));
		g->dhcp = false;
	}
}

static void dhcp_start(struct guest *g)
{
	char *argv[] = { "udhcpc", "-f", "-i", "eth0", "-s", DHCP_SCRIPT, "-t", "3", "-T", "2",
			 "-A", "2", "-O", "mtu", NULL };
	pid_t pid = fork();

	if (pid < 0) {
		say("cannot fork udhcpc: %s", strerror(errno));
		g->udhcpc_next_ms = boot_ms() + 5000;
		return;
	}
	if (pid == 0) {
		int console = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
		int null = open("/dev/null", O_RDWR);

		if (null >= 0) {   /* udhcpc's own chatter stays off the console */
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		execv(BUSYBOX, argv);
		if (console >= 0)
			dup2(console, STDOUT_FILENO);
		say("cannot run " BUSYBOX " udhcpc: %s", strerror(errno));
		_exit(127);
	}
	g->udhcpc = pid;
}

/* "A.B.C.D" netmask -> prefix length, -1 when it is not one. */
static int mask_prefix(const char *mask)
{
	struct in_addr a;
	unsigned long m;
	int n = 0;

	if (inet_pton(AF_INET, mask, &a) != 1)
		return -1;
	m = ntohl(a.s_addr);
	while (n < 32 && (m & (0x80000000ul >> n)))
		n++;
	return (m & ~(n ? 0xffffffffu << (32 - n) : 0u) & 0xffffffffu) ? -1 : n;
}

static int route_default(int sock, unsigned long request, const char *router)
{
	struct rtentry rt;
	struct sockaddr_in *sin;

	memset(&rt, 0, sizeof rt);
	sin = (struct sockaddr_in *)&rt.rt_dst;
	sin->sin_family = AF_INET;
	sin = (struct sockaddr_in *)&rt.rt_genmask;
	sin->sin_family = AF_INET;
	sin = (struct sockaddr_in *)&rt.rt_gateway;
	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, router, &sin->sin_addr) != 1) {
		errno = EINVAL;
		return -1;
	}
	rt.rt_flags = RTF_UP | RTF_GATEWAY;
	rt.rt_dev = "eth0";
	return ioctl(sock, request, &rt);
}

/* "lease IP MASK ROUTER MTU": address eth0, set its MTU, replace the default route. A renewal
 * with the same values changes nothing and says nothing. */
static void dhcp_lease(struct guest *g, const char *line)
{
	struct lease l = { .mtu = 0 };
	char cidr[INET_ADDRSTRLEN + 4];
	struct ifreq ifr;
	int prefix, sock;

	if (sscanf(line, "lease %15s %15s %15s %d", l.ip, l.mask, l.router, &l.mtu) != 4 ||
	    (prefix = mask_prefix(l.mask)) < 0) {
		say("dhcp: cannot read the lease \"%s\"", line);
		return;
	}
	if (memcmp(&l, &g->lease, sizeof l) == 0)
		return;
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		say("cannot open a socket: %s", strerror(errno));
		return;
	}
	snprintf(cidr, sizeof cidr, "%s/%d", l.ip, prefix);
	if (link_address(sock, "eth0", cidr) < 0) {
		say("cannot set eth0 address %s: %s", cidr, strerror(errno));
		close(sock);
		return;
	}
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "eth0");
	ifr.ifr_mtu = l.mtu;
	if (l.mtu > 0 && ioctl(sock, SIOCSIFMTU, &ifr) < 0)
		say("cannot set eth0 mtu %d: %s", l.mtu, strerror(errno));
	if (g->lease.router[0] && strcmp(g->lease.router, "none") != 0 &&
	    strcmp(g->lease.router, l.router) != 0)
		route_default(sock, SIOCDELRT, g->lease.router);
	if (strcmp(l.router, "none") != 0 && route_default(sock, SIOCADDRT, l.router) < 0 &&
	    errno != EEXIST)
		say("cannot add the default route via %s: %s", l.router, strerror(errno));
	if (ioctl(sock, SIOCGIFMTU, &ifr) < 0)
		ifr.ifr_mtu = 0;
	close(sock);
	g->lease = l;
	snprintf(g->ip, sizeof g->ip, "%s", cidr);
	snprintf(g->eth0_line, sizeof g->eth0_line, "eth0 %s %s (dhcp, router %s, mtu %d)", g->mac,
		 cidr, l.router, ifr.ifr_mtu);
	say("%s", g->eth0_line);
}

static void dhcp_input(struct guest *g)
{
	ssize_t n = read(g->dhcp_fifo, g->dhcp_buf + g->dhcp_len, sizeof g->dhcp_buf - 1 - g->dhcp_len);
	char *nl;

	if (n <= 0)
		return;
	g->dhcp_len += (size_t)n;
	g->dhcp_buf[g->dhcp_len] = '\0';
	while ((nl = strchr(g->dhcp_buf, '\n'))) {
		*nl = '\0';
		if (strncmp(g->dhcp_buf, "lease ", 6) == 0) {
			dhcp_lease(g, g->dhcp_buf);
		} else if (!g->dhcp_failed_said && g->lease.ip[0] == '\0') {
			say("dhcp: no lease for eth0 yet (%s), still asking", g->dhcp_buf);
			g->dhcp_failed_said = true;
		}
		g->dhcp_len -= (size_t)(nl + 1 - g->dhcp_buf);
		memmove(g->dhcp_buf, nl + 1, g->dhcp_len + 1);
	}
	if (g->dhcp_len == sizeof g->dhcp_buf - 1)
		g->dhcp_len = 0;   /* a line that long is not the script's */
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


/* Starts pinging TARGET from scratch (statistics reset); "" stops. */
static void ping_set(struct guest *g, const char *target)
{
	struct in_addr to = { 0 };

	if (target[0] && inet_pton(AF_INET, target, &to) != 1) {
		say("ping: %s is not an IPv4 address", target);
		return;
	}
	if (target[0] && g->icmp < 0 &&
	    (g->icmp = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP)) < 0) {
		say("cannot open an ICMP socket: %s", strerror(errno));
		return;
	}
	unsigned short sequence = g->ping.sequence;   /* replies to older echoes stay ignored */
	g->ping = (struct ping){ .sequence = sequence, .answered_seq = sequence,
				 .last_answer_ms = -1, .to = to };
	if (target[0])
		snprintf(g->ping.target, sizeof g->ping.target, "%s", target);
}

static void ping_send(struct guest *g)
{
	unsigned char packet[sizeof(struct icmphdr) + 8] = { 0 };
	struct icmphdr *icmp = (struct icmphdr *)packet;
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = g->ping.to };

	icmp->type = ICMP_ECHO;
	icmp->un.echo.id = htons(PING_ID);
	icmp->un.echo.sequence = htons(++g->ping.sequence);
	memcpy(packet + sizeof *icmp, "cairn-gu", 8);
	icmp->checksum = icmp_checksum(packet, sizeof packet);
	/* counted even when it cannot leave (no address or route yet): it is not answered */
	sendto(g->icmp, packet, sizeof packet, 0, (struct sockaddr *)&to, sizeof to);
	g->ping.sent++;
	g->ping.unanswered_run++;
}

/* Reads one packet; an echo reply from the target to an echo newer than the last answered
 * one counts as an answer. */
static void ping_receive(struct guest *g)
{
	unsigned char packet[1500];
	struct sockaddr_in from;
	socklen_t from_len = sizeof from;
	ssize_t len = recvfrom(g->icmp, packet, sizeof packet, MSG_DONTWAIT,
			       (struct sockaddr *)&from, &from_len);
	size_t header;
	const struct icmphdr *icmp;
	unsigned short sequence;
	long long now;

	if (len < (ssize_t)sizeof(struct iphdr) || !g->ping.target[0])
		return;
	header = (size_t)((const struct iphdr *)packet)->ihl * 4;
	if ((size_t)len < header + sizeof *icmp)
		return;
	icmp = (const struct icmphdr *)(packet + header);
	if (icmp->type != ICMP_ECHOREPLY || icmp->un.echo.id != htons(PING_ID) ||
	    from.sin_addr.s_addr != g->ping.to.s_addr)
		return;
	sequence = ntohs(icmp->un.echo.sequence);
	if ((short)(sequence - g->ping.answered_seq) <= 0 ||
	    (short)(g->ping.sequence - sequence) < 0)
		return;   /* a duplicate, or older than the last answer or the last reset */
	now = boot_ms();
	g->ping.answered_seq = sequence;
	g->ping.answered++;
	g->ping.unanswered_run = 0;
	if (g->ping.last_answer_ms >= 0 && now - g->ping.last_answer_ms > g->ping.longest_outage_ms)
		g->ping.longest_outage_ms = now - g->ping.last_answer_ms;
	g->ping.last_answer_ms = now;
	if (!g->ping.reached) {
		say("reached %s", g->ping.target);
		g->ping.reached = true;
	}
}

static void ping_status(const struct guest *g)
{
	const struct ping *p = &g->ping;

	if (!p->target[0]) {
		say("ping none");
		return;
	}
	say("ping %s sent %llu answered %llu last_answer_ms_ago %lld longest_outage_ms %lld "
	    "unanswered_run %llu", p->target, p->sent, p->answered,
	    p->last_answer_ms < 0 ? -1 : boot_ms() - p->last_answer_ms, p->longest_outage_ms,
	    p->unanswered_run);
}

/* TCP sink: accepts up to SINKS_MAX connections on TCP_PORT and discards what they send;
 * each one's total is said when it closes. */
static void sink_listen(struct guest *g)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	int one = 1;

	for (size_t i = 0; i < SINKS_MAX; i++)
		g->sinks[i].fd = -1;
	g->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (g->listener < 0 ||
	    setsockopt(g->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(g->listener, (struct sockaddr *)&any, sizeof any) < 0 ||
	    listen(g->listener, SINKS_MAX) < 0) {
		say("cannot listen on TCP port %d: %s", TCP_PORT, strerror(errno));
		if (g->listener >= 0)
			close(g->listener);
		g->listener = -1;
	}
}

static void sink_accept(struct guest *g)
{
	struct sockaddr_in from;
	socklen_t from_len = sizeof from;
	int fd = accept4(g->listener, (struct sockaddr *)&from, &from_len,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	for (size_t i = 0; i < SINKS_MAX; i++) {
		if (g->sinks[i].fd >= 0)
			continue;
		g->sinks[i] = (struct sink){ .fd = fd, .since_ms = boot_ms() };
		inet_ntop(AF_INET, &from.sin_addr, g->sinks[i].peer, sizeof g->sinks[i].peer);
		return;
	}
	close(fd);   /* SINKS_MAX busy: refused by closing */
}

static void sink_read(struct sink *s)
{
	static char discard[65536];
	ssize_t n = read(s->fd, discard, sizeof discard);
	long long ms;

	if (n > 0) {
		s->bytes += (unsigned long long)n;
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	ms = boot_ms() - s->since_ms;
	say("tcp sink: %llu bytes from %s in %lld.%03lld s", s->bytes, s->peer, ms / 1000, ms % 1000);
	close(s->fd);
	s->fd = -1;
}


/* In a forked child: closes PID 1's sockets and devices (a sink it held would not close on
 * time). */
static void child_close(struct guest *g)
{
	for (size_t i = 0; i < SINKS_MAX; i++)
		if (g->sinks[i].fd >= 0)
			close(g->sinks[i].fd);
	for (size_t i = 0; i < g->input_count; i++)
		close(g->inputs[i]);
	if (g->listener >= 0)
		close(g->listener);
	if (g->icmp >= 0)
		close(g->icmp);
	if (g->dhcp_fifo >= 0)
		close(g->dhcp_fifo);
}

/* `tcp IP SECONDS`, in a forked child: connect to IP:TCP_PORT (5 s at most), send as fast as
 * possible for SECONDS, close the sending side and wait (10 s at most) for the peer to close
 * in turn, so that the time covers every byte's arrival; then say the rate. */
static void tcp_send(const char *ip, int seconds)
{
	static char data[65536];
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(TCP_PORT) };
	struct pollfd pfd;
	struct timeval tv = { .tv_sec = 1 };
	unsigned long long bytes = 0;
	long long start, end;
	int fd, err = 0;
	socklen_t err_len = sizeof err;
	const char *why = NULL;

	inet_pton(AF_INET, ip, &to.sin_addr);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		_exit((say("tcp %s failed: socket: %s", ip, strerror(errno)), 1));
	if (connect(fd, (struct sockaddr *)&to, sizeof to) < 0 && errno != EINPROGRESS)
		_exit((say("tcp %s failed: connect: %s", ip, strerror(errno)), 1));
	pfd = (struct pollfd){ .fd = fd, .events = POLLOUT };
	if (poll(&pfd, 1, 5000) != 1)
		_exit((say("tcp %s failed: connect: no answer in 5 s", ip), 1));
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0 || err)
		_exit((say("tcp %s failed: connect: %s", ip, strerror(err ? err : errno)), 1));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);   /* to look at the clock */
	memset(data, 'c', sizeof data);
	start = boot_ms();
	end = start + seconds * 1000LL;
	while (boot_ms() < end) {
		ssize_t n = send(fd, data, sizeof data, MSG_NOSIGNAL);

		if (n > 0) {
			bytes += (unsigned long long)n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			why = strerror(errno);
			break;
		}
	}
	if (why)
		_exit((say("tcp %s failed: send after %llu bytes: %s", ip, bytes, why), 1));
	shutdown(fd, SHUT_WR);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (poll(&pfd, 1, 10000) == 1 && read(fd, data, sizeof data) > 0)
		;
	end = boot_ms();
	close(fd);
	end = end > start ? end - start : 1;
	say("tcp %s sent %llu bytes in %lld.%03lld s: %.1f Mbit/s", ip, bytes, end / 1000, end % 1000,
	    (double)bytes * 8 / ((double)end / 1000) / 1e6);
	_exit(0);
}

static void tcp_command(struct guest *g, const char *ip, const char *seconds)
{
	struct in_addr to;
	char *rest;
	long s = strtol(seconds, &rest, 10);
	pid_t pid;

	if (inet_pton(AF_INET, ip, &to) != 1 || *rest || s < 1 || s > 60) {
		say("tcp: usage: tcp IP SECONDS (an IPv4 address, 1..60 s)");
		return;
	}
	pid = fork();
	if (pid < 0) {
		say("tcp %s failed: fork: %s", ip, strerror(errno));
		return;
	}
	if (pid != 0)
		return;
	child_close(g);
	tcp_send(ip, (int)s);
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

#define DISK_DEVICE "/dev/vda"
#define DISK_BYTES (1024 * 1024)

/* `disk write SEED`: DISK_BYTES of xorshift64(SEED) bytes at the start of the first disk,
 * fsync'd; `disk sum`: reads them back. Both print the FNV-1a 64 of the bytes, so a test can
 * check that what a VM wrote is on the disk it sees after a failover. */
static void disk_command(const char *what, const char *seed)
{
	static unsigned char buf[DISK_BYTES];
	unsigned long long x = seed ? strtoull(seed, NULL, 10) | 1 : 0, sum = 14695981039346656037ULL;
	int fd = open(DISK_DEVICE, (seed ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
	ssize_t n = 0;

	if (fd < 0) {
		say("disk: %s: %s", DISK_DEVICE, strerror(errno));
		return;
	}
	if (seed)
		for (size_t i = 0; i < sizeof buf; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			buf[i] = (unsigned char)x;
		}
	for (size_t done = 0; done < sizeof buf; done += (size_t)n) {
		n = seed ? write(fd, buf + done, sizeof buf - done) : read(fd, buf + done, sizeof buf - done);
		if (n <= 0) {
			say("disk %s: %s: %s", what, DISK_DEVICE, n < 0 ? strerror(errno) : "short");
			close(fd);
			return;
		}
	}
	if (seed && fsync(fd) < 0) {
		say("disk write: fsync %s: %s", DISK_DEVICE, strerror(errno));
		close(fd);
		return;
	}
	close(fd);
	for (size_t i = 0; i < sizeof buf; i++)
		sum = (sum ^ buf[i]) * 1099511628211ULL;
	say("disk %s%s%s: %d bytes, fnv1a64 %016llx", what, seed ? " " : "", seed ? seed : "",
	    DISK_BYTES, sum);
}

/* `disk seq ...`: a writer that proves acknowledged writes survive a failover. Each record is
 * one SEQ_BLOCK at SEQ_OFFSET + (N % SEQ_SLOTS) * SEQ_BLOCK (past `disk write`'s MiB): the
 * magic, N, and N again in its last 8 bytes (a torn record does not count). */
#define SEQ_OFFSET (4LL * 1024 * 1024)
#define SEQ_BLOCK 4096
#define SEQ_SLOTS 256
#define SEQ_MAGIC "CAIRNSEQ"
#define SEQ_MAX_S 900      /* a writer left running stops after this */
#define SEQ_PAUSE_US 10000 /* between records: about 100 a second at most, for the console */

static unsigned char seq_area[SEQ_SLOTS * SEQ_BLOCK] __attribute__((aligned(4096)));

/* The highest valid record on the disk (0: none), or -1 with errno. */
static long long seq_last(void)
{
	int fd = open(DISK_DEVICE, O_RDONLY | O_DIRECT | O_CLOEXEC);
	unsigned long long best = 0, head, tail;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, seq_area, sizeof seq_area, SEQ_OFFSET);
	close(fd);
	if (n != (ssize_t)sizeof seq_area) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	for (size_t i = 0; i < SEQ_SLOTS; i++) {
		const unsigned char *b = seq_area + i * SEQ_BLOCK;
		memcpy(&head, b + 8, 8);
		memcpy(&tail, b + SEQ_BLOCK - 8, 8);
		if (memcmp(b, SEQ_MAGIC, 8) == 0 && head == tail && head % SEQ_SLOTS == i && head > best)
			best = head;
	}
	return (long long)best;
}

/* The writer (a child): records last+1, last+2, ... each written with O_DIRECT|O_DSYNC and
 * fdatasync'd, then said (`seq N`): a number said is on the disk. */
static void seq_writer(void)
{
	static unsigned char block[SEQ_BLOCK] __attribute__((aligned(4096)));
	long long last = seq_last(), end = boot_ms() + SEQ_MAX_S * 1000LL;
	int fd = open(DISK_DEVICE, O_WRONLY | O_DIRECT | O_DSYNC | O_CLOEXEC);

	if (last < 0 || fd < 0)
		_exit((say("disk seq: %s: %s", DISK_DEVICE, strerror(errno)), 1));
	say("disk seq: writing from %lld", last + 1);
	for (unsigned long long n = (unsigned long long)last + 1; boot_ms() < end; n++) {
		memset(block, (int)(n & 0xff), sizeof block);
		memcpy(block, SEQ_MAGIC, 8);
		memcpy(block + 8, &n, 8);
		memcpy(block + SEQ_BLOCK - 8, &n, 8);
		if (pwrite(fd, block, sizeof block, SEQ_OFFSET + (long long)(n % SEQ_SLOTS) * SEQ_BLOCK) !=
		    (ssize_t)sizeof block || fdatasync(fd) < 0)
			_exit((say("disk seq: write %llu: %s", n, strerror(errno)), 1));
		say("seq %llu", n);
		usleep(SEQ_PAUSE_US);
	}
	say("disk seq: %d s passed, stopping", SEQ_MAX_S);
	_exit(0);
}

static void seq_command(struct guest *g, const char *what)
{
	long long last;
	pid_t pid;

	if (strcmp(what, "last") == 0) {
		if ((last = seq_last()) < 0)
			say("disk seq last: %s: %s", DISK_DEVICE, strerror(errno));
		else
			say("disk seq last: %lld", last);
	} else if (strcmp(what, "stop") == 0) {
		if (g->seq_writer > 0)
			kill(g->seq_writer, SIGKILL);
		say("disk seq: %s", g->seq_writer > 0 ? "stopping" : "not running");
	} else if (g->seq_writer > 0) {
		say("disk seq: already running (pid %d)", (int)g->seq_writer);
	} else if ((pid = fork()) < 0) {
		say("disk seq: fork: %s", strerror(errno));
	} else if (pid == 0) {
		child_close(g);
		seq_writer();
	} else {
		g->seq_writer = pid;
	}
}

/* A line typed on the console (a VM console session): echoed back, acted on when it is a
 * command, then the guest's state, so a client can check that bytes travel both ways:
 *   status | ping IP | ping off | outage reset | tcp IP SECONDS | disk write SEED | disk sum |
 *   disk seq start|stop|last
 *   (anything else: state only) */
static void console_command(struct guest *g, char *line)
{
	char *save = NULL, *word = strtok_r(line, " \t", &save);
	char *a = word ? strtok_r(NULL, " \t", &save) : NULL;
	char *b = a ? strtok_r(NULL, " \t", &save) : NULL;
	bool extra = b && strtok_r(NULL, " \t", &save);

	if (!word)
		return;
	if (strcmp(word, "ping") == 0 && (!a || b || extra)) {
		say("ping: usage: ping IP | ping off");
	} else if (strcmp(word, "outage") == 0 && (!a || strcmp(a, "reset") != 0 || b || extra)) {
		say("outage: usage: outage reset");
	} else if (strcmp(word, "disk") == 0 && a && strcmp(a, "seq") == 0 &&
		   (!b || extra || (strcmp(b, "start") != 0 && strcmp(b, "stop") != 0 &&
				    strcmp(b, "last") != 0))) {
		say("disk: usage: disk seq start | disk seq stop | disk seq last");
	} else if (strcmp(word, "disk") == 0 && a && strcmp(a, "seq") == 0) {
		seq_command(g, b);
	} else if (strcmp(word, "disk") == 0 && (!a || extra || (strcmp(a, "write") == 0) != !!b ||
						 (strcmp(a, "write") != 0 && strcmp(a, "sum") != 0))) {
		say("disk: usage: disk write SEED | disk sum | disk seq start|stop|last");
	} else if (strcmp(word, "disk") == 0) {
		disk_command(a, b);
	} else if (strcmp(word, "tcp") == 0 && (!b || extra)) {
		say("tcp: usage: tcp IP SECONDS (an IPv4 address, 1..60 s)");
	} else if (strcmp(word, "ping") == 0) {
		ping_set(g, strcmp(a, "off") == 0 ? "" : a);
		if (strcmp(a, "off") == 0)
			say("ping off");
		else if (strcmp(g->ping.target, a) == 0)
			say("pinging %s (statistics reset)", a);
	} else if (strcmp(word, "outage") == 0) {
		g->ping.longest_outage_ms = 0;
		say("outage reset");
	} else if (strcmp(word, "tcp") == 0) {
		tcp_command(g, a, b);
	}
}

static void console_input(struct guest *g)
{
	char buf[128], copy[sizeof g->line];
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
		memcpy(copy, g->line, g->line_len + 1);
		console_command(g, copy);
		say("up (hostname %s, %lld ms)%s%s", g->hostname, boot_ms(),
		    g->ping.reached ? ", reached " : "", g->ping.reached ? g->ping.target : "");
		if (g->eth0_line[0])
			say("%s", g->eth0_line);
		ping_status(g);
		g->line_len = 0;
	}
}

/* Reaps children: tcp senders, orphans, and udhcpc (started again 2 s after it ends). */
static void reap(struct guest *g)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == g->seq_writer) {
			g->seq_writer = 0;
			say("disk seq: writer ended");
		}
		if (pid != g->udhcpc)
			continue;
		say("udhcpc ended (%s %d), starting it again", WIFEXITED(status) ? "status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		g->udhcpc = 0;
		g->udhcpc_next_ms = boot_ms() + 2000;
	}
}

/* Power key, console input, DHCP leases, the TCP sink and ping replies; an echo every
 * PING_INTERVAL_MS while there is a target. */
static void run(struct guest *g)
{
	for (;;) {
		struct pollfd fds[INPUTS_MAX + SINKS_MAX + 5];
		nfds_t count = 0;
		long long now = boot_ms();
		int timeout = 1000;

		reap(g);
		if (g->dhcp && !g->udhcpc && now >= g->udhcpc_next_ms)
			dhcp_start(g);
		if (g->dhcp && !g->udhcpc)
			timeout = 500;
		fds[count++] = (struct pollfd){ .fd = STDIN_FILENO, .events = POLLIN };
		if (g->input_count == 0)
			open_inputs(g);   /* until the power button's device shows up */
		for (size_t i = 0; i < g->input_count; i++)
			fds[count++] = (struct pollfd){ .fd = g->inputs[i], .events = POLLIN };
		if (g->dhcp_fifo >= 0)
			fds[count++] = (struct pollfd){ .fd = g->dhcp_fifo, .events = POLLIN };
		if (g->listener >= 0)
			fds[count++] = (struct pollfd){ .fd = g->listener, .events = POLLIN };
		for (size_t i = 0; i < SINKS_MAX; i++)
			if (g->sinks[i].fd >= 0)
				fds[count++] = (struct pollfd){ .fd = g->sinks[i].fd, .events = POLLIN };
		if (g->icmp >= 0) {
			if (g->ping.target[0]) {
				if (now >= g->ping.next_ms) {
					ping_send(g);
					/* keep the cadence; after a long stall, start again from now */
					g->ping.next_ms += PING_INTERVAL_MS;
					if (g->ping.next_ms <= now)
						g->ping.next_ms = now + PING_INTERVAL_MS;
				}
				if (g->ping.next_ms - now < timeout)
					timeout = (int)(g->ping.next_ms - now);
			}
			fds[count++] = (struct pollfd){ .fd = g->icmp, .events = POLLIN };
		}
		if (poll(fds, count, timeout < 0 ? 0 : timeout) <= 0)
			continue;
		for (nfds_t i = 0; i < count; i++) {
			int fd = fds[i].fd;

			if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (fd == STDIN_FILENO) {
				console_input(g);
			} else if (fd == g->icmp) {
				ping_receive(g);
			} else if (fd == g->dhcp_fifo) {
				dhcp_input(g);
			} else if (fd == g->listener) {
				sink_accept(g);
			} else {
				bool sink = false;

				for (size_t k = 0; k < SINKS_MAX; k++)
					if (g->sinks[k].fd == fd) {
						sink_read(&g->sinks[k]);
						sink = true;
					}
				if (!sink && power_pressed(fd))
					power_off();
			}
		}
	}
}

int main(void)
{
	struct guest g = { .hostname = "cairn-guest", .icmp = -1, .dhcp_fifo = -1, .listener = -1 };
	struct utsname uts;
	char target[sizeof g.ping.target];

	mount_basics();
	read_cmdline(&g);
	g.dhcp = strcmp(g.ip, "dhcp") == 0;
	if (g.dhcp)
		g.ip[0] = '\0';
	load_modules();
	sethostname(g.hostname, strlen(g.hostname));
	uname(&uts);
	say("up (hostname %s, kernel %s, %lld ms)", uts.nodename, uts.release, boot_ms());
	open_inputs(&g);      /* first: a press while eth0 comes up waits in the event queue */
	if (g.input_count == 0)
		say("no power button input device yet");
	setup_network(&g);
	if (g.dhcp)
		dhcp_open(&g);
	sink_listen(&g);
	memcpy(target, g.ping.target, sizeof target);
	g.ping.target[0] = '\0';
	if (target[0])
		ping_set(&g, target);
	run(&g);
	return 0;
}
