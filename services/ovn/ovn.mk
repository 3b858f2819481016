# services/ovn/ovn.mk - Cairn's OVN side: the Northbound reconcile (nb.c, with lib/ovsdb and
# lib/config) and its host test against a real ovsdb-server. Included by the top Makefile
# (services/*/*.mk) after lib/*/*.mk, before tests/unit/unit.mk: the explicit rule below takes
# precedence over unit.mk's pattern rule. cairnd links $(OVN_SRCS) with -Iservices/ovn
# -Ilib/ovsdb. Flags and object rules in mk/flags.mk.

OVN_SRCS := services/ovn/nb.c
OVN_HDRS := services/ovn/nb.h
OVN_CFLAGS := -Iservices/ovn -Ilib/ovsdb
INC_services/ovn := $(SVC_INC) $(OVN_CFLAGS)

# Runs ovsdb-server and ovsdb-client (openvswitch-common) on a temporary OVN_Northbound
# database made with ovsdb-tool from ovn-central's schema; skipped when they are missing.
# It also runs services/kube/podports.c, the collector of the pods' ports, on that database.
$(BUILD)/obj/san/tests/unit/test_ovn_nb.o: DEFS := $(OVN_CFLAGS) -Ilib/config -Iservices/kube -Iservices/api
$(BUILD)/unit/test_ovn_nb: $(BUILD)/obj/san/tests/unit/test_ovn_nb.o $(UNIT_HARNESS) \
		$(call OBJ,san,$(OVN_SRCS) services/kube/podports.c) $(OVSDB_LIB_SAN) $(CONFIG_LIB_SAN)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_SAN) -o $@ $(LINK_OBJS) -lcmocka -ljansson -lyaml
