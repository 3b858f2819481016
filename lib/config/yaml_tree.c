/* yaml_tree.c - reads a YAML stream with libyaml's event API into struct ynode trees, one per
 * document, each node with its line. Documents, nesting, node count and scalar size are
 * bounded; aliases are never expanded (they become invalid nodes), so no input can grow in
 * memory. Nodes, values and item arrays come from one arena per stream (item arrays double
 * when full), so that building and freeing a tree cost time linear in the input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "config.h"
#include "yaml_tree.h"

struct builder {
	struct yaml_stream *stream;
	struct ynode *root;                           /* the document being built */
	struct ynode *open[CONFIG_DEPTH_MAX + 1];     /* open collections, innermost last */
	size_t depth;
	size_t nodes;
	unsigned document_line;
};

/* Bump allocation in chunks of at least ARENA_CHUNK bytes. */
#define ARENA_CHUNK (64 * 1024)

struct yaml_arena {
	struct yaml_arena *next;   /* the chunk filled before this one */
	size_t used, size;
	_Alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(struct yaml_stream *stream, size_t size)
{
	struct yaml_arena *chunk = stream->arena;
	void *p;

	size = (size + _Alignof(max_align_t) - 1) & ~(_Alignof(max_align_t) - 1);
	if (size > ARENA_CHUNK / 4) {   /* its own chunk, behind the one being filled */
		if (!(chunk = malloc(sizeof *chunk + size)))
			return NULL;
		chunk->used = chunk->size = size;
		if (stream->arena) {
			chunk->next = stream->arena->next;
			stream->arena->next = chunk;
		} else {
			chunk->next = NULL;
			stream->arena = chunk;
		}
		return chunk->data;
	}
	if (!chunk || chunk->size - chunk->used < size) {
		if (!(chunk = malloc(sizeof *chunk + ARENA_CHUNK)))
			return NULL;
		chunk->next = stream->arena;
		chunk->used = 0;
		chunk->size = ARENA_CHUNK;
		stream->arena = chunk;
	}
	p = chunk->data + chunk->used;
	chunk->used += size;
	return p;
}

static char *arena_strndup(struct yaml_stream *stream, const char *s, size_t len)
{
	char *copy = arena_alloc(stream, len + 1);

	if (copy) {
		memcpy(copy, s, len);
		copy[len] = '\0';
	}
	return copy;
}

void yaml_stream_free(struct yaml_stream *stream)
{
	while (stream->arena) {
		struct yaml_arena *next = stream->arena->next;
		free(stream->arena);
		stream->arena = next;
	}
	free(stream->documents);
	free(stream->lines);
	memset(stream, 0, sizeof *stream);
}

static void stream_error(struct yaml_stream *stream, unsigned line, const char *fmt, unsigned limit)
{
	stream->error_line = line ? line : 1;
	snprintf(stream->error, sizeof stream->error, fmt, limit);
}

/* Counts the lines before byte OFFSET (reader errors give an offset, not a mark). */
static unsigned line_of_offset(const char *text, size_t len, size_t offset)
{
	unsigned line = 1;

	for (size_t i = 0; i < offset && i < len; i++)
		if (text[i] == '\n')
			line++;
	return line;
}

static void syntax_error(const yaml_parser_t *parser, const char *text, size_t len,
			 struct yaml_stream *stream)
{
	const char *problem = parser->problem ? parser->problem : "unknown error";

	if (parser->error == YAML_MEMORY_ERROR) {
		stream_error(stream, 1, "out of memory", 0);
	} else if (parser->error == YAML_READER_ERROR) {
		stream->error_line = line_of_offset(text, len, parser->problem_offset);
		snprintf(stream->error, sizeof stream->error, "YAML syntax error: %s (byte %d)",
			 problem, parser->problem_value);
	} else if (parser->context) {
		stream->error_line = (unsigned)parser->problem_mark.line + 1;
		snprintf(stream->error, sizeof stream->error, "YAML syntax error: %s (%s on line %u)",
			 problem, parser->context, (unsigned)parser->context_mark.line + 1);
	} else {
		stream->error_line = (unsigned)parser->problem_mark.line + 1;
		snprintf(stream->error, sizeof stream->error, "YAML syntax error: %s", problem);
	}
}

/* ITEMS, an array of *CAP items of SIZE bytes, with room for item COUNT: doubled when full, so
 * that filling it costs linear time. NULL: out of memory (ITEMS is still allocated). */
static void *room_for(void *items, size_t *cap, size_t count, size_t size)
{
	size_t more = *cap ? *cap * 2 : 4;
	void *grown;

	if (count < *cap)
		return items;
	grown = realloc(items, more * size);
	if (grown)
		*cap = more;
	return grown;
}

static int add_document(struct yaml_stream *stream, struct ynode *root, unsigned line)
{
	size_t cap = stream->cap;
	struct ynode **documents = room_for(stream->documents, &cap, stream->count,
					    sizeof *documents);
	unsigned *lines;

	if (!documents)
		return -1;
	stream->documents = documents;
	cap = stream->cap;
	lines = room_for(stream->lines, &cap, stream->count, sizeof *lines);
	if (!lines)
		return -1;
	stream->lines = lines;
	stream->cap = cap;
	stream->documents[stream->count] = root;
	stream->lines[stream->count] = line;
	stream->count++;
	return 0;
}

/* Makes a node for EVENT and links it under the innermost open collection. NULL: out of
 * memory or a limit (then stream->error_line is set). */
static struct ynode *add_node(struct builder *b, enum ynode_type type, const yaml_event_t *event,
			      const yaml_char_t *anchor, const yaml_char_t *tag)
{
	struct ynode *node, *parent, **items;

	if (++b->nodes > CONFIG_NODES_MAX) {
		stream_error(b->stream, (unsigned)event->start_mark.line + 1,
			     "more than %u YAML nodes", CONFIG_NODES_MAX);
		return NULL;
	}
	node = arena_alloc(b->stream, sizeof *node);
	if (!node)
		return NULL;
	*node = (struct ynode){ .type = type, .line = (unsigned)event->start_mark.line + 1,
				.anchored = anchor != NULL };
	if (tag && !(node->tag = arena_strndup(b->stream, (const char *)tag, strlen((const char *)tag))))
		return NULL;
	if (b->depth == 0) {
		b->root = node;
		return node;
	}
	parent = b->open[b->depth - 1];
	if (parent->count == parent->cap) {   /* double it: the old array stays in the arena */
		size_t cap = parent->cap ? parent->cap * 2 : 4;
		if (!(items = arena_alloc(b->stream, cap * sizeof *items)))
			return NULL;
		if (parent->count)
			memcpy(items, parent->items, parent->count * sizeof *items);
		parent->items = items;
		parent->cap = cap;
	}
	parent->items[parent->count++] = node;
	return node;
}

static int add_scalar(struct builder *b, const yaml_event_t *event)
{
	const size_t len = event->data.scalar.length;
	struct ynode *node;

	if (len > CONFIG_SCALAR_MAX) {
		stream_error(b->stream, (unsigned)event->start_mark.line + 1,
			     "scalar longer than %u bytes", CONFIG_SCALAR_MAX);
		return 1;
	}
	node = add_node(b, YNODE_SCALAR, event, event->data.scalar.anchor, event->data.scalar.tag);
	if (!node)
		return b->stream->error_line ? 1 : -1;
	node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	node->len = len;
	node->value = arena_strndup(b->stream, (const char *)event->data.scalar.value, len);
	return node->value ? 0 : -1;
}

static int add_alias(struct builder *b, const yaml_event_t *event)
{
	struct ynode *node = add_node(b, YNODE_INVALID, event, NULL, NULL);
	char reason[128];

	if (!node)
		return b->stream->error_line ? 1 : -1;
	snprintf(reason, sizeof reason, "YAML aliases are not supported (*%.64s)",
		 (const char *)event->data.alias.anchor);
	node->value = arena_strndup(b->stream, reason, strlen(reason));
	return node->value ? 0 : -1;
}

static int open_collection(struct builder *b, enum ynode_type type, const yaml_event_t *event)
{
	const yaml_char_t *anchor, *tag;
	struct ynode *node;

	if (b->depth == CONFIG_DEPTH_MAX) {
		stream_error(b->stream, (unsigned)event->start_mark.line + 1,
			     "YAML nested deeper than %u levels", CONFIG_DEPTH_MAX);
		return 1;
	}
	if (type == YNODE_MAPPING) {
		anchor = event->data.mapping_start.anchor;
		tag = event->data.mapping_start.tag;
	} else {
		anchor = event->data.sequence_start.anchor;
		tag = event->data.sequence_start.tag;
	}
	node = add_node(b, type, event, anchor, tag);
	if (!node)
		return b->stream->error_line ? 1 : -1;
	b->open[b->depth++] = node;
	return 0;
}

/* One event into the tree. 0: go on; 1: stream ended or stopped at a limit; -1: no memory. */
static int handle_event(struct builder *b, const yaml_event_t *event)
{
	switch (event->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (b->stream->count == CONFIG_DOCUMENTS_MAX) {
			stream_error(b->stream, (unsigned)event->start_mark.line + 1,
				     "more than %u YAML documents", CONFIG_DOCUMENTS_MAX);
			return 1;
		}
		b->document_line = (unsigned)event->start_mark.line + 1;
		b->root = NULL;
		b->depth = 0;
		return 0;
	case YAML_DOCUMENT_END_EVENT:
		if (add_document(b->stream, b->root, b->document_line) < 0)
			return -1;
		b->root = NULL;
		return 0;
	case YAML_SCALAR_EVENT:
		return add_scalar(b, event);
	case YAML_ALIAS_EVENT:
		return add_alias(b, event);
	case YAML_MAPPING_START_EVENT:
		return open_collection(b, YNODE_MAPPING, event);
	case YAML_SEQUENCE_START_EVENT:
		return open_collection(b, YNODE_SEQUENCE, event);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (b->depth > 0)
			b->depth--;
		return 0;
	case YAML_STREAM_END_EVENT:
		return 1;
	default:
		return 0;
	}
}

int yaml_stream_read(const char *text, size_t len, struct yaml_stream *stream)
{
	struct builder b = { .stream = stream };
	yaml_parser_t parser;
	yaml_event_t event;
	int rc = 0;

	memset(stream, 0, sizeof *stream);
	if (!yaml_parser_initialize(&parser))
		return -1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (rc == 0) {
		if (!yaml_parser_parse(&parser, &event)) {
			if (parser.error == YAML_MEMORY_ERROR)
				rc = -1;
			else
				syntax_error(&parser, text, len, stream);
			break;
		}
		rc = handle_event(&b, &event);
		yaml_event_delete(&event);
	}
	/* A document cut short by an error stays in the arena, unreachable. */
	yaml_parser_delete(&parser);
	if (rc < 0) {
		yaml_stream_free(stream);
		return -1;
	}
	return 0;
}

const struct ynode *ynode_mapping_get(const struct ynode *map, const char *key)
{
	if (!map || map->type != YNODE_MAPPING)
		return NULL;
	for (size_t i = 0; i + 1 < map->count; i += 2) {
		const struct ynode *k = map->items[i];
		if (k->type == YNODE_SCALAR && strlen(key) == k->len && memcmp(k->value, key, k->len) == 0)
			return map->items[i + 1];
	}
	return NULL;
}

bool ynode_is_null(const struct ynode *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (node->type != YNODE_SCALAR || !node->plain)
		return false;
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (strcmp(node->value, nulls[i]) == 0 && node->len == strlen(nulls[i]))
			return true;
	return false;
}
