/* yaml_json.h - YAML to JSON and back, for patches and generated files. Reading uses
 * lib/config's YAML tree with the same typing rules as config_decode() (plain decimal
 * integers, true/false, null/~/empty; everything else a string; no anchors, aliases or
 * tags), so that a value means the same after a round trip through JSON. Writing uses
 * libyaml's emitter and quotes any string that would read back as another type. */
#ifndef CAIRN_CTL_YAML_JSON_H
#define CAIRN_CTL_YAML_JSON_H

#include <stddef.h>

#include <jansson.h>

#define YAML_JSON_ERROR_MAX 512

/* Reads the one YAML document of TEXT (LEN bytes). 0: *OUT is the value and, when LINES is
 * not NULL, *LINES an object mapping every path in lib/config's form (".spec.mtu",
 * ".a[0]", ".sysctls[\"vm.x\"]") to its line. -1: ERR holds "NAME:LINE: REASON". */
int yaml_to_json(const char *name, const char *text, size_t len, json_t **out,
		 json_t **lines, char err[YAML_JSON_ERROR_MAX]);

/* VALUE as a YAML document: block style, flow style for lists of scalars, literal blocks
 * for multi-line strings. HEADER (NULL: none) is put first as is (comment lines). A
 * malloc()ed string, or NULL when out of memory. */
char *json_to_yaml(const json_t *value, const char *header);

/* Applies the JSON merge patch PATCH (RFC 7386) to TARGET and returns the result (a new
 * reference; TARGET is consumed: it may be modified and returned). NULL: out of memory. */
json_t *json_merge_patch(json_t *target, const json_t *patch);

#endif
