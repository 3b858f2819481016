/* dns.c - the cluster DNS's records (kube.h, kube_dns_hosts): every node runs dnsmasq
 * (service kube-dns) at its pods' gateway, the first address of its podCIDR, which the kubelet
 * gives the pods as their name server. It answers the names of the Services from a hosts file
 * the kube controller writes from the API's Service list, and forwards other names to the
 * node's own servers. Pure, so the unit test gives it Service lists. */
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

static int by_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *kube_dns_hosts(const json_t *services, const char *domain)
{
	const json_t *items = json_object_get(services, "items"), *svc;
	size_t count = 0, i, len = 1;
	bool oom = false;
	char **lines = calloc(json_array_size(items) + 1, sizeof *lines), *text, *at;

	if (!lines)
		return NULL;
	json_array_foreach(items, i, svc) {
		const json_t *meta = json_object_get(svc, "metadata");
		const char *name = json_string_value(json_object_get(meta, "name"));
		const char *ns = json_string_value(json_object_get(meta, "namespace"));
		const char *ip = json_string_value(json_object_get(json_object_get(svc, "spec"),
								   "clusterIP"));
		struct in_addr a;
		/* a headless Service ("None") has no address of its own; anything the API would
		 * never give is left out rather than written into the file */
		if (!dns_label(name) || !dns_label(ns) || !ip || inet_pton(AF_INET, ip, &a) != 1)
			continue;
		if (asprintf(&lines[count], "%s %s.%s.svc.%s\n", ip, name, ns, domain) < 0) {
			oom = true;    /* never a file that silently lacks records */
			break;
		}
		len += strlen(lines[count++]);
	}
	qsort(lines, count, sizeof *lines, by_text);
	text = oom ? NULL : malloc(len);
	for (i = 0, at = text; text && i < count; i++)
		at = stpcpy(at, lines[i]);
	if (text)
		*at = '\0';
	for (i = 0; i < count; i++)
		free(lines[i]);
	free(lines);
	return text;
}
