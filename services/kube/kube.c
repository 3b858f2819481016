/* kube.c - the kube controller (kube.h): Kubernetes as co-managed services.
 *
 * From MachineConfig .spec.kubernetes (lib/config/kubernetes.c) it issues the node's
 * certificates from the cluster CAs, writes the kubeconfigs and settings under KUBE_DIR, and
 * renders the service definitions PID 1 supervises:
 *   every node:        containerd, kube-images (oneshot: imports KUBE_IMAGES), kubelet,
 *                      kube-proxy;
 *   control planes:    etcd, kube-apiserver, kube-controller-manager, kube-scheduler.
 * The routes to the other nodes' pod ranges go over the cluster network (the bridge CNI
 * plugin puts this node's pods on cni0). A node without `kubernetes` runs none of it.
 *
 * The certificates are issued again only when what they say changes (a digest of the inputs
 * is kept next to them), so a restarted cairnd leaves them, and the services, alone. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

#include "config.h"
#include "fileio.h"
#include "kube.h"
#include "nb.h"
#include "ovsdb.h"
#include "pki.h"
#include "resources.h"
#include "runcmd.h"
#include "schema.h"

#define KUBE_USER "cairn-kube"    /* apiserver, controller-manager, scheduler */
#define DNS_USER "cairn-dns"      /* dnsmasq: cluster DNS */
#define ETCD_USER "etcd"
#define CERT_DAYS 365
#define ROUTE_PROTO "static"

static const char *const kube_services[] = {
	"containerd", "kube-images", "kubelet", "kube-proxy",
	"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-dns", NULL,
};
#define KUBE_SERVICES 9

struct kube_state {
	char digest[65];        /* of the inputs of the certificates written */
	json_t *routes;         /* pod range -> via, as installed */
	json_t *member_nodes;   /* kubernetes.nodes at the last member list */
	long long members_ms;   /* when the members were listed (CLOCK_MONOTONIC) */
	long long alone_ms;     /* since when no other control plane's etcd listens (0: not) */
	struct kube_join join;  /* a control plane's part in the workers' join (join.c) */
	long long dns_ms;       /* when the Services were last listed for cluster DNS */
	long long ports_ms;     /* when the pods' ports were last collected */
	long long no_serving_ms; /* a worker: since when its kubelet has joined without a
				  * serving certificate (0: it has one, or has not joined) */
	unsigned serving_asks;  /* how often the kubelet was restarted to ask again (in its
				 * definition, read back after a restart of cairnd) */
	unsigned serving_tries; /* restarts since it last had a serving certificate */
	bool serving_loaded;    /* serving_asks was read from the kubelet's definition */
};

/* Where this node's pods go. With kubernetes.ovnNetwork: on that OVN Network, through the
 * cairn-ovn CNI plugin (services/kube/cni); the host joins it through the OVS internal port
 * PODS_LINK at the first address of the node's podCIDR, which is its pods' gateway, and reaches
 * every pod and VM of the Network through it. Without: the bridge plugin on cni0, and routes to
 * the other nodes' podCIDRs over the cluster network. */
#define PODS_LINK "cairn-pods"

/* A worker's kubelet: the certificates it gets by joining, and the kubeconfig it writes. */
#define KUBELET_CERT_DIR KUBE_PKI "/kubelet"
#define KUBELET_KUBECONFIG KUBE_DIR "/kubelet-joined.kubeconfig"
#define OVN_LOCAL_DB "unix:/run/cairn/ovn/db.sock"

struct pods {
	const char *network;           /* kubernetes.ovnNetwork, or NULL */
	char northbound[64];           /* tcp:CENTRAL:6641 */
	long long mtu;
	char gateway[16];              /* the host's address there */
	unsigned prefix;               /* the Network's */
	char port[OVN_NB_NAME_MAX], mac[18];
	char ls[OVN_NB_NAME_MAX], pg[OVN_NB_NAME_MAX];
};

/* A control plane with empty data starts a new cluster only after no other control plane's
 * etcd has listened for this long: an etcd that restarts (new certificates, a crash) must not
 * make a joining node start a cluster of its own. */
#define ETCD_ALONE_MS 60000

#define MEMBERS_EVERY_MS 15000   /* etcdctl costs a busy node; the config's changes go first */
#define DNS_EVERY_MS 10000       /* a new Service's name answers within this */
#define POD_PORTS_EVERY_MS 30000 /* a dead node's pod's port goes within this of its pod */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- small helpers --------------------------------------------------------------------- */

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		abort();   /* out of memory */
	va_end(ap);
	return s;
}

static bool user_ids(const char *user, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw = getpwnam(user);

	if (!pw)
		return false;
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	return true;
}

/* The first half of put(): TEXT staged next to PATH with MODE, owned by UID:GID. 0 with *TMP
 * set, or -1 reported (nothing left behind). */
static int stage(struct ctrl_report *report, const char *path, const char *text, mode_t mode,
		 uid_t uid, gid_t gid, char **tmp)
{
	const char *what = NULL;

	if (fileio_stage(path, text, strlen(text), mode, tmp, &what) < 0) {
		ctrl_fail(report, path, "%s: %s", what ? what : "write", strerror(errno));
		return -1;
	}
	if (chown(*tmp, uid, gid) < 0) {
		ctrl_fail(report, path, "chown: %s", strerror(errno));
		fileio_discard(*tmp);
		*tmp = NULL;
		return -1;
	}
	return 0;
}

static int commit(struct ctrl_report *report, char *tmp, const char *path)
{
	const char *what = NULL;

	if (fileio_commit(tmp, path, &what) < 0) {
		ctrl_fail(report, path, "%s: %s", what ? what : "rename", strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes TEXT to PATH (MODE, owned by UID:GID) when the content or the owner differs: a new
 * file with its final owner and mode, renamed over PATH, so a reader never sees it half
 * written nor owned by root for a while. 0, or -1 reported. */
static int put(struct ctrl_report *report, const char *path, const char *text, mode_t mode,
	       uid_t uid, gid_t gid)
{
	char *old = fileio_read(path, FILEIO_COMPARE_MAX, NULL), *tmp = NULL;
	struct stat st;
	bool same = old && strcmp(old, text) == 0 && stat(path, &st) == 0 &&
		    st.st_uid == uid && st.st_gid == gid && (st.st_mode & 07777) == mode;

	free(old);
	if (same)
		return 0;
	return stage(report, path, text, mode, uid, gid, &tmp) < 0 ? -1 : commit(report, tmp, path);
}

/* ---- certificates ---------------------------------------------------------------------- */

struct issuer {
	struct ctrl_report *report;
	struct pki_ca ca;
	bool loaded;
};

static int issuer_load(struct issuer *is, const json_t *ca_json, const char *what)
{
	char err[PKI_ERROR_MAX];

	if (pki_ca_import(kube_str(ca_json, "cert"), kube_str(ca_json, "key"), &is->ca, err) < 0) {
		ctrl_fail(is->report, what, "%s", err);
		return -1;
	}
	is->loaded = true;
	return 0;
}

/* Issues NAME.crt and NAME.key in KUBE_PKI; the key owned by UID:GID, mode 0600. */
static int issue(struct issuer *is, const char *name, const struct pki_request *req, uid_t uid,
		 gid_t gid)
{
	char err[PKI_ERROR_MAX], *cert = NULL, *key = NULL;
	char *cpath = fmt("%s/%s.crt", KUBE_PKI, name), *kpath = fmt("%s/%s.key", KUBE_PKI, name);
	int rc = -1;

	char *ktmp = NULL, *ctmp = NULL;

	/* both files complete before either is renamed: never a key beside another's certificate */
	if (pki_issue(&is->ca, req, &cert, &key, err) < 0) {
		ctrl_fail(is->report, name, "issuing the certificate: %s", err);
	} else if (stage(is->report, kpath, key, 0600, uid, gid, &ktmp) == 0 &&
		   stage(is->report, cpath, cert, 0644, 0, 0, &ctmp) == 0) {
		/* the certificate only after its key: a key that could not be renamed leaves the
		 * old pair as it was (the staged certificate is discarded below) */
		rc = commit(is->report, ktmp, kpath);
		ktmp = NULL;
		if (rc == 0) {
			rc = commit(is->report, ctmp, cpath);
			ctmp = NULL;
		}
	}
	fileio_discard(ktmp);
	fileio_discard(ctmp);
	if (key)
		memset(key, 0, strlen(key));
	free(cert);
	free(key);
	free(cpath);
	free(kpath);
	return rc;
}

/* The SHA-256 of everything the certificates depend on, in hex. */
static void inputs_digest(const json_t *kube, const char *name, bool cp, char out[65])
{
	char *text = json_dumps(kube, JSON_SORT_KEYS | JSON_COMPACT), *all;
	unsigned char d[32];

	all = fmt("%s\n%s\n%d", name, text ? text : "", cp);
	gnutls_hash_fast(GNUTLS_DIG_SHA256, all, strlen(all), d);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
	free(text);
	free(all);
}

/* What only a control plane has in KUBE_PKI (the CA's and the service accounts' keys, the
 * certificates it issued itself), removed on a worker: a node that stops being a control plane
 * keeps no key of the cluster's. */
static int remove_control_plane_files(struct ctrl_report *report)
{
	static const char *const names[] = {
		"ca.key", "sa.key", "sa.pub", "etcd-ca.crt", "kubelet", "kubelet-server", "kube-proxy",
		"etcd-server", "etcd-peer", "etcd-client", "apiserver-etcd", "apiserver",
		"apiserver-kubelet", "controller-manager", "scheduler", "admin", NULL,
	};
	int rc = 0;

	for (int i = 0; names[i]; i++) {
		bool pair = !strchr(names[i], '.');
		for (int k = 0; k < (pair ? 2 : 1); k++) {
			char *path = pair ? fmt("%s/%s.%s", KUBE_PKI, names[i], k ? "crt" : "key") :
					    fmt("%s/%s", KUBE_PKI, names[i]);
			if (unlink(path) == 0)
				ctrl_changed(report, "pki", "removed %s: a worker keeps no control "
					     "plane's file", path);
			else if (errno != ENOENT) {
				ctrl_fail(report, path, "unlink: %s", strerror(errno));
				rc = -1;
			}
			free(path);
		}
	}
	return rc;
}

/* The kubeconfig of USER, who authenticates with CREDENTIALS (kubeconfig's user keys). */
static char *kubeconfig_as(const char *server, const char *user, const char *credentials)
{
	return fmt("# rendered by cairnd\n"
		   "apiVersion: v1\nkind: Config\n"
		   "clusters:\n- name: cairn\n  cluster:\n"
		   "    server: %s\n    certificate-authority: " KUBE_PKI "/ca.crt\n"
		   "users:\n- name: %s\n  user:\n%s"
		   "contexts:\n- name: %s\n  context:\n    cluster: cairn\n    user: %s\n"
		   "current-context: %s\n", server, user, credentials, user, user, user);
}

/* The kubeconfig of USER, with its certificate and key files in KUBE_PKI. */
static char *kubeconfig(const char *server, const char *user, const char *certname)
{
	char *credentials = fmt("    client-certificate: " KUBE_PKI "/%s.crt\n"
				"    client-key: " KUBE_PKI "/%s.key\n", certname, certname);
	char *text = kubeconfig_as(server, user, credentials);

	free(credentials);
	return text;
}

static int render_pki(struct kube_state *s, struct ctrl_report *report, const json_t *kube,
		      const char *name, bool cp)
{
	const char *address = kube_str(kube, "address"), *endpoint = kube_str(kube, "endpoint");
	struct issuer kca = { .report = report }, eca = { .report = report };
	uid_t kuid = 0, euid = 0;
	gid_t kgid = 0, egid = 0;
	char digest[65], first_service_ip[16];
	uint32_t svc_net;
	unsigned svc_prefix;
	int rc = -1;

	inputs_digest(kube, name, cp, digest);
	if (strcmp(digest, s->digest) == 0)
		return 0;
	{
		char *stamp = fileio_read(KUBE_PKI "/inputs.sha256", 128, NULL);
		bool same = stamp && strncmp(stamp, digest, 64) == 0;
		free(stamp);
		if (same) {
			memcpy(s->digest, digest, sizeof digest);
			return 0;
		}
	}
	if (fileio_mkdirs(KUBE_PKI, 0755) < 0) {
		ctrl_fail(report, KUBE_PKI, "mkdir: %s", strerror(errno));
		return -1;
	}
	if (cp && (!user_ids(KUBE_USER, &kuid, &kgid) || !user_ids(ETCD_USER, &euid, &egid))) {
		ctrl_fail(report, "users", "no user %s or %s in /etc/passwd: the control plane would "
			  "run as root; not starting it", KUBE_USER, ETCD_USER);
		return -1;
	}
	if (!config_ipv4_cidr_parse(kube_str(kube, "serviceSubnet"), &svc_net, &svc_prefix)) {
		ctrl_fail(report, "serviceSubnet", "not an IPv4 CIDR");
		return -1;
	}
	config_ipv4_format(svc_net + 1, first_service_ip);
	if (put(report, KUBE_PKI "/ca.crt", kube_str(json_object_get(kube, "ca"), "cert"), 0644,
		0, 0) < 0)
		goto out;
	if (!cp) {
		/* a worker issues nothing: its kubelet joins with the bootstrap token (join.c), and
		 * what a control plane had here before goes */
		if (remove_control_plane_files(report) < 0)
			goto out;
	} else if (issuer_load(&kca, json_object_get(kube, "ca"), "ca") < 0) {
		goto out;
	} else {
		char *cn = fmt("system:node:%s", name);
		const char *sans[] = { name, address, NULL };
		int r = issue(&kca, "kubelet", &(struct pki_request){ .common_name = cn,
				.organization = "system:nodes", .client = true, .days = CERT_DAYS }, 0, 0);
		r = r ?: issue(&kca, "kubelet-server", &(struct pki_request){ .common_name = name,
				.sans = sans, .server = true, .days = CERT_DAYS }, 0, 0);
		r = r ?: issue(&kca, "kube-proxy", &(struct pki_request){
				.common_name = "system:kube-proxy", .client = true, .days = CERT_DAYS }, 0, 0);
		free(cn);
		if (r < 0)
			goto out;
	}
	if (cp) {
		const json_t *sa = json_object_get(kube, "serviceAccount");
		const char *api_sans[] = { "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local", "localhost", first_service_ip, "127.0.0.1",
			address, endpoint, name, NULL };
		const char *etcd_sans[] = { name, "localhost", "127.0.0.1", address, NULL };
		if (issuer_load(&eca, json_object_get(kube, "etcdCA"), "etcdCA") < 0 ||
		    put(report, KUBE_PKI "/etcd-ca.crt",
			kube_str(json_object_get(kube, "etcdCA"), "cert"), 0644, 0, 0) < 0 ||
		    put(report, KUBE_PKI "/ca.key", kube_str(json_object_get(kube, "ca"), "key"),
			0600, kuid, kgid) < 0 ||
		    put(report, KUBE_PKI "/sa.key", kube_str(sa, "key"), 0600, kuid, kgid) < 0 ||
		    put(report, KUBE_PKI "/sa.pub", kube_str(sa, "public"), 0644, 0, 0) < 0 ||
		    issue(&eca, "etcd-server", &(struct pki_request){ .common_name = name,
			    .sans = etcd_sans, .server = true, .client = true, .days = CERT_DAYS },
			  euid, egid) < 0 ||
		    issue(&eca, "etcd-peer", &(struct pki_request){ .common_name = name,
			    .sans = etcd_sans, .server = true, .client = true, .days = CERT_DAYS },
			  euid, egid) < 0 ||
		    /* etcdctl's, for the health check (run as etcd) and cairnd's snapshots */
		    issue(&eca, "etcd-client", &(struct pki_request){ .common_name = "cairn-etcd-client",
			    .client = true, .days = CERT_DAYS }, euid, egid) < 0 ||
		    issue(&eca, "apiserver-etcd", &(struct pki_request){
			    .common_name = "kube-apiserver-etcd-client", .client = true,
			    .days = CERT_DAYS }, kuid, kgid) < 0 ||
		    issue(&kca, "apiserver", &(struct pki_request){ .common_name = "kube-apiserver",
			    .sans = api_sans, .server = true, .days = CERT_DAYS }, kuid, kgid) < 0 ||
		    issue(&kca, "apiserver-kubelet", &(struct pki_request){
			    .common_name = "kube-apiserver-kubelet-client",
			    .organization = "system:masters", .client = true, .days = CERT_DAYS },
			  kuid, kgid) < 0 ||
		    issue(&kca, "controller-manager", &(struct pki_request){
			    .common_name = "system:kube-controller-manager", .client = true,
			    .days = CERT_DAYS }, kuid, kgid) < 0 ||
		    issue(&kca, "scheduler", &(struct pki_request){
			    .common_name = "system:kube-scheduler", .client = true, .days = CERT_DAYS },
			  kuid, kgid) < 0 ||
		    issue(&kca, "admin", &(struct pki_request){ .common_name = "cairn-admin",
			    .organization = "system:masters", .client = true, .days = CERT_DAYS }, 0, 0) < 0)
			goto out;
	}
	if (put(report, KUBE_PKI "/inputs.sha256", digest, 0644, 0, 0) < 0)
		goto out;
	memcpy(s->digest, digest, sizeof digest);
	ctrl_changed(report, "pki", "issued the node's certificates (%s)", cp ? "control plane" : "worker");
	rc = 0;
out:
	if (kca.loaded)
		pki_ca_free(&kca.ca);
	if (eca.loaded)
		pki_ca_free(&eca.ca);
	return rc;
}

/* ---- settings -------------------------------------------------------------------------- */

static int render_settings(struct ctrl_report *report, const json_t *kube, const char *name,
			   bool cp, const char *pod_cidr, const char *dns_address,
			   const struct pods *pods)
{
	const char *endpoint = kube_str(kube, "endpoint");
	char *server = fmt("https://%s:%d", endpoint, KUBE_APISERVER_PORT);
	char *local = fmt("https://127.0.0.1:%d", KUBE_APISERVER_PORT);
	char *node_user = fmt("system:node:%s", name);
	/* a control plane's kubelet and kube-proxy have certificates issued here; a worker's
	 * kubelet joins with the bootstrap token and keeps the certificates it gets in
	 * KUBELET_CERT_DIR, and its kube-proxy uses the kubelet's (bound to system:node-proxier) */
	char *token = fmt("    token: %s\n", kube_str(kube, "bootstrapToken") ?: "");
	char *kubelet_kc = cp ? kubeconfig(server, node_user, "kubelet") :
			   kubeconfig_as(server, "kubelet-bootstrap", token);
	char *joined = fmt("    client-certificate: " KUBELET_CERT_DIR "/kubelet-client-current.pem\n"
			   "    client-key: " KUBELET_CERT_DIR "/kubelet-client-current.pem\n");
	char *proxy_kc = cp ? kubeconfig(server, "system:kube-proxy", "kube-proxy") :
			 kubeconfig_as(server, node_user, joined);
	char *kubelet = fmt(
		"# rendered by cairnd\n"
		"apiVersion: kubelet.config.k8s.io/v1beta1\n"
		"kind: KubeletConfiguration\n"
		"authentication:\n"
		"  anonymous: {enabled: false}\n"
		"  webhook: {enabled: true}\n"
		"  x509: {clientCAFile: " KUBE_PKI "/ca.crt}\n"
		"authorization: {mode: Webhook}\n"
		"%s"
		"rotateCertificates: true\n"
		"cgroupDriver: cgroupfs\n"
		"cgroupsPerQOS: true\n"
		"enforceNodeAllocatable: [pods]\n"
		"failSwapOn: false\n"
		"clusterDomain: " KUBE_DNS_DOMAIN "\n"
		"clusterDNS: [%s]\n"
		"podCIDR: %s\n"
		"healthzBindAddress: 127.0.0.1\n"
		"healthzPort: 10248\n"
		"readOnlyPort: 0\n"
		"serializeImagePulls: false\n"
		"imageGCHighThresholdPercent: 100\n"
		"imageGCLowThresholdPercent: 99\n"
		"evictionHard: {memory.available: 32Mi, nodefs.available: 1%%, imagefs.available: 1%%}\n"
		"resolvConf: /etc/resolv.conf\n",
		cp ? "tlsCertFile: " KUBE_PKI "/kubelet-server.crt\n"
		     "tlsPrivateKeyFile: " KUBE_PKI "/kubelet-server.key\n" :
		     /* a control plane's cairnd approves the request (join.c) */
		     "serverTLSBootstrap: true\n", dns_address, pod_cidr);
	char *proxy = fmt(
		"# rendered by cairnd\n"
		"apiVersion: kubeproxy.config.k8s.io/v1alpha1\n"
		"kind: KubeProxyConfiguration\n"
		"clientConnection: {kubeconfig: " KUBE_DIR "/kube-proxy.kubeconfig}\n"
		"mode: iptables\n"
		"clusterCIDR: %s\n"
		"hostnameOverride: %s\n"
		"bindAddress: 0.0.0.0\n"
		"healthzBindAddress: 127.0.0.1:10256\n"
		"metricsBindAddress: 127.0.0.1:10249\n"
		"conntrack: {maxPerCore: 0}\n"
		/* on OVN a pod's Service traffic comes in through PODS_LINK, and the answer of an
		 * endpoint on the Network would go back to the pod directly, past this node's
		 * conntrack: masquerading makes it come back here */
		"%s", kube_str(kube, "podSubnet"), name,
		pods->network ? "iptables: {masqueradeAll: true}\n" : "");
	char *containerd = fmt(
		"# rendered by cairnd\n"
		"version = 2\n"
		"root = \"/var/lib/containerd\"\n"
		"state = \"/run/containerd\"\n"
		"disabled_plugins = [\"io.containerd.snapshotter.v1.btrfs\", "
		"\"io.containerd.snapshotter.v1.zfs\", \"io.containerd.snapshotter.v1.devmapper\", "
		"\"io.containerd.snapshotter.v1.aufs\", \"io.containerd.tracing.processor.v1.otlp\"]\n"
		"[grpc]\n  address = \"" KUBE_CONTAINERD_SOCK "\"\n"
		"[plugins.\"io.containerd.grpc.v1.cri\"]\n"
		"  sandbox_image = \"" KUBE_PAUSE_IMAGE "\"\n"
		"  enable_selinux = false\n"
		"  [plugins.\"io.containerd.grpc.v1.cri\".containerd]\n"
		"    snapshotter = \"overlayfs\"\n"
		"    default_runtime_name = \"runc\"\n"
		"    [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc]\n"
		"      runtime_type = \"io.containerd.runc.v2\"\n"
		"      [plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.runc.options]\n"
		"        SystemdCgroup = false\n"
		"  [plugins.\"io.containerd.grpc.v1.cri\".cni]\n"
		"    bin_dir = \"/usr/lib/cni\"\n"
		"    conf_dir = \"" KUBE_DIR "/cni\"\n");
	/* host-local never hands out the gateway (the first address unless told) */
	char *ipam = fmt("{\"type\": \"host-local\", \"dataDir\": \"/run/cairn/cni-ipam\",\n"
			 "              \"ranges\": [[{\"subnet\": \"%s\"}]]}", pod_cidr);
	char *plugin = pods->network ? fmt(
		"{\"type\": \"cairn-ovn\", \"network\": \"%s\", \"switch\": \"%s\",\n"
		"     \"portGroup\": \"%s\", \"northbound\": \"%s\", \"ovs\": \"" OVN_LOCAL_DB "\",\n"
		"     \"bridge\": \"br-int\", \"node\": \"%s\", \"mtu\": %lld, \"prefix\": %u,\n"
		"     \"gateway\": \"%s\",\n"
		"     \"ipam\": %s}", pods->network, pods->ls, pods->pg, pods->northbound, name,
		pods->mtu, pods->prefix, pods->gateway, ipam) : fmt(
		"{\"type\": \"bridge\", \"bridge\": \"cni0\", \"isGateway\": true,\n"
		"     \"isDefaultGateway\": true, \"ipMasq\": false, \"hairpinMode\": true,\n"
		"     \"ipam\": %s}", ipam);
	char *cni = fmt(
		"{\n"
		"  \"cniVersion\": \"0.4.0\",\n"
		"  \"name\": \"cairn\",\n"
		"  \"plugins\": [\n"
		"    %s,\n"
		"    {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}\n"
		"  ]\n"
		"}\n", plugin);
	int rc = 0;

	if (fileio_mkdirs(KUBE_DIR "/cni", 0755) < 0 || fileio_mkdirs(KUBE_DNS_DIR, 0755) < 0) {
		ctrl_fail(report, KUBE_DIR, "mkdir: %s", strerror(errno));
		rc = -1;
	}
	rc = rc ?: put(report, cp ? KUBE_DIR "/kubelet.kubeconfig" : KUBE_DIR "/bootstrap.kubeconfig",
		       kubelet_kc, 0600, 0, 0);
	/* the other role's file: a worker's kubelet writes KUBELET_KUBECONFIG itself */
	if (rc == 0 && unlink(cp ? KUBE_DIR "/bootstrap.kubeconfig" : KUBE_DIR "/kubelet.kubeconfig")
		       < 0 && errno != ENOENT) {
		ctrl_fail(report, "kubeconfig", "unlink: %s", strerror(errno));
		rc = -1;
	}
	rc = rc ?: put(report, KUBE_DIR "/kube-proxy.kubeconfig", proxy_kc, 0600, 0, 0);
	rc = rc ?: put(report, KUBE_DIR "/kubelet.yaml", kubelet, 0644, 0, 0);
	rc = rc ?: put(report, KUBE_DIR "/kube-proxy.yaml", proxy, 0644, 0, 0);
	rc = rc ?: put(report, KUBE_DIR "/containerd.toml", containerd, 0644, 0, 0);
	rc = rc ?: put(report, KUBE_DIR "/cni/10-cairn.conflist", cni, 0644, 0, 0);
	if (cp && rc == 0) {
		uid_t uid;
		gid_t gid;
		char *cm = kubeconfig(local, "system:kube-controller-manager", "controller-manager");
		char *sched = kubeconfig(local, "system:kube-scheduler", "scheduler");
		char *admin = kubeconfig(local, "cairn-admin", "admin");
		if (!user_ids(KUBE_USER, &uid, &gid))
			uid = 0, gid = 0;
		rc = put(report, KUBE_DIR "/controller-manager.kubeconfig", cm, 0600, uid, gid);
		rc = rc ?: put(report, KUBE_DIR "/scheduler.kubeconfig", sched, 0600, uid, gid);
		rc = rc ?: put(report, KUBE_DIR "/admin.kubeconfig", admin, 0600, 0, 0);
		free(cm);
		free(sched);
		free(admin);
	}
	free(server);
	free(local);
	free(node_user);
	free(token);
	free(joined);
	free(kubelet_kc);
	free(proxy_kc);
	free(kubelet);
	free(proxy);
	free(containerd);
	free(ipam);
	free(plugin);
	free(cni);
	return rc;
}

/* ---- services -------------------------------------------------------------------------- */

/* Leases long enough for a loaded node (a lab node under TCG renews late with the defaults,
 * 15 s and 10 s, and the process exits when it loses its lease). */
#define LEADER_ELECTION "--leader-elect=true --leader-elect-lease-duration=60s" \
	" --leader-elect-renew-deadline=40s --leader-elect-retry-period=5s"
#define RESTART "restart = always\nrestart_delay = 1s\nrestart_delay_max = 15s\n"
#define UNPRIVILEGED(user) "user = " user "\nno_new_privs = yes\n"

static int write_services(struct ctrl_report *report, const json_t *kube, const char *name,
			  bool cp, const char *etcd_state, const char *etcd_initial,
			  const char *etcd_data, const char *dns_address, unsigned serving_asks)
{
	const char *address = kube_str(kube, "address"), *modprobe = ctrl_env(report)->modprobe;
	char *members = NULL, *etcd_servers = NULL, *defs[KUBE_SERVICES] = { 0 };
	char asks_again[96] = "";
	const json_t *m;
	const char *n;
	int rc = 0;

	if (serving_asks)     /* a changed definition restarts the kubelet (watch_serving_cert) */
		snprintf(asks_again, sizeof asks_again, KUBE_SERVING_NOTE "%u\n", serving_asks);

	json_object_foreach((json_t *)json_object_get(kube, "nodes"), n, m) {
		char *grown;
		if (!json_is_true(json_object_get(m, "controlPlane")))
			continue;
		grown = fmt("%s%s%s=https://%s:2380", members ? members : "", members ? "," : "",
			    n, kube_str(m, "address"));
		free(members);
		members = grown;
		grown = fmt("%s%shttps://%s:2379", etcd_servers ? etcd_servers : "",
			    etcd_servers ? "," : "", kube_str(m, "address"));
		free(etcd_servers);
		etcd_servers = grown;
	}
	defs[0] = fmt(
		"# rendered by cairnd: the container runtime (CRI for kubelet)\n"
		"command = /bin/sh -c '%s -a overlay br_netfilter bridge veth nf_conntrack xt_conntrack "
		"xt_MASQUERADE xt_comment xt_mark xt_addrtype xt_multiport xt_nat xt_statistic "
		"xt_physdev iptable_nat iptable_filter iptable_mangle nft_compat nft_chain_nat; "
		"echo 1 > /proc/sys/net/ipv4/ip_forward && "
		"echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables && "
		"exec /usr/bin/containerd --config " KUBE_DIR "/containerd.toml'\n"
		"ready = socket:" KUBE_CONTAINERD_SOCK "\n"
		RESTART "stop_timeout = 20s\n", modprobe ? modprobe : "/sbin/modprobe");
	defs[1] = fmt(
		"# rendered by cairnd: the images made at build time, into containerd (no registry)\n"
		"command = /bin/sh -c 'for f in " KUBE_IMAGES "/*.tar; do [ -e \"$f\" ] || continue; "
		"/usr/bin/ctr --address " KUBE_CONTAINERD_SOCK " -n k8s.io images import "
		"--no-unpack=false \"$f\" || exit 1; done'\n"
		"needs = containerd\n"
		"restart = oneshot\n");
	defs[2] = fmt(
		"# rendered by cairnd: the node agent\n"
		"%s"
		"command = /usr/bin/kubelet --config=" KUBE_DIR "/kubelet.yaml %s"
		"--container-runtime=remote "
		"--container-runtime-endpoint=unix://" KUBE_CONTAINERD_SOCK " --hostname-override=%s "
		"--node-ip=%s --pod-infra-container-image=" KUBE_PAUSE_IMAGE " --v=1\n"
		"needs = containerd kube-images%s\n"
		"ready = tcp:127.0.0.1:10248\n"
		RESTART "stop_timeout = 20s\n", asks_again,
		cp ? "--kubeconfig=" KUBE_DIR "/kubelet.kubeconfig " :
		     "--bootstrap-kubeconfig=" KUBE_DIR "/bootstrap.kubeconfig "
		     "--kubeconfig=" KUBELET_KUBECONFIG " --cert-dir=" KUBELET_CERT_DIR " ",
		name, address, cp ? " kube-apiserver" : "");
	/* On a control plane, kubelet and kube-proxy start once the local API server is ready:
	 * their retries would only slow its first start (its RBAC bootstrap) on a busy node. On a
	 * worker, kube-proxy uses the kubelet's certificate. */
	{
		/* kube-proxy reads the kubelet's certificate once: naming the file the kubelet's
		 * link points to makes a renewal change this definition, which restarts it. On a
		 * worker it is written only once the kubelet has joined (the kubelet serves its
		 * health port while it still waits for its certificate). */
		char target[256] = "";
		ssize_t n = cp ? -1 : readlink(KUBELET_CERT_DIR "/kubelet-client-current.pem", target,
					       sizeof target - 1);
		target[n > 0 ? n : 0] = '\0';
		if (cp || *target)
			defs[3] = fmt(
				"# rendered by cairnd: Services (iptables)\n"
				"%s%s%s"
				"command = /usr/bin/kube-proxy --config=" KUBE_DIR "/kube-proxy.yaml\n"
				"%s"
				"ready = tcp:127.0.0.1:10256\n"
				RESTART "stop_timeout = 10s\n", cp ? "" : "# the kubelet's certificate: ",
				cp ? "" : target, cp ? "" : "\n",
				cp ? "needs = kube-apiserver\n" : "needs = kubelet\n");
	}
	if (cp) {
		defs[4] = fmt(
			"# rendered by cairnd: the cluster's store (a member per control plane)\n"
			"command = /usr/bin/etcd --name %s --data-dir %s"
			" --listen-client-urls https://%s:2379,https://127.0.0.1:2379"
			" --advertise-client-urls https://%s:2379 --listen-peer-urls https://%s:2380"
			" --initial-advertise-peer-urls https://%s:2380 --initial-cluster %s"
			" --initial-cluster-state %s --initial-cluster-token cairn-etcd"
			" --client-cert-auth --trusted-ca-file " KUBE_PKI "/etcd-ca.crt"
			" --cert-file " KUBE_PKI "/etcd-server.crt --key-file " KUBE_PKI "/etcd-server.key"
			" --peer-client-cert-auth --peer-trusted-ca-file " KUBE_PKI "/etcd-ca.crt"
			" --peer-cert-file " KUBE_PKI "/etcd-peer.crt --peer-key-file " KUBE_PKI "/etcd-peer.key"
			" --listen-metrics-urls http://127.0.0.1:2381 --logger zap --log-outputs stderr\n"
			"ready = exec:/usr/bin/etcdctl --endpoints https://127.0.0.1:2379"
			" --cacert " KUBE_PKI "/etcd-ca.crt --cert " KUBE_PKI "/etcd-client.crt"
			" --key " KUBE_PKI "/etcd-client.key --command-timeout 3s endpoint health\n"
			UNPRIVILEGED(ETCD_USER) RESTART "stop_timeout = 20s\n",
			name, etcd_data, address, address, address, address,
			etcd_initial ? etcd_initial : members, etcd_state);
		defs[5] = fmt(
			"# rendered by cairnd: the Kubernetes API\n"
			"command = /usr/bin/kube-apiserver --advertise-address=%s --bind-address=0.0.0.0"
			" --secure-port=%d --insecure-port=0 --etcd-servers=%s"
			" --etcd-cafile=" KUBE_PKI "/etcd-ca.crt --etcd-certfile=" KUBE_PKI "/apiserver-etcd.crt"
			" --etcd-keyfile=" KUBE_PKI "/apiserver-etcd.key --client-ca-file=" KUBE_PKI "/ca.crt"
			" --tls-cert-file=" KUBE_PKI "/apiserver.crt --tls-private-key-file=" KUBE_PKI "/apiserver.key"
			" --kubelet-client-certificate=" KUBE_PKI "/apiserver-kubelet.crt"
			" --kubelet-client-key=" KUBE_PKI "/apiserver-kubelet.key"
			" --kubelet-certificate-authority=" KUBE_PKI "/ca.crt"
			" --kubelet-preferred-address-types=InternalIP,Hostname"
			" --service-account-key-file=" KUBE_PKI "/sa.pub"
			" --service-account-signing-key-file=" KUBE_PKI "/sa.key"
			" --service-account-issuer=https://kubernetes.default.svc.cluster.local"
			" --service-cluster-ip-range=%s --authorization-mode=Node,RBAC"
			" --enable-admission-plugins=NodeRestriction --allow-privileged=true"
			" --enable-bootstrap-token-auth=true --profiling=false --endpoint-reconciler-type=lease\n"
			"needs = etcd\n"
			/* as the service's user: the controller-manager's identity, like every
			 * authenticated one, may read /readyz */
			"ready = exec:/usr/bin/kubectl --kubeconfig=" KUBE_DIR "/controller-manager.kubeconfig"
			" --request-timeout=3s get --raw /readyz\n"
			UNPRIVILEGED(KUBE_USER) RESTART "stop_timeout = 20s\n",
			address, KUBE_APISERVER_PORT, etcd_servers,
			kube_str(kube, "serviceSubnet"));
		defs[6] = fmt(
			"# rendered by cairnd: the controllers of Kubernetes\n"
			"command = /usr/bin/kube-controller-manager"
			" --kubeconfig=" KUBE_DIR "/controller-manager.kubeconfig"
			" --authentication-kubeconfig=" KUBE_DIR "/controller-manager.kubeconfig"
			" --authorization-kubeconfig=" KUBE_DIR "/controller-manager.kubeconfig"
			" --bind-address=127.0.0.1 --port=0 " LEADER_ELECTION
			" --cluster-signing-cert-file=" KUBE_PKI "/ca.crt"
			" --cluster-signing-key-file=" KUBE_PKI "/ca.key --root-ca-file=" KUBE_PKI "/ca.crt"
			" --service-account-private-key-file=" KUBE_PKI "/sa.key"
			" --use-service-account-credentials=true --controllers=*,bootstrapsigner,tokencleaner"
			" --cluster-cidr=%s --service-cluster-ip-range=%s --profiling=false\n"
			"needs = kube-apiserver\n"
			"ready = tcp:127.0.0.1:10257\n"
			UNPRIVILEGED(KUBE_USER) RESTART "stop_timeout = 10s\n",
			kube_str(kube, "podSubnet"), kube_str(kube, "serviceSubnet"));
		defs[7] = fmt(
			"# rendered by cairnd: the scheduler of Kubernetes\n"
			"command = /usr/bin/kube-scheduler --kubeconfig=" KUBE_DIR "/scheduler.kubeconfig"
			" --authentication-kubeconfig=" KUBE_DIR "/scheduler.kubeconfig"
			" --authorization-kubeconfig=" KUBE_DIR "/scheduler.kubeconfig"
			" --bind-address=127.0.0.1 --port=0 " LEADER_ELECTION " --profiling=false\n"
			"needs = kube-apiserver\n"
			"ready = tcp:127.0.0.1:10259\n"
			UNPRIVILEGED(KUBE_USER) RESTART "stop_timeout = 10s\n");
	}
	/* dnsmasq parses what the pods ask: unprivileged, with only the right to bind port 53 */
	defs[8] = fmt(
		"# rendered by cairnd: cluster DNS, the Services' names for the pods\n"
		"command = /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file="
		" --user=" DNS_USER " --log-facility=- --listen-address=%s --bind-dynamic --port=53"
		" --no-hosts --hostsdir=" KUBE_DNS_DIR " --local=/" KUBE_DNS_DOMAIN "/"
		" --domain-needed --resolv-file=/etc/resolv.conf --local-ttl=5 --cache-size=1000\n"
		UNPRIVILEGED(DNS_USER) "capabilities = CAP_NET_BIND_SERVICE\n"
		RESTART "stop_timeout = 5s\n", dns_address);
	for (int i = 0; i < KUBE_SERVICES; i++) {
		if (defs[i])
			rc |= ctrl_service_write(report, kube_services[i], defs[i]);
		else
			ctrl_service_remove(report, kube_services[i]);
		free(defs[i]);
	}
	free(members);
	free(etcd_servers);
	return rc ? -1 : 0;
}

/* ---- the pods' OVN Network --------------------------------------------------------------- */

/* PODS from the config: nothing without kubernetes.ovnNetwork; else the Network's settings and
 * the node's port (lib/config checked that the Network holds the pod ranges). */
static int pods_settings(const json_t *config, const json_t *spec, const json_t *kube,
			 const char *gateway, const char *name, struct pods *pods,
			 struct ctrl_report *report)
{
	const char *network = kube_str(kube, "ovnNetwork");
	const json_t *ovn = json_object_get(spec, "ovn");
	const json_t *net = network ? json_object_get(config_find(config, "Network", network),
						      "spec") : NULL;
	const char *central = json_is_true(json_object_get(ovn, "central")) ?
			      kube_str(ovn, "address") : kube_str(ovn, "centralAddress");
	uint32_t nbase;

	memset(pods, 0, sizeof *pods);
	if (!network)
		return 0;
	if (!net || !central ||
	    !config_ipv4_cidr_parse(kube_str(net, "cidr"), &nbase, &pods->prefix)) {
		ctrl_fail(report, "kubernetes.ovnNetwork", "Network %s, or this node's ovn section, "
			  "is missing", network);
		return -1;
	}
	pods->network = network;
	snprintf(pods->northbound, sizeof pods->northbound, "tcp:%s:6641", central);
	pods->mtu = json_integer_value(json_object_get(net, "mtu"));
	snprintf(pods->gateway, sizeof pods->gateway, "%s", gateway);
	ovn_nb_k8s_port(name, pods->port, sizeof pods->port, pods->mac);
	ovn_nb_network_names(network, pods->ls, pods->pg, sizeof pods->ls);
	return 0;
}

/* Whether the link NAME has ADDRESS (IPv4) with PREFIX. */
static bool link_has_address(const char *name, const char *address, unsigned prefix)
{
	struct ifaddrs *list, *a;
	struct in_addr want;
	bool found = false;

	if (inet_pton(AF_INET, address, &want) != 1 || getifaddrs(&list) < 0)
		return false;
	for (a = list; a && !found; a = a->ifa_next) {
		if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET || !a->ifa_netmask ||
		    strcmp(a->ifa_name, name) != 0)
			continue;
		uint32_t mask = ntohl(((struct sockaddr_in *)(void *)a->ifa_netmask)->sin_addr.s_addr);
		found = ((struct sockaddr_in *)(void *)a->ifa_addr)->sin_addr.s_addr == want.s_addr &&
			mask == config_ipv4_mask(prefix);
	}
	freeifaddrs(list);
	return found;
}

static int run_logged(struct ctrl_report *report, const char *what, char *const argv[])
{
	char *out = NULL;
	int rc = run_command(argv, &out, 10000);

	if (rc != 0)
		ctrl_fail(report, PODS_LINK, "%s: %s", what, out && *out ? out : "failed");
	free(out);
	return rc == 0 ? 0 : -1;
}

/* The host's port on the pods' Network: an OVS internal port on br-int bound to the node's
 * logical port (iface-id, MAC), up, with the gateway address and the Network's prefix. Without
 * ovnNetwork the port goes. Checked each pass from the kernel's view (no command when right). */
static int reconcile_pods_link(struct ctrl_report *report, const struct pods *pods)
{
	char mac[32] = "", path[64], *text;
	unsigned flags = 0;
	char address[48];

	snprintf(path, sizeof path, "/sys/class/net/%s/address", PODS_LINK);
	if ((text = fileio_read(path, 64, NULL))) {
		snprintf(mac, sizeof mac, "%.*s", (int)strcspn(text, "\n"), text);
		free(text);
	}
	snprintf(path, sizeof path, "/sys/class/net/%s/flags", PODS_LINK);
	if ((text = fileio_read(path, 64, NULL))) {
		flags = (unsigned)strtoul(text, NULL, 16);
		free(text);
	}
	if (!pods->network) {
		if (!mac[0])
			return 0;
		char *del[] = { "/usr/bin/ovs-vsctl", "--db=" OVN_LOCAL_DB, "--timeout=5",
				"--if-exists", "del-port", PODS_LINK, NULL };
		if (run_logged(report, "ovs-vsctl del-port", del) < 0)
			return -1;
		ctrl_changed(report, PODS_LINK, "removed (no pods' OVN Network in the config)");
		return 0;
	}
	if (strcmp(mac, pods->mac) == 0 && (flags & IFF_UP) &&
	    link_has_address(PODS_LINK, pods->gateway, pods->prefix))
		return 0;
	char mac_arg[48], iface_id[OVN_NB_NAME_MAX + 32], mtu[40];
	snprintf(mac_arg, sizeof mac_arg, "mac=\"%s\"", pods->mac);
	snprintf(iface_id, sizeof iface_id, "external_ids:iface-id=%s", pods->port);
	snprintf(mtu, sizeof mtu, "mtu_request=%lld", pods->mtu);
	char *add[] = { "/usr/bin/ovs-vsctl", "--db=" OVN_LOCAL_DB, "--timeout=5", "--",
			"--may-exist", "add-port", "br-int", PODS_LINK, "--", "set", "Interface",
			PODS_LINK, "type=internal", mac_arg, iface_id, mtu, NULL };
	if (run_logged(report, "ovs-vsctl add-port br-int", add) < 0)
		return -1;
	if (!if_nametoindex(PODS_LINK)) {   /* ovs-vswitchd makes the link a moment later */
		ctrl_fail(report, PODS_LINK, "OVS has not made the link yet");
		return -1;
	}
	snprintf(address, sizeof address, "%s/%u", pods->gateway, pods->prefix);
	char *flush[] = { "/usr/sbin/ip", "-4", "address", "flush", "dev", PODS_LINK, NULL };
	char *addr[] = { "/usr/sbin/ip", "address", "add", address, "dev", PODS_LINK, NULL };
	char *up[] = { "/usr/sbin/ip", "link", "set", PODS_LINK, "up", NULL };
	if (run_logged(report, "ip address flush", flush) < 0 ||
	    run_logged(report, "ip address add", addr) < 0 || run_logged(report, "ip link up", up) < 0)
		return -1;
	ctrl_changed(report, PODS_LINK, "%s on Network %s (%s, port %s)", address, pods->network,
		     pods->mac, pods->port);
	return 0;
}

/* ---- routes to the other nodes' pods ----------------------------------------------------- */

static int ip_route(struct ctrl_report *report, const char *verb, const char *to, const char *via)
{
	char *argv[] = { "/usr/sbin/ip", "route", (char *)verb, (char *)to, "via", (char *)via,
			 "proto", ROUTE_PROTO, NULL };
	char *out = NULL;
	int rc = run_command(argv, &out, 5000);

	if (rc != 0 && strcmp(verb, "del") != 0)
		ctrl_fail(report, to, "ip route %s via %s: %s", verb, via, out ? out : "failed");
	else if (rc == 0)
		ctrl_changed(report, to, "route %s via %s", strcmp(verb, "del") == 0 ?
			     "removed" : "set", via);
	free(out);
	return rc == 0 ? 0 : -1;
}

/* The routes to the other nodes' podCIDRs over the cluster network; none when KUBE is NULL or
 * the pods are on an OVN Network (PODS_LINK's prefix holds them all). */
static int reconcile_routes(struct kube_state *s, struct ctrl_report *report, const json_t *kube,
			    bool ovn)
{
	const char *self = kube_str(kube, "address"), *n, *cidr;
	json_t *want = json_object(), *via;
	const json_t *m;
	int rc = 0;

	json_object_foreach((json_t *)json_object_get(kube, "nodes"), n, m)
		if (kube && !ovn && strcmp(kube_str(m, "address"), self) != 0)
			json_object_set_new(want, kube_str(m, "podCIDR"),
					    json_string(kube_str(m, "address")));
	json_object_foreach(s->routes, cidr, via) {
		const json_t *w = json_object_get(want, cidr);
		if (!w || strcmp(json_string_value(w), json_string_value(via)) != 0)
			ip_route(report, "del", cidr, json_string_value(via));
	}
	json_object_foreach(want, cidr, via) {
		const json_t *had = json_object_get(s->routes, cidr);
		if (had && strcmp(json_string_value(had), json_string_value(via)) == 0)
			continue;
		if (ip_route(report, "replace", cidr, json_string_value(via)) < 0) {
			json_object_del(want, cidr);   /* tried again next pass */
			rc = -1;
		}
	}
	json_decref(s->routes);
	s->routes = want;
	return rc;
}

/* ---- etcd's members -------------------------------------------------------------------- */

/* Runs etcdctl with the node's client certificate against ENDPOINTS with ARGS (NULL-ended,
 * at most 8); its output in *OUT. The exit status, or -1. */
static int etcdctl(const char *endpoints, char **out, int timeout_ms, ...)
{
	char *argv[20] = { "/usr/bin/etcdctl", "--endpoints", (char *)endpoints,
			   KUBE_ETCD_CLIENT_TLS, "--command-timeout", "8s", "--dial-timeout", "5s" };
	size_t n = 13;
	va_list ap;
	char *a;

	va_start(ap, timeout_ms);
	while (n < 19 && (a = va_arg(ap, char *)))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_command(argv, out, timeout_ms);
}

/* Whether something accepts a TCP connection at HOST:PORT within TIMEOUT_MS. */
static bool tcp_listens(const char *host, const char *port, int timeout_ms)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	bool open = false;
	int fd, err = 0;
	socklen_t len = sizeof err;

	if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai)
		return false;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			open = true;
		} else if (errno == EINPROGRESS) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			open = poll(&p, 1, timeout_ms) == 1 &&
			       getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	return open;
}

/* Whether another control plane's etcd in KUBE (not SELF) accepts connections. */
static bool other_etcd_listens(const json_t *kube, const char *self)
{
	const json_t *m;
	const char *n;

	json_object_foreach((json_t *)json_object_get(kube, "nodes"), n, m)
		if (json_is_true(json_object_get(m, "controlPlane")) && strcmp(n, self) != 0 &&
		    kube_str(m, "address") && tcp_listens(kube_str(m, "address"), "2379", 2000))
			return true;
	return false;
}

/* `member list` as JSON (IDs in hex): the array of members, or NULL. */
static json_t *member_list(const char *endpoints)
{
	char *out = NULL, *brace;
	json_t *doc = NULL, *members = NULL;

	if (etcdctl(endpoints, &out, 20000, "member", "list", "-w", "json", "--hex", NULL) == 0 &&
	    out && (brace = strchr(out, '{')))
		doc = json_loads(brace, JSON_DISABLE_EOF_CHECK, NULL);
	free(out);
	members = json_incref(json_object_get(doc, "members"));
	json_decref(doc);
	if (members && !json_is_array(members)) {
		json_decref(members);
		members = NULL;
	}
	return members;
}

static const char *member_id(const json_t *m)
{
	const json_t *id = json_object_get(m, "ID");
	return json_is_string(id) ? json_string_value(id) : NULL;
}

/* The client URLs of the control planes in KUBE other than SELF ("" when none). */
static char *other_endpoints(const json_t *kube, const char *self)
{
	char *list = strdup(""), *grown;
	const json_t *m;
	const char *n;

	json_object_foreach((json_t *)json_object_get(kube, "nodes"), n, m) {
		if (!json_is_true(json_object_get(m, "controlPlane")) || strcmp(n, self) == 0)
			continue;
		grown = fmt("%s%shttps://%s:2379", list, *list ? "," : "", kube_str(m, "address"));
		free(list);
		list = grown;
	}
	return list;
}

/* --initial-cluster for a member that joins MEMBERS (`member list` JSON): NAME=PEER for this
 * node, NAME=URL for each other member; a member that never started has no name in the list,
 * and gets that of the control plane at its address in KUBE (etcd matches members by URL). */
static char *initial_from_members(const json_t *kube, const json_t *members, const char *name,
				  const char *peer)
{
	char *list = fmt("%s=%s", name, peer), *grown;
	const json_t *m, *n;
	const char *node;
	size_t i;

	json_array_foreach(members, i, m) {
		const char *mname = kube_str(m, "name"), *url;
		char *guess = NULL;

		url = json_string_value(json_array_get(json_object_get(m, "peerURLs"), 0));
		if (!url || strcmp(url, peer) == 0)
			continue;
		if (!mname || !*mname) {
			json_object_foreach((json_t *)json_object_get(kube, "nodes"), node, n) {
				char *theirs = fmt("https://%s:2380", kube_str(n, "address"));
				bool same = strcmp(theirs, url) == 0;
				free(theirs);
				if (same) {
					guess = strdup(node);
					break;
				}
			}
			if (!guess)
				guess = fmt("member-%s", member_id(m) ? member_id(m) : "unknown");
			mname = guess;
		}
		grown = fmt("%s,%s=%s", list, mname, url);
		free(list);
		free(guess);
		list = grown;
	}
	return list;
}

/* How this node's etcd starts when its data folder is empty: with the other control planes'
 * cluster when one answers (this node joins it: added as a member here, after removing a
 * stale member of its name, a node that lost its data), else as one of a new cluster.
 * *INITIAL gets the --initial-cluster list for a join. "new", "existing" or NULL (retry). */
static const char *etcd_start_state(struct kube_state *s, struct ctrl_report *report,
				    const json_t *kube, const char *name, char **initial)
{
	char *others = other_endpoints(kube, name), *out = NULL, *peer;
	json_t *members;
	const json_t *m;
	size_t i;
	const char *state = "new";

	*initial = NULL;
	if (!*others) {
		free(others);
		return state;
	}
	/* When no other control plane's etcd listens for ETCD_ALONE_MS, this node starts a new
	 * cluster with the others (they start together; whichever listens first is joined by the
	 * rest). etcdctl is not run against ports nobody listens on. */
	if (!other_etcd_listens(kube, name)) {
		if (!s->alone_ms)
			s->alone_ms = now_ms();
		if (now_ms() - s->alone_ms < ETCD_ALONE_MS) {
			ctrl_fail(report, "etcd", "no other control plane's etcd listens (%s): a new "
				  "cluster starts if none does within %d s", others,
				  ETCD_ALONE_MS / 1000);
			state = NULL;
		} else {
			/* decided: the next decision (a control plane again, later) waits anew,
			 * so another control plane's etcd restarting then is not taken for none */
			s->alone_ms = 0;
			ctrl_changed(report, "etcd", "no other control plane's etcd listened for %d s: "
				     "starts a new cluster with %s", ETCD_ALONE_MS / 1000, others);
		}
		free(others);
		return state;
	}
	s->alone_ms = 0;
	members = member_list(others);
	if (!members) {      /* one listens but does not answer yet: waited for */
		ctrl_fail(report, "etcd", "waiting for the other control planes' etcd (%s) to "
			  "answer `member list`", others);
		free(others);
		return NULL;
	}
	peer = fmt("https://%s:2380", kube_str(kube, "address"));
	json_array_foreach(members, i, m) {
		const char *mname = kube_str(m, "name");
		const json_t *urls = json_object_get(m, "peerURLs");
		bool mine = (mname && strcmp(mname, name) == 0) ||
			    (json_array_size(urls) && strcmp(json_string_value(json_array_get(urls, 0)),
							     peer) == 0);
		if (!mine || !member_id(m))
			continue;
		if (!mname || !*mname) {
			/* a member of this node's address that never started: a cluster that waits
			 * for this node (the control planes of a new cluster started together, or a
			 * `member add` here whose start was lost): it starts as that member */
			*initial = initial_from_members(kube, members, name, peer);
			free(peer);
			free(others);
			json_decref(members);
			ctrl_changed(report, "etcd", "starts as the member the cluster waits for (%s)",
				     member_id(m));
			return "existing";
		}
		if (etcdctl(others, &out, 20000, "member", "remove", member_id(m), NULL) != 0) {
			ctrl_fail(report, "etcd", "removing this node's stale member %s: %s",
				  member_id(m), out ? out : "etcdctl failed");
			state = NULL;
		} else {
			ctrl_changed(report, "etcd", "removed this node's stale member %s", member_id(m));
		}
		free(out);
		out = NULL;
	}
	if (state) {
		char *peer_arg = fmt("--peer-urls=%s", peer);
		if (etcdctl(others, &out, 20000, "member", "add", (char *)name, peer_arg, NULL) != 0) {
			ctrl_fail(report, "etcd", "adding this node as a member: %s",
				  out ? out : "etcdctl failed");
			state = NULL;
		} else {
			/* "ETCD_INITIAL_CLUSTER=\"a=https://...,b=...\"" in its output */
			char *at = out ? strstr(out, "ETCD_INITIAL_CLUSTER=\"") : NULL, *end;
			if (at && (end = strchr(at + 22, '"'))) {
				*initial = strndup(at + 22, (size_t)(end - at - 22));
				state = "existing";
				ctrl_changed(report, "etcd", "joined the cluster as member %s", name);
			} else {
				ctrl_fail(report, "etcd", "member add printed no initial cluster");
				state = NULL;
			}
		}
		free(peer_arg);
		free(out);
	}
	free(peer);
	free(others);
	json_decref(members);
	return state;
}

/* Publishes the members (on a control plane) and removes those whose node is no longer a
 * control plane in the config. */
static void reconcile_members(struct kube_state *s, struct ctrl_report *report,
			      const json_t *kube, bool cp, const char *self, const char *data)
{
	json_t *members, *items = json_array();
	const json_t *m;
	size_t i;

	if (!cp) {
		resources_publish("members", items);
		return;
	}
	if (s->members_ms && now_ms() - s->members_ms < MEMBERS_EVERY_MS &&
	    json_equal(s->member_nodes, json_object_get(kube, "nodes"))) {
		json_decref(items);
		return;
	}
	s->members_ms = now_ms();
	json_decref(s->member_nodes);
	s->member_nodes = json_deep_copy(json_object_get(kube, "nodes"));
	members = member_list("https://127.0.0.1:2379");
	json_array_foreach(members, i, m) {
		const char *name = kube_str(m, "name"), *id = member_id(m);
		const json_t *node = name ? json_object_get(json_object_get(kube, "nodes"), name) : NULL;
		bool wanted = !name || !*name ||   /* added, not started yet */
			      (node && json_is_true(json_object_get(node, "controlPlane")));
		json_array_append_new(items, json_pack("{s:s, s:s, s:O, s:b, s:b}",
			"id", id ? id : "?", "name", name && *name ? name : "(starting)",
			"peer_urls", json_object_get(m, "peerURLs") ?: json_null(),
			"learner", json_is_true(json_object_get(m, "isLearner")),
			"in_config", wanted));
		if (name && strcmp(name, self) == 0)   /* this node's member: where its data is */
			json_object_set_new(json_array_get(items, json_array_size(items) - 1), "data",
					    json_string(data));
		if (!wanted && id) {
			char *out = NULL;
			if (etcdctl("https://127.0.0.1:2379", &out, 20000, "member", "remove", id, NULL) == 0)
				ctrl_changed(report, "etcd", "removed member %s (%s): no longer a control "
					     "plane", id, name);
			else
				ctrl_fail(report, "etcd", "removing member %s (%s): %s", id, name,
					  out ? out : "etcdctl failed");
			free(out);
		}
	}
	json_decref(members);
	resources_publish("members", items);
}

/* Whether a process named COMM runs (/proc/PID/comm). */
static bool process_running(const char *comm)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	bool found = false;

	while (proc && !found && (e = readdir(proc))) {
		char path[300], *text;
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
		if ((text = fileio_read(path, 64, NULL))) {
			found = strcmp(text, comm) == 0 ||
				(strncmp(text, comm, strlen(comm)) == 0 && text[strlen(comm)] == '\n');
			free(text);
		}
	}
	if (proc)
		closedir(proc);
	return found;
}

/* A node that is no longer a control plane: its member was removed from the cluster (by a
 * control plane, reconcile_members), so its data cannot start again. Once its etcd has
 * stopped, the data folder DATA is kept as DATA.former-member (one generation), and
 * the node starts empty, as a new member, if it becomes a control plane again. Until then
 * ETCD_FORMER marks the data as a former member's, so that a node made a control plane again
 * before its etcd had stopped sets the data aside first instead of starting a removed member.
 * 1 when done (or nothing to keep), 0 while etcd still stops, -1 on failure (reported). */
#define ETCD_FORMER KUBE_DIR "/etcd-former-member"
static int set_aside_member_data(struct ctrl_report *report, const char *data)
{
	char aside[128];
	struct stat st;

	snprintf(aside, sizeof aside, "%s.former-member", data);
	if (stat(data, &st) != 0) {
		unlink(ETCD_FORMER);
		return 1;     /* nothing to keep */
	}
	if (stat(ETCD_FORMER, &st) != 0 && put(report, ETCD_FORMER, "a removed member's data: set "
					      "aside before etcd starts again\n", 0600, 0, 0) < 0)
		return -1;
	if (process_running("etcd"))
		return 0;     /* etcd still stopping: the next pass */
	if (stat(aside, &st) == 0) {
		char *rm[] = { "/bin/rm", "-rf", aside, NULL };
		char *out = NULL;
		if (run_command(rm, &out, 60000) != 0) {
			ctrl_fail(report, aside, "rm -rf: %s", out ? out : "failed");
			free(out);
			return -1;
		}
		free(out);
	}
	if (rename(data, aside) < 0) {
		ctrl_fail(report, data, "rename to %s: %s", aside, strerror(errno));
		return -1;
	}
	if (unlink(KUBE_DIR "/etcd-start") < 0 && errno != ENOENT) {
		ctrl_fail(report, KUBE_DIR "/etcd-start", "unlink: %s", strerror(errno));
		return -1;
	}
	unlink(ETCD_FORMER);
	ctrl_changed(report, "etcd", "not a control plane: the former member's data kept as %s",
		     aside);
	return 1;
}

/* ---- a worker's serving certificate --------------------------------------------------------- */

/* A worker's kubelet waits up to 15 min for its serving certificate request. A request lost in
 * between (an etcd restore put back a store without it) leaves the kubelet without a
 * certificate that long, and `kubectl logs` and `exec` to it fail ("tls: internal error"). When
 * the kubelet has had its client certificate but no serving one for kube_serving_wait_ms(), its
 * definition changes (a counter in a comment), so PID 1 restarts it and it asks again; a
 * control plane approves the new request within seconds (join.c). The waits grow (3, 6, 12,
 * then 15 min), so a worker that no control plane answers is not restarted every few minutes.
 * The counter is read back from the definition after cairnd restarts: a count that went back
 * to 0 would change the definition and restart the kubelet for nothing. */
static void watch_serving_cert(struct kube_state *s, struct ctrl_report *report)
{
	struct stat st;
	long long wait_ms;

	if (!s->serving_loaded) {
		char *def = ctrl_service_read(report, "kubelet");

		s->serving_asks = kube_serving_asks_in(def);
		s->serving_loaded = true;
		free(def);
	}
	if (stat(KUBELET_CERT_DIR "/kubelet-client-current.pem", &st) != 0 ||
	    stat(KUBELET_CERT_DIR "/kubelet-server-current.pem", &st) == 0) {
		s->no_serving_ms = 0;
		s->serving_tries = 0;
		return;
	}
	if (!s->no_serving_ms) {
		s->no_serving_ms = now_ms();
		return;
	}
	wait_ms = kube_serving_wait_ms(s->serving_tries);
	if (now_ms() - s->no_serving_ms < wait_ms)
		return;
	s->serving_asks++;
	s->serving_tries++;
	s->no_serving_ms = now_ms();
	ctrl_changed(report, "kubelet", "no serving certificate %lld s after joining or the last "
		     "restart: restarting the kubelet so that it asks again (a request lost to an etcd "
		     "restore would be waited for 15 min); next time after %lld s", wait_ms / 1000,
		     kube_serving_wait_ms(s->serving_tries) / 1000);
}

/* ---- cluster DNS ------------------------------------------------------------------------ */

/* The Services' records for this node's dnsmasq (dns.c), from the API every DNS_EVERY_MS: on a
 * control plane through the local API server as cairn-admin, on a worker through the endpoint
 * with the kubelet's certificate (system:nodes may list Services and Endpoints: join.c's
 * binding to system:node-proxier). The Endpoints are listed only when a Service is headless.
 * Written only when they change; dnsmasq reads the folder again by itself (inotify). An API
 * server that does not answer leaves the last records in place. */
static int reconcile_dns(struct kube_state *s, struct ctrl_report *report, const json_t *kube,
			 bool cp)
{
	char server[64], err[512];
	struct kube_api_creds joined = { .server = server,
		.cert = KUBELET_CERT_DIR "/kubelet-client-current.pem",
		.key = KUBELET_CERT_DIR "/kubelet-client-current.pem" };
	const struct kube_api_creds *creds = cp ? &kube_local_admin : &joined;
	json_t *list = NULL, *endpoints = NULL;
	const char *what;
	struct stat st;
	char *hosts;
	long status;
	int rc = 0;

	if (s->dns_ms && now_ms() - s->dns_ms < DNS_EVERY_MS)
		return 0;
	if (stat(creds->cert, &st) != 0)
		return 0;     /* a worker that has not joined yet */
	s->dns_ms = now_ms();
	snprintf(server, sizeof server, "https://%s:%d", kube_str(kube, "endpoint"),
		 KUBE_APISERVER_PORT);
	status = kube_api(creds, "GET", "/api/v1/services", NULL, &list, err, sizeof err);
	what = "the Services";
	if (status == 200 && kube_dns_needs_endpoints(list)) {
		/* a headless Service's names are its endpoints' addresses */
		status = kube_api(creds, "GET", "/api/v1/endpoints", NULL, &endpoints, err,
				  sizeof err);
		what = "the Endpoints";
	}
	if (status == 200 && (hosts = kube_dns_hosts(list, endpoints, KUBE_DNS_DOMAIN))) {
		rc = put(report, KUBE_DNS_DIR "/services", hosts, 0644, 0, 0);
		free(hosts);
	} else if (status) {   /* no answer at all: the API server is starting, waited for */
		ctrl_fail(report, "kube-dns", "listing %s: %s", what, err);
		rc = -1;
	}
	json_decref(list);
	json_decref(endpoints);
	return rc;
}

/* ---- the pods' ports no DEL removed ------------------------------------------------------ */

/* On a control plane with the pods on OVN, every POD_PORTS_EVERY_MS: the plugin's ports on the
 * pods' Network whose pod the API no longer has (a pod deleted while its node was down) are
 * taken off the switch (podports.c). */
static int collect_pod_ports(struct kube_state *s, struct ctrl_report *report,
			     const struct pods *pods)
{
	struct ovsdb_error oerr;
	struct ovsdb *nb;
	json_t *ports, *list = NULL, *stale;
	const json_t *port;
	char err[1024];
	size_t i;
	int rc = 0;

	if (!pods->network || (s->ports_ms && now_ms() - s->ports_ms < POD_PORTS_EVERY_MS))
		return 0;
	s->ports_ms = now_ms();
	if (!(nb = ovsdb_connect(pods->northbound, 5000, &oerr)))
		return 0;     /* the central node's database is not up: the next round */
	ports = kube_pod_ports(nb, err, sizeof err);
	if (!ports) {
		ctrl_fail(report, "pods' ports", "%s", err);
		ovsdb_close(nb);
		return -1;
	}
	/* the pods only after the ports (podports.c says why) */
	if (json_array_size(ports) == 0 ||
	    kube_api(&kube_local_admin, "GET", "/api/v1/pods", NULL, &list, err, sizeof err) != 200 ||
	    !json_is_array(json_object_get(list, "items"))) {
		json_decref(ports);
		json_decref(list);
		ovsdb_close(nb);
		return 0;     /* nothing to collect, or the API server is not answering */
	}
	stale = kube_pod_ports_stale(ports, list);
	json_array_foreach(stale, i, port) {
		int r = kube_pod_port_remove(nb, port, pods->ls, pods->pg, err, sizeof err);
		if (r > 0)
			ctrl_changed(report, "pods' ports", "removed %s: pod %s/%s is gone, and no DEL "
				     "came (its node was down)", json_string_value(json_object_get(port,
				     "name")), json_string_value(json_object_get(port, "namespace")),
				     json_string_value(json_object_get(port, "pod")));
		else if (r < 0) {
			ctrl_fail(report, "pods' ports", "removing %s: %s",
				  json_string_value(json_object_get(port, "name")), err);
			rc = -1;
		}
	}
	json_decref(stale);
	json_decref(ports);
	json_decref(list);
	ovsdb_close(nb);
	return rc;
}

/* ---- the controller ---------------------------------------------------------------------- */

void *kube_init(const struct controller_env *env)
{
	struct kube_state *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	(void)env;
	s->routes = json_object();
	return s;
}

void kube_halt(void *state)
{
	struct kube_state *s = state;

	if (!s)
		return;
	json_decref(s->routes);
	json_decref(s->member_nodes);
	free(s);
}

int kube_reconcile(void *state, const json_t *config, struct ctrl_report *report)
{
	struct kube_state *s = state;
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *spec = json_object_get(machine, "spec");
	const json_t *kube = json_object_get(spec, "kubernetes"), *self = NULL, *m;
	const char *name = machine ? kube_node_name(machine) : NULL, *n;
	bool cp;
	int rc = 0;

	if (!kube) {
		for (int i = 0; kube_services[i]; i++)
			ctrl_service_remove(report, kube_services[i]);
		resources_publish("members", json_array());
		struct pods none = { 0 };   /* the host's port on a pods' Network goes too */
		int routes = reconcile_routes(s, report, NULL, false);
		return routes < 0 || reconcile_pods_link(report, &none) < 0 ? -1 : 0;
	}
	cp = strcmp(kube_str(spec, "role"), "controlplane") == 0;
	json_object_foreach((json_t *)json_object_get(kube, "nodes"), n, m)
		if (strcmp(kube_str(m, "address"), kube_str(kube, "address")) == 0)
			self = m;
	if (!self || !name) {
		ctrl_fail(report, "kubernetes", "this node's address is not in kubernetes.nodes");
		return -1;
	}
	struct pods pods;
	char gateway[16];     /* the pods' gateway (their DNS too): the podCIDR's first address */
	uint32_t pod_net;
	unsigned pod_prefix;
	if (!config_ipv4_cidr_parse(kube_str(self, "podCIDR"), &pod_net, &pod_prefix)) {
		ctrl_fail(report, "kubernetes.nodes", "this node's podCIDR is not an IPv4 CIDR");
		return -1;
	}
	config_ipv4_format(pod_net + 1, gateway);
	if (pods_settings(config, spec, kube, gateway, name, &pods, report) < 0 ||
	    render_pki(s, report, kube, name, cp) < 0 ||
	    render_settings(report, kube, name, cp, kube_str(self, "podCIDR"), gateway, &pods) < 0)
		return -1;
	const char *data = kube_etcd_data_dir(spec);
	if (cp && strcmp(data, KUBE_ETCD_STATE_DATA) == 0 && !fileio_is_mount_point(KUBE_STATE_DIR)) {
		/* etcd's data must last: not in RAM while the pool's state volume comes */
		ctrl_fail(report, "etcd", "waiting for the state volume on %s (cairnctl get pools): "
			  "etcd's data goes there", KUBE_STATE_DIR);
		rc = -1;
	} else if (cp && stat(ETCD_FORMER, &(struct stat){ 0 }) == 0 &&
		   set_aside_member_data(report, data) != 1) {
		/* a control plane again before its former member's data was set aside */
		ctrl_fail(report, "etcd", "waiting for the former member's etcd to stop: its data "
			  "is set aside before this node joins again");
		rc = -1;
	} else if (cp) {
		char *start = fileio_read(KUBE_DIR "/etcd-start", 65536, NULL), *initial = NULL;
		char member[160];
		const char *state = NULL;
		struct stat st;
		uid_t uid;
		gid_t gid;
		if (fileio_mkdirs(data, 0700) < 0) {
			ctrl_fail(report, data, "mkdir: %s", strerror(errno));
			free(start);
			return -1;
		}
		if (user_ids(ETCD_USER, &uid, &gid) && stat(data, &st) == 0 &&
		    (st.st_uid != uid || st.st_gid != gid) && chown(data, uid, gid) < 0) {
			ctrl_fail(report, data, "chown: %s", strerror(errno));
			free(start);
			return -1;
		}
		if (start) {               /* decided before: "STATE\nINITIAL\n" */
			char *nl = strchr(start, '\n');
			if (nl) {
				*nl = '\0';
				state = strcmp(start, "existing") == 0 ? "existing" : "new";
				initial = strndup(nl + 1, strcspn(nl + 1, "\n"));
			}
			free(start);
		}
		snprintf(member, sizeof member, "%s/member", data);
		if (!state && stat(member, &st) == 0)
			state = "new";     /* flags of a first start; etcd ignores them now */
		else if (!state)
			state = etcd_start_state(s, report, kube, name, &initial);
		if (!state) {
			rc = -1;
		} else {
			char *text = fmt("%s\n%s\n", state, initial ? initial : "");
			put(report, KUBE_DIR "/etcd-start", text, 0600, 0, 0);
			free(text);
			if (write_services(report, kube, name, cp, state,
					   initial && *initial ? initial : NULL, data, gateway, 0) < 0)
				rc = -1;
		}
		free(initial);
		reconcile_members(s, report, kube, cp, name, data);
		if (kube_join_reconcile(&s->join, report, kube) < 0)
			rc = -1;
		if (collect_pod_ports(s, report, &pods) < 0)
			rc = -1;
	} else {
		s->alone_ms = 0;     /* a wait for other control planes' etcd is a control plane's */
		watch_serving_cert(s, report);
		if (write_services(report, kube, name, cp, "new", NULL, data, gateway,
				   s->serving_asks) < 0)
			rc = -1;
		if (set_aside_member_data(report, data) < 0)
			rc = -1;
	}
	if (reconcile_dns(s, report, kube, cp) < 0)
		rc = -1;
	if (reconcile_routes(s, report, kube, pods.network != NULL) < 0)
		rc = -1;
	if (reconcile_pods_link(report, &pods) < 0)
		rc = -1;
	return rc;
}
