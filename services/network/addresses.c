/* addresses.c - the addresses controller: adds the static addresses of the config and the
 * addresses of active DHCP leases, and removes the addresses cairnd added earlier that are
 * no longer wanted (recorded in RUN/cairnd/owned.json). Addresses it did not add (IPv6
 * link-local, someone else's) are never removed. Reads `interfaces` and `dhcp`; publishes
 * `addresses`
 * [{id: "ifname/cidr", ifname, address, family, source: static|dhcp|other, error}]. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/addr.h>
#include <netlink/route/addr.h>

#include "net.h"
#include "resources.h"

static void want_address(json_t *desired, const char *ifname, const char *cidr,
			 const char *source)
{
	char key[128];

	snprintf(key, sizeof(key), "%s/%s", ifname, cidr);
	json_object_set_new(desired, key, json_pack("{s:s, s:s, s:s}", "ifname", ifname,
						   "address", cidr, "source", source));
}

/* "ifname/cidr" -> {ifname, address, source} */
static json_t *desired_addresses(void)
{
	json_t *desired = json_object(), *wanted = net_wanted_interfaces();
	json_t *leases = net_active_leases(), *want, *lease;
	const json_t *cidr;
	const char *ifname;
	size_t j;

	json_object_foreach(wanted, ifname, want)
		json_array_foreach(json_object_get(want, "addresses"), j, cidr)
			want_address(desired, ifname, json_string_value(cidr), "static");
	json_object_foreach(leases, ifname, lease)
		want_address(desired, ifname, json_string_value(json_object_get(lease, "address")),
			     "dhcp");
	json_decref(wanted);
	json_decref(leases);
	return desired;
}

/* "ifname/cidr" of an observed address, or false for one not worth reporting. */
static bool address_key(struct ctrl *ctrl, struct rtnl_addr *addr, char *key, size_t size,
			char *cidr, size_t cidr_size)
{
	char ifname[IFNAMSIZ];
	struct nl_addr *local = rtnl_addr_get_local(addr);

	if (!local || !net_ifname(ctrl, rtnl_addr_get_ifindex(addr), ifname))
		return false;
	net_addr_text(local, false, cidr, cidr_size);
	snprintf(cidr + strlen(cidr), cidr_size - strlen(cidr), "/%d",
		 rtnl_addr_get_prefixlen(addr));
	snprintf(key, size, "%s/%s", ifname, cidr);
	return true;
}

static struct rtnl_addr *find_address(struct ctrl *ctrl, struct nl_cache *cache,
				      const char *want)
{
	char key[128], cidr[80];

	for (struct nl_object *obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj))
		if (address_key(ctrl, (struct rtnl_addr *)obj, key, sizeof(key), cidr,
				sizeof(cidr)) && strcmp(key, want) == 0)
			return (struct rtnl_addr *)obj;
	return NULL;
}

/* The IPv4 broadcast address of LOCAL (host bits set), or NULL for /31 and /32 and IPv6. */
static struct nl_addr *broadcast_of(struct nl_addr *local)
{
	unsigned bits = nl_addr_get_prefixlen(local);
	unsigned char buf[4];
	struct nl_addr *brd;

	if (nl_addr_get_family(local) != AF_INET || bits >= 31)
		return NULL;
	memcpy(buf, nl_addr_get_binary_addr(local), 4);
	for (unsigned bit = bits; bit < 32; bit++)
		buf[bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
	brd = nl_addr_build(AF_INET, buf, 4);
	return brd;
}

static json_t *add_address(struct ctrl *ctrl, const char *key, const json_t *want)
{
	const char *ifname = json_string_value(json_object_get(want, "ifname"));
	const char *cidr = json_string_value(json_object_get(want, "address"));
	int ifindex = net_ifindex(ctrl, ifname), err;
	struct nl_addr *local = NULL, *brd;
	struct rtnl_addr *addr;

	if (!ifindex)
		return ctrl_fail(ctrl->report, key, "no such link %s", ifname);
	err = nl_addr_parse(cidr, AF_UNSPEC, &local);
	if (err < 0)
		return ctrl_fail(ctrl->report, key, "bad address: %s", nl_geterror(err));
	addr = rtnl_addr_alloc();
	rtnl_addr_set_ifindex(addr, ifindex);
	rtnl_addr_set_local(addr, local);
	rtnl_addr_set_prefixlen(addr, (int)nl_addr_get_prefixlen(local));
	brd = broadcast_of(local);
	if (brd)
		rtnl_addr_set_broadcast(addr, brd);
	err = rtnl_addr_add(ctrl->sock, addr, 0);
	nl_addr_put(brd);
	nl_addr_put(local);
	rtnl_addr_put(addr);
	if (err < 0 && err != -NLE_EXIST)
		return ctrl_fail(ctrl->report, key, "cannot add: %s", nl_geterror(err));
	ctrl_changed(ctrl->report, key, "added (%s)",
		     json_string_value(json_object_get(want, "source")));
	return NULL;
}

static json_t *remove_address(struct ctrl *ctrl, const char *key, struct rtnl_addr *addr)
{
	int err = rtnl_addr_delete(ctrl->sock, addr, 0);

	if (err < 0 && err != -NLE_NOADDR && err != -NLE_OBJ_NOTFOUND)
		return ctrl_fail(ctrl->report, key, "cannot remove: %s", nl_geterror(err));
	ctrl_changed(ctrl->report, key, "removed (no longer wanted)");
	return NULL;
}

/* The owned-set reconcile's view of the kernel's addresses. */
struct address_ops {
	struct ctrl *ctrl;
	struct nl_cache *cache;
};

static bool address_present(void *arg, const char *key)
{
	struct address_ops *ops = arg;

	return find_address(ops->ctrl, ops->cache, key) != NULL;
}

static json_t *address_add(void *arg, const char *key, const json_t *want)
{
	return add_address(((struct address_ops *)arg)->ctrl, key, want);
}

static json_t *address_remove(void *arg, const char *key, const json_t *entry)
{
	struct address_ops *ops = arg;
	struct rtnl_addr *addr = find_address(ops->ctrl, ops->cache, key);

	(void)entry;
	return addr ? remove_address(ops->ctrl, key, addr) : NULL;
}

static void address_save(void *arg)
{
	ctrl_save_owned(((struct address_ops *)arg)->ctrl);
}

static void publish(struct ctrl *ctrl, struct nl_cache *cache, json_t *desired, json_t *errors)
{
	json_t *owned = json_object_get(ctrl->owned, "addresses"), *items = json_array(), *error;
	char key[128], cidr[80], ifname[IFNAMSIZ];
	const char *id;

	for (struct nl_object *obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_addr *addr = (struct rtnl_addr *)obj;
		const char *source;

		if (!address_key(ctrl, addr, key, sizeof(key), cidr, sizeof(cidr)))
			continue;
		snprintf(ifname, sizeof(ifname), "%.*s", (int)strcspn(key, "/"), key);
		source = json_string_value(json_object_get(json_object_get(owned, key), "source"));
		json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}",
			"id", key, "ifname", ifname,
			"address", cidr, "family",
			rtnl_addr_get_family(addr) == AF_INET6 ? "inet6" : "inet",
			"source", source ? source : "other",
			"error", json_object_get(errors, key) ? json_object_get(errors, key) :
			json_null()));
	}
	json_object_foreach(errors, id, error)
		if (!find_address(ctrl, cache, id) && json_object_get(desired, id))
			json_array_append_new(items, json_pack("{s:s, s:O, s:O, s:O, s:O}",
				"id", id, "ifname", json_object_get(json_object_get(desired, id), "ifname"),
				"address", json_object_get(json_object_get(desired, id), "address"),
				"source", json_object_get(json_object_get(desired, id), "source"),
				"error", error));
	resources_publish("addresses", items);
}

void ctrl_addresses(struct ctrl *ctrl)
{
	json_t *desired, *errors;
	struct nl_cache *cache;
	int err;

	if (!net_refresh_links(ctrl))
		return;
	err = rtnl_addr_alloc_cache(ctrl->sock, &cache);
	if (err < 0) {
		json_decref(ctrl_fail(ctrl->report, "netlink", "cannot list: %s",
				      nl_geterror(err)));
		return;
	}
	desired = desired_addresses();
	errors = json_object();
	{
		struct address_ops arg = { ctrl, cache };
		const struct owned_ops ops = { .arg = &arg, .present = address_present,
					       .add = address_add, .remove = address_remove,
					       .save = address_save };

		/* an address already there that the config wants becomes cairnd's */
		ctrl_owned_reconcile(json_object_get(ctrl->owned, "addresses"), desired, errors,
				     &ops, false);
	}
	err = nl_cache_refill(ctrl->sock, cache);
	if (err < 0)
		json_decref(ctrl_fail(ctrl->report, "netlink", "cannot list: %s",
				      nl_geterror(err)));
	else
		publish(ctrl, cache, desired, errors);
	nl_cache_free(cache);
	json_decref(desired);
	json_decref(errors);
}
