/* links.c - the links controller: matches .spec.network.interfaces to links by name or MAC,
 * creates the VLAN sub-links NAME.ID (and deletes the ones it created that are no longer
 * wanted), sets MTUs and brings the links up. With no interfaces in the config, or no
 * config (maintenance mode), the wanted links are the Ethernet ones (a device, no kind),
 * with DHCP. Publishes `links`
 * [{id: name, index, mac, mtu, up, operstate, kind, parent, managed, error}]. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/vlan.h>

#include "net.h"
#include "resources.h"

bool net_refresh_links(struct ctrl *ctrl)
{
	struct nl_cache *cache;
	int err = rtnl_link_alloc_cache(ctrl->sock, AF_UNSPEC, &cache);

	if (err < 0) {
		json_decref(ctrl_fail(ctrl->report, "netlink", "cannot list links: %s",
				      nl_geterror(err)));
		return false;
	}
	if (ctrl->links)
		nl_cache_free(ctrl->links);
	ctrl->links = cache;
	return true;
}

const char *net_ifname(struct ctrl *ctrl, int ifindex, char *buf)
{
	return ctrl->links ? rtnl_link_i2name(ctrl->links, ifindex, buf, IFNAMSIZ) : NULL;
}

int net_ifindex(struct ctrl *ctrl, const char *name)
{
	return ctrl->links ? rtnl_link_name2i(ctrl->links, name) : 0;
}

void net_addr_text(struct nl_addr *addr, bool prefix, char *buf, size_t size)
{
	unsigned char zero[16] = { 0 };
	const void *bin = nl_addr_get_len(addr) ? nl_addr_get_binary_addr(addr) : zero;
	char text[INET6_ADDRSTRLEN] = "?";

	inet_ntop(nl_addr_get_family(addr), bin, text, sizeof(text));
	if (prefix)
		snprintf(buf, size, "%s/%u", text, nl_addr_get_prefixlen(addr));
	else
		snprintf(buf, size, "%s", text);
}

static void mac_text(struct rtnl_link *link, char *buf, size_t size)
{
	struct nl_addr *addr = rtnl_link_get_addr(link);
	const unsigned char *mac = addr ? nl_addr_get_binary_addr(addr) : NULL;

	if (!addr || nl_addr_get_len(addr) != 6) {
		snprintf(buf, size, "%s", "");
		return;
	}
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
}

static struct rtnl_link *link_by_mac(struct ctrl *ctrl, const char *want)
{
	char mac[32];

	for (struct nl_object *obj = nl_cache_get_first(ctrl->links); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;

		mac_text(link, mac, sizeof(mac));
		/* VLAN sub-links share their parent's MAC: match the parent only */
		if (strcmp(mac, want) == 0 && !rtnl_link_is_vlan(link))
			return link;
	}
	return NULL;
}

static const json_t *desired_link(struct ctrl *ctrl, const char *ifname);
static void link_error(struct ctrl *ctrl, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void link_error(struct ctrl *ctrl, const char *name, const char *fmt, ...)
{
	char reason[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	json_object_set_new(ctrl->link_errors, name, ctrl_fail(ctrl->report, name, "%s", reason));
}

static json_t *array_or_empty(const json_t *value)
{
	return value ? json_incref((json_t *)value) : json_array();
}

/* One wanted link: {ifname, dhcp, addresses, routes, mtu?, parent?, vlan_id?}. */
static json_t *wanted_link(const char *ifname, const json_t *spec)
{
	json_t *want = json_pack("{s:s, s:b, s:o, s:o}", "ifname", ifname,
				 "dhcp", json_is_true(json_object_get(spec, "dhcp")),
				 "addresses", array_or_empty(json_object_get(spec, "addresses")),
				 "routes", array_or_empty(json_object_get(spec, "routes")));

	if (json_object_get(spec, "mtu"))
		json_object_set(want, "mtu", json_object_get(spec, "mtu"));
	return want;
}

static void want_vlans(struct ctrl *ctrl, const char *parent, const json_t *vlans)
{
	const json_t *vlan;
	size_t i;

	json_array_foreach(vlans, i, vlan) {
		json_int_t id = json_integer_value(json_object_get(vlan, "id"));
		char name[64];
		json_t *want;

		snprintf(name, sizeof(name), "%s.%d", parent, (int)id);
		if (strlen(name) >= IFNAMSIZ) {
			link_error(ctrl, name, "VLAN link name longer than %d characters",
				   IFNAMSIZ - 1);
			continue;
		}
		want = wanted_link(name, vlan);
		json_object_set_new(want, "parent", json_string(parent));
		json_object_set_new(want, "vlan_id", json_integer(id));
		json_array_append_new(ctrl->desired, want);
	}
}

static void want_interface(struct ctrl *ctrl, const json_t *iface)
{
	const char *name = json_string_value(json_object_get(iface, "name"));
	const char *mac = json_string_value(json_object_get(iface, "mac"));
	struct rtnl_link *link;

	if (name) {
		link = rtnl_link_get_by_name(ctrl->links, name);
	} else {
		link = link_by_mac(ctrl, mac ? mac : "");
		if (link)
			nl_object_get((struct nl_object *)link);
	}
	if (!link) {
		link_error(ctrl, name ? name : mac, "no such link");
		return;
	}
	if (desired_link(ctrl, rtnl_link_get_name(link))) {
		link_error(ctrl, name ? name : mac, "%s is matched by two interfaces of the config",
			   rtnl_link_get_name(link));
		rtnl_link_put(link);
		return;
	}
	json_array_append_new(ctrl->desired, wanted_link(rtnl_link_get_name(link), iface));
	want_vlans(ctrl, rtnl_link_get_name(link), json_object_get(iface, "vlans"));
	rtnl_link_put(link);
}

/* A physical Ethernet link: ARPHRD_ETHER, no kind (not veth, bridge, ...), a device. */
static bool is_ethernet(struct rtnl_link *link)
{
	char path[128];
	struct stat st;

	if (rtnl_link_get_arptype(link) != ARPHRD_ETHER || rtnl_link_get_type(link))
		return false;
	snprintf(path, sizeof(path), "/sys/class/net/%s/device", rtnl_link_get_name(link));
	return stat(path, &st) == 0;
}

/* The config's interfaces; with none (or no config at all) every Ethernet link with DHCP,
 * so that a node stays reachable on its API port. */
static void want_links(struct ctrl *ctrl)
{
	const json_t *ifaces = json_object_get(json_object_get(ctrl->spec, "network"),
					       "interfaces");
	const json_t *iface;
	size_t i;

	if (json_array_size(ifaces) > 0) {
		json_array_foreach(ifaces, i, iface)
			want_interface(ctrl, iface);
		return;
	}
	for (struct nl_object *obj = nl_cache_get_first(ctrl->links); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_link *link = (struct rtnl_link *)obj;
		json_t *spec = json_pack("{s:b}", "dhcp", 1);

		if (is_ethernet(link))
			json_array_append_new(ctrl->desired,
					      wanted_link(rtnl_link_get_name(link), spec));
		json_decref(spec);
	}
}

static const json_t *desired_link(struct ctrl *ctrl, const char *ifname)
{
	const json_t *want;
	size_t i;

	json_array_foreach(ctrl->desired, i, want)
		if (strcmp(json_string_value(json_object_get(want, "ifname")), ifname) == 0)
			return want;
	return NULL;
}

/* 1: created, 0: already right, -1: failed (logged). */
static int ensure_vlan(struct ctrl *ctrl, const json_t *want)
{
	const char *name = json_string_value(json_object_get(want, "ifname"));
	const char *parent = json_string_value(json_object_get(want, "parent"));
	int id = (int)json_integer_value(json_object_get(want, "vlan_id"));
	int parent_index = net_ifindex(ctrl, parent), err;
	struct rtnl_link *link = rtnl_link_get_by_name(ctrl->links, name);

	if (link) {
		bool right = rtnl_link_is_vlan(link) && rtnl_link_vlan_get_id(link) == id &&
			     rtnl_link_get_link(link) == parent_index;

		rtnl_link_put(link);
		if (!right)
			link_error(ctrl, name, "exists but is not VLAN %d on %s", id, parent);
		return right ? 0 : -1;
	}
	link = rtnl_link_vlan_alloc();
	if (!link)
		abort();
	rtnl_link_set_name(link, name);
	rtnl_link_set_link(link, parent_index);
	rtnl_link_vlan_set_id(link, id);
	err = rtnl_link_add(ctrl->sock, link, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_link_put(link);
	if (err < 0) {
		link_error(ctrl, name, "cannot create VLAN %d on %s: %s", id, parent,
			   nl_geterror(err));
		return -1;
	}
	json_object_set_new(json_object_get(ctrl->owned, "links"), name,
			    json_pack("{s:s, s:i}", "parent", parent, "vlan_id", id));
	ctrl_save_owned(ctrl);
	ctrl_changed(ctrl->report, name, "VLAN %d created on %s", id, parent);
	return 1;
}

/* MTU and up. */
static void configure_link(struct ctrl *ctrl, const json_t *want)
{
	const char *name = json_string_value(json_object_get(want, "ifname"));
	unsigned mtu = (unsigned)json_integer_value(json_object_get(want, "mtu"));
	struct rtnl_link *link = rtnl_link_get_by_name(ctrl->links, name);
	struct rtnl_link *change;
	char what[128] = "";
	int err;

	if (!link)
		return;  /* a VLAN that could not be created: already reported */
	change = rtnl_link_alloc();
	if (mtu && rtnl_link_get_mtu(link) != mtu) {
		rtnl_link_set_mtu(change, mtu);
		snprintf(what, sizeof(what), "mtu %u -> %u", rtnl_link_get_mtu(link), mtu);
	}
	if (!(rtnl_link_get_flags(link) & IFF_UP)) {
		rtnl_link_set_flags(change, IFF_UP);
		snprintf(what + strlen(what), sizeof(what) - strlen(what), "%sup",
			 what[0] ? ", " : "");
	}
	if (what[0]) {
		err = rtnl_link_change(ctrl->sock, link, change, 0);
		if (err < 0)
			link_error(ctrl, name, "cannot set %s: %s", what, nl_geterror(err));
		else
			ctrl_changed(ctrl->report, name, "%s", what);
	}
	rtnl_link_put(change);
	rtnl_link_put(link);
}

static bool vlan_present(void *arg, const char *name)
{
	return net_ifindex(arg, name) != 0;
}

/* A VLAN link cairnd created that the config no longer wants (a link of that name that is
 * not a VLAN any more is left alone). */
static json_t *vlan_remove(void *arg, const char *name, const json_t *entry)
{
	struct ctrl *ctrl = arg;
	struct rtnl_link *link = rtnl_link_get_by_name(ctrl->links, name);
	int err = 0;

	(void)entry;
	if (link && rtnl_link_is_vlan(link))
		err = rtnl_link_delete(ctrl->sock, link);
	if (link)
		rtnl_link_put(link);
	if (err < 0)
		return ctrl_fail(ctrl->report, name, "cannot delete: %s", nl_geterror(err));
	if (link)
		ctrl_changed(ctrl->report, name, "VLAN deleted");
	return NULL;
}

static void save_owned(void *arg)
{
	ctrl_save_owned(arg);
}

/* Deletes the VLAN links cairnd created that the config no longer wants. */
static void remove_stale_vlans(struct ctrl *ctrl)
{
	const struct owned_ops ops = { .arg = ctrl, .present = vlan_present,
				       .remove = vlan_remove, .save = save_owned };
	json_t *wanted = json_object();
	const json_t *want;
	size_t i;

	json_array_foreach(ctrl->desired, i, want)
		json_object_set(wanted, json_string_value(json_object_get(want, "ifname")),
				(json_t *)want);
	ctrl_owned_reconcile(json_object_get(ctrl->owned, "links"), wanted, ctrl->link_errors,
			     &ops, true);
	json_decref(wanted);
}

static void reconcile_links(struct ctrl *ctrl)
{
	const json_t *want;
	bool created = false;
	size_t i;

	if (!net_refresh_links(ctrl))
		return;
	want_links(ctrl);
	json_array_foreach(ctrl->desired, i, want)
		if (json_object_get(want, "parent") && ensure_vlan(ctrl, want) > 0)
			created = true;
	if (created && !net_refresh_links(ctrl))
		return;
	json_array_foreach(ctrl->desired, i, want)
		configure_link(ctrl, want);
	remove_stale_vlans(ctrl);
}

static json_t *link_item(struct ctrl *ctrl, struct rtnl_link *link)
{
	const char *name = rtnl_link_get_name(link);
	char mac[32], state[32], parent[IFNAMSIZ];
	int parent_index = rtnl_link_get_link(link);
	json_t *error = json_object_get(ctrl->link_errors, name);

	mac_text(link, mac, sizeof(mac));
	rtnl_link_operstate2str(rtnl_link_get_operstate(link), state, sizeof(state));
	return json_pack("{s:s, s:i, s:s?, s:i, s:b, s:s, s:s?, s:s?, s:b, s:O}",
			 "id", name, "index", rtnl_link_get_ifindex(link),
			 "mac", mac[0] ? mac : NULL, "mtu", (int)rtnl_link_get_mtu(link),
			 "up", (rtnl_link_get_flags(link) & IFF_UP) != 0, "operstate", state,
			 "kind", rtnl_link_get_type(link),
			 "parent", parent_index ? net_ifname(ctrl, parent_index, parent) : NULL,
			 "managed", desired_link(ctrl, name) != NULL,
			 "error", error ? error : json_null());
}

/* `links`: every link as it is after this pass, and the wanted links that are missing. */
static void publish_links(struct ctrl *ctrl)
{
	json_t *items, *error;
	const char *name;

	if (!net_refresh_links(ctrl))
		return;
	items = json_array();
	for (struct nl_object *obj = nl_cache_get_first(ctrl->links); obj;
	     obj = nl_cache_get_next(obj))
		json_array_append_new(items, link_item(ctrl, (struct rtnl_link *)obj));
	json_object_foreach(ctrl->link_errors, name, error)
		if (!net_ifindex(ctrl, name))
			json_array_append_new(items, json_pack("{s:s, s:b, s:O}", "id", name,
							       "managed", 1, "error", error));
	resources_publish("links", items);
}

/* `interfaces`: the wanted links of this pass, for the dhcp, address, route controllers. */
static void publish_interfaces(struct ctrl *ctrl)
{
	json_t *items = json_array(), *want;
	size_t i;

	json_array_foreach(ctrl->desired, i, want) {
		json_t *item = json_deep_copy(want);
		const char *ifname = json_string_value(json_object_get(want, "ifname"));

		json_object_set_new(item, "id", json_string(ifname));
		json_object_set_new(item, "present", json_boolean(net_ifindex(ctrl, ifname) != 0));
		json_array_append_new(items, item);
	}
	resources_publish("interfaces", items);
}

void ctrl_links(struct ctrl *ctrl)
{
	ctrl->link_errors = json_object();
	ctrl->desired = json_array();
	reconcile_links(ctrl);
	/* with the links unknown, nothing is published: the others keep the last view */
	if (ctrl->links) {
		publish_links(ctrl);
		if (ctrl->links)
			publish_interfaces(ctrl);
	}
	json_decref(ctrl->desired);
	json_decref(ctrl->link_errors);
	ctrl->desired = ctrl->link_errors = NULL;
}
