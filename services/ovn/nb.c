/* nb.c - the OVN Northbound reconcile (nb.h): the config's Networks and VM NICs into desired
 * rows ("wants"), matched against the cache's Cairn-owned rows, then one transaction of the
 * differences: inserts for what is missing, updates of the managed columns that differ,
 * mutations that add or drop Cairn's references in reference columns (foreign references
 * stay), deletes of Cairn's root rows nothing wants. README.md lists the objects. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nb.h"

#define LEASE_TIME "3600"
/* ACL priorities (README.md): allow over drop, both in the band OVN leaves to users. */
#define ACL_ALLOW 1001
#define ACL_DROP 1000

static const char *const nb_tables[] = {
	"Logical_Switch", "Logical_Switch_Port", "DHCP_Options", "Port_Group", "ACL",
	"Logical_Router", "Logical_Router_Port", "NAT", "Logical_Router_Static_Route",
	"Gateway_Chassis",
};
#define NB_TABLES (sizeof nb_tables / sizeof nb_tables[0])

/* ---- names, MACs, hashes ---- */

static uint32_t fnv1a(const char *text, uint32_t hash)
{
	for (const char *p = text; *p; p++)
		hash = (hash ^ (unsigned char)*p) * 16777619u;
	return hash;
}

#define FNV_BASIS 2166136261u

void ovn_nb_port_name(const char *vm, size_t nic, char *buf, size_t size)
{
	snprintf(buf, size, "cairn_vm_%s_%zu", vm, nic);
}

void ovn_nb_nic_mac(const char *vm, const json_t *nic, size_t index, char mac[18])
{
	const char *given = json_string_value(json_object_get(nic, "mac"));
	uint32_t hash = (fnv1a(vm, FNV_BASIS) ^ (uint32_t)index) * 16777619u;

	if (given && strlen(given) == 17) {
		for (size_t i = 0; i < 17; i++)
			mac[i] = (char)(given[i] >= 'A' && given[i] <= 'F' ? given[i] + 32 : given[i]);
		mac[17] = '\0';
		return;
	}
	snprintf(mac, 18, "52:54:00:%02x:%02x:%02x", (hash >> 16) & 0xff, (hash >> 8) & 0xff,
		 hash & 0xff);
}

/* A router port's (or a DHCP server's) MAC: locally administered, from its name. */
static void object_mac(const char *name, char mac[18])
{
	uint32_t hash = fnv1a(name, FNV_BASIS);

	snprintf(mac, 18, "0a:ca:%02x:%02x:%02x:%02x", hash >> 24, (hash >> 16) & 0xff,
		 (hash >> 8) & 0xff, hash & 0xff);
}

/* Port group names are match identifiers ([A-Za-z_.][A-Za-z_.0-9]*): '-' becomes '_' (a
 * Network name has no '_', so two Networks never share one). */
static void port_group_name(const char *network, char *buf, size_t size)
{
	snprintf(buf, size, "cairn_net_%s", network);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
}

void ovn_nb_network_names(const char *network, char *ls, char *pg, size_t size)
{
	snprintf(ls, size, "cairn_net_%s", network);
	port_group_name(network, pg, size);
}

void ovn_nb_k8s_port(const char *node, char *name, size_t size, char mac[18])
{
	snprintf(name, size, "cairn_k8s_%s", node);
	object_mac(name, mac);
}

static bool ipv4_parse(const char *text, uint32_t *address)
{
	struct in_addr in;

	if (!text || inet_pton(AF_INET, text, &in) != 1)
		return false;
	*address = ntohl(in.s_addr);
	return true;
}

static void ipv4_format(uint32_t address, char buf[16])
{
	struct in_addr in = { .s_addr = htonl(address) };

	if (!inet_ntop(AF_INET, &in, buf, 16))
		buf[0] = '\0';
}

static bool cidr_parse(const char *text, uint32_t *network, unsigned *prefix)
{
	char address[20];
	const char *slash = text ? strchr(text, '/') : NULL;

	if (!slash || (size_t)(slash - text) >= sizeof address)
		return false;
	memcpy(address, text, (size_t)(slash - text));
	address[slash - text] = '\0';
	*prefix = (unsigned)atoi(slash + 1);
	return *prefix >= 1 && *prefix <= 30 && ipv4_parse(address, network);
}

static uint32_t mask_of(unsigned prefix)
{
	return 0xffffffffu << (32 - prefix);
}

/* ---- the result ---- */

static void problem(struct ovn_nb_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct ovn_nb_result *r, const char *fmt, ...)
{
	va_list ap;

	r->conflicts++;
	if (r->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
}

/* ---- datums ---- */

/* A datum in one canonical form, so that equal values compare equal however they are
 * written: every set and atom as ["set", sorted atoms], every map as ["map", pairs sorted]. */
static int compare_dumps(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *canonical(const json_t *datum)
{
	const char *tag = json_is_array(datum) ? json_string_value(json_array_get(datum, 0)) : NULL;
	const json_t *items;
	json_t *one = NULL;
	size_t n, len = 3;
	char **dumps, *out;

	if (!datum)
		return strdup("[]");
	if (tag && (strcmp(tag, "set") == 0 || strcmp(tag, "map") == 0))
		items = json_array_get(datum, 1);
	else
		items = one = json_pack("[O]", datum);
	n = json_array_size(items);
	dumps = calloc(n + 1, sizeof *dumps);
	for (size_t i = 0; dumps && i < n; i++) {
		dumps[i] = json_dumps(json_array_get(items, i), JSON_COMPACT | JSON_ENCODE_ANY);
		len += dumps[i] ? strlen(dumps[i]) + 1 : 1;
	}
	if (dumps)
		qsort(dumps, n, sizeof *dumps, compare_dumps);
	out = malloc(len + 8);
	if (out && dumps) {
		strcpy(out, tag && strcmp(tag, "map") == 0 ? "m[" : "[");
		for (size_t i = 0; i < n; i++) {
			strcat(out, dumps[i] ? dumps[i] : "");
			strcat(out, ",");
		}
		strcat(out, "]");
	}
	for (size_t i = 0; dumps && i < n; i++)
		free(dumps[i]);
	free(dumps);
	json_decref(one);
	return out;
}

static bool datum_same(const json_t *a, const json_t *b)
{
	char *x = canonical(a), *y = canonical(b);
	bool same = x && y && strcmp(x, y) == 0;

	free(x);
	free(y);
	return same;
}

static json_t *string_set(const char *first, ...)
{
	json_t *items = json_array();
	va_list ap;

	va_start(ap, first);
	for (const char *s = first; s; s = va_arg(ap, const char *))
		json_array_append_new(items, json_string(s));
	va_end(ap);
	return ovsdb_set(items);
}

/* ---- wants: the desired rows ---- */

struct want {
	const char *table;
	char *name;             /* the name column (identity in named tables), or NULL */
	char *dhcp_network;     /* DHCP_Options: its identity, the Network */
	json_t *row;            /* the managed columns, as datums */
	long parent;            /* the want whose PARENT_COLUMN holds this row, -1: a root row */
	const char *parent_column;
	long dhcp;              /* Logical_Switch_Port: the DHCP_Options want, -1: none */
	char uuid[37];          /* the existing row it matched, "" */
	char named[24];         /* its uuid-name when inserted */
	bool blocked;           /* not made: a foreign row holds its name, or its parent's */
};

struct link {                   /* FROM's COLUMN holds TO (besides the parent references) */
	size_t from, to;
	const char *column;
};

struct plan {
	const struct ovsdb_cache *nb;
	const json_t *gateways;         /* the gateway chassis' names, sorted (borrowed) */
	bool gateways_known;            /* false: gateway_chassis columns are left as they are */
	struct want *wants;
	size_t count, cap;
	struct link *links;
	size_t link_count, link_cap;
	struct ovn_nb_result *result;
};

static json_t *ids(const char *network, const char *router, const char *vm, const char *nic)
{
	json_t *pairs = json_array();

	json_array_append_new(pairs, json_pack("[ss]", OVN_NB_OWNER_KEY, OVN_NB_OWNER));
	if (network)
		json_array_append_new(pairs, json_pack("[ss]", "cairn:network", network));
	if (router)
		json_array_append_new(pairs, json_pack("[ss]", "cairn:router", router));
	if (vm)
		json_array_append_new(pairs, json_pack("[ss]", "cairn:vm", vm));
	if (nic)
		json_array_append_new(pairs, json_pack("[ss]", "cairn:nic", nic));
	return ovsdb_map(pairs);
}

/* Adds a want for TABLE; ROW is stolen; NAME (or NULL) also becomes its "name" column. */
static size_t want(struct plan *p, const char *table, const char *name, json_t *row, long parent,
		   const char *parent_column)
{
	struct want *w;

	if (p->count == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->wants = realloc(p->wants, p->cap * sizeof *p->wants);
		if (!p->wants)
			abort();
	}
	w = &p->wants[p->count];
	*w = (struct want){ .table = table, .row = row, .parent = parent,
			    .parent_column = parent_column, .dhcp = -1 };
	if (name) {
		w->name = strdup(name);
		json_object_set_new(row, "name", json_string(name));
	}
	return p->count++;
}

static void link_add(struct plan *p, size_t from, const char *column, size_t to)
{
	if (p->link_count == p->link_cap) {
		p->link_cap = p->link_cap ? p->link_cap * 2 : 64;
		p->links = realloc(p->links, p->link_cap * sizeof *p->links);
		if (!p->links)
			abort();
	}
	p->links[p->link_count++] = (struct link){ from, to, column };
}

static void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->wants[i].name);
		free(p->wants[i].dhcp_network);
		json_decref(p->wants[i].row);
	}
	free(p->wants);
	free(p->links);
}

/* ---- reading the cache ---- */

static bool owned(const struct ovsdb_row *row)
{
	const char *owner = ovsdb_row_map_string(row, "external_ids", OVN_NB_OWNER_KEY);
	return owner && strcmp(owner, OVN_NB_OWNER) == 0;
}

/* The Cairn row of TABLE named NAME; *FOREIGN tells whether another row has that name. */
static bool find_owned(const struct ovsdb_cache *nb, const char *table, const char *name,
		       struct ovsdb_row *out, bool *foreign)
{
	struct ovsdb_rows it;
	struct ovsdb_row row;
	bool found = false;

	*foreign = false;
	for (ovsdb_rows_init(&it, nb, table); ovsdb_rows_next(&it, &row);) {
		const char *row_name = ovsdb_row_string(&row, "name");
		if (!row_name || strcmp(row_name, name) != 0)
			continue;
		if (owned(&row) && !found) {
			*out = row;
			found = true;
		} else if (!owned(&row))
			*foreign = true;
	}
	return found;
}

/* The IPv4 address in a port's addresses ("MAC IP ..."), or false. */
static bool port_ipv4(const struct ovsdb_row *row, uint32_t *address)
{
	const char *text = ovsdb_datum_string(ovsdb_row_get(row, "addresses"));
	char word[64];
	const char *space;

	if (!text && ovsdb_datum_set_size(ovsdb_row_get(row, "addresses")) > 0)
		text = json_string_value(ovsdb_datum_set_at(ovsdb_row_get(row, "addresses"), 0));
	space = text ? strchr(text, ' ') : NULL;
	if (!space)
		return false;
	snprintf(word, sizeof word, "%s", space + 1);
	word[strcspn(word, " ")] = '\0';
	return ipv4_parse(word, address);
}

int ovn_nb_port_address(const struct ovsdb_cache *nb, const char *vm, size_t nic, char ip[16])
{
	char name[OVN_NB_NAME_MAX];
	struct ovsdb_row row;
	uint32_t address;
	bool foreign;

	ovn_nb_port_name(vm, nic, name, sizeof name);
	if (!find_owned(nb, "Logical_Switch_Port", name, &row, &foreign) || !port_ipv4(&row, &address))
		return -1;
	ipv4_format(address, ip);
	return 0;
}

/* ---- addresses ---- */

/* An open-addressing set of IPv4 addresses (0 marks a free slot: 0.0.0.0 is never a host). */
struct address_set {
	uint32_t *slots;
	size_t cap, count;
};

static bool address_has(const struct address_set *s, uint32_t a)
{
	for (size_t i = (a * 2654435761u) & (s->cap - 1); s->slots[i]; i = (i + 1) & (s->cap - 1))
		if (s->slots[i] == a)
			return true;
	return false;
}

static void address_add(struct address_set *s, uint32_t a)
{
	if (address_has(s, a))
		return;
	if ((s->count + 1) * 2 > s->cap) {
		struct address_set bigger = { calloc(s->cap * 2, sizeof *s->slots), s->cap * 2, 0 };
		if (!bigger.slots)
			abort();
		for (size_t i = 0; i < s->cap; i++)
			if (s->slots[i])
				address_add(&bigger, s->slots[i]);
		free(s->slots);
		*s = bigger;
	}
	size_t i = (a * 2654435761u) & (s->cap - 1);
	while (s->slots[i])
		i = (i + 1) & (s->cap - 1);
	s->slots[i] = a;
	s->count++;
}

/* The Kubernetes nodes whose podCIDRs are NETWORK's pods' part: MachineConfig
 * kubernetes.nodes when kubernetes.ovnNetwork names NETWORK, else NULL. */
static const json_t *pod_nodes(const json_t *config, const char *network)
{
	for (size_t d = 0; d < json_array_size(config); d++) {
		const json_t *doc = json_array_get(config, d);
		const json_t *kube = json_object_get(json_object_get(doc, "spec"), "kubernetes");
		const char *kind = json_string_value(json_object_get(doc, "kind"));
		const char *on = json_string_value(json_object_get(kube, "ovnNetwork"));
		if (kind && strcmp(kind, "MachineConfig") == 0 && on && strcmp(on, network) == 0)
			return json_object_get(kube, "nodes");
	}
	return NULL;
}

static bool in_pod_range(const json_t *nodes, uint32_t a)
{
	const char *node;
	const json_t *m;

	json_object_foreach((json_t *)nodes, node, m) {
		uint32_t base;
		unsigned prefix;
		if (cidr_parse(json_string_value(json_object_get(m, "podCIDR")), &base, &prefix) &&
		    (a & mask_of(prefix)) == base)
			return true;
	}
	return false;
}

static bool reserved(const json_t *spec, uint32_t a)
{
	const json_t *list = json_object_get(spec, "reserved");

	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *item = json_string_value(json_array_get(list, i));
		const char *dash = strchr(item, '-');
		char first[20] = "";
		uint32_t lo, hi;
		snprintf(first, sizeof first, "%.*s", dash ? (int)(dash - item) : (int)strlen(item), item);
		if (ipv4_parse(first, &lo) && ipv4_parse(dash ? dash + 1 : item, &hi) && lo <= a && a <= hi)
			return true;
	}
	return false;
}

/* A NIC on a Network, with the address it gets. */
struct port {
	const char *vm;
	size_t index;
	const json_t *nic;
	char name[OVN_NB_NAME_MAX];
	uint32_t address;       /* 0: none (yet) */
};

/* Gives every port of one Network an address: static ones as written; then each port that
 * exists keeps its address if still free and allowed; then the others get the first free
 * host from a hash of the port name onwards (linear probing over the hosts). */
static void allocate(struct plan *p, const char *network, const json_t *spec, struct port *ports,
		     size_t count, const json_t *pods)
{
	uint32_t base, mask, gateway = 0, hosts;
	struct address_set used = { calloc(16, sizeof(uint32_t)), 16, 0 };
	unsigned prefix;

	if (!used.slots)
		abort();
	if (!cidr_parse(json_string_value(json_object_get(spec, "cidr")), &base, &prefix))
		goto out;
	mask = mask_of(prefix);
	hosts = ~mask - 1;
	ipv4_parse(json_string_value(json_object_get(spec, "gateway")), &gateway);
	address_add(&used, gateway);
	for (size_t i = 0; i < count; i++)
		if (ipv4_parse(json_string_value(json_object_get(ports[i].nic, "ip")), &ports[i].address))
			address_add(&used, ports[i].address);
	for (size_t i = 0; i < count; i++) {
		struct ovsdb_row row;
		uint32_t a;
		bool foreign;
		if (ports[i].address || !find_owned(p->nb, "Logical_Switch_Port", ports[i].name, &row,
						    &foreign) || !port_ipv4(&row, &a))
			continue;
		if ((a & mask) == base && a != base && a != (base | ~mask) && !address_has(&used, a) &&
		    !reserved(spec, a) && !in_pod_range(pods, a)) {
			ports[i].address = a;
			address_add(&used, a);
		}
	}
	for (size_t i = 0; i < count; i++) {
		uint32_t start = fnv1a(ports[i].name, FNV_BASIS) % hosts;
		if (ports[i].address)
			continue;
		for (uint32_t k = 0; k < hosts; k++) {
			uint32_t a = base + 1 + (start + k) % hosts;
			if (!address_has(&used, a) && !reserved(spec, a) && !in_pod_range(pods, a)) {
				ports[i].address = a;
				address_add(&used, a);
				break;
			}
		}
		if (!ports[i].address)
			problem(p->result, "Network/%s: no free address left in %s for %s", network,
				json_string_value(json_object_get(spec, "cidr")), ports[i].name);
	}
out:
	free(used.slots);
}

/* ---- building the wants from the config ---- */

struct network_wants {
	const char *name;
	const json_t *spec;
	long dhcp, port_group, router_port;   /* wants, -1: none */
	long switch_want;
	char lrp_mac[18];
};

static size_t add_acl(struct plan *p, size_t pg, const char *network, const char *direction,
		      int priority, const char *action, const char *match)
{
	size_t acl = want(p, "ACL", NULL, json_pack("{s:s, s:i, s:s, s:s, s:o}", "direction",
			  direction, "priority", priority, "action", action, "match", match,
			  "external_ids", ids(network, NULL, NULL, NULL)), (long)pg, "acls");
	return acl;
}

/* The switch, DHCP options, port group, ACLs and VM ports of one Network. */
static void plan_network(struct plan *p, const json_t *config, struct network_wants *nw)
{
	const char *net = nw->name, *cidr = json_string_value(json_object_get(nw->spec, "cidr"));
	const char *gateway = json_string_value(json_object_get(nw->spec, "gateway"));
	const json_t *router = json_object_get(nw->spec, "router");
	const char *router_name = json_string_value(json_object_get(router, "name"));
	char name[OVN_NB_NAME_MAX], pg_name[OVN_NB_NAME_MAX], rtr_port[OVN_NB_NAME_MAX];
	char match[2 * OVN_NB_NAME_MAX + 64], lrp[OVN_NB_NAME_MAX];
	struct port *ports = NULL;
	size_t count = 0, cap = 0, ls, pg;

	snprintf(name, sizeof name, "cairn_net_%s", net);
	snprintf(rtr_port, sizeof rtr_port, "cairn_net_%s_rtr", net);
	snprintf(lrp, sizeof lrp, "cairn_net_%s_lrp", net);
	port_group_name(net, pg_name, sizeof pg_name);
	object_mac(router ? lrp : name, nw->lrp_mac);
	ls = want(p, "Logical_Switch", name, json_pack("{s:o}", "external_ids",
		  ids(net, NULL, NULL, NULL)), -1, NULL);
	nw->switch_want = (long)ls;
	nw->dhcp = -1;
	if (json_is_true(json_object_get(nw->spec, "dhcp"))) {
		json_t *options = json_array(), *mtu = json_object_get(nw->spec, "mtu");
		const json_t *dns = json_object_get(nw->spec, "dns");
		char text[64];
		json_array_append_new(options, json_pack("[ss]", "lease_time", LEASE_TIME));
		snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT, json_integer_value(mtu));
		json_array_append_new(options, json_pack("[ss]", "mtu", text));
		json_array_append_new(options, json_pack("[ss]", "router", gateway));
		json_array_append_new(options, json_pack("[ss]", "server_id", gateway));
		json_array_append_new(options, json_pack("[ss]", "server_mac", nw->lrp_mac));
		if (json_array_size(dns)) {
			char servers[128] = "{";
			for (size_t i = 0; i < json_array_size(dns); i++)
				snprintf(servers + strlen(servers), sizeof servers - strlen(servers), "%s%s",
					 i ? ", " : "", json_string_value(json_array_get(dns, i)));
			strcat(servers, "}");
			json_array_append_new(options, json_pack("[ss]", "dns_server",
								  json_array_size(dns) == 1 ?
								  json_string_value(json_array_get(dns, 0)) : servers));
		}
		nw->dhcp = (long)want(p, "DHCP_Options", NULL, json_pack("{s:s, s:o, s:o}", "cidr", cidr,
				      "options", ovsdb_map(options), "external_ids",
				      ids(net, NULL, NULL, NULL)), -1, NULL);
		p->wants[nw->dhcp].dhcp_network = strdup(net);
	}
	pg = want(p, "Port_Group", pg_name, json_pack("{s:o}", "external_ids",
		  ids(net, NULL, NULL, NULL)), -1, NULL);
	nw->port_group = (long)pg;
	snprintf(match, sizeof match, "outport == @%s && ip4.src == %s", pg_name, cidr);
	add_acl(p, pg, net, "to-lport", ACL_ALLOW, "allow-related", match);
	if (router) {
		snprintf(match, sizeof match, "outport == @%s && inport == \"%s\"", pg_name, rtr_port);
		add_acl(p, pg, net, "to-lport", ACL_ALLOW, "allow-related", match);
	}
	snprintf(match, sizeof match, "outport == @%s && ip", pg_name);
	add_acl(p, pg, net, "to-lport", ACL_DROP, "drop", match);
	snprintf(match, sizeof match, "inport == @%s && ip4", pg_name);
	add_acl(p, pg, net, "from-lport", ACL_ALLOW, "allow-related", match);
	snprintf(match, sizeof match, "inport == @%s && ip", pg_name);
	add_acl(p, pg, net, "from-lport", ACL_DROP, "drop", match);

	/* the VM NICs on this Network, in config order */
	for (size_t d = 0; d < json_array_size(config); d++) {
		const json_t *doc = json_array_get(config, d);
		const char *vm = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
		const json_t *nics = json_object_get(json_object_get(doc, "spec"), "nics");
		if (!vm || !json_is_string(json_object_get(doc, "kind")) ||
		    strcmp(json_string_value(json_object_get(doc, "kind")), "VirtualMachine") != 0)
			continue;
		for (size_t i = 0; i < json_array_size(nics); i++) {
			const char *on = json_string_value(json_object_get(json_array_get(nics, i), "network"));
			if (!on || strcmp(on, net) != 0)
				continue;
			if (count == cap) {
				cap = cap ? cap * 2 : 16;
				ports = realloc(ports, cap * sizeof *ports);
				if (!ports)
					abort();
			}
			ports[count] = (struct port){ .vm = vm, .index = i, .nic = json_array_get(nics, i) };
			ovn_nb_port_name(vm, i, ports[count].name, sizeof ports[count].name);
			count++;
		}
	}
	const json_t *pods = pod_nodes(config, net);
	allocate(p, net, nw->spec, ports, count, pods);
	for (size_t i = 0; i < count; i++) {
		char mac[18], ip[16], address[48], index[24];
		size_t lsp;
		ovn_nb_nic_mac(ports[i].vm, ports[i].nic, ports[i].index, mac);
		ipv4_format(ports[i].address, ip);
		snprintf(address, sizeof address, "%s %s", mac, ip);
		snprintf(index, sizeof index, "%zu", ports[i].index);
		lsp = want(p, "Logical_Switch_Port", ports[i].name,
			   json_pack("{s:s, s:o, s:o, s:o}", "type", "",
				     "addresses", string_set(ports[i].address ? address : mac, NULL),
				     "port_security", string_set(ports[i].address ? address : mac, NULL),
				     "external_ids", ids(net, NULL, ports[i].vm, index)),
			   (long)ls, "ports");
		p->wants[lsp].dhcp = nw->dhcp;
		link_add(p, pg, "ports", lsp);
	}
	free(ports);
	/* the Kubernetes nodes' ports, when the pods are on this Network: each node's host joins
	 * it at the first address of its podCIDR (services/kube; its pods' gateway) */
	const char *node;
	const json_t *m;
	json_object_foreach((json_t *)pods, node, m) {
		char port[OVN_NB_NAME_MAX], mac[18], ip[16], address[48];
		uint32_t base;
		unsigned prefix;
		if (!cidr_parse(json_string_value(json_object_get(m, "podCIDR")), &base, &prefix))
			continue;
		ovn_nb_k8s_port(node, port, sizeof port, mac);
		ipv4_format(base + 1, ip);
		snprintf(address, sizeof address, "%s %s", mac, ip);
		/* no port security: the host forwards for the pods (a Service's answer comes from
		 * its cluster IP) */
		want(p, "Logical_Switch_Port", port, json_pack("{s:s, s:o, s:o, s:o}", "type", "",
		     "addresses", string_set(address, NULL), "port_security", ovsdb_set(json_array()),
		     "external_ids", ids(net, NULL, NULL, NULL)), (long)ls, "ports");
	}
	nw->router_port = -1;
	if (router)
		want(p, "Logical_Switch_Port", rtr_port, json_pack("{s:s, s:o, s:o, s:o}", "type", "router",
		     "addresses", string_set("router", NULL), "options",
		     ovsdb_string_map("router-port", lrp, NULL), "external_ids",
		     ids(net, router_name, NULL, NULL)), (long)ls, "ports");
}

static int compare_names(const void *a, const void *b)
{
	const struct network_wants *x = a, *y = b;
	const char *rx = json_string_value(json_object_get(json_object_get(x->spec, "router"), "name"));
	const char *ry = json_string_value(json_object_get(json_object_get(y->spec, "router"), "name"));
	int by_router = strcmp(rx ? rx : "", ry ? ry : "");

	return by_router ? by_router : strcmp(x->name, y->name);
}

/* The VM NIC address a floating IP points at. */
static bool nic_address(const struct plan *p, const char *vm, json_int_t nic, char ip[16])
{
	char name[OVN_NB_NAME_MAX];

	ovn_nb_port_name(vm, (size_t)nic, name, sizeof name);
	for (size_t i = 0; i < p->count; i++) {
		const json_t *addresses = json_object_get(p->wants[i].row, "addresses");
		const char *text = json_string_value(json_array_get(json_array_get(addresses, 1), 0));
		if (p->wants[i].name && strcmp(p->wants[i].table, "Logical_Switch_Port") == 0 &&
		    strcmp(p->wants[i].name, name) == 0 && text && strchr(text, ' ')) {
			snprintf(ip, 16, "%s", strchr(text, ' ') + 1);
			return true;
		}
	}
	return false;
}

/* One router and the Networks it joins (NETS[0..COUNT), sorted by name): the router, a port
 * on each Network, and with an external network its switch, localnet port, router port,
 * default route, SNAT per Network and the floating IPs. */
static void plan_router(struct plan *p, const char *router, struct network_wants *nets, size_t count)
{
	const json_t *external = NULL;
	const char *first = nets[0].name;
	char name[OVN_NB_NAME_MAX], lrp[OVN_NB_NAME_MAX], ext[OVN_NB_NAME_MAX], mac[18];
	char network[40];
	size_t lr;

	for (size_t i = 0; i < count && !external; i++)
		external = json_object_get(json_object_get(nets[i].spec, "router"), "external");
	snprintf(name, sizeof name, "cairn_rtr_%s", router);
	lr = want(p, "Logical_Router", name, json_pack("{s:o}", "external_ids",
		  ids(first, router, NULL, NULL)), -1, NULL);
	for (size_t i = 0; i < count; i++) {
		uint32_t base;
		unsigned prefix;
		cidr_parse(json_string_value(json_object_get(nets[i].spec, "cidr")), &base, &prefix);
		snprintf(lrp, sizeof lrp, "cairn_net_%s_lrp", nets[i].name);
		snprintf(network, sizeof network, "%s/%u",
			 json_string_value(json_object_get(nets[i].spec, "gateway")), prefix);
		want(p, "Logical_Router_Port", lrp, json_pack("{s:s, s:o, s:o}", "mac", nets[i].lrp_mac,
		     "networks", string_set(network, NULL), "external_ids",
		     ids(nets[i].name, router, NULL, NULL)), (long)lr, "ports");
	}
	if (!external)
		return;
	const char *ext_cidr = json_string_value(json_object_get(external, "cidr"));
	const char *ext_address = json_string_value(json_object_get(external, "address"));
	uint32_t ext_base;
	unsigned ext_prefix;
	size_t ls;

	cidr_parse(ext_cidr, &ext_base, &ext_prefix);
	snprintf(ext, sizeof ext, "cairn_ext_%s", router);
	snprintf(lrp, sizeof lrp, "cairn_ext_%s_lrp", router);
	object_mac(lrp, mac);
	snprintf(network, sizeof network, "%s/%u", ext_address, ext_prefix);
	size_t gw_port = want(p, "Logical_Router_Port", lrp, json_pack("{s:s, s:o, s:o}", "mac", mac,
			      "networks", string_set(network, NULL), "external_ids",
			      ids(first, router, NULL, NULL)), (long)lr, "ports");
	/* the gateway port lives on the gateway chassis, the first by name preferred: NAT
	 * happens there */
	size_t gateway_count = json_array_size(p->gateways);
	for (size_t i = 0; i < gateway_count; i++) {
		const char *chassis = json_string_value(json_array_get(p->gateways, i));
		char gw[OVN_NB_NAME_MAX + 80];
		snprintf(gw, sizeof gw, "%s_%.64s", lrp, chassis);
		want(p, "Gateway_Chassis", gw, json_pack("{s:s, s:I, s:o}", "chassis_name", chassis,
		     "priority", (json_int_t)(gateway_count - i), "external_ids",
		     ids(first, router, NULL, NULL)), (long)gw_port, "gateway_chassis");
	}
	want(p, "Logical_Router_Static_Route", NULL, json_pack("{s:s, s:s, s:o}", "ip_prefix",
	     "0.0.0.0/0", "nexthop", json_string_value(json_object_get(external, "gateway")),
	     "external_ids", ids(first, router, NULL, NULL)), (long)lr, "static_routes");
	ls = want(p, "Logical_Switch", ext, json_pack("{s:o}", "external_ids",
		  ids(first, router, NULL, NULL)), -1, NULL);
	snprintf(name, sizeof name, "cairn_ext_%s_localnet", router);
	want(p, "Logical_Switch_Port", name, json_pack("{s:s, s:o, s:o, s:o}", "type", "localnet",
	     "addresses", string_set("unknown", NULL), "options",
	     ovsdb_string_map("network_name", json_string_value(json_object_get(external,
			      "physicalNetwork")), NULL),
	     "external_ids", ids(first, router, NULL, NULL)), (long)ls, "ports");
	snprintf(name, sizeof name, "cairn_ext_%s_rtr", router);
	want(p, "Logical_Switch_Port", name, json_pack("{s:s, s:o, s:o, s:o}", "type", "router",
	     "addresses", string_set("router", NULL), "options",
	     ovsdb_string_map("router-port", lrp, NULL), "external_ids",
	     ids(first, router, NULL, NULL)), (long)ls, "ports");
	for (size_t i = 0; i < count; i++) {
		const json_t *fips = json_object_get(json_object_get(nets[i].spec, "router"), "floatingIPs");
		want(p, "NAT", NULL, json_pack("{s:s, s:s, s:s, s:o}", "type", "snat", "external_ip",
		     ext_address, "logical_ip", json_string_value(json_object_get(nets[i].spec, "cidr")),
		     "external_ids", ids(nets[i].name, router, NULL, NULL)), (long)lr, "nat");
		for (size_t k = 0; k < json_array_size(fips); k++) {
			const json_t *fip = json_array_get(fips, k);
			const char *vm = json_string_value(json_object_get(fip, "vm"));
			json_int_t nic = json_integer_value(json_object_get(fip, "nic"));
			char ip[16], index[24];
			if (!vm || !nic_address(p, vm, nic, ip))
				continue;
			snprintf(index, sizeof index, "%" JSON_INTEGER_FORMAT, nic);
			want(p, "NAT", NULL, json_pack("{s:s, s:s, s:s, s:o}", "type", "dnat_and_snat",
			     "external_ip", json_string_value(json_object_get(fip, "address")),
			     "logical_ip", ip, "external_ids", ids(nets[i].name, router, vm, index)),
			     (long)lr, "nat");
		}
	}
}

static void plan_config(struct plan *p, const json_t *config)
{
	struct network_wants *nets = calloc(json_array_size(config) + 1, sizeof *nets);
	size_t count = 0;

	if (!nets)
		abort();
	for (size_t d = 0; d < json_array_size(config); d++) {
		const json_t *doc = json_array_get(config, d);
		const char *kind = json_string_value(json_object_get(doc, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(doc, "metadata"), "name"));
		if (!kind || strcmp(kind, "Network") != 0 || !name)
			continue;
		nets[count] = (struct network_wants){ .name = name, .spec = json_object_get(doc, "spec") };
		plan_network(p, config, &nets[count]);
		count++;
	}
	/* routers, each with its Networks sorted by name */
	qsort(nets, count, sizeof *nets, compare_names);
	for (size_t start = 0, end; start < count; start = end) {
		const char *router = json_string_value(json_object_get(json_object_get(nets[start].spec,
								       "router"), "name"));
		for (end = start + 1; end < count; end++) {
			const char *other = json_string_value(json_object_get(json_object_get(
				nets[end].spec, "router"), "name"));
			if (!router || !other || strcmp(router, other) != 0)
				break;
		}
		if (router)
			plan_router(p, router, nets + start, end - start);
	}
	free(nets);
}

/* ---- matching wants with rows ---- */

/* Whether ROW's managed columns (those of W's row) hold what W wants. */
static bool row_matches(const struct want *w, const struct ovsdb_row *row)
{
	const char *column;
	json_t *value;

	json_object_foreach(w->row, column, value)
		if (!datum_same(value, ovsdb_row_get(row, column)))
			return false;
	return true;
}

static bool claimed(const struct plan *p, const char *uuid)
{
	for (size_t i = 0; i < p->count; i++)
		if (strcmp(p->wants[i].uuid, uuid) == 0)
			return true;
	return false;
}

static void match(struct plan *p)
{
	for (size_t i = 0; i < p->count; i++) {
		struct want *w = &p->wants[i];
		struct ovsdb_row row, parent_row;
		struct ovsdb_rows it;
		bool foreign, found = false;
		if (w->parent >= 0 && p->wants[w->parent].blocked) {
			w->blocked = true;
			continue;
		}
		if (w->name) {
			found = find_owned(p->nb, w->table, w->name, &row, &foreign);
			if (!found && foreign && strcmp(w->table, "Logical_Switch") != 0 &&
			    strcmp(w->table, "Logical_Router") != 0) {
				/* a unique name a foreign row holds: never take it over */
				problem(p->result, "%s %s exists and is not Cairn's (no external_ids:%s=%s); "
					"left alone, not created", w->table, w->name, OVN_NB_OWNER_KEY,
					OVN_NB_OWNER);
				w->blocked = true;
				continue;
			}
		} else if (w->dhcp_network) {
			for (ovsdb_rows_init(&it, p->nb, w->table); !found && ovsdb_rows_next(&it, &row);) {
				const char *net = ovsdb_row_map_string(&row, "external_ids", "cairn:network");
				found = owned(&row) && net && strcmp(net, w->dhcp_network) == 0 &&
					!claimed(p, row.uuid);
			}
		} else if (w->parent >= 0 && p->wants[w->parent].uuid[0] &&
			   ovsdb_cache_get(p->nb, p->wants[w->parent].table, p->wants[w->parent].uuid,
					   &parent_row)) {
			/* a row without a name: the same content under the same parent */
			const json_t *refs = ovsdb_row_get(&parent_row, w->parent_column);
			for (size_t k = 0; !found && k < ovsdb_datum_set_size(refs); k++) {
				const char *uuid = ovsdb_datum_uuid(ovsdb_datum_set_at(refs, k));
				found = uuid && ovsdb_cache_get(p->nb, w->table, uuid, &row) && owned(&row) &&
					!claimed(p, uuid) && row_matches(w, &row);
			}
		}
		if (found)
			snprintf(w->uuid, sizeof w->uuid, "%s", row.uuid);
		else
			snprintf(w->named, sizeof w->named, "row%zu", i);
	}
}

/* ---- the transaction ---- */

static json_t *reference(const struct want *w)
{
	return w->uuid[0] ? ovsdb_uuid(w->uuid) : ovsdb_named_uuid(w->named);
}

/* The wants FROM's COLUMN should hold: its children, and its links. */
static json_t *targets(const struct plan *p, size_t from, const char *column)
{
	json_t *refs = json_array();

	for (size_t i = 0; i < p->count; i++)
		if (p->wants[i].parent == (long)from && strcmp(p->wants[i].parent_column, column) == 0 &&
		    !p->wants[i].blocked)
			json_array_append_new(refs, reference(&p->wants[i]));
	for (size_t i = 0; i < p->link_count; i++)
		if (p->links[i].from == from && strcmp(p->links[i].column, column) == 0 &&
		    !p->wants[p->links[i].to].blocked)
			json_array_append_new(refs, reference(&p->wants[p->links[i].to]));
	return refs;
}

static bool has_ref(const json_t *refs, const char *uuid)
{
	for (size_t i = 0; i < json_array_size(refs); i++)
		if (json_is_string(json_array_get(json_array_get(refs, i), 1)) &&
		    strcmp(json_string_value(json_array_get(json_array_get(refs, i), 1)), uuid) == 0 &&
		    strcmp(json_string_value(json_array_get(json_array_get(refs, i), 0)), "uuid") == 0)
			return true;
	return false;
}

/* The reference columns of the wants' tables, and the table they point to. */
static const struct {
	const char *table, *column, *target;
} ref_columns[] = {
	{ "Logical_Switch", "ports", "Logical_Switch_Port" },
	{ "Port_Group", "ports", "Logical_Switch_Port" },
	{ "Port_Group", "acls", "ACL" },
	{ "Logical_Router", "ports", "Logical_Router_Port" },
	{ "Logical_Router", "nat", "NAT" },
	{ "Logical_Router", "static_routes", "Logical_Router_Static_Route" },
	{ "Logical_Router_Port", "gateway_chassis", "Gateway_Chassis" },
};

static void build(struct plan *p, struct ovsdb_txn *txn, struct ovn_nb_result *r)
{
	/* the DHCP reference of each port, now that every want has a uuid or a uuid-name */
	for (size_t i = 0; i < p->count; i++) {
		struct want *w = &p->wants[i];
		if (strcmp(w->table, "Logical_Switch_Port") == 0 && strcmp(json_string_value(
			json_object_get(w->row, "type")), "") == 0)
			json_object_set_new(w->row, "dhcpv4_options", ovsdb_set(
				w->dhcp >= 0 && !p->wants[w->dhcp].blocked ?
				json_pack("[o]", reference(&p->wants[w->dhcp])) : json_array()));
	}
	for (size_t i = 0; i < p->count; i++) {
		struct want *w = &p->wants[i];
		struct ovsdb_row row;
		if (w->blocked)
			continue;
		if (!w->uuid[0]) {
			json_t *row_value = json_deep_copy(w->row);
			for (size_t k = 0; k < sizeof ref_columns / sizeof ref_columns[0]; k++)
				if (strcmp(ref_columns[k].table, w->table) == 0) {
					json_t *refs = targets(p, i, ref_columns[k].column);
					if (json_array_size(refs))
						json_object_set_new(row_value, ref_columns[k].column, ovsdb_set(refs));
					else
						json_decref(refs);
				}
			ovsdb_txn_insert(txn, w->table, row_value, w->named);
			r->inserts++;
			continue;
		}
		if (!ovsdb_cache_get(p->nb, w->table, w->uuid, &row))
			continue;
		json_t *changes = json_object();
		const char *column;
		json_t *value;
		json_object_foreach(w->row, column, value)
			if (!datum_same(value, ovsdb_row_get(&row, column)))
				json_object_set(changes, column, value);
		if (json_object_size(changes)) {
			ovsdb_txn_update(txn, w->table, ovsdb_where_uuid(w->uuid), changes);
			r->updates++;
		} else
			json_decref(changes);
		/* reference columns: add what is missing, drop Cairn's rows no longer wanted;
		 * references to rows that are not Cairn's stay */
		for (size_t k = 0; k < sizeof ref_columns / sizeof ref_columns[0]; k++) {
			if (strcmp(ref_columns[k].table, w->table) != 0)
				continue;
			if (!p->gateways_known && strcmp(ref_columns[k].column, "gateway_chassis") == 0)
				continue;
			json_t *want_refs = targets(p, i, ref_columns[k].column);
			const json_t *have = ovsdb_row_get(&row, ref_columns[k].column);
			json_t *add = json_array(), *drop = json_array(), *mutations = json_array();
			for (size_t n = 0; n < json_array_size(want_refs); n++) {
				json_t *ref = json_array_get(want_refs, n);
				const char *tag = json_string_value(json_array_get(ref, 0));
				const char *id = json_string_value(json_array_get(ref, 1));
				if (strcmp(tag, "named-uuid") == 0 || !ovsdb_datum_set_has_uuid(have, id))
					json_array_append(add, ref);
			}
			for (size_t n = 0; n < ovsdb_datum_set_size(have); n++) {
				const char *uuid = ovsdb_datum_uuid(ovsdb_datum_set_at(have, n));
				struct ovsdb_row target;
				if (uuid && ovsdb_cache_get(p->nb, ref_columns[k].target, uuid, &target) &&
				    owned(&target) && !has_ref(want_refs, uuid))
					json_array_append_new(drop, ovsdb_uuid(uuid));
			}
			if (json_array_size(add))
				json_array_append_new(mutations, ovsdb_mutation(ref_columns[k].column,
							"insert", ovsdb_set(json_incref(add))));
			if (json_array_size(drop))
				json_array_append_new(mutations, ovsdb_mutation(ref_columns[k].column,
							"delete", ovsdb_set(json_incref(drop))));
			if (json_array_size(mutations)) {
				ovsdb_txn_mutate(txn, w->table, ovsdb_where_uuid(w->uuid), mutations);
				r->mutates++;
			} else
				json_decref(mutations);
			json_decref(add);
			json_decref(drop);
			json_decref(want_refs);
		}
	}
	/* Cairn's root rows nothing wants (their non-root rows go with them) */
	static const char *const roots[] = { "Logical_Switch", "DHCP_Options", "Port_Group",
					     "Logical_Router" };
	for (size_t t = 0; t < sizeof roots / sizeof roots[0]; t++) {
		struct ovsdb_rows it;
		struct ovsdb_row row;
		for (ovsdb_rows_init(&it, p->nb, roots[t]); ovsdb_rows_next(&it, &row);)
			if (owned(&row) && !claimed(p, row.uuid)) {
				ovsdb_txn_delete(txn, roots[t], ovsdb_where_uuid(row.uuid));
				r->deletes++;
			}
	}
}

struct ovsdb_cache *ovn_nb_monitor(struct ovsdb *c, struct ovsdb_error *err, int timeout_ms)
{
	struct ovsdb_monitor_table tables[NB_TABLES];

	for (size_t i = 0; i < NB_TABLES; i++)
		tables[i] = (struct ovsdb_monitor_table){ nb_tables[i], NULL };
	return ovsdb_monitor(c, OVN_NB_DB, tables, NB_TABLES, err, timeout_ms);
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

int ovn_nb_reconcile(struct ovsdb *c, struct ovsdb_cache *nb, const json_t *config,
		     const json_t *gateways, int timeout_ms, struct ovn_nb_result *result)
{
	json_t *sorted = json_array();
	struct plan p = { .nb = nb, .result = result, .gateways = sorted,
			  .gateways_known = gateways != NULL };
	json_t *item;
	size_t index;
	struct ovsdb_error err;
	struct ovsdb_txn *txn;
	size_t ops;
	int rc = 0;

	memset(result, 0, sizeof *result);
	json_array_foreach((json_t *)gateways, index, item)
		if (json_is_string(item) && json_string_length(item) > 0)
			json_array_append(sorted, item);
	if (json_array_size(sorted) > 1) {
		json_t **items = calloc(json_array_size(sorted), sizeof *items);
		size_t n = json_array_size(sorted);
		if (!items)
			abort();
		for (size_t i = 0; i < n; i++)
			items[i] = json_incref(json_array_get(sorted, i));
		qsort(items, n, sizeof *items, compare_strings);
		json_array_clear(sorted);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(sorted, items[i]);
		free(items);
	}
	plan_config(&p, config);
	match(&p);
	txn = ovsdb_txn_new(OVN_NB_DB);
	if (!txn)
		abort();
	build(&p, txn, result);
	ops = ovsdb_txn_count(txn);
	if (ops > 0) {
		ovsdb_txn_comment(txn, "cairn: reconcile networks");
		if (ovsdb_transact(c, txn, &err, timeout_ms) < 0) {
			snprintf(result->error, sizeof result->error, "%s", err.message);
			result->inserts = result->updates = result->deletes = result->mutates = 0;
			rc = -1;
		} else {
			result->transactions = 1;
			/* the server sends a transaction's updates before its reply; one round trip
			 * more makes sure they are in the cache before the next pass reads it */
			ovsdb_echo(c, NULL, timeout_ms);
		}
	}
	ovsdb_txn_free(txn);
	plan_free(&p);
	json_decref(sorted);
	if (rc == 0 && result->conflicts) {
		if (result->conflicts > 1) {
			size_t len = strlen(result->error);
			snprintf(result->error + len, sizeof result->error - len, " (and %u more)",
				 result->conflicts - 1);
		}
		rc = -1;
	}
	return rc < 0 ? -1 : (int)ops;
}
