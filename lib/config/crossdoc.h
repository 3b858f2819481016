/* crossdoc.h - what the checks across documents share (networks.c, volumes.c): where the
 * decoded documents came from, and errors that point at a value of the YAML tree. Internal to
 * lib/config. */
#ifndef CAIRN_CONFIG_CROSSDOC_H
#define CAIRN_CONFIG_CROSSDOC_H

#include <stddef.h>

#include <jansson.h>

#include "config.h"
#include "yaml_tree.h"

struct config_cross {
	const char *file;                   /* the config's name in messages */
	struct config_errors *errs;
	const struct ynode *const *roots;   /* each document's YAML tree */
	const unsigned *index;              /* each document's number in the file */
};

/* NODE's KEY when NODE is a mapping, item I when a sequence; NULL otherwise. */
const struct ynode *config_yget(const struct ynode *node, const char *key);
const struct ynode *config_yat(const struct ynode *node, size_t i);
/* NODE's line, else FALLBACK's, else 0. */
unsigned config_yline(const struct ynode *node, const struct ynode *fallback);
/* An error about document DOC (of KIND) at LINE, PATH; counted only once the list is full. */
void config_cross_error(const struct config_cross *c, size_t doc, unsigned line, const char *kind,
			const char *path, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A document's kind and metadata.name, or NULL. */
const char *config_doc_kind(const json_t *doc);
const char *config_doc_name(const json_t *doc);

#endif
