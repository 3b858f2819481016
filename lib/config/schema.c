/* schema.c - the schema tables of every config kind, and the kinds table. Each object is a
 * field table (name, schema, required); each schema names its type, validator and children.
 * Adding a kind (Network, Volume) means adding its tables here and one line to config_kinds[].
 * README.md documents the same fields for operators. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "schema.h"

/* ---- shared scalars ---- */

static const struct config_schema string_object_name;

static const struct config_schema string_ip = {
	.type = CONFIG_STRING, .what = "an IP address", .validator = config_valid_ip };
static const struct config_schema string_cidr = {
	.type = CONFIG_STRING, .what = "a CIDR", .validator = config_valid_cidr };
static const struct config_schema string_route_to = {
	.type = CONFIG_STRING, .what = "a CIDR or \"default\"",
	.validator = config_valid_route_destination };
static const struct config_schema string_hostname = {
	.type = CONFIG_STRING, .what = "a hostname", .validator = config_valid_hostname };
static const struct config_schema string_host_or_ip = {
	.type = CONFIG_STRING, .what = "a hostname or IP address",
	.validator = config_valid_host_or_ip };
static const struct config_schema string_san = {
	.type = CONFIG_STRING, .what = "a DNS name or IP address", .validator = config_valid_san };
static const struct config_schema string_mac = {
	.type = CONFIG_STRING, .what = "a MAC address", .validator = config_valid_mac };
static const struct config_schema string_interface = {
	.type = CONFIG_STRING, .what = "an interface name",
	.validator = config_valid_interface_name };
static const struct config_schema string_certificate = {
	.type = CONFIG_STRING, .what = "a PEM certificate",
	.validator = config_valid_pem_certificate };
static const struct config_schema string_private_key = {
	.type = CONFIG_STRING, .what = "a PEM private key",
	.validator = config_valid_pem_private_key, .secret = true };
static const struct config_schema boolean = { .type = CONFIG_BOOL };
static const struct config_schema int_mtu = { .type = CONFIG_INT, .min = 68, .max = 65535 };
static const struct config_schema int_vlan = { .type = CONFIG_INT, .min = 1, .max = 4094 };
static const struct config_schema int_metric = {
	.type = CONFIG_INT, .min = 0, .max = 4294967295LL };

static const struct config_schema list_cidr = {
	.type = CONFIG_LIST, .items = &string_cidr, .unique_items = true, .max_items = 256 };

/* ---- MachineConfig .spec.network ---- */

/* A route's gateway must be of the destination's family. */
static void check_route(struct config_decoder *decoder, const struct ynode *node, json_t *route)
{
	const char *to = json_string_value(json_object_get(route, "to"));
	const char *via = json_string_value(json_object_get(route, "via"));
	const struct ynode *via_node = ynode_mapping_get(node, "via");

	if (!to || !via || !via_node || config_address_family(to) == 0 ||
	    config_address_family(to) == config_address_family(via))
		return;
	config_decoder_error(decoder, via_node->line, "via", "\"%s\" is IPv%d but .to \"%s\" is IPv%d",
			     via, config_address_family(via), to, config_address_family(to));
}

static const struct config_field route_fields[] = {
	{ "to", &string_route_to, true },
	{ "via", &string_ip, false },
	{ "metric", &int_metric, false },
	{ NULL, NULL, false },
};
static const struct config_schema route = {
	.type = CONFIG_OBJECT, .fields = route_fields, .check = check_route };
static const struct config_schema list_route = {
	.type = CONFIG_LIST, .items = &route, .max_items = 256 };

static const struct config_field vlan_fields[] = {
	{ "id", &int_vlan, true },
	{ "addresses", &list_cidr, false },
	{ "dhcp", &boolean, false },
	{ "mtu", &int_mtu, false },
	{ NULL, NULL, false },
};
static const struct config_schema vlan = { .type = CONFIG_OBJECT, .fields = vlan_fields };
static const char *const vlan_unique[] = { "id", NULL };
static const struct config_schema list_vlan = {
	.type = CONFIG_LIST, .items = &vlan, .unique_keys = vlan_unique, .max_items = 4094 };

static const char *const interface_match[] = { "name", "mac", NULL };
static const struct config_field interface_fields[] = {
	{ "name", &string_interface, false },
	{ "mac", &string_mac, false },
	{ "dhcp", &boolean, false },
	{ "addresses", &list_cidr, false },
	{ "routes", &list_route, false },
	{ "mtu", &int_mtu, false },
	{ "vlans", &list_vlan, false },
	{ NULL, NULL, false },
};
static const struct config_schema interface = {
	.type = CONFIG_OBJECT, .fields = interface_fields, .exactly_one_of = interface_match };
static const char *const interface_unique[] = { "name", "mac", NULL };
static const struct config_schema list_interface = {
	.type = CONFIG_LIST, .items = &interface, .unique_keys = interface_unique, .max_items = 256 };

static const struct config_schema list_nameserver = {
	.type = CONFIG_LIST, .items = &string_ip, .unique_items = true, .max_items = 3 };

static const struct config_field network_fields[] = {
	{ "interfaces", &list_interface, false },
	{ "nameservers", &list_nameserver, false },
	{ NULL, NULL, false },
};
static const struct config_schema network = { .type = CONFIG_OBJECT, .fields = network_fields };

/* ---- MachineConfig .spec, the rest ---- */

static const struct config_schema list_time_server = {
	.type = CONFIG_LIST, .items = &string_host_or_ip, .unique_items = true, .max_items = 16 };
static const struct config_field time_fields[] = {
	{ "servers", &list_time_server, false },
	{ NULL, NULL, false },
};
static const struct config_schema time_settings = { .type = CONFIG_OBJECT, .fields = time_fields };

static const struct config_schema string_module_name = {
	.type = CONFIG_STRING, .what = "a module name", .validator = config_valid_module_name };
static const struct config_schema string_module_parameter = {
	.type = CONFIG_STRING, .what = "a module parameter",
	.validator = config_valid_module_parameter };
static const struct config_schema list_module_parameter = {
	.type = CONFIG_LIST, .items = &string_module_parameter, .max_items = 64 };
static const struct config_field module_fields[] = {
	{ "name", &string_module_name, true },
	{ "parameters", &list_module_parameter, false },
	{ NULL, NULL, false },
};
static const struct config_schema module = { .type = CONFIG_OBJECT, .fields = module_fields };
static const char *const module_unique[] = { "name", NULL };
static const struct config_schema list_module = {
	.type = CONFIG_LIST, .items = &module, .unique_keys = module_unique, .max_items = 256 };
static const struct config_field kernel_fields[] = {
	{ "modules", &list_module, false },
	{ NULL, NULL, false },
};
static const struct config_schema kernel = { .type = CONFIG_OBJECT, .fields = kernel_fields };

static const struct config_schema string_sysctl_value = {
	.type = CONFIG_STRING, .what = "a sysctl value", .validator = config_valid_sysctl_value };
static const struct config_schema sysctls = {
	.type = CONFIG_MAP, .items = &string_sysctl_value,
	.key_validator = config_valid_sysctl_name, .max_items = 1024 };

static const struct config_schema list_san = {
	.type = CONFIG_LIST, .items = &string_san, .unique_items = true, .max_items = 64 };
static const struct config_field api_fields[] = {
	{ "certSANs", &list_san, false },
	{ NULL, NULL, false },
};
static const struct config_schema api = { .type = CONFIG_OBJECT, .fields = api_fields };

static const struct config_field identity_fields[] = {
	{ "ca", &string_certificate, true },
	{ "cert", &string_certificate, true },
	{ "key", &string_private_key, true },
	{ NULL, NULL, false },
};
static const struct config_schema identity = { .type = CONFIG_OBJECT, .fields = identity_fields };

static const struct config_schema string_disk = {
	.type = CONFIG_STRING, .what = "a device path", .validator = config_valid_device_path };
static const struct config_schema string_image = {
	.type = CONFIG_STRING, .what = "an image reference", .validator = config_valid_image };
static const struct config_field install_fields[] = {
	{ "disk", &string_disk, true },
	{ "image", &string_image, false },
	{ "wipe", &boolean, false },
	{ NULL, NULL, false },
};
static const struct config_schema install = { .type = CONFIG_OBJECT, .fields = install_fields };

static bool valid_role(const char *value, struct config_check *check)
{
	if (strcmp(value, "controlplane") == 0 || strcmp(value, "worker") == 0)
		return true;
	snprintf(check->reason, sizeof check->reason, "is not a role (controlplane or worker)");
	return false;
}
static const struct config_schema string_role = {
	.type = CONFIG_STRING, .what = "a role", .validator = valid_role };

/* .spec.ovn: the node's part in OVN (services/ovn/). A node that is not central names the
 * central one's address. */
static void check_ovn(struct config_decoder *decoder, const struct ynode *node, json_t *ovn)
{
	const json_t *mappings = json_object_get(ovn, "bridgeMappings");
	const char *bridge, *name;
	const json_t *nic, *mapped;

	if (!json_is_true(json_object_get(ovn, "central")) && !json_object_get(ovn, "centralAddress"))
		config_decoder_error(decoder, node->line, "centralAddress",
				     "is required when central is not true");
	/* a bridge port goes into a bridge Cairn makes: one named in bridgeMappings */
	json_object_foreach(json_object_get(ovn, "bridgePorts"), bridge, nic) {
		bool found = false;
		json_object_foreach((json_t *)mappings, name, mapped)
			found = found || (json_string_value(mapped) &&
					   strcmp(json_string_value(mapped), bridge) == 0);
		if (!found) {
			const struct ynode *ports = node->type == YNODE_MAPPING ?
				ynode_mapping_get(node, "bridgePorts") : NULL;
			const struct ynode *at = ports && ports->type == YNODE_MAPPING ?
				ynode_mapping_get(ports, bridge) : NULL;
			char field[96];
			snprintf(field, sizeof field, "bridgePorts.%.60s", bridge);
			config_decoder_error(decoder, at ? at->line : node->line, field,
					     "bridge %s is not a bridge of bridgeMappings", bridge);
		}
	}
}
static const struct config_schema ovn_ipv4 = {
	.type = CONFIG_STRING, .what = "an IPv4 address", .validator = config_valid_ipv4 };
static const struct config_schema ovn_bridge_mappings = {
	.type = CONFIG_MAP, .items = &string_interface,
	.key_validator = config_valid_physical_network, .max_items = 16 };
static const struct config_schema ovn_bridge_ports = {
	.type = CONFIG_MAP, .items = &string_interface,
	.key_validator = config_valid_interface_name, .max_items = 16 };
static const struct config_field ovn_fields[] = {
	{ "central", &boolean, false },
	{ "address", &ovn_ipv4, true },
	{ "centralAddress", &ovn_ipv4, false },
	{ "bridgeMappings", &ovn_bridge_mappings, false },
	{ "bridgePorts", &ovn_bridge_ports, false },
	{ "gateway", &boolean, false },
	{ NULL, NULL, false },
};
static const struct config_schema ovn = {
	.type = CONFIG_OBJECT, .fields = ovn_fields, .check = check_ovn };

static const struct config_field machine_spec_fields[] = {
	{ "hostname", &string_hostname, false },
	{ "role", &string_role, true },
	{ "install", &install, false },
	{ "network", &network, false },
	{ "time", &time_settings, false },
	{ "kernel", &kernel, false },
	{ "sysctls", &sysctls, false },
	{ "api", &api, false },
	{ "identity", &identity, false },
	{ "ovn", &ovn, false },
	{ "storage", &config_storage_schema, false },
	{ "kubernetes", &config_kubernetes_schema, false },
	{ NULL, NULL, false },
};
static void check_machine(struct config_decoder *decoder, const struct ynode *node, json_t *spec)
{
	config_check_machine_storage(decoder, node, spec);
	config_check_machine_kubernetes(decoder, node, spec);
}
static const struct config_schema machine_spec = {
	.type = CONFIG_OBJECT, .fields = machine_spec_fields, .check = check_machine };

/* ---- documents ---- */

static const struct config_schema string_api_version = {
	.type = CONFIG_STRING, .what = "an apiVersion", .validator = config_valid_api_version };
static const struct config_schema string_kind = { .type = CONFIG_STRING, .what = "a kind" };
static const struct config_schema string_object_name = {
	.type = CONFIG_STRING, .what = "a name", .validator = config_valid_object_name };
static const struct config_field metadata_fields[] = {
	{ "name", &string_object_name, false },
	{ NULL, NULL, false },
};
static const struct config_schema metadata = { .type = CONFIG_OBJECT, .fields = metadata_fields };

/* Every document has these four keys; only the spec differs by kind. */
#define CONFIG_DOCUMENT_FIELDS(spec) \
	{ "apiVersion", &string_api_version, true }, \
	{ "kind", &string_kind, true }, \
	{ "metadata", &metadata, false }, \
	{ "spec", (spec), true }, \
	{ NULL, NULL, false }

static const struct config_field machine_config_fields[] = {
	CONFIG_DOCUMENT_FIELDS(&machine_spec) };
static const struct config_schema machine_config = {
	.type = CONFIG_OBJECT, .fields = machine_config_fields };

/* ---- VirtualMachine ---- */

static const struct config_schema string_node = {
	.type = CONFIG_STRING, .what = "a node name", .validator = config_valid_node_name };
static const struct config_schema int_cpus = {
	.type = CONFIG_INT, .min = 1, .max = 64, .default_yaml = "1" };
static const struct config_schema string_memory = {
	.type = CONFIG_STRING, .what = "a size", .validator = config_valid_memory, .with_mib = true };
static const struct config_schema string_path = {
	.type = CONFIG_STRING, .what = "an absolute path", .validator = config_valid_absolute_path };
static const struct config_schema string_cmdline = {
	.type = CONFIG_STRING, .what = "a kernel command line",
	.validator = config_valid_kernel_cmdline };
static const struct config_schema string_disk_name = {
	.type = CONFIG_STRING, .what = "a disk name", .validator = config_valid_disk_name };

/* initrd and cmdline go with a kernel; with boot.disk the disk's boot loader has its own. */
static void check_boot(struct config_decoder *decoder, const struct ynode *node, json_t *boot)
{
	static const char *const kernel_only[] = { "initrd", "cmdline", NULL };

	(void)boot;
	if (!ynode_mapping_get(node, "disk") || ynode_mapping_get(node, "kernel"))
		return;
	for (size_t i = 0; kernel_only[i]; i++) {
		const struct ynode *value = ynode_mapping_get(node, kernel_only[i]);
		if (value)
			config_decoder_error(decoder, value->line, kernel_only[i],
					     "goes with 'kernel'; this VM boots from 'disk'");
	}
}

static const char *const boot_source[] = { "kernel", "disk", NULL };
static const struct config_field boot_fields[] = {
	{ "kernel", &string_path, false },
	{ "initrd", &string_path, false },
	{ "cmdline", &string_cmdline, false },
	{ "disk", &string_disk_name, false },
	{ NULL, NULL, false },
};
static const struct config_schema boot = {
	.type = CONFIG_OBJECT, .fields = boot_fields, .exactly_one_of = boot_source,
	.check = check_boot };

static bool valid_disk_format(const char *value, struct config_check *check)
{
	if (strcmp(value, "qcow2") == 0 || strcmp(value, "raw") == 0)
		return true;
	snprintf(check->reason, sizeof check->reason, "is not a disk format (qcow2 or raw)");
	return false;
}
static const struct config_schema string_disk_format = {
	.type = CONFIG_STRING, .what = "a disk format", .validator = valid_disk_format,
	.default_yaml = "qcow2" };
static const struct config_schema string_disk_size = {
	.type = CONFIG_STRING, .what = "a size", .validator = config_valid_disk_size, .with_mib = true };

/* A disk on a Volume is the DRBD device: it has no file, so no format. */
static void check_disk(struct config_decoder *decoder, const struct ynode *node, json_t *disk)
{
	const struct ynode *format = ynode_mapping_get(node, "format");

	if (!json_object_get(disk, "volume"))
		return;
	if (format)
		config_decoder_error(decoder, format->line, "format", "goes with 'size' or 'image'; "
				     "a disk on a 'volume' is its block device");
	json_object_del(disk, "format");
}

static const char *const disk_source[] = { "size", "image", "volume", NULL };
static const struct config_field disk_fields[] = {
	{ "name", &string_disk_name, true },
	{ "size", &string_disk_size, false },
	{ "image", &string_path, false },
	{ "volume", &string_disk_name, false },
	{ "format", &string_disk_format, false },
	{ NULL, NULL, false },
};
static const struct config_schema disk = {
	.type = CONFIG_OBJECT, .fields = disk_fields, .exactly_one_of = disk_source,
	.check = check_disk };
static const char *const disk_unique[] = { "name", NULL };
static const struct config_schema list_disk = {
	.type = CONFIG_LIST, .items = &disk, .unique_keys = disk_unique, .max_items = 16 };

static const struct config_schema string_nic_mac = {
	.type = CONFIG_STRING, .what = "a MAC address", .validator = config_valid_unicast_mac };
static const struct config_schema string_ipv4 = {
	.type = CONFIG_STRING, .what = "an IPv4 address", .validator = config_valid_ipv4 };

/* A static address goes with a Network (whether it lies in that Network's CIDR is checked
 * across documents, config_check_networks()). */
static void check_nic(struct config_decoder *decoder, const struct ynode *node, json_t *nic)
{
	const struct ynode *ip = ynode_mapping_get(node, "ip");

	if (ip && ynode_mapping_get(node, "bridge") && !json_object_get(nic, "network"))
		config_decoder_error(decoder, ip->line, "ip", "goes with 'network'; a NIC on a "
				     "'bridge' gets its address inside the guest");
}

static const char *const nic_attachment[] = { "bridge", "network", NULL };
static const struct config_field nic_fields[] = {
	{ "bridge", &string_interface, false },
	{ "network", &string_object_name, false },
	{ "mac", &string_nic_mac, false },
	{ "ip", &string_ipv4, false },
	{ NULL, NULL, false },
};
static const struct config_schema nic = {
	.type = CONFIG_OBJECT, .fields = nic_fields, .exactly_one_of = nic_attachment,
	.check = check_nic };
static const char *const nic_unique[] = { "mac", NULL };
static const struct config_schema list_nic = {
	.type = CONFIG_LIST, .items = &nic, .unique_keys = nic_unique, .max_items = 16 };

static bool valid_restart_policy(const char *value, struct config_check *check)
{
	if (strcmp(value, "always") == 0 || strcmp(value, "on-failure") == 0 ||
	    strcmp(value, "never") == 0)
		return true;
	snprintf(check->reason, sizeof check->reason,
		 "is not a restart policy (always, on-failure or never)");
	return false;
}
static const struct config_schema string_restart_policy = {
	.type = CONFIG_STRING, .what = "a restart policy", .validator = valid_restart_policy,
	.default_yaml = "always" };
static const struct config_schema boolean_true = { .type = CONFIG_BOOL, .default_yaml = "true" };
static const struct config_schema boolean_false = { .type = CONFIG_BOOL, .default_yaml = "false" };

/* boot.disk names a disk of .disks (compared as written: disk names have one spelling). */
static void check_vm_spec(struct config_decoder *decoder, const struct ynode *node, json_t *spec)
{
	const struct ynode *boot_node = ynode_mapping_get(node, "boot");
	const struct ynode *wanted = boot_node && boot_node->type == YNODE_MAPPING ?
		ynode_mapping_get(boot_node, "disk") : NULL;
	const struct ynode *disks = ynode_mapping_get(node, "disks");
	const char *name = json_string_value(json_object_get(json_object_get(spec, "boot"), "disk"));

	if (!wanted || !name)
		return;
	for (size_t i = 0; disks && disks->type == YNODE_SEQUENCE && i < disks->count; i++) {
		const struct ynode *item = disks->items[i];
		const struct ynode *disk_name = item->type == YNODE_MAPPING ?
			ynode_mapping_get(item, "name") : NULL;
		if (disk_name && disk_name->type == YNODE_SCALAR && strcmp(disk_name->value, name) == 0)
			return;
	}
	config_decoder_error(decoder, wanted->line, "boot.disk", "\"%s\" is not the name of a disk "
			     "in .spec.disks", name);
}

static const struct config_field vm_spec_fields[] = {
	{ "node", &string_node, true },
	{ "cpus", &int_cpus, false },
	{ "memory", &string_memory, true },
	{ "boot", &boot, true },
	{ "disks", &list_disk, false },
	{ "nics", &list_nic, false },
	{ "running", &boolean_true, false },
	{ "restartPolicy", &string_restart_policy, false },
	{ "deleteDisksOnRemoval", &boolean_false, false },
	{ NULL, NULL, false },
};
static const struct config_schema vm_spec = {
	.type = CONFIG_OBJECT, .fields = vm_spec_fields, .check = check_vm_spec };

/* A VirtualMachine must be named: the name is its id on the node. */
static const struct config_field named_metadata_fields[] = {
	{ "name", &string_object_name, true },
	{ NULL, NULL, false },
};
static const struct config_schema named_metadata = {
	.type = CONFIG_OBJECT, .fields = named_metadata_fields };
static const struct config_field virtual_machine_fields[] = {
	{ "apiVersion", &string_api_version, true },
	{ "kind", &string_kind, true },
	{ "metadata", &named_metadata, true },
	{ "spec", &vm_spec, true },
	{ NULL, NULL, false },
};
static const struct config_schema virtual_machine = {
	.type = CONFIG_OBJECT, .fields = virtual_machine_fields };

/* ---- Network ---- */

/* Moves OBJECT's keys into the order of FIELDS (after a check added one at the end). */
static void order_keys(json_t *object, const struct config_field *fields)
{
	for (const struct config_field *f = fields; f->name; f++) {
		json_t *value = json_object_get(object, f->name);
		if (!value)
			continue;
		json_incref(value);
		json_object_del(object, f->name);
		json_object_set_new(object, f->name, value);
	}
}

/* The line of KEY in NODE's mapping, else NODE's. */
static unsigned line_of(const struct ynode *node, const char *key)
{
	const struct ynode *value = node && node->type == YNODE_MAPPING ?
		ynode_mapping_get(node, key) : NULL;

	return value ? value->line : node ? node->line : 0;
}

/* ADDRESS (text) is a host of NETWORK/PREFIX: inside it, not its network or broadcast address.
 * Reports FIELD's error at LINE and returns false otherwise. */
static bool check_host(struct config_decoder *decoder, unsigned line, const char *field,
		       const char *address, uint32_t network, unsigned prefix, const char *cidr)
{
	uint32_t mask = config_ipv4_mask(prefix), value;

	if (!address || !config_ipv4_parse(address, &value))
		return false;
	if ((value & mask) != network) {
		config_decoder_error(decoder, line, field, "\"%s\" is not inside %s", address, cidr);
		return false;
	}
	if (value == network || value == (network | ~mask)) {
		config_decoder_error(decoder, line, field, "\"%s\" is the %s address of %s, not a host",
				     address, value == network ? "network" : "broadcast", cidr);
		return false;
	}
	return true;
}

static void check_external(struct config_decoder *decoder, const struct ynode *node,
			   json_t *external)
{
	const char *cidr = json_string_value(json_object_get(external, "cidr"));
	const char *gateway = json_string_value(json_object_get(external, "gateway"));
	const char *address = json_string_value(json_object_get(external, "address"));
	uint32_t network;
	unsigned prefix;
	bool gateway_ok, address_ok;

	if (!cidr || !config_ipv4_cidr_parse(cidr, &network, &prefix))
		return;
	gateway_ok = check_host(decoder, line_of(node, "gateway"), "gateway", gateway, network,
				prefix, cidr);
	address_ok = check_host(decoder, line_of(node, "address"), "address", address, network,
				prefix, cidr);
	if (gateway_ok && address_ok && strcmp(gateway, address) == 0)
		config_decoder_error(decoder, line_of(node, "address"), "address",
				     "\"%s\" is also the gateway; the router needs an address of its own",
				     address);
}

static const struct config_schema string_ipv4_network = {
	.type = CONFIG_STRING, .what = "an IPv4 CIDR", .validator = config_valid_ipv4_network };
static const struct config_schema string_physical_network = {
	.type = CONFIG_STRING, .what = "a physical network name",
	.validator = config_valid_physical_network, .default_yaml = "external" };
static const struct config_field external_fields[] = {
	{ "cidr", &string_ipv4_network, true },
	{ "gateway", &string_ipv4, true },
	{ "address", &string_ipv4, true },
	{ "physicalNetwork", &string_physical_network, false },
	{ NULL, NULL, false },
};
static const struct config_schema external = {
	.type = CONFIG_OBJECT, .fields = external_fields, .check = check_external };

static const struct config_schema int_nic_index = {
	.type = CONFIG_INT, .min = 0, .max = 15, .default_yaml = "0" };
static const struct config_field floating_ip_fields[] = {
	{ "address", &string_ipv4, true },
	{ "vm", &string_object_name, true },
	{ "nic", &int_nic_index, false },
	{ NULL, NULL, false },
};
static const struct config_schema floating_ip = {
	.type = CONFIG_OBJECT, .fields = floating_ip_fields };
static const char *const floating_ip_unique[] = { "address", NULL };
static const struct config_schema list_floating_ip = {
	.type = CONFIG_LIST, .items = &floating_ip, .unique_keys = floating_ip_unique,
	.max_items = 256 };

static const struct config_field router_fields[] = {
	{ "name", &string_object_name, false },
	{ "external", &external, false },
	{ "floatingIPs", &list_floating_ip, false },
	{ NULL, NULL, false },
};
static const struct config_schema router = { .type = CONFIG_OBJECT, .fields = router_fields };

static const struct config_schema int_network_mtu = {
	.type = CONFIG_INT, .min = 576, .max = 9000, .default_yaml = "1442" };
static const struct config_schema string_ipv4_range = {
	.type = CONFIG_STRING, .what = "an IPv4 address or range",
	.validator = config_valid_ipv4_range };
static const struct config_schema list_reserved = {
	.type = CONFIG_LIST, .items = &string_ipv4_range, .unique_items = true, .max_items = 256 };
static const struct config_schema list_dns = {
	.type = CONFIG_LIST, .items = &string_ipv4, .unique_items = true, .max_items = 4 };

static const struct config_field network_spec_fields[] = {
	{ "cidr", &string_ipv4_network, true },
	{ "gateway", &string_ipv4, false },
	{ "mtu", &int_network_mtu, false },
	{ "dhcp", &boolean_true, false },
	{ "reserved", &list_reserved, false },
	{ "dns", &list_dns, false },
	{ "router", &router, false },
	{ NULL, NULL, false },
};

/* The gateway is a host of the CIDR (default: its first host); reserved addresses lie in the
 * CIDR. */
static void check_network_spec(struct config_decoder *decoder, const struct ynode *node,
			       json_t *spec)
{
	const char *cidr = json_string_value(json_object_get(spec, "cidr"));
	const char *gateway = json_string_value(json_object_get(spec, "gateway"));
	const json_t *reserved = json_object_get(spec, "reserved");
	const struct ynode *reserved_node = ynode_mapping_get(node, "reserved");
	uint32_t network, mask;
	unsigned prefix;

	if (!cidr || !config_ipv4_cidr_parse(cidr, &network, &prefix))
		return;
	mask = config_ipv4_mask(prefix);
	if (gateway)
		check_host(decoder, line_of(node, "gateway"), "gateway", gateway, network, prefix, cidr);
	else if (!ynode_mapping_get(node, "gateway")) {
		char first[16];
		config_ipv4_format(network + 1, first);
		json_object_set_new(spec, "gateway", json_string(first));
		order_keys(spec, network_spec_fields);
	}
	for (size_t i = 0; i < json_array_size(reserved); i++) {
		const char *item = json_string_value(json_array_get(reserved, i));
		const char *dash = strchr(item, '-');
		char first[16] = "";
		uint32_t a, b;
		if (dash && (size_t)(dash - item) < sizeof first) {
			memcpy(first, item, (size_t)(dash - item));
			first[dash - item] = '\0';
		}
		if (!config_ipv4_parse(dash ? first : item, &a) ||
		    !config_ipv4_parse(dash ? dash + 1 : item, &b))
			continue;
		if ((a & mask) != network || (b & mask) != network) {
			char field[32];
			unsigned line = reserved_node && reserved_node->type == YNODE_SEQUENCE &&
				i < reserved_node->count ? reserved_node->items[i]->line : node->line;
			snprintf(field, sizeof field, "reserved[%zu]", i);
			config_decoder_error(decoder, line, field, "\"%s\" is not inside %s", item, cidr);
		}
	}
}
static const struct config_schema network_spec = {
	.type = CONFIG_OBJECT, .fields = network_spec_fields, .check = check_network_spec };

static const struct config_field network_document_fields[] = {
	{ "apiVersion", &string_api_version, true },
	{ "kind", &string_kind, true },
	{ "metadata", &named_metadata, true },
	{ "spec", &network_spec, true },
	{ NULL, NULL, false },
};

/* router.name defaults to the Network's own name: a router of its own. */
static void check_network_document(struct config_decoder *decoder, const struct ynode *node,
				   json_t *document)
{
	const char *name = json_string_value(json_object_get(json_object_get(document, "metadata"),
							     "name"));
	json_t *router_value = json_object_get(json_object_get(document, "spec"), "router");

	(void)decoder;
	(void)node;
	if (!name || !json_is_object(router_value) || json_object_get(router_value, "name"))
		return;
	json_object_set_new(router_value, "name", json_string(name));
	order_keys(router_value, router_fields);
}
static const struct config_schema network_document = {
	.type = CONFIG_OBJECT, .fields = network_document_fields, .check = check_network_document };

const struct config_kind config_kinds[] = {
	{ "MachineConfig", &machine_config, true },
	{ "VirtualMachine", &virtual_machine, false },
	{ "Network", &network_document, false },
	{ "Volume", &config_volume_document, false },
	{ NULL, NULL, false },
};

const struct config_kind *config_kind_find(const char *name)
{
	for (const struct config_kind *kind = config_kinds; kind->name; kind++)
		if (strcmp(kind->name, name) == 0)
			return kind;
	return NULL;
}
