/* modindex.c - parsing of modules.dep and modules.alias, alias matching with fnmatch. */
#include "modindex.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

void modindex_name_from_path(const char *path, char *name, size_t size)
{
	const char *base = strrchr(path, '/');
	size_t n = 0;

	base = base ? base + 1 : path;
	for (; *base && n + 1 < size; base++) {
		if (*base == '.' && strncmp(base, ".ko", 3) == 0 && (base[3] == '\0' || base[3] == '.'))
			break;
		name[n++] = *base == '-' ? '_' : *base;
	}
	name[n] = '\0';
}

static void normalize(const char *in, char *out, size_t size)
{
	size_t n = 0;
	for (; *in && n + 1 < size; in++)
		out[n++] = *in == '-' ? '_' : *in;
	out[n] = '\0';
}

const struct modindex_module *modindex_find(const struct modindex *index, const char *name)
{
	char want[MODINDEX_NAME_MAX];

	normalize(name, want, sizeof want);
	for (size_t i = 0; i < index->module_count; i++)
		if (strcmp(index->modules[i].name, want) == 0)
			return &index->modules[i];
	return NULL;
}

/* Copies the line at *pos into a fresh string; advances *pos past the newline. */
static char *take_line(const char *text, size_t len, size_t *pos)
{
	size_t start = *pos, end = start;
	char *line;

	while (end < len && text[end] != '\n')
		end++;
	*pos = end + 1;
	line = malloc(end - start + 1);
	if (line) {
		memcpy(line, text + start, end - start);
		line[end - start] = '\0';
		for (char *c = line; c < line + (end - start); c++)
			if (*c == '\0' || *c == '\t' || *c == '\r')
				*c = ' ';
	}
	return line;
}

static int add_dep_line(struct modindex *index, char *line)
{
	char *colon = strchr(line, ':'), *word, *save = NULL;
	struct modindex_module *m, *grown;

	if (!colon || colon == line)
		return 0;
	*colon = '\0';
	grown = realloc(index->modules, (index->module_count + 1) * sizeof *grown);
	if (!grown)
		return -1;
	index->modules = grown;
	m = &grown[index->module_count];
	memset(m, 0, sizeof *m);
	modindex_name_from_path(line, m->name, sizeof m->name);
	m->path = strdup(line);
	m->deps = calloc(1, sizeof *m->deps);
	if (!m->path || !m->deps) {
		free(m->path);
		free(m->deps);
		return -1;
	}
	index->module_count++;
	for (word = strtok_r(colon + 1, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
		char **more = realloc(m->deps, (m->dep_count + 2) * sizeof *more);
		if (!more)
			return -1;
		m->deps = more;
		more[m->dep_count] = malloc(MODINDEX_NAME_MAX);
		if (!more[m->dep_count])
			return -1;
		modindex_name_from_path(word, more[m->dep_count], MODINDEX_NAME_MAX);
		more[++m->dep_count] = NULL;
	}
	return 0;
}

int modindex_parse_dep(struct modindex *index, const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		char *line = take_line(text, len, &pos);
		int rc = line ? add_dep_line(index, line) : -1;
		free(line);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int modindex_parse_alias(struct modindex *index, const char *text, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		char *line = take_line(text, len, &pos), *save = NULL, *kw, *pattern, *module;
		struct modindex_alias *grown;

		if (!line)
			return -1;
		kw = strtok_r(line, " ", &save);
		pattern = strtok_r(NULL, " ", &save);
		module = strtok_r(NULL, " ", &save);
		if (!kw || strcmp(kw, "alias") != 0 || !pattern || !module) {
			free(line);
			continue;
		}
		grown = realloc(index->aliases, (index->alias_count + 1) * sizeof *grown);
		if (!grown || !(pattern = strdup(pattern))) {
			if (grown)
				index->aliases = grown;
			free(line);
			return -1;
		}
		index->aliases = grown;
		grown[index->alias_count].pattern = pattern;
		normalize(module, grown[index->alias_count].module, MODINDEX_NAME_MAX);
		index->alias_count++;
		free(line);
	}
	return 0;
}

size_t modindex_match(const struct modindex *index, const char *modalias,
		      void (*fn)(const char *module, void *arg), void *arg)
{
	size_t matches = 0;

	for (size_t i = 0; i < index->alias_count; i++) {
		const char *pat = index->aliases[i].pattern;
		/* Quick reject on the literal prefix before any wildcard. */
		size_t lit = strcspn(pat, "*?[\\");
		if (strncmp(pat, modalias, lit) != 0)
			continue;
		if (fnmatch(pat, modalias, 0) == 0) {
			matches++;
			if (fn)
				fn(index->aliases[i].module, arg);
		}
	}
	return matches;
}

void modindex_free(struct modindex *index)
{
	for (size_t i = 0; i < index->module_count; i++) {
		for (size_t d = 0; d < index->modules[i].dep_count; d++)
			free(index->modules[i].deps[d]);
		free(index->modules[i].deps);
		free(index->modules[i].path);
	}
	for (size_t i = 0; i < index->alias_count; i++)
		free(index->aliases[i].pattern);
	free(index->modules);
	free(index->aliases);
	memset(index, 0, sizeof *index);
}
