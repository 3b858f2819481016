/* networks.c - the checks across Network and VirtualMachine documents, run on the decoded
 * config once every document decoded: a NIC names a Network of the config; its static `ip`
 * is a host of that Network's CIDR, not its gateway, not reserved, and no other NIC's static
 * address there; Networks joined by one router have CIDRs that do not overlap (each other's or
 * the router's external network) and agree on the router's `external`; a floating IP is an
 * address of that external network, used once per router, and names a VM NIC on its Network;
 * MachineConfig kubernetes.ovnNetwork names a Network that holds podSubnet, and no static
 * address nor gateway there is in a node's podCIDR (the pods' addresses). Lines come from the
 * YAML tree, so every error points at the value. Cost: O(n log n) in the number of NICs and
 * Networks (sorts and a hash set), whatever the input, plus O(NICs x nodes) (256 nodes at
 * most) on the pods' Network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crossdoc.h"
#include "hashset.h"
#include "schema.h"

struct net {
	const char *name;        /* metadata.name */
	size_t doc;              /* index in the config */
	uint32_t network, mask;  /* 0/0 when the CIDR did not decode */
	uint32_t gateway;
	const char *router;      /* NULL: no router */
	const json_t *spec;
};

struct check {
	struct config_cross x;
	json_t *config;
	struct net *nets;
	size_t net_count;
	const struct net *pods;  /* the Network of kubernetes.ovnNetwork, or NULL */
	const json_t *pod_nodes; /* kubernetes.nodes: each one's podCIDR is its pods' part */
};

/* The node of kubernetes.nodes whose podCIDR holds ADDRESS (its name and range), or NULL. */
static const char *pod_range_of(const struct check *c, uint32_t address, const char **cidr)
{
	const char *node;
	const json_t *m;

	json_object_foreach((json_t *)c->pod_nodes, node, m) {
		uint32_t base;
		unsigned prefix;
		*cidr = json_string_value(json_object_get(m, "podCIDR"));
		if (*cidr && config_ipv4_cidr_parse(*cidr, &base, &prefix) &&
		    (address & config_ipv4_mask(prefix)) == base)
			return node;
	}
	return NULL;
}

static int compare_net_names(const void *a, const void *b)
{
	const struct net *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static const struct net *find_net(const struct check *c, const char *name)
{
	struct net key = { .name = name };

	return c->net_count ? bsearch(&key, c->nets, c->net_count, sizeof *c->nets,
				      compare_net_names) : NULL;
}

static bool in_reserved(const json_t *spec, uint32_t address)
{
	const json_t *reserved = json_object_get(spec, "reserved");

	for (size_t i = 0; i < json_array_size(reserved); i++) {
		const char *item = json_string_value(json_array_get(reserved, i));
		const char *dash = strchr(item, '-');
		char first[16] = "";
		uint32_t a, b;
		if (dash && (size_t)(dash - item) < sizeof first) {
			memcpy(first, item, (size_t)(dash - item));
			first[dash - item] = '\0';
		}
		if (config_ipv4_parse(dash ? first : item, &a) &&
		    config_ipv4_parse(dash ? dash + 1 : item, &b) && a <= address && address <= b)
			return true;
	}
	return false;
}

/* ---- NICs ---- */

struct static_ip {
	const struct net *net;
	uint32_t address;
	const char *vm;
	size_t doc, nic;
	unsigned line;
};

struct static_ips {
	struct static_ip *items;
	size_t count, cap;
};

static bool same_static_ip(const void *context, size_t a, size_t b)
{
	const struct static_ips *ips = context;
	return ips->items[a].net == ips->items[b].net && ips->items[a].address == ips->items[b].address;
}

/* Returns -1 when out of memory. */
static int check_nic(struct check *c, size_t doc, size_t n, const json_t *nic,
		     const struct ynode *nic_node, struct static_ips *ips, struct hashset *set,
		     const struct hashset_key *key)
{
	const char *network = json_string_value(json_object_get(nic, "network"));
	const char *ip = json_string_value(json_object_get(nic, "ip"));
	const struct net *net;
	struct static_ip *item;
	char path[64], text[16];
	uint32_t address;
	unsigned line;
	size_t first;
	uint64_t hash;

	if (!network)
		return 0;
	snprintf(path, sizeof path, ".spec.nics[%zu].network", n);
	net = find_net(c, network);
	if (!net) {
		config_cross_error(&c->x, doc, config_yline(config_yget(nic_node, "network"), nic_node), "VirtualMachine", path,
		      "\"%s\" is not a Network in this config", network);
		return 0;
	}
	if (!ip || !config_ipv4_parse(ip, &address) || net->mask == 0)
		return 0;
	snprintf(path, sizeof path, ".spec.nics[%zu].ip", n);
	line = config_yline(config_yget(nic_node, "ip"), nic_node);
	if ((address & net->mask) != net->network) {
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is not inside %s, the CIDR of "
		      "Network/%s", ip, json_string_value(json_object_get(net->spec, "cidr")), net->name);
		return 0;
	}
	if (address == net->network || address == (net->network | ~net->mask)) {
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is the %s address of Network/%s",
		      ip, address == net->network ? "network" : "broadcast", net->name);
		return 0;
	}
	if (address == net->gateway) {
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is the gateway of Network/%s",
		      ip, net->name);
		return 0;
	}
	if (in_reserved(net->spec, address)) {
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is reserved in Network/%s "
		      "(.spec.reserved)", ip, net->name);
		return 0;
	}
	const char *range, *node = net == c->pods ? pod_range_of(c, address, &range) : NULL;
	if (node) {
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is inside "
		      "node %s's podCIDR %s, the pods' part of Network/%s", ip, node, range, net->name);
		return 0;
	}
	if (ips->count == ips->cap) {
		size_t cap = ips->cap ? ips->cap * 2 : 16;
		struct static_ip *grown = realloc(ips->items, cap * sizeof *grown);
		if (!grown)
			return -1;
		ips->items = grown;
		ips->cap = cap;
	}
	item = &ips->items[ips->count];
	*item = (struct static_ip){ net, address, config_doc_name(json_array_get(c->config, doc)), doc, n,
				    line };
	hash = hashset_hash(key, &address, sizeof address) ^
	       hashset_hash(key, net->name, strlen(net->name));
	first = hashset_first(set, hash, ips->count);
	if (first == HASHSET_EMPTY)
		return -1;
	ips->count++;
	if (first != ips->count - 1) {
		const struct static_ip *was = &ips->items[first];
		config_ipv4_format(address, text);
		config_cross_error(&c->x, doc, line, "VirtualMachine", path, "\"%s\" is already the address of "
		      "VirtualMachine/%s .spec.nics[%zu] on Network/%s (document %u, line %u)", text,
		      was->vm ? was->vm : "?", was->nic, net->name, c->x.index[was->doc], was->line);
	}
	return 0;
}

static int check_nics(struct check *c, const struct hashset_key *key)
{
	struct static_ips ips = { 0 };
	struct hashset set;
	int rc = 0;

	if (hashset_init(&set, 16, same_static_ip, &ips) < 0)
		return -1;
	for (size_t doc = 0; doc < json_array_size(c->config) && rc == 0; doc++) {
		const json_t *d = json_array_get(c->config, doc);
		const json_t *nics = json_object_get(json_object_get(d, "spec"), "nics");
		const struct ynode *nics_node = config_yget(config_yget(c->x.roots[doc], "spec"), "nics");
		if (!config_doc_kind(d) || strcmp(config_doc_kind(d), "VirtualMachine") != 0)
			continue;
		/* decoded items follow the YAML items one to one when the list decoded whole */
		for (size_t n = 0; n < json_array_size(nics) && rc == 0; n++)
			rc = check_nic(c, doc, n, json_array_get(nics, n),
				       json_array_size(nics) == (nics_node ? nics_node->count : 0) ?
				       config_yat(nics_node, n) : NULL, &ips, &set, key);
	}
	hashset_free(&set);
	free(ips.items);
	return rc;
}

/* ---- routers ---- */

static int compare_router_then_cidr(const void *a, const void *b)
{
	const struct net *x = *(const struct net *const *)a, *y = *(const struct net *const *)b;
	int by_router = strcmp(x->router, y->router);

	if (by_router)
		return by_router;
	if (x->network != y->network)
		return x->network < y->network ? -1 : 1;
	return x->mask == y->mask ? strcmp(x->name, y->name) : x->mask < y->mask ? -1 : 1;
}

static const struct ynode *router_node(const struct check *c, const struct net *net,
				       const char *key)
{
	return config_yget(config_yget(config_yget(c->x.roots[net->doc], "spec"), "router"), key);
}

static bool external_range(const json_t *external, uint32_t *network, uint32_t *mask)
{
	const char *cidr = json_string_value(json_object_get(external, "cidr"));
	unsigned prefix;

	if (!cidr || !config_ipv4_cidr_parse(cidr, network, &prefix))
		return false;
	*mask = config_ipv4_mask(prefix);
	return true;
}

/* The floating IPs of NET, whose router has EXTERNAL (NULL: none). */
static void check_floating_ips(struct check *c, const struct net *net, const json_t *external,
			       const struct net *external_from)
{
	const json_t *router = json_object_get(net->spec, "router");
	const json_t *fips = json_object_get(router, "floatingIPs");
	const struct ynode *fips_node = router_node(c, net, "floatingIPs");
	uint32_t ext_network = 0, ext_mask = 0, gateway = 0, own = 0;

	if (!json_array_size(fips))
		return;
	if (!external) {
		config_cross_error(&c->x, net->doc, config_yline(fips_node, c->x.roots[net->doc]), "Network",
		      ".spec.router.floatingIPs", "need an external network: set .spec.router.external "
		      "on this Network or on another Network of router \"%s\"", net->router);
		return;
	}
	external_range(external, &ext_network, &ext_mask);
	config_ipv4_parse(json_string_value(json_object_get(external, "gateway")), &gateway);
	config_ipv4_parse(json_string_value(json_object_get(external, "address")), &own);
	for (size_t i = 0; i < json_array_size(fips); i++) {
		const json_t *fip = json_array_get(fips, i);
		const struct ynode *fip_node = json_array_size(fips) == (fips_node ? fips_node->count : 0) ?
			config_yat(fips_node, i) : NULL;
		const char *address = json_string_value(json_object_get(fip, "address"));
		const char *vm = json_string_value(json_object_get(fip, "vm"));
		json_int_t nic = json_integer_value(json_object_get(fip, "nic"));
		const json_t *vm_doc = vm ? config_find(c->config, "VirtualMachine", vm) : NULL;
		const json_t *nic_value;
		char path[96];
		uint32_t value;
		if (!address || !config_ipv4_parse(address, &value))
			continue;
		snprintf(path, sizeof path, ".spec.router.floatingIPs[%zu].address", i);
		if ((value & ext_mask) != ext_network || value == ext_network ||
		    value == (ext_network | ~ext_mask))
			config_cross_error(&c->x, net->doc, config_yline(config_yget(fip_node, "address"), fip_node), "Network", path,
			      "\"%s\" is not a host of %s, the external network of router \"%s\"%s%s",
			      address, json_string_value(json_object_get(external, "cidr")), net->router,
			      external_from == net ? "" : " (set by Network/",
			      external_from == net ? "" : external_from->name);
		else if (value == gateway || value == own)
			config_cross_error(&c->x, net->doc, config_yline(config_yget(fip_node, "address"), fip_node), "Network", path,
			      "\"%s\" is the external %s of router \"%s\"", address,
			      value == gateway ? "gateway" : "address", net->router);
		snprintf(path, sizeof path, ".spec.router.floatingIPs[%zu].vm", i);
		if (!vm)
			continue;
		if (!vm_doc) {
			config_cross_error(&c->x, net->doc, config_yline(config_yget(fip_node, "vm"), fip_node), "Network", path,
			      "\"%s\" is not a VirtualMachine in this config", vm);
			continue;
		}
		nic_value = json_array_get(json_object_get(json_object_get(vm_doc, "spec"), "nics"),
					   (size_t)nic);
		if (!nic_value)
			config_cross_error(&c->x, net->doc, config_yline(config_yget(fip_node, "nic"), fip_node), "Network", path,
			      "VirtualMachine/%s has no NIC %lld", vm, (long long)nic);
		else if (!json_object_get(nic_value, "network") ||
			 strcmp(json_string_value(json_object_get(nic_value, "network")), net->name) != 0)
			config_cross_error(&c->x, net->doc, config_yline(config_yget(fip_node, "vm"), fip_node), "Network", path,
			      "VirtualMachine/%s .spec.nics[%lld] is not on Network/%s", vm,
			      (long long)nic, net->name);
	}
}

struct fip_seen {
	const char *router;
	uint32_t address;
	const struct net *net;
	size_t item;
	unsigned line;
};

static bool same_fip(const void *context, size_t a, size_t b)
{
	const struct fip_seen *seen = *(const struct fip_seen *const *)context;
	return seen[a].address == seen[b].address && strcmp(seen[a].router, seen[b].router) == 0;
}

/* A floating IP used by two Networks of one router (inside one list: the list's own check). */
static int check_fip_reuse(struct check *c, const struct hashset_key *key)
{
	struct fip_seen *seen = NULL;
	size_t count = 0, total = 0;
	struct hashset set;

	for (size_t i = 0; i < c->net_count; i++)
		total += json_array_size(json_object_get(json_object_get(c->nets[i].spec, "router"),
							 "floatingIPs"));
	if (total == 0)
		return 0;
	seen = calloc(total, sizeof *seen);
	if (!seen || hashset_init(&set, total, same_fip, &seen) < 0) {
		free(seen);
		return -1;
	}
	for (size_t i = 0; i < c->net_count; i++) {
		const struct net *net = &c->nets[i];
		const json_t *fips = json_object_get(json_object_get(net->spec, "router"), "floatingIPs");
		const struct ynode *fips_node = router_node(c, net, "floatingIPs");
		for (size_t k = 0; k < json_array_size(fips); k++) {
			const char *address = json_string_value(json_object_get(json_array_get(fips, k),
										"address"));
			const struct ynode *node = json_array_size(fips) ==
				(fips_node ? fips_node->count : 0) ? config_yget(config_yat(fips_node, k), "address") : NULL;
			uint32_t value;
			size_t first;
			if (!net->router || !address || !config_ipv4_parse(address, &value))
				continue;
			seen[count] = (struct fip_seen){ net->router, value, net, k,
							 config_yline(node, c->x.roots[net->doc]) };
			first = hashset_first(&set, hashset_hash(key, &value, sizeof value) ^
					      hashset_hash(key, net->router, strlen(net->router)), count);
			if (first == HASHSET_EMPTY) {
				hashset_free(&set);
				free(seen);
				return -1;
			}
			count++;
			if (seen[first].net != net) {
				char path[80];
				snprintf(path, sizeof path, ".spec.router.floatingIPs[%zu].address", k);
				config_cross_error(&c->x, net->doc, seen[count - 1].line, "Network", path, "\"%s\" is already "
				      "a floating IP of router \"%s\" on Network/%s (document %u, line %u)",
				      address, net->router, seen[first].net->name,
				      c->x.index[seen[first].net->doc], seen[first].line);
			}
		}
	}
	hashset_free(&set);
	free(seen);
	return 0;
}

/* Networks of one router: sorted by (router, network, mask), so that overlaps are neighbours
 * of a running maximum. */
static int check_routers(struct check *c)
{
	const struct net **joined = calloc(c->net_count + 1, sizeof *joined);
	size_t count = 0;

	if (!joined)
		return -1;
	for (size_t i = 0; i < c->net_count; i++)
		if (c->nets[i].router && c->nets[i].mask)
			joined[count++] = &c->nets[i];
	qsort(joined, count, sizeof *joined, compare_router_then_cidr);
	for (size_t start = 0, end; start < count; start = end) {
		const json_t *external = NULL;
		const struct net *external_from = NULL, *widest = joined[start];
		uint32_t ext_network = 0, ext_mask = 0;
		for (end = start; end < count && strcmp(joined[end]->router, joined[start]->router) == 0;
		     end++) {
			const struct net *net = joined[end];
			const json_t *mine = json_object_get(json_object_get(net->spec, "router"), "external");
			if (end > start && (net->network & widest->mask) == widest->network)
				config_cross_error(&c->x, net->doc, config_yline(config_yget(config_yget(c->x.roots[net->doc], "spec"), "cidr"),
							 c->x.roots[net->doc]), "Network", ".spec.cidr",
				      "%s overlaps %s of Network/%s, joined by the same router \"%s\"",
				      json_string_value(json_object_get(net->spec, "cidr")),
				      json_string_value(json_object_get(widest->spec, "cidr")),
				      widest->name, net->router);
			/* the running maximum: the network reaching furthest */
			if ((net->network | ~net->mask) > (widest->network | ~widest->mask))
				widest = net;
			if (!mine)
				continue;
			if (!external) {
				external = mine;
				external_from = net;
			} else if (!json_equal(external, mine))
				config_cross_error(&c->x, net->doc, config_yline(router_node(c, net, "external"), c->x.roots[net->doc]),
				      "Network", ".spec.router.external", "differs from the external network "
				      "of router \"%s\" set by Network/%s (document %u); set it once, or the "
				      "same everywhere", net->router, external_from->name,
				      c->x.index[external_from->doc]);
		}
		if (external && external_range(external, &ext_network, &ext_mask))
			for (size_t i = start; i < end; i++) {
				const struct net *net = joined[i];
				uint32_t mask = net->mask > ext_mask ? ext_mask : net->mask;
				if ((net->network & mask) == (ext_network & mask))
					config_cross_error(&c->x, net->doc, config_yline(config_yget(config_yget(c->x.roots[net->doc], "spec"), "cidr"),
								 c->x.roots[net->doc]), "Network", ".spec.cidr",
					      "%s overlaps %s, the external network of router \"%s\"",
					      json_string_value(json_object_get(net->spec, "cidr")),
					      json_string_value(json_object_get(external, "cidr")), net->router);
			}
		for (size_t i = start; i < end; i++)
			check_floating_ips(c, joined[i], external, external_from);
	}
	free(joined);
	return 0;
}

/* MachineConfig kubernetes.ovnNetwork: a Network of this config whose CIDR holds podSubnet and
 * whose gateway is in no node's podCIDR (those are the pods' addresses). */
static void check_pod_network(struct check *c)
{
	for (size_t doc = 0; doc < json_array_size(c->config); doc++) {
		const json_t *d = json_array_get(c->config, doc);
		const json_t *kube = json_object_get(json_object_get(d, "spec"), "kubernetes");
		const struct ynode *ykube = config_yget(config_yget(c->x.roots[doc], "spec"), "kubernetes");
		const char *name = json_string_value(json_object_get(kube, "ovnNetwork"));
		const char *subnet = json_string_value(json_object_get(kube, "podSubnet"));
		const char *node, *range;
		const struct net *net;
		uint32_t base;
		unsigned prefix;
		unsigned line;
		if (!config_doc_kind(d) || strcmp(config_doc_kind(d), "MachineConfig") != 0 || !name)
			continue;
		line = config_yline(config_yget(ykube, "ovnNetwork"), ykube);
		net = find_net(c, name);
		if (!net) {
			config_cross_error(&c->x, doc, line, "MachineConfig", ".spec.kubernetes.ovnNetwork",
					   "\"%s\" is not a Network in this config", name);
			continue;
		}
		if (!subnet || !config_ipv4_cidr_parse(subnet, &base, &prefix) || net->mask == 0)
			continue;
		if (config_ipv4_mask(prefix) < net->mask || (base & net->mask) != net->network) {
			config_cross_error(&c->x, doc, line, "MachineConfig", ".spec.kubernetes.ovnNetwork",
					   "Network/%s's cidr %s does not hold kubernetes.podSubnet %s",
					   name, json_string_value(json_object_get(net->spec, "cidr")), subnet);
			continue;
		}
		c->pod_nodes = json_object_get(kube, "nodes");
		if (net->gateway && (node = pod_range_of(c, net->gateway, &range))) {
			config_cross_error(&c->x, doc, line, "MachineConfig", ".spec.kubernetes.ovnNetwork",
					   "Network/%s's gateway is inside node %s's podCIDR %s (the pods' "
					   "addresses)", name, node, range);
			c->pod_nodes = NULL;
			continue;
		}
		c->pods = net;
	}
}

void config_check_networks(const char *name, struct config_errors *errs, json_t *config,
			   const struct ynode *const *roots, const unsigned *index)
{
	struct check c = { { name, errs, roots, index }, config, NULL, 0, NULL, NULL };
	struct hashset_key key;
	size_t n = json_array_size(config);

	hashset_key_init(&key);
	c.nets = calloc(n + 1, sizeof *c.nets);
	if (!c.nets)
		goto fail;
	for (size_t doc = 0; doc < n; doc++) {
		const json_t *d = json_array_get(config, doc);
		const json_t *spec = json_object_get(d, "spec");
		struct net *net = &c.nets[c.net_count];
		unsigned prefix;
		if (!config_doc_kind(d) || strcmp(config_doc_kind(d), "Network") != 0 || !config_doc_name(d) || !spec)
			continue;
		*net = (struct net){ .name = config_doc_name(d), .doc = doc, .spec = spec };
		if (config_ipv4_cidr_parse(json_string_value(json_object_get(spec, "cidr")) ?
					   json_string_value(json_object_get(spec, "cidr")) : "",
					   &net->network, &prefix))
			net->mask = config_ipv4_mask(prefix);
		if (!json_string_value(json_object_get(spec, "gateway")) ||
		    !config_ipv4_parse(json_string_value(json_object_get(spec, "gateway")), &net->gateway))
			net->gateway = 0;
		net->router = json_string_value(json_object_get(json_object_get(spec, "router"), "name"));
		c.net_count++;
	}
	/* a name twice is the duplicate-document error already (the decode fails anyway) */
	qsort(c.nets, c.net_count, sizeof *c.nets, compare_net_names);
	check_pod_network(&c);
	if (check_nics(&c, &key) < 0 || check_routers(&c) < 0 || check_fip_reuse(&c, &key) < 0)
		goto fail;
	free(c.nets);
	return;
fail:
	free(c.nets);
	config_errors_add(errs, name, 0, 0, NULL, NULL, "out of memory");
}
