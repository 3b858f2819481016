/* shutdown.c - the end of an ordered shutdown: once every service has stopped, terminate
 * the remaining processes (TERM, a short wait, KILL), sync, unmount, reboot(2).
 * Host mode kills only its own descendants and exits 0 instead of rebooting. */
#include "supervisor.h"
#include "console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHUTDOWN_TERM_GRACE_MS 2000
#define PROC_SCAN_MAX 4096

/* Host mode: signal every descendant of this process (found through /proc ppid links). */
void host_kill_children(int sig)
{
	static pid_t pids[PROC_SCAN_MAX], parents[PROC_SCAN_MAX];
	static bool mine[PROC_SCAN_MAX];
	size_t count = 0;
	DIR *dir = opendir("/proc");
	struct dirent *ent;
	bool changed = true;

	if (!dir)
		return;
	while ((ent = readdir(dir)) && count < PROC_SCAN_MAX) {
		char path[300], buf[512], *paren;
		int fd;
		ssize_t n;

		if (ent->d_name[0] < '0' || ent->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", ent->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (!(paren = strrchr(buf, ')')))
			continue;
		pids[count] = (pid_t)atoi(ent->d_name);
		parents[count] = (pid_t)strtol(paren + 4, NULL, 10);  /* ") S PPID" */
		mine[count] = parents[count] == getpid();
		count++;
	}
	closedir(dir);
	while (changed) {
		changed = false;
		for (size_t i = 0; i < count; i++)
			for (size_t j = 0; j < count && !mine[i]; j++)
				if (mine[j] && parents[i] == pids[j])
					mine[i] = changed = true;
	}
	for (size_t i = 0; i < count; i++)
		if (mine[i])
			kill(pids[i], sig);
}

static void kill_rest(int sig)
{
	if (sup.mode == SUPERVISOR_HOST)
		host_kill_children(sig);
	else
		kill(-1, sig);   /* every process but PID 1 and kernel threads */
}

static bool have_children(void)
{
	siginfo_t info;
	memset(&info, 0, sizeof info);
	return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

static void unmount_all(void)
{
	static char paths[64][256];
	size_t count = 0;
	FILE *mounts = setmntent("/proc/self/mounts", "re");
	struct mntent *m;

	if (!mounts)
		return;
	while ((m = getmntent(mounts)) && count < 64) {
		if (strcmp(m->mnt_dir, "/") == 0 || strcmp(m->mnt_dir, "/proc") == 0 ||
		    strcmp(m->mnt_dir, "/sys") == 0 || strcmp(m->mnt_dir, "/dev") == 0)
			continue;
		snprintf(paths[count++], sizeof paths[0], "%s", m->mnt_dir);
	}
	endmntent(mounts);
	while (count > 0)   /* the reverse of mount order: children first */
		if (umount2(paths[--count], MNT_DETACH) < 0)
			console_debug("shutdown: unmount %s: %s", paths[count], strerror(errno));
}

static void finish(void)
{
	bool reboot_wanted = sup.shutdown == SHUTDOWN_REBOOT;

	sync();
	for (size_t i = 0; i < sup.svc_slots; i++)
		if (sup.svcs[i] && sup.svcs[i]->logfile_fd >= 0) {
			close(sup.svcs[i]->logfile_fd);
			sup.svcs[i]->logfile_fd = -1;
		}
	if (sup.mode == SUPERVISOR_HOST) {
		console_line("shutdown: %s", reboot_wanted ? "rebooting" : "powering off");
		unlink(sup.socket_path);
		exit(0);
	}
	unmount_all();
	sync();
	console_line("shutdown: %s", reboot_wanted ? "rebooting" : "powering off");
	reboot(reboot_wanted ? RB_AUTOBOOT : RB_POWER_OFF);
	console_line("shutdown: error: reboot: %s", strerror(errno));
	for (;;)
		pause();   /* PID 1 must not exit */
}

void shutdown_step(int64_t now)
{
	switch (sup.shutdown_phase) {
	case 0:
		for (size_t i = 0; i < sup.svc_slots; i++)
			if (sup.svcs[i] && sup.svcs[i]->pid > 0)
				return;
		kill_rest(SIGTERM);
		kill_rest(SIGCONT);
		sup.shutdown_phase = 1;
		sup.shutdown_deadline = now + SHUTDOWN_TERM_GRACE_MS;
		/* fall through */
	case 1:
		if (have_children() && now < sup.shutdown_deadline)
			return;
		kill_rest(SIGKILL);
		sup.shutdown_phase = 2;
		finish();
		break;
	default:
		break;
	}
}
