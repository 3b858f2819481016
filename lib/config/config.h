/* config.h - Cairn configs: a strict decoder from multi-document YAML to a normalized jansson
 * tree, errors that name the document, the path and the line, and a path-level diff.
 *
 * A config is a YAML stream of documents, each with apiVersion cairn.dev/v1alpha1 and a kind
 * (MachineConfig, VirtualMachine, Network, Volume). The decoded config is a JSON array with one object per
 * non-empty document, in file order: {"apiVersion", "kind", "metadata"?, "spec"}. Values are
 * canonical: integers are JSON integers, booleans JSON booleans, keys in schema order,
 * hostnames and MACs lower case, IPv6 addresses in RFC 5952 form, sizes "NGi"/"NMi" with a
 * KEY_mib integer beside them; VirtualMachine defaults are filled in. README.md in this folder
 * is the reference of every field and of the VirtualMachine shape. */
#ifndef CAIRN_CONFIG_H
#define CAIRN_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#define CONFIG_API_VERSION "cairn.dev/v1alpha1"
#define CONFIG_TEXT_MAX (1024 * 1024)  /* largest config, bytes */
#define CONFIG_ERRORS_MAX 100          /* errors kept; more are only counted */
#define CONFIG_DOCUMENTS_MAX 10000     /* most YAML documents (empty ones too) in one config */
#define CONFIG_DEPTH_MAX 32            /* deepest YAML nesting */
#define CONFIG_NODES_MAX 100000        /* most YAML nodes in one config */
#define CONFIG_SCALAR_MAX 65536        /* longest scalar, bytes */

struct config_error {
	unsigned line;       /* 1-based YAML line, 0: none */
	unsigned document;   /* 1-based document index, 0: not about one document */
	char *kind;          /* the document's kind, NULL: not known */
	char *path;          /* ".spec.network.interfaces[1].mtu", NULL: not about a value */
	char *message;       /* the reason */
	char *text;          /* "NAME:LINE: document N (KIND): PATH: MESSAGE" */
};

struct config_errors {
	struct config_error *items;  /* sorted by line */
	size_t count, cap;
	size_t dropped;              /* errors past CONFIG_ERRORS_MAX, counted only */
};

/* Decodes the YAML TEXT of LEN bytes; NAME (a file name) starts every error line. ERRS is
 * reset first. 0: *OUT holds the decoded config (the caller json_decref()s it). -1: *OUT is
 * NULL and ERRS holds every error found (a YAML syntax error ends the search). ERRS must be
 * zeroed before its first use and freed with config_errors_free(). */
int config_decode(const char *name, const char *text, size_t len, json_t **out,
		  struct config_errors *errs);
/* Reads PATH (at most CONFIG_TEXT_MAX bytes) and decodes it, PATH naming the errors. */
int config_decode_file(const char *path, json_t **out, struct config_errors *errs);

/* Prints one line per error, then "... and N more errors" when some were dropped. */
void config_errors_print(FILE *stream, const struct config_errors *errs);
void config_errors_reset(struct config_errors *errs);
void config_errors_free(struct config_errors *errs);

/* The document of KIND whose metadata.name is NAME (NULL: the unnamed one, or the only one
 * of that kind) in a decoded CONFIG, or NULL. The reference is borrowed. */
const json_t *config_find(const json_t *config, const char *kind, const char *name);

/* The difference between two decoded configs, one line per changed path, documents matched
 * by kind and metadata.name:
 *   ~ MachineConfig .spec.hostname: "a" -> "b"
 *   + MachineConfig .spec.network.interfaces[1]: {"name":"eth1","dhcp":true}
 *   - MachineConfig/edge .spec.sysctls["vm.swappiness"]: "10"
 *   + Network/blue: {...}            (a whole document added)
 * Secret values (identity.key) print as "<redacted>". "" when equal; NULL when out of
 * memory. The caller free()s the result. */
char *config_diff(const json_t *old_config, const json_t *new_config);
/* The same for any two JSON values, paths from the root ("~ .spec.hostname: ..."), with no
 * schema (nothing redacted). */
char *config_diff_values(const json_t *old_value, const json_t *new_value);

/* A Volume's DRBD minor and TCP port, derived from its name (FNV-1a 32 of the name modulo
 * CONFIG_VOLUME_SLOTS, added to each base): the same on every node and in every config. Two
 * Volumes of one config with the same slot are refused by the decoder. */
#define CONFIG_VOLUME_SLOTS 24576u
#define CONFIG_VOLUME_MINOR_BASE 100u   /* minors 100..24675 */
#define CONFIG_VOLUME_PORT_BASE 7800u   /* ports 7800..32375, below Linux's ephemeral range */
unsigned config_volume_slot(const char *name);
unsigned config_volume_minor(const char *name);
unsigned config_volume_port(const char *name);

/* Writes S (LEN bytes) quoted and escaped to BUF, cut to about 64 characters: how the
 * errors above quote a key (public for tools that name paths the same way, ctl/yaml_json.c). */
void config_quote(char *buf, size_t size, const char *s, size_t len);

#endif
