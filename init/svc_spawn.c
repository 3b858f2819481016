/* svc_spawn.c - fork and exec a service process: cgroup, fds, directory, capabilities,
 * user and group, environment. Everything is decided before exec; a failure in the child
 * is written to the service log and the child exits 111 (setup) or 127 (exec). */
#include "supervisor.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPAWN_GROUPS_MAX 64

struct identity {
	uid_t uid;
	gid_t gid;
	gid_t groups[SPAWN_GROUPS_MAX];
	int group_count;
	char home[256];
	char name[64];
};

/* Resolves user = root | NAME | UID[:GID] in the parent, so errors are reported. */
static int resolve_identity(const char *user, struct identity *id, char *error, size_t errlen)
{
	struct passwd *pw;

	memset(id, 0, sizeof *id);
	snprintf(id->home, sizeof id->home, "/root");
	snprintf(id->name, sizeof id->name, "root");
	if (!user || strcmp(user, "root") == 0)
		return 0;
	if (isdigit((unsigned char)user[0])) {
		char *end;
		id->uid = (uid_t)strtoul(user, &end, 10);
		id->gid = *end == ':' ? (gid_t)strtoul(end + 1, NULL, 10) : (gid_t)id->uid;
		pw = getpwuid(id->uid);
		snprintf(id->home, sizeof id->home, "%s", pw ? pw->pw_dir : "/");
		snprintf(id->name, sizeof id->name, "%s", pw ? pw->pw_name : user);
		if (pw && *end != ':')
			id->gid = pw->pw_gid;
		return 0;
	}
	pw = getpwnam(user);
	if (!pw) {
		snprintf(error, errlen, "user %s: no such user", user);
		return -1;
	}
	id->uid = pw->pw_uid;
	id->gid = pw->pw_gid;
	snprintf(id->home, sizeof id->home, "%s", pw->pw_dir);
	snprintf(id->name, sizeof id->name, "%s", pw->pw_name);
	id->group_count = SPAWN_GROUPS_MAX;
	if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups, &id->group_count) < 0)
		id->group_count = 0;
	return 0;
}

static void __attribute__((noreturn)) child_fail(const char *name, const char *what, int err)
{
	dprintf(2, "cairn: service %s: %s: %s\n", name, what, strerror(err));
	_exit(111);
}

static void drop_bounding_set(const struct svcdef *def)
{
	for (int cap = 0; cap < 64; cap++) {
		if (def->capabilities & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;   /* past the kernel's last capability */
			child_fail(def->name, "drop capability from bounding set", errno);
		}
	}
}

/* A non-root service with `capabilities` keeps exactly those, as ambient capabilities. */
static void raise_ambient(const struct svcdef *def)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof data);
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)def->capabilities;
	data[1].effective = data[1].permitted = data[1].inheritable =
		(uint32_t)(def->capabilities >> 32);
	if (syscall(SYS_capset, &header, data) < 0)
		child_fail(def->name, "capset", errno);
	for (int cap = 0; cap < 64; cap++)
		if ((def->capabilities & (1ull << cap)) &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			child_fail(def->name, "raise ambient capability", errno);
}

static char **build_env(const struct svcdef *def, const struct identity *id, bool notify)
{
	size_t n = 0;
	char **env = calloc(def->env_count + 6, sizeof *env);
	char buf[512];

	if (!env)
		return NULL;
	env[n++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	snprintf(buf, sizeof buf, "HOME=%s", id->home);
	env[n++] = strdup(buf);
	snprintf(buf, sizeof buf, "USER=%s", id->name);
	env[n++] = strdup(buf);
	snprintf(buf, sizeof buf, "CAIRN_SERVICE=%s", def->name);
	env[n++] = strdup(buf);
	if (notify)
		env[n++] = "NOTIFY_FD=3";
	for (size_t i = 0; i < def->env_count; i++) {
		size_t keylen = strcspn(def->env[i], "=") + 1;
		size_t k;
		for (k = 0; k < n; k++)  /* a definition's env overrides the defaults */
			if (env[k] && strncmp(env[k], def->env[i], keylen) == 0)
				break;
		env[k] = def->env[i];
		if (k == n)
			n++;
	}
	env[n] = NULL;
	return env;
}

static void __attribute__((noreturn)) child_run(struct svc *svc, char **argv, int notify_fd,
						 const struct identity *id)
{
	const struct svcdef *def = &svc->def;
	sigset_t all;
	char **env;
	int null_fd;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	signal(SIGPIPE, SIG_DFL);
	setsid();
	if (notify_fd >= 0 && (notify_fd = fcntl(notify_fd, F_DUPFD_CLOEXEC, 10)) < 0)
		child_fail(def->name, "notify fd", errno);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(svc->log_write_fd, 1) < 0 ||
	    dup2(svc->log_write_fd, 2) < 0)
		child_fail(def->name, "set up stdin/stdout/stderr", errno);
	if (notify_fd >= 0 && dup2(notify_fd, 3) < 0)
		child_fail(def->name, "notify fd", errno);
	if (svc->cgroup_ok && cgroup_enter(svc) < 0)
		child_fail(def->name, "enter cgroup", errno);
	if (chdir(def->directory ? def->directory : "/") < 0)
		child_fail(def->name, def->directory ? def->directory : "/", errno);
	if (def->has_capabilities)
		drop_bounding_set(def);
	if (id->uid != 0 || id->gid != 0) {
		if (setgroups((size_t)id->group_count, id->groups) < 0)
			child_fail(def->name, "setgroups", errno);
		if (setgid(id->gid) < 0)
			child_fail(def->name, "setgid", errno);
		if (def->has_capabilities && id->uid != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			child_fail(def->name, "keep capabilities", errno);
		if (setuid(id->uid) < 0)
			child_fail(def->name, "setuid", errno);
		if (def->has_capabilities && id->uid != 0)
			raise_ambient(def);
	}
	if (def->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(def->name, "no_new_privs", errno);
	env = build_env(def, id, notify_fd >= 0);
	if (!env)
		child_fail(def->name, "environment", ENOMEM);
	execve(argv[0], argv, env);
	dprintf(2, "cairn: service %s: exec %s: %s\n", def->name, argv[0], strerror(errno));
	_exit(127);
}

pid_t svc_spawn(struct svc *svc, char **argv, int notify_write_fd, char *error, size_t errlen)
{
	struct identity id;
	pid_t pid;

	if (resolve_identity(svc->def.user, &id, error, errlen) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		snprintf(error, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		child_run(svc, argv, notify_write_fd, &id);
	return pid;
}
