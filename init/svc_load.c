/* svc_load.c - reading the definition folders: new, changed and removed services,
 * rejected definitions, and dependency checks (unknown needs, cycles). */
#include "supervisor.h"
#include "console.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t hash_bytes(const char *data, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)data[i]) * 1099511628211ull;
	return h;
}

static struct svc *svc_create(const char *name, bool at_boot)
{
	struct svc *svc = calloc(1, sizeof *svc);
	size_t slot;

	if (!svc)
		return NULL;
	for (slot = 0; slot < sup.svc_slots && sup.svcs[slot]; slot++)
		;
	if (slot == sup.svc_slots) {
		struct svc **grown = realloc(sup.svcs, (sup.svc_slots + 16) * sizeof *grown);
		if (!grown) {
			free(svc);
			return NULL;
		}
		memset(grown + sup.svc_slots, 0, 16 * sizeof *grown);
		sup.svcs = grown;
		sup.svc_slots += 16;
	}
	svc->slot = (unsigned)slot;
	snprintf(svc->def.name, sizeof svc->def.name, "%s", name);
	svc->probe_fd = svc->notify_fd = -1;
	svc->want_up = true;
	svc->at_boot = at_boot;
	svc->state = SVC_WAITING;
	if (svc_log_open(svc) < 0) {
		console_line("service %s: error: log pipe: %s", name, strerror(errno));
		free(svc);
		return NULL;
	}
	sup.svcs[slot] = svc;
	return svc;
}

void svc_forget(struct svc *svc)
{
	console_debug("service %s: removed", svc->def.name);
	svc_log_close(svc);
	cgroup_remove(svc);
	svcdef_free(&svc->def);
	sup.svcs[svc->slot] = NULL;
	free(svc);
}

static char *read_file(const char *path, size_t *len)
{
	char *buf = malloc(SVCDEF_FILE_MAX + 2);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t used = 0;
	ssize_t n = 0;

	if (!buf || fd < 0) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while (used < SVCDEF_FILE_MAX + 1 &&
	       (n = read(fd, buf + used, SVCDEF_FILE_MAX + 1 - used)) > 0)
		used += (size_t)n;
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[used] = '\0';
	*len = used;
	return buf;
}

static void report_rejection(const char *name, const struct svcdef_errors *errors)
{
	const char *line = errors->text ? errors->text : "";

	while (*line) {
		size_t n = strcspn(line, "\n");
		console_line("service %s: definition rejected: %.*s", name, (int)n, line);
		line += n + (line[n] == '\n');
	}
	if (errors->count > SVCDEF_ERRORS_MAX)
		console_line("service %s: definition rejected: %u more errors", name,
			     errors->count - SVCDEF_ERRORS_MAX);
}

/* A valid new definition for SVC: use it now, or after the running process stops. */
static void apply_definition(struct svc *svc, struct svcdef *def)
{
	svcdef_free(&svc->def);
	svc->def = *def;
	svc->has_def = true;
	svc->reason[0] = '\0';
	svc->attempt = 0;
	if (svc->pid > 0) {
		svc_restart_request(svc);
	} else if (svc->state != SVC_STOPPED || svc->want_up) {
		svc->state = SVC_WAITING;
		svc->want_up = true;
		svc->deadline_ms = 0;
	}
}

static void load_file(const char *dir, const char *file, bool at_boot)
{
	char path[PATH_MAX], name[SVCDEF_NAME_MAX + 1];
	static struct svcdef_errors errors;
	struct svcdef def;
	struct svc *svc;
	uint64_t hash;
	size_t len, flen = strlen(file);
	char *text;

	snprintf(path, sizeof path, "%s/%s", dir, file);
	snprintf(name, sizeof name, "%.*s", (int)(flen - 8 < SVCDEF_NAME_MAX ? flen - 8 : SVCDEF_NAME_MAX), file);
	svc = svcdef_name_valid(file, flen - 8) ? svc_find(name) : NULL;
	if (svc && svc->seen) {
		console_line("service %s: definition ignored: %s: already defined by %s", name, path,
			     svc->path);
		return;
	}
	if (!(text = read_file(path, &len))) {
		console_line("service %s: definition rejected: %s:0: cannot read: %s", name, path,
			     strerror(errno));
		return;
	}
	hash = hash_bytes(text, len, hash_bytes(path, strlen(path), 14695981039346656037ull));
	if (svc && svc->file_hash == hash) {
		svc->seen = true;
		if (svc->remove_pending) {   /* back while its stop runs: start again once stopped */
			svc->remove_pending = false;
			svc->restart_pending = true;
		}
		free(text);
		return;
	}
	if (svc)
		svc->remove_pending = false;
	svcdef_errors_reset(&errors);
	if (svcdef_parse(path, text, len, &def, &errors) < 0) {
		free(text);
		report_rejection(name, &errors);
		if (!svcdef_name_valid(file, flen - 8))
			return;
		if (!svc && !(svc = svc_create(name, at_boot)))
			return;
		svc->seen = true;
		svc->file_hash = hash;
		snprintf(svc->path, sizeof svc->path, "%s", path);
		if (svc->has_def) {
			snprintf(svc->reason, sizeof svc->reason,
				 "new definition rejected, previous one kept: %.*s",
				 (int)strcspn(errors.text, "\n"), errors.text);
		} else {
			svc->state = SVC_FAILED;
			snprintf(svc->reason, sizeof svc->reason, "definition rejected: %.*s",
				 (int)strcspn(errors.text, "\n"), errors.text);
		}
		return;
	}
	free(text);
	if (!svc && !(svc = svc_create(name, at_boot))) {
		svcdef_free(&def);
		return;
	}
	svc->seen = true;
	svc->file_hash = hash;
	snprintf(svc->path, sizeof svc->path, "%s", path);
	apply_definition(svc, &def);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_dir(const char *dir, bool at_boot)
{
	DIR *d = opendir(dir);
	struct dirent *ent;
	char **files = NULL;
	size_t count = 0;

	if (!d) {
		if (errno != ENOENT)
			console_line("supervisor: warning: service folder %s: %s", dir, strerror(errno));
		return;
	}
	while ((ent = readdir(d))) {
		size_t n = strlen(ent->d_name);
		char **grown;
		if (n <= 8 || strcmp(ent->d_name + n - 8, ".service") != 0 || ent->d_name[0] == '.')
			continue;
		if (!(grown = realloc(files, (count + 1) * sizeof *files)))
			break;
		files = grown;
		if ((files[count] = strdup(ent->d_name)))
			count++;
	}
	closedir(d);
	if (count > 1)
		qsort(files, count, sizeof *files, compare_names);
	for (size_t i = 0; i < count; i++) {
		load_file(dir, files[i], at_boot);
		free(files[i]);
	}
	free(files);
}

/* Marks services on a cycle through SVC; STACK holds the current path of slots. */
static void find_cycles(struct svc *svc, unsigned char *color, unsigned *stack, size_t depth)
{
	color[svc->slot] = 1;
	stack[depth] = svc->slot;
	for (size_t i = 0; i < svc->def.needs_count; i++) {
		struct svc *need = svc_find(svc->def.needs[i]);
		if (!need || !need->has_def)
			continue;
		if (color[need->slot] == 1) {
			char path[512];
			size_t start = depth, used = 0;
			while (sup.svcs[stack[start]] != need)
				start--;
			for (size_t k = start; k <= depth && used < sizeof path; k++)
				used += (size_t)snprintf(path + used, sizeof path - used, "%s -> ",
							 sup.svcs[stack[k]]->def.name);
			for (size_t k = start; k <= depth; k++) {
				struct svc *member = sup.svcs[stack[k]];
				member->dep_error = true;
				snprintf(member->reason, sizeof member->reason,
					 "dependency cycle: %.400s%s", path, need->def.name);
			}
		} else if (color[need->slot] == 0) {
			find_cycles(need, color, stack, depth + 1);
		}
	}
	color[svc->slot] = 2;
}

static void check_dependencies(void)
{
	unsigned char *color = calloc(sup.svc_slots, 1);
	unsigned *stack = calloc(sup.svc_slots + 1, sizeof *stack);
	bool *was = calloc(sup.svc_slots, sizeof *was);

	if (!color || !stack || !was)
		goto out;
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (!svc || !svc->has_def)
			continue;
		was[i] = svc->dep_error;
		svc->dep_error = false;
		for (size_t n = 0; n < svc->def.needs_count; n++) {
			struct svc *need = svc_find(svc->def.needs[n]);
			if (!need || !need->has_def) {
				svc->dep_error = true;
				snprintf(svc->reason, sizeof svc->reason, "%s need '%s'",
					 need ? "rejected" : "unknown", svc->def.needs[n]);
				break;
			}
		}
	}
	for (size_t i = 0; i < sup.svc_slots; i++)
		if (sup.svcs[i] && sup.svcs[i]->has_def && !color[i])
			find_cycles(sup.svcs[i], color, stack, 0);
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (!svc || !svc->has_def)
			continue;
		if (svc->dep_error && svc->pid <= 0 && (svc->state != SVC_FAILED || !was[i])) {
			char reason[sizeof svc->reason];
			memcpy(reason, svc->reason, sizeof reason);
			svc_set_failed(svc, "%s", reason);
		}
		else if (!svc->dep_error && was[i] && svc->state == SVC_FAILED && svc->want_up) {
			svc->state = SVC_WAITING;
			svc->reason[0] = '\0';
		}
	}
out:
	free(color);
	free(stack);
	free(was);
}

void svc_load_all(bool at_boot)
{
	for (size_t i = 0; i < sup.svc_slots; i++)
		if (sup.svcs[i])
			sup.svcs[i]->seen = false;
	for (size_t d = 0; d < sup.dir_count; d++)
		load_dir(sup.dirs[d], at_boot);
	for (size_t i = 0; i < sup.svc_slots; i++) {
		struct svc *svc = sup.svcs[i];
		if (!svc || svc->seen)
			continue;
		if (svc->pid > 0) {
			svc->remove_pending = true;
			svc_stop(svc);
		} else {
			svc_forget(svc);
		}
	}
	check_dependencies();
}
