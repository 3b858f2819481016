/* pki.h - the cluster PKI with GnuTLS: a CA, and certificates it signs for nodes (TLS
 * server) and clients (TLS client, the role in the Organization). Keys are ECDSA P-256,
 * exported as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY"); signatures SHA-256. Every
 * certificate's validity starts one hour in the past (clock skew between nodes). */
#ifndef CAIRN_PKI_H
#define CAIRN_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include <gnutls/x509.h>

#define PKI_CA_DAYS 3650      /* 10 years */
#define PKI_NODE_DAYS 3650    /* node API certificates: no renewal yet */
#define PKI_CLIENT_DAYS 365   /* client certificates: make another with `gen cert` */

#define PKI_ORG_NODE "cairn:node"   /* a node's own certificate: no client role */
#define PKI_ERROR_MAX 256

struct pki_ca {
	gnutls_x509_crt_t cert;
	gnutls_x509_privkey_t key;
};

/* What a signed certificate says. */
struct pki_request {
	const char *common_name;
	const char *organization;      /* NULL: none */
	const char *const *sans;       /* NULL-terminated: IP addresses and DNS names; NULL: none */
	bool server, client;           /* the TLS key purposes */
	unsigned days;
};

/* A new self-signed CA for CLUSTER (CN=CLUSTER, O=cairn). 0, or -1 with ERR set. */
int pki_ca_generate(const char *cluster, struct pki_ca *ca, char err[PKI_ERROR_MAX]);
/* The CA from its PEM certificate and key; checks that they belong together. */
int pki_ca_import(const char *cert_pem, const char *key_pem, struct pki_ca *ca,
		  char err[PKI_ERROR_MAX]);
/* The CA's certificate and key as malloc()ed PEM strings. */
int pki_ca_export(const struct pki_ca *ca, char **cert_pem, char **key_pem,
		  char err[PKI_ERROR_MAX]);
void pki_ca_free(struct pki_ca *ca);

/* A new key and a certificate for it signed by CA, as malloc()ed PEM strings. */
int pki_issue(const struct pki_ca *ca, const struct pki_request *request, char **cert_pem,
	      char **key_pem, char err[PKI_ERROR_MAX]);

/* A new ECDSA P-256 key pair as malloc()ed PEM strings: the PKCS#8 private key and the
 * SubjectPublicKeyInfo public key (Kubernetes' service-account signing pair). */
int pki_keypair_generate(char **key_pem, char **public_pem, char err[PKI_ERROR_MAX]);

#endif
