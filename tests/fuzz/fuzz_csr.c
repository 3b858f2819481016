/* fuzz_csr.c - libFuzzer harness for kube_csr_verdict() (services/kube/csr.c), which decides
 * certificate requests that whoever holds a bootstrap token, or any node, can send. The first
 * byte picks the signer, the requester and the config's tokens, the rest is the PEM request (base64'd, as the API
 * gives spec.request). Any bytes give one of the three verdicts with a terminated reason, and
 * no crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "kube.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const signers[] = { "kubernetes.io/kubelet-serving",
					       "kubernetes.io/kube-apiserver-client-kubelet" };
	static const char *const users[] = { "system:node:node-2", "system:bootstrap:abcdef" };
	gnutls_datum_t b64 = { NULL, 0 };
	char why[256], *request;
	json_t *csr, *kube;
	int v;

	if (size < 1)
		return 0;
	if (gnutls_base64_encode2(&(gnutls_datum_t){ (unsigned char *)data + 1,
			(unsigned)(size - 1) }, &b64) < 0)
		return 0;
	request = strndup((char *)b64.data, b64.size);
	gnutls_free(b64.data);
	csr = json_pack("{s:{s:s, s:s, s:[s, s, s], s:s}}", "spec",
			"signerName", signers[data[0] & 1], "username", users[(data[0] >> 1) & 1],
			"usages", "digital signature", "key encipherment",
			data[0] & 4 ? "client auth" : "server auth", "request", request);
	kube = json_pack("{s:{s:{s:s, s:b}, s:{s:s, s:b}}}", "nodes",
			 "node-1", "address", "10.77.1.1", "controlPlane", 1,
			 "node-2", "address", "10.77.1.2", "controlPlane", 0);
	/* node-2's own token, or an older config's one token of the cluster */
	if (data[0] & 8)
		json_object_set_new(kube, "bootstrapToken", json_string("abcdef.0123456789abcdef"));
	else
		json_object_set_new(kube, "bootstrapTokens", json_pack("{s:s}", "node-2",
								       "abcdef.0123456789abcdef"));
	memset(why, 'x', sizeof why);
	v = kube_csr_verdict(csr, kube, why, sizeof why);
	if ((v != KUBE_CSR_DENY && v != KUBE_CSR_SKIP && v != KUBE_CSR_APPROVE) ||
	    !memchr(why, '\0', sizeof why))
		abort();
	json_decref(csr);
	json_decref(kube);
	free(request);
	return 0;
}
