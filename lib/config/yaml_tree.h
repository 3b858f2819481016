/* yaml_tree.h - public (also used by ctl/yaml_json.c): a YAML stream read with libyaml's
 * event API into a small tree whose every node keeps its line. Aliases become YNODE_INVALID nodes (never expanded);
 * anchors and tags are recorded for the decoder to reject. */
#ifndef CAIRN_CONFIG_YAML_TREE_H
#define CAIRN_CONFIG_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

enum ynode_type {
	YNODE_SCALAR,
	YNODE_MAPPING,
	YNODE_SEQUENCE,
	YNODE_INVALID,     /* an alias: message says why */
};

struct ynode {
	enum ynode_type type;
	unsigned line;           /* 1-based */
	bool plain;              /* scalar: unquoted (so "null", "true", "12" are typed) */
	bool anchored;           /* carried an anchor (&name) */
	char *tag;               /* an explicit tag, or NULL */
	char *value;             /* scalar text, NUL-terminated; invalid: the reason */
	size_t len;              /* scalar length (may hold NULs) */
	struct ynode **items;    /* sequence items; mapping: key, value, key, value, ... */
	size_t count;            /* items in the array (mapping: twice the pairs) */
	size_t cap;              /* room in the array (grown geometrically) */
};

struct yaml_arena;

struct yaml_stream {
	struct ynode **documents;  /* root of each document, NULL for an empty one */
	unsigned *lines;           /* line each document starts on */
	size_t count, cap;
	/* A syntax error or a limit ends the stream early: */
	unsigned error_line;       /* 0: no error */
	char error[256];
	struct yaml_arena *arena;  /* every node, value and item array (freed at once) */
};

/* Reads TEXT of LEN bytes. -1 only when out of memory; syntax errors and limits
 * (CONFIG_DOCUMENTS_MAX, CONFIG_DEPTH_MAX, CONFIG_NODES_MAX, CONFIG_SCALAR_MAX) set
 * STREAM->error_line and keep the documents completed before them. Time and memory are
 * linear in LEN. The nodes live until yaml_stream_free(). */
int yaml_stream_read(const char *text, size_t len, struct yaml_stream *stream);
void yaml_stream_free(struct yaml_stream *stream);

/* The value of KEY in a mapping, or NULL. */
const struct ynode *ynode_mapping_get(const struct ynode *map, const char *key);
/* A plain scalar meaning null: "", "~", "null", "Null", "NULL". */
bool ynode_is_null(const struct ynode *node);

#endif
