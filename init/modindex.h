/* modindex.h - in-memory index of modules.dep and modules.alias (pure parsing/matching). */
#ifndef CAIRN_MODINDEX_H
#define CAIRN_MODINDEX_H

#include <stddef.h>

#define MODINDEX_NAME_MAX 64

struct modindex_module {
	char name[MODINDEX_NAME_MAX];  /* normalized: '-' -> '_', no suffix */
	char *path;                    /* relative to /lib/modules/VERSION */
	char **deps;                   /* module names, NULL-terminated, load in reverse order */
	size_t dep_count;
};

struct modindex_alias {
	char *pattern;                 /* fnmatch pattern */
	char module[MODINDEX_NAME_MAX];
};

struct modindex {
	struct modindex_module *modules;
	size_t module_count;
	struct modindex_alias *aliases;
	size_t alias_count;
};

/* Parse the text of modules.dep / modules.alias (appends). 0 or -1 (out of memory).
 * Malformed lines are skipped. */
int modindex_parse_dep(struct modindex *index, const char *text, size_t len);
int modindex_parse_alias(struct modindex *index, const char *text, size_t len);
/* Name of a module file: "kernel/a/b/virtio-blk.ko.xz" -> "virtio_blk". */
void modindex_name_from_path(const char *path, char *name, size_t size);
/* Finds a module by name ('-' and '_' are equal). NULL when not present. */
const struct modindex_module *modindex_find(const struct modindex *index, const char *name);
/* Calls FN for every alias pattern that matches MODALIAS; returns the match count. */
size_t modindex_match(const struct modindex *index, const char *modalias,
		      void (*fn)(const char *module, void *arg), void *arg);
void modindex_free(struct modindex *index);

#endif
