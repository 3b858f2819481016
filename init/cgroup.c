/* cgroup.c - one cgroup v2 per service: create, limits, enter (in the child), kill, remove.
 * Stage 2: /sys/fs/cgroup/cairn/NAME. Host mode: --cgroup-root DIR/NAME when usable. */
#include "supervisor.h"
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char cgroup_parent[PATH_MAX - 128];   /* empty: no cgroups */

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	int fd, rc = 0;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) < 0)
		rc = -1;
	close(fd);
	return rc;
}

static void enable_controllers(const char *dir)
{
	/* One at a time: a missing controller must not stop the other. */
	write_file(dir, "cgroup.subtree_control", "+memory");
	write_file(dir, "cgroup.subtree_control", "+cpu");
}

void cgroup_setup(void)
{
	char path[PATH_MAX];

	if (!sup.cgroup_base)
		return;
	snprintf(path, sizeof path, "%s/cgroup.procs", sup.cgroup_base);
	if (access(path, W_OK) < 0) {
		console_line("supervisor: warning: cgroup root %s: %s (running without cgroups)",
			     sup.cgroup_base, strerror(errno));
		return;
	}
	enable_controllers(sup.cgroup_base);
	if (sup.mode == SUPERVISOR_STAGE2) {
		snprintf(cgroup_parent, sizeof cgroup_parent, "%s/cairn", sup.cgroup_base);
		if (mkdir(cgroup_parent, 0755) < 0 && errno != EEXIST) {
			console_line("supervisor: warning: cgroup %s: %s (running without cgroups)",
				     cgroup_parent, strerror(errno));
			cgroup_parent[0] = '\0';
			return;
		}
		enable_controllers(cgroup_parent);
	} else {
		snprintf(cgroup_parent, sizeof cgroup_parent, "%s", sup.cgroup_base);
	}
}

void cgroup_prepare(struct svc *svc)
{
	char value[64];

	svc->cgroup_ok = false;
	if (!cgroup_parent[0])
		return;
	snprintf(svc->cgroup, sizeof svc->cgroup, "%s/%s", cgroup_parent, svc->def.name);
	if (mkdir(svc->cgroup, 0755) < 0 && errno != EEXIST) {
		console_line("service %s: warning: cgroup %s: %s", svc->def.name, svc->cgroup,
			     strerror(errno));
		return;
	}
	svc->cgroup_ok = true;
	if (svc->def.memory_max)
		snprintf(value, sizeof value, "%llu", (unsigned long long)svc->def.memory_max);
	else
		snprintf(value, sizeof value, "max");
	if (write_file(svc->cgroup, "memory.max", value) < 0 && svc->def.memory_max)
		console_line("service %s: warning: memory.max %s: %s", svc->def.name, value, strerror(errno));
	if (svc->def.cpu_max_percent)
		snprintf(value, sizeof value, "%u 100000", svc->def.cpu_max_percent * 1000);
	else
		snprintf(value, sizeof value, "max 100000");
	if (write_file(svc->cgroup, "cpu.max", value) < 0 && svc->def.cpu_max_percent)
		console_line("service %s: warning: cpu.max %s: %s", svc->def.name, value, strerror(errno));
}

int cgroup_enter(const struct svc *svc)
{
	char pid[32];

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	return write_file(svc->cgroup, "cgroup.procs", pid);
}

void cgroup_kill(const struct svc *svc)
{
	char path[PATH_MAX + 16], buf[4096];
	FILE *procs;

	if (!svc->cgroup_ok)
		return;
	if (write_file(svc->cgroup, "cgroup.kill", "1") == 0)
		return;
	snprintf(path, sizeof path, "%s/cgroup.procs", svc->cgroup);   /* kernels before 5.14 */
	if (!(procs = fopen(path, "re")))
		return;
	while (fgets(buf, sizeof buf, procs))
		kill((pid_t)atoi(buf), SIGKILL);
	fclose(procs);
}

void cgroup_remove(struct svc *svc)
{
	if (svc->cgroup_ok && rmdir(svc->cgroup) < 0 && errno != ENOENT)
		console_debug("service %s: remove cgroup %s: %s", svc->def.name, svc->cgroup,
			      strerror(errno));
	svc->cgroup_ok = false;
}
