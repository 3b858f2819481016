# services/kube/kube.mk - cairn-ovn, the CNI plugin that puts pods on an OVN Network
# (services/kube/cni/cairn-ovn.c), shipped as /usr/lib/cni/cairn-ovn. The kube controller itself
# is part of cairnd (services/network/network.make). Included by the top Makefile.

INC_services/kube/cni := -Ilib/ovsdb -Ilib/runcmd
$(OUT)/cairn-ovn: $(BUILD)/obj/rel/services/kube/cni/cairn-ovn.o $(OVSDB_LIB) $(RUNCMD_LIB)
	@mkdir -p $(@D)
	$(CC) -o $@ $(LINK_OBJS) -ljansson

.PHONY: cairn-ovn
cairn-ovn: $(OUT)/cairn-ovn

# Its unit test runs the sanitizer build as containerd would, with the image's host-local (the
# IPAM plugin the nodes use), so it needs the image's root tree (`make` first, as test_vm does).
$(BUILD)/cairn-ovn: $(BUILD)/obj/san/services/kube/cni/cairn-ovn.o $(OVSDB_LIB_SAN) $(RUNCMD_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -ljansson
$(BUILD)/obj/san/tests/unit/test_cni.o: DEFS = -Ilib/runcmd -DCNI_PLUGIN='"$(abspath $(BUILD)/cairn-ovn)"' \
	-DCNI_BIN_DIR='"$(abspath $(IMG_ROOT)/usr/lib/cni)"'
$(BUILD)/unit/test_cni: $(BUILD)/obj/san/tests/unit/test_cni.o $(RUNCMD_LIB_SAN) $(BUILD)/cairn-ovn
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka -ljansson

# The pure parts of services/kube: the decision on a kubelet's serving certificate request
# (csr.c, with real requests), cluster DNS's records (dns.c) and the kubelet's restarts for a
# missing serving certificate (serving.c).
$(BUILD)/obj/san/tests/unit/test_kube.o: DEFS = -Iservices/kube -Iservices/api
$(BUILD)/unit/test_kube: $(BUILD)/obj/san/tests/unit/test_kube.o $(BUILD)/obj/san/services/kube/csr.o \
		$(BUILD)/obj/san/services/kube/dns.o $(BUILD)/obj/san/services/kube/serving.o
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka -lgnutls -ljansson

# `make fuzz`: the certificate requests' decision (fuzz_csr), with any bytes as the request.
FUZZ_NAMES += csr
$(BUILD)/obj/fuzz/tests/fuzz/fuzz_csr.o: DEFS = -Iservices/kube -Iservices/api
$(BUILD)/fuzz/fuzz_csr: $(BUILD)/obj/fuzz/tests/fuzz/fuzz_csr.o $(call OBJ,fuzz,services/kube/csr.c)
	@mkdir -p $(@D)
	$(CLANG) $(LDFLAGS_FUZZ) -o $@ $(LINK_OBJS) -lgnutls -ljansson
