/* kube.h - the kube controller, a row of cairnd's controller table (controller.h): a node
 * whose MachineConfig has `kubernetes` runs containerd, kubelet and kube-proxy, and a
 * control-plane node also etcd, kube-apiserver, kube-controller-manager and kube-scheduler, as
 * supervised services. Their certificates are issued here from the cluster CAs in the config.
 * See README.md. */
#ifndef CAIRN_KUBE_H
#define CAIRN_KUBE_H

#include <stdbool.h>

#include <jansson.h>

#include "controller.h"

/* The string at KEY of O, or NULL (not a string, no such key, no object). */
static inline const char *kube_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

#define KUBE_DIR "/var/lib/cairn/kube"          /* certificates, kubeconfigs, settings */
#define KUBE_PKI KUBE_DIR "/pki"
#define KUBE_ETCD_DATA "/var/lib/cairn/etcd"     /* without a pool: RAM on a PXE or ISO node */
#define KUBE_STATE_DIR "/var/lib/cairn/state"    /* the state volume (services/storage) */
#define KUBE_ETCD_STATE_DATA KUBE_STATE_DIR "/etcd"
#define KUBE_IMAGES "/usr/share/cairn/images"    /* image archives imported at boot */
#define KUBE_PAUSE_IMAGE "cairn.local/pause:1"
#define KUBE_CONTAINERD_SOCK "/run/containerd/containerd.sock"
#define KUBE_APISERVER_PORT 6443

void *kube_init(const struct controller_env *env);
int kube_reconcile(void *state, const json_t *config, struct ctrl_report *report);
void kube_halt(void *state);

/* etcdctl's TLS arguments with the node's etcd client certificate (issued on control planes),
 * for the controller's member list and the API's snapshots. */
#define KUBE_ETCD_CLIENT_TLS "--cacert", KUBE_PKI "/etcd-ca.crt", "--cert", \
	KUBE_PKI "/etcd-client.crt", "--key", KUBE_PKI "/etcd-client.key"

/* The node's name in Kubernetes (and etcd's member name): MACHINE's hostname, else its
 * metadata.name; NULL when it has neither. */
const char *kube_node_name(const json_t *machine);
/* etcd's data folder on a node whose MachineConfig spec is SPEC: KUBE_ETCD_STATE_DATA, on the
 * state volume of its pool, when it has storage pools, unless a member's data from before the
 * pool is still in KUBE_ETCD_DATA (it is used until the next boot); else KUBE_ETCD_DATA. The
 * folders set aside (.former-member, .before-restore, .restored) are its siblings, so on the
 * same file system. */
const char *kube_etcd_data_dir(const json_t *spec);

/* DATA (LEN bytes) in base64, malloc()ed; NULL when out of memory. */
char *kube_base64(const void *data, size_t len);

/* An admin kubeconfig (O=system:masters, valid DAYS) for SERVER (NULL: the endpoint in the
 * config), issued from the Kubernetes CA of CONFIG's MachineConfig: malloc()ed YAML, or NULL
 * with ERR set. */
char *kube_admin_kubeconfig(const json_t *config, const char *server, unsigned days,
			    char *err, size_t errlen);

/* ---- Requests to an API server (apiclient.c) */

struct kube_api_creds {
	const char *server;      /* https://HOST:PORT */
	const char *cert, *key;  /* PEM files of the client certificate and its key (may be one) */
};

/* METHOD PATH (with BODY, JSON) to CREDS's server, whose certificate must verify against
 * KUBE_PKI/ca.crt. The HTTP status, or 0 when no answer came (ERR says why: not listening yet,
 * most often); ERR also has the Status message of an answer >= 300. *REPLY gets the answer's
 * JSON when REPLY is not NULL (NULL when it was none). Waits at most 15 s. */
long kube_api(const struct kube_api_creds *creds, const char *method, const char *path,
	      const json_t *body, json_t **reply, char *err, size_t errlen);
/* A control plane's own API server as cairn-admin (KUBE_PKI/admin.{crt,key}). */
extern const struct kube_api_creds kube_local_admin;

/* ---- Cluster DNS (dns.c) */

#define KUBE_DNS_DIR KUBE_DIR "/dns"       /* dnsmasq's --hostsdir: the Services' records */
#define KUBE_DNS_DOMAIN "cluster.local"

/* The hosts file of cluster DNS for SERVICES (a ServiceList, as the API gives it) and
 * ENDPOINTS (an EndpointsList; NULL: none): a line "IP NAME.NAMESPACE.svc.DOMAIN" for each
 * Service with an IPv4 cluster IP; for a headless Service (clusterIP None), one such line for
 * each ready IPv4 address of its Endpoints, and "IP HOSTNAME.NAME.NAMESPACE.svc.DOMAIN" for an
 * address with a hostname (a StatefulSet's pod). Sorted, without repeats; names that are not
 * DNS labels are left out. malloc()ed ("" for none); NULL when out of memory. */
char *kube_dns_hosts(const json_t *services, const json_t *endpoints, const char *domain);
/* Whether SERVICES (a ServiceList) has a headless Service, whose records kube_dns_hosts() takes
 * from the Endpoints. */
bool kube_dns_needs_endpoints(const json_t *services);

/* ---- Pods' ports (podports.c): the ones no DEL removed */

struct ovsdb;
/* The pods' logical ports (the CNI plugin's) in the northbound database NB: an array of
 * {uuid, name, namespace, pod, container}; NULL with ERR when the database did not answer. */
json_t *kube_pod_ports(struct ovsdb *nb, char *err, size_t errlen);
/* Of PORTS (kube_pod_ports()), those whose pod is not in PODS (a PodList): a new array. */
json_t *kube_pod_ports_stale(const json_t *ports, const json_t *pods);
/* Takes PORT (an element of kube_pod_ports()) off switch LS and port group PG, so the database
 * drops it, unless its container changed since (a new sandbox took it over) or it is gone:
 * 1 removed, 0 left alone, -1 with ERR. */
int kube_pod_port_remove(struct ovsdb *nb, const json_t *port, const char *ls, const char *pg,
			 char *err, size_t errlen);

/* ---- Joining (join.c): a worker holds no CA key. Its kubelet joins with its own bootstrap
 * token (a client certificate a control plane's cairnd approves for that worker only and
 * kube-controller-manager signs) and asks for its serving certificate, which a control plane's
 * cairnd approves when it matches the config. */

/* A control plane's part, kept between passes. */
struct kube_join {
	bool applied;             /* the join objects were written ... */
	unsigned long long tokens;  /* ... for these bootstrap tokens' Secrets (a hash) */
	long long objects_ms;     /* when (CLOCK_MONOTONIC) */
	long long csrs_ms;        /* when the certificate requests were last looked at */
	bool old_binding_gone;    /* the binding earlier Cairns made for the token is gone */
};

/* Through the local API server as cairn-admin: the bootstrap token's Secret and the bindings
 * the join needs (written when they change, and every few minutes), and the decisions on the
 * kubelets' serving certificate requests. A silent API server is waited for without failing. */
int kube_join_reconcile(struct kube_join *join, struct ctrl_report *report, const json_t *kube);

enum { KUBE_CSR_DENY = -1, KUBE_CSR_SKIP = 0, KUBE_CSR_APPROVE = 1 };
/* The decision on CSR (a CertificateSigningRequest, as the API gives it) for the cluster of
 * KUBE (MachineConfig .spec.kubernetes). SKIP for a decided request, and for every signer's but
 * the two below. WHY (LEN bytes) says what was approved, or why not.
 * - A kubelet serving certificate (kubernetes.io/kubelet-serving): APPROVE when a node in
 *   kubernetes.nodes asks, for its own subject (CN system:node:NAME, O system:nodes), naming
 *   that node's name and address and nothing else, for server use only, with a valid
 *   signature; else DENY.
 * - A kubelet client certificate (kubernetes.io/kube-apiserver-client-kubelet) asked with a
 *   bootstrap token (by system:bootstrap:ID): APPROVE when its subject is a worker in
 *   kubernetes.nodes (CN system:node:NAME, not a control plane; O system:nodes) and the token
 *   is that worker's in kubernetes.bootstrapTokens (in an older config without them: the
 *   cluster's one bootstrapToken), with no alternative names, for client use only, with a
 *   valid signature; else DENY. A node's renewal of its own is left to
 *   kube-controller-manager (SKIP). */
int kube_csr_verdict(const json_t *csr, const json_t *kube, char *why, size_t len);

/* A worker whose kubelet has joined but has no serving certificate gets its kubelet restarted,
 * so that it asks again (kube.c, watch_serving_cert; serving.c). The restarts are counted in a
 * comment of the kubelet's definition, "KUBE_SERVING_NOTE N\n", so a changed count restarts it
 * and a restarted cairnd reads the count back (kube_serving_asks_in(): 0 when there is none
 * or it is not a number). kube_serving_wait_ms(TRIES): how long to wait for the certificate
 * before restarting, after TRIES restarts without one: 3, 6 and 12 min, then 15 min (the
 * kubelet's own wait for a request) each. */
#define KUBE_SERVING_NOTE "# asked again for a serving certificate: "
long long kube_serving_wait_ms(unsigned tries);
unsigned kube_serving_asks_in(const char *definition);

#endif
