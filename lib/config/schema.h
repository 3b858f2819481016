/* schema.h - internal: the table-driven schema the decoder walks (one table per object: field
 * name, type, validator, required, children), the kinds table, and the value validators.
 * A new kind is a new set of tables plus one line in config_kinds[] (schema.c). */
#ifndef CAIRN_CONFIG_SCHEMA_H
#define CAIRN_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "yaml_tree.h"

enum config_type {
	CONFIG_STRING,   /* any scalar, kept as a string (plain 1 becomes "1") */
	CONFIG_INT,      /* a plain decimal integer in [min, max] */
	CONFIG_BOOL,     /* plain true or false */
	CONFIG_OBJECT,   /* a mapping with the keys listed in fields */
	CONFIG_LIST,     /* a sequence of items */
	CONFIG_MAP,      /* a mapping of free keys (checked by key_validator) to items */
};

/* A scalar validator: true when VALUE is good. It may write a normalized form to normal
 * (left empty: keep VALUE), and on failure a reason that follows the quoted value in the
 * message: "\"10.0.0.1/33\" <reason>". */
#define CONFIG_NORMAL_MAX 256
struct config_check {
	char normal[CONFIG_NORMAL_MAX];
	char reason[192];
};
typedef bool (*config_validator)(const char *value, struct config_check *check);

struct config_decoder;
struct config_schema;

/* A cross-field check run on a decoded object (NODE is its mapping). */
typedef void (*config_object_check)(struct config_decoder *decoder, const struct ynode *node,
				    json_t *object);

struct config_field {
	const char *name;
	const struct config_schema *schema;
	bool required;
};

struct config_schema {
	enum config_type type;
	const char *what;                       /* for "expected ...": "an IP address" */
	config_validator validator;             /* string: the value */
	long long min, max;                     /* int: range */
	bool secret;                            /* never printed in errors or diffs */
	const struct config_field *fields;      /* object: NULL-name terminated */
	const char *const *exactly_one_of;      /* object: NULL-terminated key names */
	config_object_check check;              /* object: cross-field check */
	const struct config_schema *items;      /* list and map: the element */
	config_validator key_validator;         /* map: the keys */
	size_t max_items;                       /* list and map: 0 = no limit */
	const char *const *unique_keys;         /* list of objects: keys unique across items
						   (at most 4; not with unique_items) */
	bool unique_items;                      /* list of scalars: no repeated item */
	const char *default_yaml;               /* a plain YAML scalar decoded in place of an
						   absent key (NULL: the key stays absent) */
	bool with_mib;                          /* string size ("512Mi", "2Gi"): the decoded
						   object also gets KEY_mib, the size in MiB */
};

struct config_kind {
	const char *name;                       /* "MachineConfig" */
	const struct config_schema *document;   /* apiVersion, kind, metadata, spec */
	bool singleton;                         /* at most one per config */
};

extern const struct config_kind config_kinds[];   /* terminated by a NULL name */
const struct config_kind *config_kind_find(const char *name);

/* Reports an error at LINE about the current path (plus ".FIELD" when FIELD is not NULL). */
void config_decoder_error(struct config_decoder *decoder, unsigned line, const char *field,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* errors.c: appends one error (kept sorted by line when the decode ends). */
void config_errors_add(struct config_errors *errs, const char *name, unsigned line,
		       unsigned document, const char *kind, const char *path, const char *message);
void config_errors_sort(struct config_errors *errs);
/* True when no more errors are kept (each further one is only counted). */
bool config_errors_full(const struct config_errors *errs);
/* Counts N errors past CONFIG_ERRORS_MAX without making them. */
void config_errors_drop(struct config_errors *errs, size_t n);

/* Writes S (LEN bytes) quoted and escaped to BUF, cut to about 64 characters. */
void config_quote(char *buf, size_t size, const char *s, size_t len);

/* validators.c */
bool config_valid_ip(const char *value, struct config_check *check);
bool config_valid_cidr(const char *value, struct config_check *check);
bool config_valid_route_destination(const char *value, struct config_check *check);
bool config_valid_hostname(const char *value, struct config_check *check);
bool config_valid_host_or_ip(const char *value, struct config_check *check);
bool config_valid_san(const char *value, struct config_check *check);
bool config_valid_mac(const char *value, struct config_check *check);
bool config_valid_interface_name(const char *value, struct config_check *check);
bool config_valid_sysctl_name(const char *value, struct config_check *check);
bool config_valid_sysctl_value(const char *value, struct config_check *check);
bool config_valid_module_name(const char *value, struct config_check *check);
bool config_valid_module_parameter(const char *value, struct config_check *check);
bool config_valid_pem_certificate(const char *value, struct config_check *check);
bool config_valid_pem_private_key(const char *value, struct config_check *check);
bool config_valid_device_path(const char *value, struct config_check *check);
bool config_valid_image(const char *value, struct config_check *check);
bool config_valid_api_version(const char *value, struct config_check *check);
bool config_valid_object_name(const char *value, struct config_check *check);
bool config_valid_node_name(const char *value, struct config_check *check);
bool config_valid_memory(const char *value, struct config_check *check);
bool config_valid_disk_size(const char *value, struct config_check *check);
bool config_valid_absolute_path(const char *value, struct config_check *check);
bool config_valid_disk_name(const char *value, struct config_check *check);
bool config_valid_kernel_cmdline(const char *value, struct config_check *check);
bool config_valid_unicast_mac(const char *value, struct config_check *check);
bool config_valid_ipv4(const char *value, struct config_check *check);
bool config_valid_ipv4_network(const char *value, struct config_check *check);
bool config_valid_ipv4_range(const char *value, struct config_check *check);
bool config_valid_physical_network(const char *value, struct config_check *check);
/* IPv4 helpers (host byte order; a NULL value parses as nothing): parse an address; parse a CIDR into its address as written
 * and its prefix; the netmask of PREFIX; format into 16 bytes. */
bool config_ipv4_parse(const char *value, uint32_t *address);
bool config_ipv4_cidr_parse(const char *value, uint32_t *network, unsigned *prefix);
uint32_t config_ipv4_mask(unsigned prefix);
void config_ipv4_format(uint32_t address, char buf[16]);
/* The MiB of a size that passed config_valid_memory or config_valid_disk_size, else -1. */
long long config_size_mib(const char *value);
/* 4 or 6 for an address or CIDR (after validation), else 0. */
int config_address_family(const char *value);

bool config_valid_pem_public_key(const char *value, struct config_check *check);

/* kubernetes.c: MachineConfig's .spec.kubernetes (cluster secrets, addresses, pod ranges), and
 * its checks against the node's role. */
extern const struct config_schema config_kubernetes_schema;
void config_check_machine_kubernetes(struct config_decoder *decoder, const struct ynode *node,
				     json_t *spec);

/* storage.c: MachineConfig's .spec.storage (pools and the state volume). */
extern const struct config_schema config_storage_schema;
void config_check_machine_storage(struct config_decoder *decoder, const struct ynode *node,
				  json_t *spec);

/* storage.c: a pool name (1..32 of a-z 0-9 -). */
bool config_valid_pool_name(const char *value, struct config_check *check);

/* volumes.c: the Volume document, and the checks across Volume and VirtualMachine documents
 * (derived minor/port collisions, one address per node, VM disks on Volumes). */
extern const struct config_schema config_volume_document;
void config_check_volumes(const char *name, struct config_errors *errs, json_t *config,
			  const struct ynode *const *roots, const unsigned *index);

/* networks.c: the checks across Network and VirtualMachine documents (NIC networks, static
 * addresses, routers, floating IPs). ROOTS[i] is the YAML root of CONFIG's document i and
 * INDEX[i] its 1-based document number. */
void config_check_networks(const char *name, struct config_errors *errs, json_t *config,
			   const struct ynode *const *roots, const unsigned *index);

#endif
