# services/ovn/ovn.mk - Cairn's OVN side: the Northbound reconcile (nb.c, with lib/ovsdb and
# lib/config) and its host test against a real ovsdb-server. Included by the top Makefile
# (services/*/*.mk) after lib/*/*.mk, before tests/unit/unit.mk: the explicit rule below takes
# precedence over unit.mk's pattern rule. cairnd links $(OVN_SRCS) with -Iservices/ovn
# -Ilib/ovsdb.

BUILD ?= build
CC ?= gcc

OVN_SRCS := services/ovn/nb.c
OVN_HDRS := services/ovn/nb.h
OVN_CFLAGS := -Iservices/ovn -Ilib/ovsdb

# Runs ovsdb-server and ovsdb-client (openvswitch-common) on a temporary OVN_Northbound
# database made with ovsdb-tool from ovn-central's schema; skipped when they are missing.
$(BUILD)/unit/test_ovn_nb: tests/unit/test_ovn_nb.c $(OVN_SRCS) $(OVN_HDRS) $(OVSDB_SRC) \
		$(OVSDB_HDR) $(CONFIG_SRCS) $(CONFIG_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g \
		-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
		$(OVN_CFLAGS) -Ilib/config -o $@ tests/unit/test_ovn_nb.c $(OVN_SRCS) $(OVSDB_SRC) \
		$(CONFIG_SRCS) -lcmocka -ljansson -lyaml
