/* dns.c - the cluster DNS's records (kube.h, kube_dns_hosts): every node runs dnsmasq
 * (service kube-dns) at its pods' gateway, the first address of its podCIDR, which the kubelet
 * gives the pods as their name server. It answers the names of the Services from a hosts file
 * the kube controller writes from the API's Service and Endpoints lists, and forwards other
 * names to the node's own servers. Pure, so the unit test gives it the lists. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube.h"

/* A DNS-1123 label, as Kubernetes requires of namespace and Service names. */
static bool dns_label(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= 63 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n &&
	       s[0] != '-' && s[n - 1] != '-';
}

static bool ipv4(const char *s)
{
	struct in_addr a;

	return s && inet_pton(AF_INET, s, &a) == 1;
}

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct lines {
	char **items;
	size_t count, cap, len;
	bool oom;
};

/* Adds the line "IP NAME.svc.DOMAIN\n" (NAME holds the namespace and any labels before it). */
static void add(struct lines *l, const char *ip, const char *name, const char *domain)
{
	char *line;

	if (l->oom)
		return;
	if (l->count == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **items = realloc(l->items, cap * sizeof *items);
		if (!items) {
			l->oom = true;
			return;
		}
		l->items = items;
		l->cap = cap;
	}
	if (asprintf(&line, "%s %s.svc.%s\n", ip, name, domain) < 0) {
		l->oom = true;    /* never a file that silently lacks records */
		return;
	}
	l->items[l->count++] = line;
	l->len += strlen(line);
}

/* The records of headless Service NAME in NS: its ready addresses under its name, and each
 * address with a hostname (a StatefulSet's pod) under HOSTNAME.NAME too. ENDPOINTS is the
 * Service's Endpoints object. */
static void add_headless(struct lines *l, const json_t *endpoints, const char *ns,
			 const char *name, const char *domain)
{
	const json_t *subset, *address;
	size_t i, j;
	char fqdn[200];

	json_array_foreach(json_object_get(endpoints, "subsets"), i, subset)
		json_array_foreach(json_object_get(subset, "addresses"), j, address) {
			const char *ip = kube_str(address, "ip");
			const char *host = kube_str(address, "hostname");
			if (!ipv4(ip))
				continue;
			snprintf(fqdn, sizeof fqdn, "%s.%s", name, ns);
			add(l, ip, fqdn, domain);
			if (dns_label(host)) {
				snprintf(fqdn, sizeof fqdn, "%s.%s.%s", host, name, ns);
				add(l, ip, fqdn, domain);
			}
		}
}

/* The Endpoints of ENDPOINTS (an EndpointsList) by "NAMESPACE/NAME": a new object. */
static json_t *index_endpoints(const json_t *endpoints)
{
	json_t *index = json_object();
	const json_t *item;
	size_t i;
	char key[160];

	json_array_foreach(json_object_get(endpoints, "items"), i, item) {
		const json_t *meta = json_object_get(item, "metadata");
		const char *name = kube_str(meta, "name"), *ns = kube_str(meta, "namespace");
		if (!index || !dns_label(name) || !dns_label(ns))
			continue;
		snprintf(key, sizeof key, "%s/%s", ns, name);
		json_object_set(index, key, (json_t *)item);
	}
	return index;
}

/* A headless Service: no address of its own, its name is its endpoints'. */
static bool headless(const json_t *svc)
{
	const char *ip = kube_str(json_object_get(svc, "spec"), "clusterIP");

	return ip && strcmp(ip, "None") == 0;
}

bool kube_dns_needs_endpoints(const json_t *services)
{
	const json_t *svc;
	size_t i;

	json_array_foreach(json_object_get(services, "items"), i, svc)
		if (headless(svc))
			return true;
	return false;
}

char *kube_dns_hosts(const json_t *services, const json_t *endpoints, const char *domain)
{
	const json_t *svc;
	json_t *index = index_endpoints(endpoints);
	struct lines l = { 0 };
	size_t i;
	char *text = NULL, *at, fqdn[160];

	l.oom = !index;
	json_array_foreach(json_object_get(services, "items"), i, svc) {
		const json_t *meta = json_object_get(svc, "metadata");
		const char *name = kube_str(meta, "name"), *ns = kube_str(meta, "namespace");
		const char *ip = kube_str(json_object_get(svc, "spec"), "clusterIP");
		/* anything the API would never give is left out rather than written into the file */
		if (!dns_label(name) || !dns_label(ns))
			continue;
		snprintf(fqdn, sizeof fqdn, "%s/%s", ns, name);
		if (headless(svc))
			add_headless(&l, json_object_get(index, fqdn), ns, name, domain);
		else if (ipv4(ip)) {
			snprintf(fqdn, sizeof fqdn, "%s.%s", name, ns);
			add(&l, ip, fqdn, domain);
		}
	}
	if (!l.oom && l.count)
		qsort(l.items, l.count, sizeof *l.items, by_text);
	text = l.oom ? NULL : malloc(l.len + 1);
	/* sorted, without repeats: an address in two subsets (two port sets) is one record */
	for (i = 0, at = text; text && i < l.count; i++)
		if (i == 0 || strcmp(l.items[i], l.items[i - 1]) != 0)
			at = stpcpy(at, l.items[i]);
	if (text)
		*at = '\0';
	for (i = 0; i < l.count; i++)
		free(l.items[i]);
	free(l.items);
	json_decref(index);
	return text;
}
