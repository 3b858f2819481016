# lib/pki/pki.mk - the X.509 helpers with GnuTLS (CAs, issued certificates, key pairs):
# $(BUILD)/lib/libcairnpki.a and its sanitizer twin (the archive template in mk/flags.mk).
# cairnctl makes the cluster's CAs with it; cairnd issues the node's Kubernetes and etcd
# certificates from them (services/kube). Included by the top Makefile before the services'.

PKI_SRCS := $(sort $(wildcard lib/pki/*.c))
PKI_HDRS := $(sort $(wildcard lib/pki/*.h))
PKI_LINK := -lgnutls
$(eval $(call LIBRARY,PKI,pki))

.PHONY: pki
pki: $(PKI_LIB) $(PKI_LIB_SAN)
