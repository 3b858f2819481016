/* kube.h - the kube controller, a row of cairnd's controller table (controller.h): a node
 * whose MachineConfig has `kubernetes` runs containerd, kubelet and kube-proxy, and a
 * control-plane node also etcd, kube-apiserver, kube-controller-manager and kube-scheduler, as
 * supervised services. Their certificates are issued here from the cluster CAs in the config.
 * See README.md. */
#ifndef CAIRN_KUBE_H
#define CAIRN_KUBE_H

#include <jansson.h>

#include "controller.h"

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

#endif
