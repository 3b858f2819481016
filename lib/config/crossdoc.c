/* crossdoc.c - the helpers of crossdoc.h. */
#include <stdarg.h>
#include <stdio.h>

#include "crossdoc.h"
#include "schema.h"

const struct ynode *config_yget(const struct ynode *node, const char *key)
{
	return node && node->type == YNODE_MAPPING ? ynode_mapping_get(node, key) : NULL;
}

const struct ynode *config_yat(const struct ynode *node, size_t i)
{
	return node && node->type == YNODE_SEQUENCE && i < node->count ? node->items[i] : NULL;
}

unsigned config_yline(const struct ynode *node, const struct ynode *fallback)
{
	return node ? node->line : fallback ? fallback->line : 0;
}

void config_cross_error(const struct config_cross *c, size_t doc, unsigned line, const char *kind,
			const char *path, const char *fmt, ...)
{
	char message[640];
	va_list ap;

	if (config_errors_full(c->errs)) {
		config_errors_drop(c->errs, 1);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	config_errors_add(c->errs, c->file, line, c->index[doc], kind, path, message);
}

const char *config_doc_kind(const json_t *doc)
{
	return json_string_value(json_object_get(doc, "kind"));
}

const char *config_doc_name(const json_t *doc)
{
	return json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
}
