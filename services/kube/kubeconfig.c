/* kubeconfig.c - the part of services/kube that cairnd's API links too (so it has no state of
 * its own): the admin kubeconfig `cairnctl kubeconfig` gets (GET /v1/kubeconfig, role admin), a
 * new client certificate in system:masters issued on the node from the Kubernetes CA in its
 * config, with the CA and the API server's address; and the helpers the controller and the
 * API's etcd endpoints share (kube.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gnutls/gnutls.h>

#include "config.h"
#include "kube.h"
#include "pki.h"

const char *kube_node_name(const json_t *machine)
{
	const char *h = kube_str(json_object_get(machine, "spec"), "hostname");

	return h ? h : kube_str(json_object_get(machine, "metadata"), "name");
}

const char *kube_etcd_data_dir(const json_t *spec)
{
	struct stat st;

	if (json_array_size(json_object_get(json_object_get(spec, "storage"), "pools")) == 0 ||
	    stat(KUBE_ETCD_DATA "/member", &st) == 0)
		return KUBE_ETCD_DATA;
	return KUBE_ETCD_STATE_DATA;
}

char *kube_base64(const void *data, size_t len)
{
	gnutls_datum_t in = { (unsigned char *)data, (unsigned)len }, out = { NULL, 0 };
	char *s;

	if (len > 0xffffffffu)
		return NULL;
	if (gnutls_base64_encode2(&in, &out) < 0)
		return NULL;
	s = malloc(out.size + 1);
	if (s) {
		memcpy(s, out.data, out.size);
		s[out.size] = '\0';
	}
	gnutls_free(out.data);
	return s;
}

char *kube_admin_kubeconfig(const json_t *config, const char *server, unsigned days,
			    char *err, size_t errlen)
{
	const json_t *machine = config ? config_find(config, "MachineConfig", NULL) : NULL;
	const json_t *kube = json_object_get(json_object_get(machine, "spec"), "kubernetes");
	const json_t *ca = json_object_get(kube, "ca");
	char perr[PKI_ERROR_MAX], *cert = NULL, *key = NULL, *b[3] = { 0 }, *url = NULL, *yaml = NULL;
	struct pki_ca pca;

	if (!kube) {
		snprintf(err, errlen, "this node's MachineConfig has no kubernetes section");
		return NULL;
	}
	if (!kube_str(ca, "key")) {
		snprintf(err, errlen, "this node holds no Kubernetes CA key (a worker's kubelet joins "
			 "with the bootstrap token): ask a control-plane node (-n)");
		return NULL;
	}
	if (pki_ca_import(kube_str(ca, "cert"), kube_str(ca, "key"), &pca, perr) < 0) {
		snprintf(err, errlen, "kubernetes.ca: %s", perr);
		return NULL;
	}
	if (pki_issue(&pca, &(struct pki_request){ .common_name = "cairn-admin",
			.organization = "system:masters", .client = true, .days = days },
		      &cert, &key, perr) < 0) {
		snprintf(err, errlen, "issuing the admin certificate: %s", perr);
		goto out;
	}
	b[0] = kube_base64(kube_str(ca, "cert"), strlen(kube_str(ca, "cert")));
	b[1] = kube_base64(cert, strlen(cert));
	b[2] = kube_base64(key, strlen(key));
	if (!b[0] || !b[1] || !b[2]) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (server)
		url = strdup(server);
	else if (asprintf(&url, "https://%s:%d", kube_str(kube, "endpoint"),
			  KUBE_APISERVER_PORT) < 0)
		url = NULL;
	if (!url || asprintf(&yaml, "apiVersion: v1\nkind: Config\n"
		   "clusters:\n- name: cairn\n  cluster:\n    server: %s\n"
		   "    certificate-authority-data: %s\n"
		   "users:\n- name: cairn-admin\n  user:\n"
		   "    client-certificate-data: %s\n    client-key-data: %s\n"
		   "contexts:\n- name: cairn-admin@cairn\n  context:\n    cluster: cairn\n"
		   "    user: cairn-admin\ncurrent-context: cairn-admin@cairn\n",
		   url, b[0], b[1], b[2]) < 0) {
		yaml = NULL;
		snprintf(err, errlen, "out of memory");
	}
out:
	for (int i = 0; i < 3; i++)
		free(b[i]);
	if (key)
		memset(key, 0, strlen(key));
	free(key);
	free(cert);
	free(url);
	pki_ca_free(&pca);
	return yaml;
}
