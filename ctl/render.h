/* render.h - how the network commands print what the nodes said: aligned tables with a NODE
 * column, or one JSON / YAML document {"nodes": {NODE: REPLY, ...}} (plus "errors": {NODE:
 * REASON} when some failed, which also go to stderr). */
#ifndef CAIRN_CTL_RENDER_H
#define CAIRN_CTL_RENDER_H

#include <stdio.h>

#include <jansson.h>

#include "ctl.h"
#include "net.h"

/* A table is a JSON array of rows, each an array of strings; the first row is the header. */
json_t *table_new(const char *const *header);   /* header: NULL-terminated */
/* Appends a row of COUNT malloc()ed cells (taken; NULL cells print as "-"). */
void table_add(json_t *table, char **cells, size_t count);
/* Prints the columns aligned, each line starting with PREFIX (NULL: none). */
void table_print(FILE *stream, const json_t *table, const char *prefix);

/* A value as a table cell: strings as they are, numbers, true/false, "-" for null and
 * empty lists, lists of scalars joined by ",", anything else as compact JSON. malloc()ed. */
char *value_text(const json_t *value);

/* The columns of a table of ITEMS (objects): the keys of PREFERRED (NULL-terminated, may be
 * NULL) that some item has, in that order, then every other key whose values are scalars or
 * lists of scalars, in the order first seen. A new array of strings. */
json_t *item_columns(const json_t *items, const char *const *preferred);
/* The columns of a table of ITEMS of a resource KIND: item_columns() with the kind's own
 * order first (links, addresses, routes, services, hostname, time, resolvers, dhcp, modules,
 * sysctls, vms; for vms those columns alone: -o json has the rest), without "id" where it
 * only repeats other columns; with no items, the kind's usual columns. A new array of
 * strings. */
json_t *kind_columns(const char *kind, const json_t *items);
/* Appends a row per item of ITEMS under COLUMNS, after a NODE cell when NODE is not NULL. */
void table_add_items(json_t *table, const char *node, const json_t *items,
		     const json_t *columns);
/* A header row "NODE" (when WITH_NODE) then COLUMNS upper-cased. */
json_t *table_new_columns(const json_t *columns, bool with_node);

/* Prints VALUE as JSON (indented) or YAML on stdout. -1 when out of memory (printed). */
int print_structured(enum ctl_output output, const json_t *value, const char *command);
/* {"nodes": {NODE: REPLY, ...}, "errors": {NODE: REASON, ...}} from the results ("errors"
 * only when some failed). A new reference. */
json_t *results_document(const struct net_target *target, const struct net_result *results);
/* The replies that are objects as a table on stdout: NODE, then their scalar fields
 * (PREFERRED first); nothing when no node answered. */
void print_reply_table(const struct net_target *target, const struct net_result *results,
		       const char *const *preferred);
/* A net_render_fn for replies that are one object each: a table NODE, then the replies'
 * scalar fields (PREFERRED, a NULL-terminated const char *const *, first), or the
 * results_document() as JSON / YAML. */
void render_replies(struct ctl_globals *globals, const struct net_target *target,
		    struct net_result *results, void *preferred);

#endif
