/* supervisor.c - stage 2 / host mode: set-up and the one epoll event loop. */
#include "supervisor.h"
#include "cmdline.h"
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct supervisor sup;
static int64_t start_ms;

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void supervisor_watch(int fd, uint32_t events, unsigned type, unsigned index)
{
	struct epoll_event ev = { .events = events, .data.u64 = ((uint64_t)type << 32) | index };
	if (epoll_ctl(sup.epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 &&
	    (errno != EEXIST || epoll_ctl(sup.epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0))
		console_line("supervisor: error: epoll_ctl fd %d: %s", fd, strerror(errno));
}

void supervisor_unwatch(int fd)
{
	epoll_ctl(sup.epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static void usage(void)
{
	fprintf(stderr, "usage: init --stage2\n"
		"       init --host --socket PATH --services DIR[:DIR...] [--log-dir DIR] "
		"[--cgroup-root DIR]\n");
}

static int parse_host_options(int argc, char **argv)
{
	for (int i = 2; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val) {
			fprintf(stderr, "init: %s: missing value\n", opt);
			return -1;
		}
		i++;
		if (strcmp(opt, "--socket") == 0) {
			sup.socket_path = val;
		} else if (strcmp(opt, "--log-dir") == 0) {
			sup.log_dir = val;
		} else if (strcmp(opt, "--cgroup-root") == 0) {
			sup.cgroup_base = val;
		} else if (strcmp(opt, "--services") == 0) {
			char *copy = strdup(val), *save = NULL;
			for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save))
				if (sup.dir_count < SUPERVISOR_DIRS_MAX)
					sup.dirs[sup.dir_count++] = d;
		} else {
			fprintf(stderr, "init: %s: unknown option\n", opt);
			return -1;
		}
	}
	if (!sup.socket_path || sup.dir_count == 0) {
		usage();
		return -1;
	}
	return 0;
}

static bool is_mountpoint(const char *path)
{
	char parent[PATH_MAX];
	struct stat a, b;

	snprintf(parent, sizeof parent, "%s/..", path);
	if (stat(path, &a) < 0 || stat(parent, &b) < 0)
		return false;
	return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static void mount_if_needed(const char *source, const char *target, const char *type,
			    unsigned long flags, const char *data)
{
	mkdir(target, 0755);
	if (is_mountpoint(target))
		return;
	if (mount(source, target, type, flags, data) < 0)
		console_line("stage2: warning: mount %s on %s: %s", type, target, strerror(errno));
}

static void mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, mode);
			*p = '/';
		}
	mkdir(buf, mode);
}

/* Brings the loopback link up: services (cairnd's readiness check first) talk over 127.0.0.1
 * before any controller runs. Everything else about links is cairnd's. */
static void loopback_up(void)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0))
		console_line("stage2: warning: bring up lo: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* /var starts as an empty tmpfs (or a fresh EPHEMERAL partition): the folders and links the
 * Debian programs of the image expect there. /var/run and /var/lock point into /run, as on
 * Debian, so sockets such as libvirt's /var/run/libvirt/libvirt-sock live in one place. */
static void var_skeleton(void)
{
	static const char *const folders[] = { "/var/lib", "/var/cache", "/var/log", "/run/lock" };

	for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++)
		mkdir_parents(folders[i], 0755);
	if (mkdir("/var/tmp", 01777) == 0)
		chmod("/var/tmp", 01777);   /* past the umask */
	if (symlink("/run", "/var/run") < 0 && errno != EEXIST)
		console_line("stage2: warning: link /var/run: %s", strerror(errno));
	if (symlink("/run/lock", "/var/lock") < 0 && errno != EEXIST)
		console_line("stage2: warning: link /var/lock: %s", strerror(errno));
}

/* Stage 2 only: the mounts, folders and settings of a running Cairn root. */
static void stage2_prepare(void)
{
	char text[CMDLINE_MAX];
	static struct cmdline cmdline;
	int fd, null_fd;
	ssize_t n = 0;

	mount_if_needed("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_if_needed("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount_if_needed("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	/* fds 0-2 on /dev/null first, so the console never lands on one of them */
	if ((null_fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(null_fd, 0);
		dup2(null_fd, 1);
		dup2(null_fd, 2);
		if (null_fd > 2)
			close(null_fd);
	}
	console_open("/dev/console", false);
	if ((fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, text, sizeof text - 1);
		close(fd);
	}
	cmdline_parse(text, n > 0 ? (size_t)n : 0, &cmdline);
	console_debug_enabled = cmdline.debug;
	mount_if_needed("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "mode=0620,ptmxmode=0666");
	mount_if_needed("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	mount_if_needed("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount_if_needed("cgroup2", "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			"nsdelegate");
	mkdir_parents("/run/cairn/etc", 0755);
	mkdir_parents("/run/cairn/services", 0755);
	mkdir_parents("/var/log/cairn", 0755);
	var_skeleton();
	if (sethostname("cairn", 5) < 0)
		console_line("stage2: warning: sethostname cairn: %s", strerror(errno));
	loopback_up();
	reboot(RB_DISABLE_CAD);   /* Ctrl-Alt-Del sends SIGINT to PID 1 instead */
	sup.socket_path = "/run/cairn/init.sock";
	sup.dirs[0] = "/etc/cairn/services";
	sup.dirs[1] = "/run/cairn/services";
	sup.dir_count = 2;
	sup.log_dir = "/var/log/cairn";
	sup.cgroup_base = "/sys/fs/cgroup";
}

static int open_event_sources(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGPWR);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sup.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	sup.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	sup.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sup.epoll_fd < 0 || sup.signal_fd < 0 || sup.timer_fd < 0) {
		console_line("supervisor: error: epoll/signalfd/timerfd: %s", strerror(errno));
		return -1;
	}
	supervisor_watch(sup.signal_fd, EPOLLIN, EV_SIGNAL, 0);
	supervisor_watch(sup.timer_fd, EPOLLIN, EV_TIMER, 0);
	sup.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (sup.inotify_fd >= 0) {
		for (size_t i = 0; i < sup.dir_count; i++)
			if (inotify_add_watch(sup.inotify_fd, sup.dirs[i], IN_CLOSE_WRITE | IN_MOVED_TO |
					      IN_MOVED_FROM | IN_DELETE) < 0)
				console_line("supervisor: warning: watch %s: %s", sup.dirs[i], strerror(errno));
		supervisor_watch(sup.inotify_fd, EPOLLIN, EV_INOTIFY, 0);
	}
	return control_server_open();
}

void supervisor_request_shutdown(enum shutdown_action action)
{
	if (sup.shutdown != SHUTDOWN_NONE)
		return;
	sup.shutdown = action;
	sup.shutdown_phase = 0;
	console_debug("shutdown: %s requested", action == SHUTDOWN_REBOOT ? "reboot" : "poweroff");
}

static void reap_children(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0)
			break;
		svc_on_exit(pid, status);
	}
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(sup.signal_fd, &si, sizeof si) == (ssize_t)sizeof si) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap_children();
			break;
		case SIGHUP:
			svc_load_all(false);
			break;
		case SIGINT:
			supervisor_request_shutdown(sup.mode == SUPERVISOR_HOST ? SHUTDOWN_POWEROFF
										 : SHUTDOWN_REBOOT);
			break;
		default: /* SIGTERM, SIGPWR */
			supervisor_request_shutdown(SHUTDOWN_POWEROFF);
			break;
		}
	}
	reap_children();  /* a coalesced or missed SIGCHLD costs nothing */
}

static void handle_inotify(void)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(sup.inotify_fd, buf, sizeof buf) > 0)
		;
	if (!sup.rescan_at)
		sup.rescan_at = now_ms() + 100;   /* let a burst of writes settle */
}

static void run_deadlines(void)
{
	int64_t now = now_ms();
	uint64_t expirations;

	(void)!read(sup.timer_fd, &expirations, sizeof expirations);
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (svc && svc->deadline_ms && svc->deadline_ms <= now)
			svc_on_deadline(svc, now);
	}
	if (sup.rescan_at && sup.rescan_at <= now) {
		sup.rescan_at = 0;
		svc_load_all(false);
	}
}

static void arm_timer(void)
{
	int64_t next = sup.rescan_at;
	struct itimerspec its = { 0 };

	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (svc && svc->deadline_ms && (!next || svc->deadline_ms < next))
			next = svc->deadline_ms;
	}
	if (sup.shutdown && sup.shutdown_deadline && (!next || sup.shutdown_deadline < next))
		next = sup.shutdown_deadline;
	if (next) {
		if (next < 1)
			next = 1;
		its.it_value.tv_sec = next / 1000;
		its.it_value.tv_nsec = (next % 1000) * 1000000;
	}
	timerfd_settime(sup.timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static long peak_rss_kib(void)
{
	char buf[4096];
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	char *p;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strstr(buf, "VmHWM:");
	return p ? strtol(p + 6, NULL, 10) : -1;
}

static void report_boot_ready(void)
{
	struct timespec ts;
	int64_t ms;

	if (sup.boot_reported)
		return;
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (svc && svc->at_boot && !svc_is_settled(svc))
			return;
	}
	sup.boot_reported = true;
	if (sup.mode == SUPERVISOR_STAGE2) {
		clock_gettime(CLOCK_BOOTTIME, &ts);
		ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	} else {
		ms = now_ms() - start_ms;
	}
	console_line("ready in %lld ms (pid1 peak rss %ld KiB)", (long long)ms, peak_rss_kib());
}

static void dispatch(const struct epoll_event *ev)
{
	unsigned type = (unsigned)(ev->data.u64 >> 32), index = (unsigned)ev->data.u64;

	switch (type) {
	case EV_SIGNAL: handle_signals(); break;
	case EV_TIMER: break;  /* deadlines run after every wake-up */
	case EV_LISTEN: control_server_accept(); break;
	case EV_CLIENT: control_server_client_event(index, ev->events); break;
	case EV_INOTIFY: handle_inotify(); break;
	case EV_POWER: powerkey_event(index); break;
	case EV_LOG:
		if (index < sup.svc_slots && sup.svcs[index])
			svc_log_readable(sup.svcs[index]);
		break;
	case EV_NOTIFY:
		if (index < sup.svc_slots && sup.svcs[index])
			svc_on_notify(sup.svcs[index]);
		break;
	}
}

int supervisor_main(enum supervisor_mode mode, int argc, char **argv)
{
	struct epoll_event events[32];

	sup.mode = mode;
	sup.listen_fd = sup.inotify_fd = -1;
	for (size_t i = 0; i < SUPERVISOR_CLIENTS_MAX; i++)
		sup.clients[i].fd = -1;
	start_ms = now_ms();
	umask(022);
	if (mode == SUPERVISOR_HOST) {
		if (parse_host_options(argc, argv) < 0)
			return 100;
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	} else {
		stage2_prepare();
	}
	console_line("stage2: started (pid %d)", (int)getpid());
	if (open_event_sources() < 0 && mode == SUPERVISOR_HOST)
		return 111;
	/* From here on, PID 1 must not die: errors are reported and the loop goes on. */
	cgroup_setup();
	if (mode == SUPERVISOR_STAGE2)
		powerkey_open_all();
	svc_load_all(true);
	for (;;) {
		svc_reconcile();
		report_boot_ready();
		if (sup.shutdown)
			shutdown_step(now_ms());
		arm_timer();
		int n = epoll_wait(sup.epoll_fd, events, 32, -1);
		for (int i = 0; i < n; i++)
			dispatch(&events[i]);
		if (n < 0 && errno != EINTR) {
			console_line("supervisor: error: epoll_wait: %s", strerror(errno));
			struct timespec pause = { 0, 100000000 };
			nanosleep(&pause, NULL);  /* cannot happen; avoid a busy loop if it does */
		}
		run_deadlines();
	}
}
