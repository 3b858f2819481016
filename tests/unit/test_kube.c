/* test_kube.c - services/kube's pure parts: csr.c, the decision a control plane's cairnd takes
 * on a kubelet's serving certificate request (the requests are real PKCS#10 requests made here
 * with GnuTLS, base64'd into a CertificateSigningRequest as the API server gives it); dns.c, the
 * cluster DNS's records from a Service list; serving.c, the kubelet's restarts for a missing
 * serving certificate. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "kube.h"

#define NODE "node-2"
#define ADDRESS "10.77.1.2"
#define SERVING "kubernetes.io/kubelet-serving"
#define CLIENT "kubernetes.io/kube-apiserver-client-kubelet"

struct req {
	const char *cn;
	const char *org[3];     /* NULL-terminated */
	const char *dns[3];
	const char *ips[3];
	const char *email;
};

/* A PEM certificate request, base64'd as spec.request carries it. */
static char *make_request(const struct req *r)
{
	gnutls_x509_privkey_t key;
	gnutls_x509_crq_t crq;
	gnutls_datum_t pem = { NULL, 0 }, b64 = { NULL, 0 };
	char *out;

	assert_int_equal(gnutls_x509_privkey_init(&key), 0);
	assert_int_equal(gnutls_x509_privkey_generate(key, GNUTLS_PK_ECDSA,
			 GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0), 0);
	assert_int_equal(gnutls_x509_crq_init(&crq), 0);
	assert_int_equal(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_COMMON_NAME, 0, r->cn,
						       (unsigned)strlen(r->cn)), 0);
	for (int i = 0; r->org[i]; i++)
		assert_int_equal(gnutls_x509_crq_set_dn_by_oid(crq, GNUTLS_OID_X520_ORGANIZATION_NAME,
				 0, r->org[i], (unsigned)strlen(r->org[i])), 0);
	for (int i = 0; r->dns[i]; i++)
		assert_int_equal(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_DNSNAME,
				 r->dns[i], (unsigned)strlen(r->dns[i]), GNUTLS_FSAN_APPEND), 0);
	for (int i = 0; r->ips[i]; i++) {
		unsigned char ip[4];
		assert_int_equal(inet_pton(AF_INET, r->ips[i], ip), 1);
		assert_int_equal(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_IPADDRESS, ip, 4,
				 GNUTLS_FSAN_APPEND), 0);
	}
	if (r->email)
		assert_int_equal(gnutls_x509_crq_set_subject_alt_name(crq, GNUTLS_SAN_RFC822NAME,
				 r->email, (unsigned)strlen(r->email), GNUTLS_FSAN_APPEND), 0);
	assert_int_equal(gnutls_x509_crq_set_key(crq, key), 0);
	assert_int_equal(gnutls_x509_crq_sign2(crq, key, GNUTLS_DIG_SHA256, 0), 0);
	assert_int_equal(gnutls_x509_crq_export2(crq, GNUTLS_X509_FMT_PEM, &pem), 0);
	assert_int_equal(gnutls_base64_encode2(&pem, &b64), 0);
	out = strndup((char *)b64.data, b64.size);
	gnutls_free(pem.data);
	gnutls_free(b64.data);
	gnutls_x509_crq_deinit(crq);
	gnutls_x509_privkey_deinit(key);
	return out;
}

/* The kubelet's own request: what kubelet 1.20 asks with --hostname-override and --node-ip. */
static const struct req kubelet_req = {
	.cn = "system:node:" NODE, .org = { "system:nodes" }, .dns = { NODE }, .ips = { ADDRESS },
};

/* A CertificateSigningRequest for SIGNER by USER of REQUEST, for signatures, key encipherment
 * and USE. */
static json_t *csr_for(const char *signer, const char *user, const char *request, const char *use)
{
	return json_pack("{s:{s:s}, s:{s:s, s:s, s:[s], s:[s, s, s], s:s}, s:{}}",
			 "metadata", "name", "csr-test",
			 "spec", "signerName", signer, "username", user, "groups", "system:nodes",
			 "usages", "digital signature", "key encipherment", use,
			 "request", request, "status");
}

static json_t *csr(const char *signer, const char *user, const char *request)
{
	return csr_for(signer, user, request, "server auth");
}

/* A control plane's .spec.kubernetes: node-1 a control plane, node-2 and node-3 workers, each
 * with its own bootstrap token (node-2's ID: abcdef). */
static json_t *cluster(void)
{
	return json_pack("{s:{s:{s:s, s:s, s:b}, s:{s:s, s:s, s:b}, s:{s:s, s:s, s:b}}, "
			 "s:{s:s, s:s, s:s}}", "nodes",
			 "node-1", "address", "10.77.1.1", "podCIDR", "10.244.1.0/24", "controlPlane", 1,
			 NODE, "address", ADDRESS, "podCIDR", "10.244.2.0/24", "controlPlane", 0,
			 "node-3", "address", "10.77.1.3", "podCIDR", "10.244.3.0/24", "controlPlane", 0,
			 "bootstrapTokens", "node-1", "aaaaaa.0123456789abcdef",
			 NODE, "abcdef.0123456789abcdef", "node-3", "cccccc.0123456789abcdef");
}

/* The verdict of a control plane whose .spec.kubernetes is KUBE on a request R by USER for
 * SIGNER and USE; WHY gets the reason. */
static int verdict_in(const json_t *kube, const char *signer, const struct req *r,
		      const char *user, const char *use, char *why, size_t len)
{
	char *request = make_request(r);
	json_t *c = csr_for(signer, user, request, use);
	int v = kube_csr_verdict(c, kube, why, len);

	json_decref(c);
	free(request);
	return v;
}

/* The verdict on a request R by USER for SIGNER and USE, in cluster(); WHY gets the reason. */
static int verdict_for(const char *signer, const struct req *r, const char *user,
		       const char *use, char *why, size_t len)
{
	json_t *kube = cluster();
	int v = verdict_in(kube, signer, r, user, use, why, len);

	json_decref(kube);
	return v;
}

/* The verdict on a serving request R by USER. */
static int verdict_of(const struct req *r, const char *user, char *why, size_t len)
{
	return verdict_for(SERVING, r, user, "server auth", why, len);
}

static void test_approves_the_kubelets_request(void **state)
{
	char why[256];
	(void)state;

	assert_int_equal(verdict_of(&kubelet_req, "system:node:" NODE, why, sizeof why),
			 KUBE_CSR_APPROVE);
	assert_string_equal(why, "the serving certificate of node node-2 at 10.77.1.2");
	/* the address alone, or the name alone, is enough */
	assert_int_equal(verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:nodes" }, .ips = { ADDRESS } }, "system:node:" NODE, why,
			 sizeof why), KUBE_CSR_APPROVE);
}

static void test_skips_other_signers_and_decided_requests(void **state)
{
	char why[256], *request = make_request(&kubelet_req);
	json_t *kube = cluster();
	/* a node renewing its client certificate: kube-controller-manager's to approve */
	json_t *renewal = csr_for(CLIENT, "system:node:" NODE, request, "client auth");
	/* another signer's, and a client request an administrator made */
	json_t *other = csr_for("kubernetes.io/kube-apiserver-client", "system:bootstrap:abcdef",
				request, "client auth");
	json_t *admin = csr_for(CLIENT, "cairn-admin", request, "client auth");
	json_t *decided = csr(SERVING, "system:node:" NODE, request);
	(void)state;

	assert_int_equal(kube_csr_verdict(renewal, kube, why, sizeof why), KUBE_CSR_SKIP);
	assert_int_equal(kube_csr_verdict(other, kube, why, sizeof why), KUBE_CSR_SKIP);
	assert_int_equal(kube_csr_verdict(admin, kube, why, sizeof why), KUBE_CSR_SKIP);
	json_object_set_new(json_object_get(decided, "status"), "conditions",
			    json_pack("[{s:s, s:s}]", "type", "Denied", "status", "True"));
	assert_int_equal(kube_csr_verdict(decided, kube, why, sizeof why), KUBE_CSR_SKIP);
	json_decref(renewal);
	json_decref(other);
	json_decref(admin);
	json_decref(decided);
	json_decref(kube);
	free(request);
}

/* The verdict on a client request R asked with the bootstrap token for USE. */
static int client_verdict_of(const struct req *r, const char *use, char *why, size_t len)
{
	return verdict_for(CLIENT, r, "system:bootstrap:abcdef", use, why, len);
}

/* What whoever holds node-2's bootstrap token may get: node-2's client certificate, and nothing
 * else. */
static void test_client_request_with_the_token(void **state)
{
	static const struct req node3 = { .cn = "system:node:node-3", .org = { "system:nodes" } };
	char why[256];
	(void)state;

	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:nodes" } }, "client auth", why, sizeof why),
			 KUBE_CSR_APPROVE);
	assert_string_equal(why, "the client certificate of worker node-2, asked with its own "
			    "bootstrap token");
	/* another worker's identity, with node-2's token; node-3's with its own */
	assert_int_equal(client_verdict_of(&node3, "client auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for node node-3 with node node-2's bootstrap token");
	assert_int_equal(verdict_for(CLIENT, &node3, "system:bootstrap:cccccc", "client auth", why,
				     sizeof why), KUBE_CSR_APPROVE);
	/* a token of no node's (one an administrator made, say), and a control plane's token */
	assert_int_equal(verdict_for(CLIENT, &node3, "system:bootstrap:zzzzzz", "client auth", why,
				     sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "asked with the token zzzzzz, which is no node's in "
			    "kubernetes.bootstrapTokens");
	assert_int_equal(verdict_for(CLIENT, &node3, "system:bootstrap:aaaaaa", "client auth", why,
				     sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for node node-3 with node node-1's bootstrap token");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:node-1",
			 .org = { "system:nodes" } }, "client auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for node node-1, a control plane, whose kubelet does not "
			    "join with a token");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:node-9",
			 .org = { "system:nodes" } }, "client auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for node node-9, which is not in kubernetes.nodes");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "cairn-admin",
			 .org = { "system:masters" } }, "client auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its subject's CN is not system:node:NAME");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:nodes", "system:masters" } }, "client auth", why,
			 sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its subject's O is not system:nodes alone");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:masters" } }, "client auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its subject's O is not system:nodes alone");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:nodes" }, .dns = { NODE } }, "client auth", why, sizeof why),
			 KUBE_CSR_DENY);
	assert_string_equal(why, "it has a subject alternative name (a kubelet's client "
			    "certificate names none)");
	assert_int_equal(client_verdict_of(&(struct req){ .cn = "system:node:" NODE,
			 .org = { "system:nodes" } }, "server auth", why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for the usage server auth (a kubelet's client certificate "
			    "is for client use only)");
}

/* An older config has no bootstrapTokens: its one bootstrapToken gives any worker's client
 * certificate, and no other token gives one. */
static void test_client_request_with_the_clusters_token(void **state)
{
	static const struct req node3 = { .cn = "system:node:node-3", .org = { "system:nodes" } };
	json_t *kube = cluster();
	char why[256];
	(void)state;

	json_object_del(kube, "bootstrapTokens");
	json_object_set_new(kube, "bootstrapToken", json_string("abcdef.0123456789abcdef"));
	assert_int_equal(verdict_in(kube, CLIENT, &node3, "system:bootstrap:abcdef", "client auth",
				    why, sizeof why), KUBE_CSR_APPROVE);
	assert_string_equal(why, "the client certificate of worker node-3, asked with the "
			    "cluster's bootstrap token");
	assert_int_equal(verdict_in(kube, CLIENT, &node3, "system:bootstrap:cccccc", "client auth",
				    why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "asked with the token cccccc, not the cluster's bootstrap token");
	assert_int_equal(verdict_in(kube, CLIENT, &node3, "system:bootstrap:abcdefg", "client auth",
				    why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "asked by system:bootstrap:abcdefg, not with a bootstrap token");
	json_decref(kube);
}

static void expect_denied(const struct req *r, const char *user, const char *reason)
{
	char why[256];

	assert_int_equal(verdict_of(r, user, why, sizeof why), KUBE_CSR_DENY);
	if (!strstr(why, reason))
		fail_msg("reason \"%s\" does not say \"%s\"", why, reason);
}

static void test_denies_what_the_config_does_not_say(void **state)
{
	(void)state;
	expect_denied(&kubelet_req, "system:bootstrap:abcdef", "asked by system:bootstrap:abcdef, "
		      "not by a node");
	expect_denied(&(struct req){ .cn = "system:node:node-9", .org = { "system:nodes" },
		      .dns = { "node-9" } }, "system:node:node-9",
		      "asked by node node-9, which is not in kubernetes.nodes");
	/* node-2 asking for a certificate of another name, another address, another subject */
	expect_denied(&(struct req){ .cn = "system:node:" NODE, .org = { "system:nodes" },
		      .dns = { NODE, "kubernetes.default" } }, "system:node:" NODE,
		      "names the host kubernetes.default, not the node's name node-2");
	expect_denied(&(struct req){ .cn = "system:node:" NODE, .org = { "system:nodes" },
		      .ips = { ADDRESS, "10.77.1.1" } }, "system:node:" NODE,
		      "names the address 10.77.1.1, not the node's 10.77.1.2");
	expect_denied(&(struct req){ .cn = "system:node:node-1", .org = { "system:nodes" },
		      .dns = { NODE } }, "system:node:" NODE, "CN is not system:node:node-2");
	expect_denied(&(struct req){ .cn = "system:node:" NODE,
		      .org = { "system:nodes", "system:masters" }, .dns = { NODE } },
		      "system:node:" NODE, "O is not system:nodes alone");
	expect_denied(&(struct req){ .cn = "system:node:" NODE, .org = { "system:nodes" } },
		      "system:node:" NODE, "names neither the node's name nor its address");
	expect_denied(&(struct req){ .cn = "system:node:" NODE, .org = { "system:nodes" },
		      .dns = { NODE }, .email = "root@node-2" }, "system:node:" NODE,
		      "subject alternative name of type");
}

static void test_denies_a_client_usage_and_a_bad_request(void **state)
{
	char why[256], *request = make_request(&kubelet_req);
	json_t *kube = cluster(), *c = csr(SERVING, "system:node:" NODE, request);
	(void)state;

	json_array_append_new(json_object_get(json_object_get(c, "spec"), "usages"),
			      json_string("client auth"));
	assert_int_equal(kube_csr_verdict(c, kube, why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "it asks for the usage client auth (a kubelet serves only)");
	json_decref(c);

	c = csr(SERVING, "system:node:" NODE, "bm90IGEgcmVxdWVzdA==");   /* "not a request" */
	assert_int_equal(kube_csr_verdict(c, kube, why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its request is not a PEM certificate request");
	json_decref(c);
	c = csr(SERVING, "system:node:" NODE, "***");
	assert_int_equal(kube_csr_verdict(c, kube, why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its request is not base64");
	json_decref(c);
	json_decref(kube);
	free(request);
}

/* A request whose signature does not match its content: one byte of the signed part changed
 * (a letter of the CN, so it still parses). */
static void test_denies_a_forged_signature(void **state)
{
	char why[256], *request = make_request(&kubelet_req), *pem, *at;
	gnutls_datum_t der = { NULL, 0 }, in, b64 = { NULL, 0 };
	gnutls_datum_t raw = { NULL, 0 };
	json_t *kube = cluster(), *c;
	(void)state;

	assert_int_equal(gnutls_base64_decode2(&(gnutls_datum_t){ (unsigned char *)request,
			 (unsigned)strlen(request) }, &raw), 0);
	pem = strndup((char *)raw.data, raw.size);
	in = (gnutls_datum_t){ (unsigned char *)pem, (unsigned)strlen(pem) };
	assert_int_equal(gnutls_pem_base64_decode2(NULL, &in, &der), 0);
	at = memmem(der.data, der.size, NODE, strlen(NODE));
	assert_non_null(at);
	at[5] = '3';      /* node-2 -> node-3 in the CN */
	gnutls_free(raw.data);
	assert_int_equal(gnutls_pem_base64_encode2("NEW CERTIFICATE REQUEST", &der, &raw), 0);
	assert_int_equal(gnutls_base64_encode2(&raw, &b64), 0);
	free(request);
	request = strndup((char *)b64.data, b64.size);
	c = csr(SERVING, "system:node:" NODE, request);
	assert_int_equal(kube_csr_verdict(c, kube, why, sizeof why), KUBE_CSR_DENY);
	assert_string_equal(why, "its request's signature does not verify");
	json_decref(c);
	json_decref(kube);
	gnutls_free(der.data);
	gnutls_free(raw.data);
	gnutls_free(b64.data);
	free(pem);
	free(request);
}

/* ---- dns.c ---- */

static json_t *service(const char *ns, const char *name, const char *ip)
{
	return json_pack("{s:{s:s, s:s}, s:{s:s}}", "metadata", "name", name, "namespace", ns,
			 "spec", "clusterIP", ip);
}

static void test_dns_records_of_services(void **state)
{
	json_t *list = json_pack("{s:s, s:[o, o, o, o]}", "kind", "ServiceList", "items",
				 service("default", "web", "10.96.0.20"),
				 service("default", "kubernetes", "10.96.0.1"),
				 service("kube-system", "db", "None"),          /* headless */
				 service("shop", "cart", "10.96.7.3"));
	char *hosts = kube_dns_hosts(list, NULL, "cluster.local");
	(void)state;

	/* sorted, so the same Services give the same file (written only when it changes) */
	assert_string_equal(hosts, "10.96.0.1 kubernetes.default.svc.cluster.local\n"
				   "10.96.0.20 web.default.svc.cluster.local\n"
				   "10.96.7.3 cart.shop.svc.cluster.local\n");
	free(hosts);
	json_decref(list);
	list = json_pack("{s:[o, o]}", "items", service("default", "web", "10.96.0.20"),
			 service("default", "noip", ""));
	assert_false(kube_dns_needs_endpoints(list));   /* no Endpoints listed for nothing */
	json_decref(list);
	list = json_pack("{s:[]}", "items");
	hosts = kube_dns_hosts(list, NULL, "cluster.local");
	assert_string_equal(hosts, "");
	free(hosts);
	json_decref(list);
}

/* What the API would never give is left out, never written into dnsmasq's file: a name that
 * is not a DNS label (a newline would add a record), an address that is not IPv4. */
static void test_dns_leaves_out_what_is_not_a_record(void **state)
{
	json_t *list = json_pack("{s:[o, o, o, o, o, o, {}]}", "items",
				 service("default", "web\n10.0.0.1 evil.example", "10.96.0.20"),
				 service("default", "UPPER", "10.96.0.21"),
				 service("-bad", "web", "10.96.0.22"),
				 service("default", "v6", "fd00::1"),
				 service("default", "noip", ""),
				 service("default", "ok", "10.96.0.23"));
	char *hosts = kube_dns_hosts(list, NULL, "cluster.local");
	(void)state;

	assert_string_equal(hosts, "10.96.0.23 ok.default.svc.cluster.local\n");
	free(hosts);
	json_decref(list);
}

/* A headless Service's names are its ready endpoints' addresses, and a StatefulSet pod's
 * hostname names its own; what is not a record is left out. */
static void test_dns_records_of_headless_services(void **state)
{
	json_t *services = json_pack("{s:[o, o, o, o]}", "items",
				     service("default", "web", "10.96.0.20"),
				     service("default", "db", "None"),
				     service("default", "nobody", "None"),   /* no Endpoints */
				     service("shop", "db", "None"));
	json_t *endpoints = json_pack(
		"{s:[{s:{s:s, s:s}, s:[{s:[{s:s, s:s}, {s:s}, {s:s, s:s}, {s:s, s:s}], "
		"s:[{s:s}]}, {s:[{s:s, s:s}]}]}, "
		"{s:{s:s, s:s}, s:[{s:[{s:s}]}]}, "
		"{s:{s:s, s:s}, s:[{s:[{s:s}]}]}]}",
		"items",
		"metadata", "name", "db", "namespace", "default",
		"subsets", "addresses", "ip", "10.244.1.5", "hostname", "db-0",
		"ip", "10.244.2.7",
		"ip", "fd00::7", "hostname", "v6",                 /* not IPv4 */
		"ip", "10.244.2.8", "hostname", "Evil\nname",      /* not a label */
		"notReadyAddresses", "ip", "10.244.3.9",           /* not ready */
		"addresses", "ip", "10.244.1.5", "hostname", "db-0",   /* another port set */
		"metadata", "name", "db", "namespace", "shop",
		"subsets", "addresses", "ip", "10.244.3.3",
		"metadata", "name", "web", "namespace", "default",   /* not headless */
		"subsets", "addresses", "ip", "10.244.1.2");
	char *hosts;
	(void)state;

	assert_non_null(endpoints);
	assert_true(kube_dns_needs_endpoints(services));
	hosts = kube_dns_hosts(services, endpoints, "cluster.local");
	assert_string_equal(hosts, "10.244.1.5 db-0.db.default.svc.cluster.local\n"
				   "10.244.1.5 db.default.svc.cluster.local\n"
				   "10.244.2.7 db.default.svc.cluster.local\n"
				   "10.244.2.8 db.default.svc.cluster.local\n"
				   "10.244.3.3 db.shop.svc.cluster.local\n"
				   "10.96.0.20 web.default.svc.cluster.local\n");
	free(hosts);
	/* no Endpoints listed: the headless Services have no records yet */
	hosts = kube_dns_hosts(services, NULL, "cluster.local");
	assert_string_equal(hosts, "10.96.0.20 web.default.svc.cluster.local\n");
	free(hosts);
	json_decref(services);
	json_decref(endpoints);
}

/* The kubelet of a worker without a serving certificate is restarted after growing waits, and
 * a restarted cairnd reads back the count that its definition carries (serving.c). */
static void test_serving_restarts_back_off_and_count_is_read_back(void **state)
{
	(void)state;
	assert_int_equal(kube_serving_wait_ms(0), 180000);
	assert_int_equal(kube_serving_wait_ms(1), 360000);
	assert_int_equal(kube_serving_wait_ms(2), 720000);
	assert_int_equal(kube_serving_wait_ms(3), 900000);
	assert_int_equal(kube_serving_wait_ms(4000000000u), 900000);

	assert_int_equal(kube_serving_asks_in("# generated by cairnd: kube\n" KUBE_SERVING_NOTE
					      "7\ncommand = kubelet\n"), 7);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "12\n"), 12);
	/* no note, no definition, or a note that is not a whole number: 0 */
	assert_int_equal(kube_serving_asks_in("command = kubelet\n"), 0);
	assert_int_equal(kube_serving_asks_in(NULL), 0);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "\n"), 0);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "-3\n"), 0);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "3x\n"), 0);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "99999999999999999999\n"), 0);
	assert_int_equal(kube_serving_asks_in(KUBE_SERVING_NOTE "5"), 0);   /* cut short */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_approves_the_kubelets_request),
		cmocka_unit_test(test_skips_other_signers_and_decided_requests),
		cmocka_unit_test(test_client_request_with_the_token),
		cmocka_unit_test(test_client_request_with_the_clusters_token),
		cmocka_unit_test(test_denies_what_the_config_does_not_say),
		cmocka_unit_test(test_denies_a_client_usage_and_a_bad_request),
		cmocka_unit_test(test_denies_a_forged_signature),
		cmocka_unit_test(test_dns_records_of_services),
		cmocka_unit_test(test_dns_leaves_out_what_is_not_a_record),
		cmocka_unit_test(test_dns_records_of_headless_services),
		cmocka_unit_test(test_serving_restarts_back_off_and_count_is_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
