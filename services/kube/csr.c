/* csr.c - the decision on a kubelet's certificate request (kube.h, kube_csr_verdict): its
 * serving certificate, and its client certificate asked with the bootstrap token. Pure, so the
 * unit test gives it real requests made with GnuTLS.
 * A control plane's cairnd (join.c) approves what it says, and denies the rest with its reason,
 * which `kubectl get csr` then shows. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "kube.h"

static int deny(char *why, size_t len, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int deny(char *why, size_t len, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(why, len, f, ap);
	va_end(ap);
	return KUBE_CSR_DENY;
}

/* The request's subject field OID number IDX into BUF: 0, or -1 when it has none. */
static int crq_dn(gnutls_x509_crq_t crq, const char *oid, unsigned idx, char *buf, size_t len)
{
	size_t size = len;

	if (gnutls_x509_crq_get_dn_by_oid(crq, oid, idx, 0, buf, &size) < 0)
		return -1;
	buf[size < len ? size : len - 1] = '\0';
	return 0;
}

/* The subject alternative names: every DNS name is NAME, every IP address is ADDRESS, and there
 * is one of them at least. */
static int check_sans(gnutls_x509_crq_t crq, const char *name, const char *address, char *why,
		      size_t len)
{
	unsigned char want[4];
	unsigned count = 0;

	if (inet_pton(AF_INET, address, want) != 1)
		return deny(why, len, "the config's address of the node (%s) is not IPv4", address);
	for (unsigned seq = 0;; seq++) {
		unsigned char buf[256];
		size_t size = sizeof buf - 1;
		unsigned type, critical;
		int r = gnutls_x509_crq_get_subject_alt_name(crq, seq, buf, &size, &type, &critical);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0)
			return deny(why, len, "its subject alternative name %u: %s", seq,
				    gnutls_strerror(r));
		count++;
		if (type == GNUTLS_SAN_DNSNAME) {
			buf[size] = '\0';
			if (strlen((char *)buf) != size || strcmp((char *)buf, name) != 0)
				return deny(why, len, "it names the host %.64s, not the node's name %s",
					    (char *)buf, name);
		} else if (type == GNUTLS_SAN_IPADDRESS) {
			char text[INET6_ADDRSTRLEN] = "?";
			if (size == 4 && memcmp(buf, want, 4) == 0)
				continue;
			inet_ntop(size == 16 ? AF_INET6 : AF_INET, buf, text, sizeof text);
			return deny(why, len, "it names the address %s, not the node's %s", text,
				    address);
		} else {
			return deny(why, len, "it has a subject alternative name of type %u (only the "
				    "node's name and address may be named)", type);
		}
	}
	return count ? 0 : deny(why, len, "it names neither the node's name nor its address");
}

/* A client certificate asks for no subject alternative name. */
static int check_no_sans(gnutls_x509_crq_t crq, char *why, size_t len)
{
	unsigned char buf[256];
	size_t size = sizeof buf;
	unsigned type, critical;
	int r = gnutls_x509_crq_get_subject_alt_name(crq, 0, buf, &size, &type, &critical);

	if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		return 0;
	return deny(why, len, "it has a subject alternative name (a kubelet's client certificate "
		    "names none)");
}

/* The subject's O is system:nodes, and nothing else. */
static int check_node_org(gnutls_x509_crq_t crq, char *why, size_t len)
{
	char org[256];

	if (crq_dn(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 0, org, sizeof org) < 0 ||
	    strcmp(org, "system:nodes") != 0 ||
	    crq_dn(crq, GNUTLS_OID_X520_ORGANIZATION_NAME, 1, org, sizeof org) == 0)
		return deny(why, len, "its subject's O is not system:nodes alone");
	return 0;
}

/* Every usage in USAGES is a signature, a key encipherment or USE. */
static int check_usages(const json_t *usages, const char *use, const char *what, char *why,
			size_t len)
{
	const json_t *u;
	size_t i;

	json_array_foreach(usages, i, u) {
		const char *s = json_string_value(u);
		if (!s || (strcmp(s, "digital signature") != 0 && strcmp(s, "key encipherment") != 0 &&
			   strcmp(s, use) != 0))
			return deny(why, len, "it asks for the usage %.64s (%s)", s ? s : "?", what);
	}
	return 0;
}

/* The request of a kubelet serving certificate, asked by node NAME (NODE in the config). */
static int serving_verdict(gnutls_x509_crq_t crq, const char *user, const char *name,
			   const json_t *node, char *why, size_t len)
{
	char cn[256];

	if (crq_dn(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn, sizeof cn) < 0 ||
	    strcmp(cn, user) != 0)
		return deny(why, len, "its subject's CN is not %s", user);
	if (check_node_org(crq, why, len) < 0)
		return KUBE_CSR_DENY;
	if (check_sans(crq, name, kube_str(node, "address") ?: "", why, len) < 0)
		return KUBE_CSR_DENY;
	snprintf(why, len, "the serving certificate of node %s at %s", name,
		 kube_str(node, "address"));
	return KUBE_CSR_APPROVE;
}

/* USER (system:bootstrap:ID) asked with node NAME's bootstrap token: the one of NAME in
 * kubernetes.bootstrapTokens, or, in an older config without them, the one token of the cluster
 * (bootstrapToken). 0; else -1, WHY saying whose token it was. */
static int check_token(const json_t *kube, const char *user, const char *name, char *why,
		       size_t len)
{
	const json_t *tokens = json_object_get(kube, "bootstrapTokens"), *t;
	const char *id = user + 17, *owner, *token;

	if (strlen(id) != 6)
		return deny(why, len, "asked by %.80s, not with a bootstrap token", user);
	if (!tokens) {
		token = kube_str(kube, "bootstrapToken");
		if (token && strncmp(token, id, 6) == 0)
			return 0;
		return deny(why, len, "asked with the token %s, not the cluster's bootstrap token", id);
	}
	json_object_foreach((json_t *)tokens, owner, t) {
		token = json_string_value(t);
		if (!token || strncmp(token, id, 6) != 0)
			continue;
		if (strcmp(owner, name) == 0)
			return 0;
		return deny(why, len, "it asks for node %.64s with node %.64s's bootstrap token", name,
			    owner);
	}
	return deny(why, len, "asked with the token %s, which is no node's in "
		    "kubernetes.bootstrapTokens", id);
}

/* The request of a kubelet client certificate, asked by USER with a bootstrap token: its
 * subject must be a worker of the config, and the token that worker's. */
static int client_verdict(gnutls_x509_crq_t crq, const char *user, const json_t *kube,
			  char *why, size_t len)
{
	char cn[256];
	const json_t *node;
	const char *name;

	if (crq_dn(crq, GNUTLS_OID_X520_COMMON_NAME, 0, cn, sizeof cn) < 0 ||
	    strncmp(cn, "system:node:", 12) != 0)
		return deny(why, len, "its subject's CN is not system:node:NAME");
	name = cn + 12;
	node = json_object_get(json_object_get(kube, "nodes"), name);
	if (!node)
		return deny(why, len, "it asks for node %.64s, which is not in kubernetes.nodes", name);
	if (json_is_true(json_object_get(node, "controlPlane")))
		return deny(why, len, "it asks for node %.64s, a control plane, whose kubelet does "
			    "not join with a token", name);
	if (check_token(kube, user, name, why, len) < 0)
		return KUBE_CSR_DENY;
	if (check_node_org(crq, why, len) < 0)
		return KUBE_CSR_DENY;
	if (check_no_sans(crq, why, len) < 0)
		return KUBE_CSR_DENY;
	snprintf(why, len, "the client certificate of worker %s, asked with %s", name,
		 json_object_get(kube, "bootstrapTokens") ? "its own bootstrap token" :
		 "the cluster's bootstrap token");
	return KUBE_CSR_APPROVE;
}

int kube_csr_verdict(const json_t *csr, const json_t *kube, char *why, size_t len)
{
	const json_t *spec = json_object_get(csr, "spec"), *node = NULL;
	const char *signer = kube_str(spec, "signerName"), *user = kube_str(spec, "username");
	const char *request = kube_str(spec, "request"), *name = NULL;
	gnutls_datum_t pem = { NULL, 0 };
	gnutls_x509_crq_t crq = NULL;
	bool serving;
	int verdict;

	*why = '\0';
	if (!signer || json_array_size(json_object_get(json_object_get(csr, "status"),
						       "conditions")))
		return KUBE_CSR_SKIP;      /* decided */
	serving = strcmp(signer, "kubernetes.io/kubelet-serving") == 0;
	if (!serving) {
		/* A kubelet's client certificate asked with the bootstrap token; its renewals
		 * (asked by the node itself) are kube-controller-manager's, as is any other
		 * signer's request. */
		if (strcmp(signer, "kubernetes.io/kube-apiserver-client-kubelet") != 0 || !user ||
		    strncmp(user, "system:bootstrap:", 17) != 0)
			return KUBE_CSR_SKIP;
		if (check_usages(json_object_get(spec, "usages"), "client auth",
				 "a kubelet's client certificate is for client use only", why, len) < 0)
			return KUBE_CSR_DENY;
	} else {
		if (!user || strncmp(user, "system:node:", 12) != 0)
			return deny(why, len, "asked by %.80s, not by a node", user ? user : "nobody");
		name = user + 12;
		node = json_object_get(json_object_get(kube, "nodes"), name);
		if (!node)
			return deny(why, len, "asked by node %.64s, which is not in kubernetes.nodes",
				    name);
		if (check_usages(json_object_get(spec, "usages"), "server auth",
				 "a kubelet serves only", why, len) < 0)
			return KUBE_CSR_DENY;
	}
	if (!request || gnutls_base64_decode2(&(gnutls_datum_t){ (unsigned char *)request,
			(unsigned)strlen(request) }, &pem) < 0)
		return deny(why, len, "its request is not base64");
	if (gnutls_x509_crq_init(&crq) < 0) {
		gnutls_free(pem.data);
		return deny(why, len, "out of memory");
	}
	if (gnutls_x509_crq_import(crq, &pem, GNUTLS_X509_FMT_PEM) < 0)
		verdict = deny(why, len, "its request is not a PEM certificate request");
	else if (gnutls_x509_crq_verify(crq, 0) < 0)
		verdict = deny(why, len, "its request's signature does not verify");
	else if (serving)
		verdict = serving_verdict(crq, user, name, node, why, len);
	else
		verdict = client_verdict(crq, user, kube, why, len);
	gnutls_x509_crq_deinit(crq);
	gnutls_free(pem.data);
	return verdict;
}
