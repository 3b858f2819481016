/* stage1_modules.c - load kernel modules in stage 1: the names in /etc/cairn/modules.boot,
 * then coldplug: every sysfs modalias matched against modules.alias, dependencies from
 * modules.dep first, loaded with finit_module. Repeats while new devices bring new modules. */
#include "console.h"
#include "modindex.h"
#include "stage1.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define MODULE_INIT_COMPRESSED_FILE 4
#define COLDPLUG_ROUNDS_MAX 4
#define SYSFS_DEPTH_MAX 32

static struct modindex index_;
static bool *loaded;            /* per module in index_ */
static char module_dir[300];
static unsigned loaded_count;

static char *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t used = 0;
	ssize_t n;

	if (fd < 0 || fstat(fd, &st) < 0 || !(buf = malloc((size_t)st.st_size + 1))) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (used < (size_t)st.st_size && (n = read(fd, buf + used, (size_t)st.st_size - used)) > 0)
		used += (size_t)n;
	close(fd);
	buf[used] = '\0';
	*len = used;
	return buf;
}

static void load_module(const char *name, int depth)
{
	const struct modindex_module *m = modindex_find(&index_, name);
	char path[700];
	size_t i, plen;
	int fd, flags = 0;

	if (!m) {
		console_debug("stage1: module %s: not in modules.dep (built in?)", name);
		return;
	}
	i = (size_t)(m - index_.modules);
	if (loaded[i] || depth > 16)
		return;
	loaded[i] = true;
	for (size_t d = m->dep_count; d > 0; d--)   /* modules.dep lists the deepest last */
		load_module(m->deps[d - 1], depth + 1);
	snprintf(path, sizeof path, "%s/%s", module_dir, m->path);
	plen = strlen(path);
	if ((plen > 3 && (strcmp(path + plen - 3, ".xz") == 0 || strcmp(path + plen - 3, ".gz") == 0)) ||
	    (plen > 4 && strcmp(path + plen - 4, ".zst") == 0))
		flags = MODULE_INIT_COMPRESSED_FILE;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		console_line("stage1: warning: module %s: %s: %s", m->name, path, strerror(errno));
		return;
	}
	if (syscall(SYS_finit_module, fd, "", flags) < 0 && errno != EEXIST)
		console_debug("stage1: module %s: %s", m->name, strerror(errno));
	else
		loaded_count++;
	close(fd);
}

static void load_boot_list(void)
{
	size_t len;
	char *text = slurp("/etc/cairn/modules.boot", &len), *save = NULL;

	if (!text) {
		console_debug("stage1: no /etc/cairn/modules.boot");
		return;
	}
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		line[strcspn(line, " \t\r#")] = '\0';
		if (*line)
			load_module(line, 0);
	}
	free(text);
}

static void match_alias(const char *module, void *arg)
{
	(void)arg;
	load_module(module, 0);
}

/* Walks a sysfs folder (no symlinks) and loads modules for every modalias file. */
static void coldplug_dir(int dirfd, int depth)
{
	DIR *dir;
	struct dirent *ent;

	if (depth > SYSFS_DEPTH_MAX || !(dir = fdopendir(dirfd))) {
		close(dirfd);
		return;
	}
	while ((ent = readdir(dir))) {
		if (ent->d_name[0] == '.')
			continue;
		if (ent->d_type == DT_DIR) {
			int sub = openat(dirfd, ent->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				coldplug_dir(sub, depth + 1);
		} else if (ent->d_type == DT_REG && strcmp(ent->d_name, "modalias") == 0) {
			char alias[512];
			int fd = openat(dirfd, "modalias", O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, alias, sizeof alias - 1) : -1;
			if (fd >= 0)
				close(fd);
			if (n <= 0)
				continue;
			alias[n] = '\0';
			alias[strcspn(alias, "\n")] = '\0';
			modindex_match(&index_, alias, match_alias, NULL);
		}
	}
	closedir(dir);
}

void stage1_load_modules(void)
{
	struct utsname uts;
	char path[400];
	size_t len;
	char *text;

	uname(&uts);
	snprintf(module_dir, sizeof module_dir, "/lib/modules/%s", uts.release);
	snprintf(path, sizeof path, "%s/modules.dep", module_dir);
	if (!(text = slurp(path, &len))) {
		console_debug("stage1: no %s: no modules to load", path);
		return;
	}
	if (modindex_parse_dep(&index_, text, len) < 0)
		stage1_fail("modules.dep", "out of memory");
	free(text);
	snprintf(path, sizeof path, "%s/modules.alias", module_dir);
	if ((text = slurp(path, &len))) {
		if (modindex_parse_alias(&index_, text, len) < 0)
			stage1_fail("modules.alias", "out of memory");
		free(text);
	}
	if (!(loaded = calloc(index_.module_count + 1, sizeof *loaded)))
		stage1_fail("modules", "out of memory");
	load_boot_list();
	for (int round = 0; round < COLDPLUG_ROUNDS_MAX; round++) {
		unsigned before = loaded_count;
		int fd = open("/sys/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			coldplug_dir(fd, 0);
		console_debug("stage1: coldplug round %d: %u modules loaded", round + 1,
			      loaded_count - before);
		if (loaded_count == before)
			break;
	}
}
