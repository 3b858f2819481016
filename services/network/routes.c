/* routes.c - the routes controller: the routes of .spec.network.interfaces[].routes (and of
 * their VLANs) and the default route of each active DHCP lease, in the main table. It adds
 * what is missing (protocol static or dhcp, never replacing someone else's route) and
 * removes the routes it added earlier that are no longer wanted. Reads `interfaces`, `dhcp`
 * and `addresses` (a gateway must be reachable first); publishes `routes`
 * [{id, dst, gateway, ifname, metric, family, table: "main", source, error}]. */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/cache.h>
#include <netlink/addr.h>
#include <netlink/route/route.h>
#include <netlink/route/nexthop.h>
#include <linux/rtnetlink.h>

#include "net.h"
#include "resources.h"

#define IPV6_DEFAULT_METRIC 1024  /* what the kernel makes of metric 0 */

/* "DST[ via GW] dev IFNAME metric M" */
static void route_key(char *key, size_t size, const char *dst, const char *gateway,
		      const char *ifname, unsigned metric)
{
	snprintf(key, size, "%s%s%s dev %s metric %u", dst, gateway ? " via " : "",
		 gateway ? gateway : "", ifname, metric);
}

static void want_route(json_t *desired, const char *ifname, const char *to, const char *via,
		       json_int_t metric, bool has_metric, const char *source)
{
	bool v6 = strchr(via ? via : to, ':') != NULL;
	const char *dst = strcmp(to, "default") ? to : v6 ? "::/0" : "0.0.0.0/0";
	char key[256];

	if (!has_metric || (v6 && metric == 0))
		metric = v6 ? IPV6_DEFAULT_METRIC : 0;
	route_key(key, sizeof(key), dst, via, ifname, (unsigned)metric);
	json_object_set_new(desired, key, json_pack("{s:s, s:s, s:s?, s:s, s:I, s:s}",
		"family", v6 ? "inet6" : "inet", "dst", dst, "gateway", via, "ifname", ifname,
		"metric", metric, "source", source));
}

static json_t *desired_routes(void)
{
	json_t *desired = json_object(), *wanted = net_wanted_interfaces();
	json_t *leases = net_active_leases(), *want, *lease;
	const json_t *route;
	const char *ifname;
	size_t j;

	json_object_foreach(wanted, ifname, want) {
		json_array_foreach(json_object_get(want, "routes"), j, route) {
			const json_t *metric = json_object_get(route, "metric");

			want_route(desired, ifname, json_string_value(json_object_get(route, "to")),
				   json_string_value(json_object_get(route, "via")),
				   json_integer_value(metric), metric != NULL, "static");
		}
	}
	json_object_foreach(leases, ifname, lease)
		if (json_string_value(json_object_get(lease, "router")))
			want_route(desired, ifname, "default",
				   json_string_value(json_object_get(lease, "router")),
				   CTRL_DHCP_METRIC, true, "dhcp");
	json_decref(wanted);
	json_decref(leases);
	return desired;
}

/* The key of an observed route of the main table, or false to ignore it. */
static bool observed_key(struct ctrl *ctrl, struct rtnl_route *route, char *key, size_t size,
			 char *dst, char *gateway, char *ifname)
{
	struct rtnl_nexthop *nh;
	struct nl_addr *gw;

	if (rtnl_route_get_table(route) != RT_TABLE_MAIN || !rtnl_route_get_dst(route) ||
	    rtnl_route_get_type(route) != RTN_UNICAST || rtnl_route_get_nnexthops(route) < 1)
		return false;
	nh = rtnl_route_nexthop_n(route, 0);
	if (!net_ifname(ctrl, rtnl_route_nh_get_ifindex(nh), ifname))
		return false;
	net_addr_text(rtnl_route_get_dst(route), true, dst, 64);
	gw = rtnl_route_nh_get_gateway(nh);
	if (gw)
		net_addr_text(gw, false, gateway, 64);
	route_key(key, size, dst, gw ? gateway : NULL, ifname,
		  rtnl_route_get_priority(route));
	return true;
}

static struct rtnl_route *find_route(struct ctrl *ctrl, struct nl_cache *cache, const char *want)
{
	char key[256], dst[64], gateway[64], ifname[IFNAMSIZ];

	for (struct nl_object *obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj))
		if (observed_key(ctrl, (struct rtnl_route *)obj, key, sizeof(key), dst, gateway,
				 ifname) && strcmp(key, want) == 0)
			return (struct rtnl_route *)obj;
	return NULL;
}

static struct rtnl_route *build_route(struct ctrl *ctrl, const json_t *want, int *err)
{
	const char *gateway = json_string_value(json_object_get(want, "gateway"));
	int family = strcmp(json_string_value(json_object_get(want, "family")), "inet6") ?
		     AF_INET : AF_INET6;
	struct rtnl_route *route = rtnl_route_alloc();
	struct rtnl_nexthop *nh = rtnl_route_nh_alloc();
	struct nl_addr *dst = NULL, *gw = NULL;

	*err = nl_addr_parse(json_string_value(json_object_get(want, "dst")), family, &dst);
	if (*err >= 0 && gateway)
		*err = nl_addr_parse(gateway, family, &gw);
	rtnl_route_set_family(route, (uint8_t)family);
	rtnl_route_set_table(route, RT_TABLE_MAIN);
	rtnl_route_set_type(route, RTN_UNICAST);
	rtnl_route_set_scope(route, gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK);
	rtnl_route_set_protocol(route, strcmp(json_string_value(json_object_get(want, "source")),
					      "dhcp") ? RTPROT_STATIC : RTPROT_DHCP);
	rtnl_route_set_priority(route, (uint32_t)json_integer_value(json_object_get(want, "metric")));
	if (dst)
		rtnl_route_set_dst(route, dst);
	rtnl_route_nh_set_ifindex(nh, net_ifindex(ctrl, json_string_value(
		json_object_get(want, "ifname"))));
	if (gw)
		rtnl_route_nh_set_gateway(nh, gw);
	rtnl_route_add_nexthop(route, nh);
	nl_addr_put(dst);
	nl_addr_put(gw);
	return route;
}

static json_t *add_route(struct ctrl *ctrl, const char *key, const json_t *want)
{
	struct rtnl_route *route;
	int err;

	if (!net_ifindex(ctrl, json_string_value(json_object_get(want, "ifname"))))
		return ctrl_fail(ctrl->report, key, "no such link");
	route = build_route(ctrl, want, &err);
	if (err >= 0)
		err = rtnl_route_add(ctrl->sock, route, NLM_F_CREATE | NLM_F_EXCL);
	rtnl_route_put(route);
	if (err < 0)
		return ctrl_fail(ctrl->report, key, "cannot add: %s", nl_geterror(err));
	ctrl_changed(ctrl->report, key, "added (%s)",
		     json_string_value(json_object_get(want, "source")));
	return NULL;
}

/* The owned-set reconcile's view of the kernel's routes. */
struct route_ops {
	struct ctrl *ctrl;
	struct nl_cache *cache;
};

static bool route_present(void *arg, const char *key)
{
	struct route_ops *ops = arg;

	return find_route(ops->ctrl, ops->cache, key) != NULL;
}

static json_t *route_add(void *arg, const char *key, const json_t *want)
{
	return add_route(((struct route_ops *)arg)->ctrl, key, want);
}

static json_t *route_remove(void *arg, const char *key, const json_t *entry)
{
	struct route_ops *ops = arg;
	struct rtnl_route *route = find_route(ops->ctrl, ops->cache, key);
	int err = route ? rtnl_route_delete(ops->ctrl->sock, route, 0) : 0;

	(void)entry;
	if (err < 0 && err != -NLE_OBJ_NOTFOUND)
		return ctrl_fail(ops->ctrl->report, key, "cannot remove: %s", nl_geterror(err));
	if (route)
		ctrl_changed(ops->ctrl->report, key, "removed (no longer wanted)");
	return NULL;
}

static void route_save(void *arg)
{
	ctrl_save_owned(((struct route_ops *)arg)->ctrl);
}

static const char *route_source(json_t *owned, const char *key, struct rtnl_route *route)
{
	const char *source = json_string_value(json_object_get(json_object_get(owned, key),
							       "source"));

	if (source)
		return source;
	switch (rtnl_route_get_protocol(route)) {
	case RTPROT_KERNEL:
		return "kernel";
	case RTPROT_RA:
		return "ra";
	default:
		return "other";
	}
}

static void publish(struct ctrl *ctrl, struct nl_cache *cache, json_t *desired, json_t *errors)
{
	json_t *owned = json_object_get(ctrl->owned, "routes"), *items = json_array(), *error;
	char key[256], dst[64], gateway[64], ifname[IFNAMSIZ];
	const char *id;

	for (struct nl_object *obj = nl_cache_get_first(cache); obj;
	     obj = nl_cache_get_next(obj)) {
		struct rtnl_route *route = (struct rtnl_route *)obj;
		bool v6 = rtnl_route_get_family(route) == AF_INET6;

		/* one item per key (routes differing only in TOS or type share one) */
		if (!observed_key(ctrl, route, key, sizeof(key), dst, gateway, ifname) ||
		    find_route(ctrl, cache, key) != route)
			continue;
		error = json_object_get(errors, key);
		json_array_append_new(items, json_pack(
			"{s:s, s:s, s:s?, s:s, s:I, s:s, s:s, s:s, s:O}", "id", key,
			"dst", rtnl_route_get_dst(route) && nl_addr_get_prefixlen(
				rtnl_route_get_dst(route)) == 0 ? "default" : dst,
			"gateway", strstr(key, " via ") ? gateway : NULL, "ifname", ifname,
			"metric", (json_int_t)rtnl_route_get_priority(route),
			"family", v6 ? "inet6" : "inet", "table", "main",
			"source", route_source(owned, key, route),
			"error", error ? error : json_null()));
	}
	json_object_foreach(errors, id, error) {
		json_t *want = json_object_get(desired, id);

		if (want && !find_route(ctrl, cache, id)) {
			json_t *item = json_deep_copy(want);

			json_object_set_new(item, "id", json_string(id));
			json_object_set_new(item, "table", json_string("main"));
			json_object_set(item, "error", error);
			json_array_append_new(items, item);
		}
	}
	resources_publish("routes", items);
}

void ctrl_routes(struct ctrl *ctrl)
{
	json_t *desired, *errors;
	struct nl_cache *cache;
	int err;

	if (!net_refresh_links(ctrl))
		return;
	err = rtnl_route_alloc_cache(ctrl->sock, AF_UNSPEC, 0, &cache);
	if (err < 0) {
		json_decref(ctrl_fail(ctrl->report, "netlink", "cannot list: %s",
				      nl_geterror(err)));
		return;
	}
	desired = desired_routes();
	errors = json_object();
	{
		struct route_ops arg = { ctrl, cache };
		const struct owned_ops ops = { .arg = &arg, .present = route_present,
					       .add = route_add, .remove = route_remove,
					       .save = route_save };

		ctrl_owned_reconcile(json_object_get(ctrl->owned, "routes"), desired, errors, &ops,
				     true);
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
