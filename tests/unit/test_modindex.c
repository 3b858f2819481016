/* test_modindex.c - unit tests for init/modindex.c (modules.dep, modules.alias). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "modindex.h"

static const char dep_text[] =
	"kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
	"kernel/drivers/virtio/virtio.ko:\n"
	"kernel/drivers/virtio/virtio_ring.ko: kernel/drivers/virtio/virtio.ko\n"
	"kernel/fs/squashfs/squashfs.ko.xz:\n"
	"kernel/drivers/ata/ata-piix.ko.zst: kernel/drivers/ata/libata.ko.zst\n"
	"garbage line without colon\n"
	": empty\n";

static const char alias_text[] =
	"# Aliases extracted from modules themselves.\n"
	"alias virtio:d00000002v* virtio_blk\n"
	"alias pci:v00008086d00007010sv*sd*bc*sc*i* ata-piix\n"
	"alias fs-squashfs squashfs\n"
	"alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\n"
	"alias broken\n"
	"softdep x pre: y\n";

static struct modindex idx;

static int setup(void **state)
{
	(void)state;
	memset(&idx, 0, sizeof idx);
	if (modindex_parse_dep(&idx, dep_text, sizeof dep_text - 1) < 0 ||
	    modindex_parse_alias(&idx, alias_text, sizeof alias_text - 1) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	modindex_free(&idx);
	return 0;
}

static void test_names_from_paths(void **state)
{
	char name[MODINDEX_NAME_MAX];
	(void)state;
	modindex_name_from_path("kernel/drivers/ata/ata-piix.ko.zst", name, sizeof name);
	assert_string_equal(name, "ata_piix");
	modindex_name_from_path("virtio.ko", name, sizeof name);
	assert_string_equal(name, "virtio");
	modindex_name_from_path("a/b/c.kosher.ko", name, sizeof name);
	assert_string_equal(name, "c.kosher");
}

static void test_dep(void **state)
{
	const struct modindex_module *m;
	(void)state;
	assert_int_equal(idx.module_count, 5);
	m = modindex_find(&idx, "virtio_blk");
	assert_non_null(m);
	assert_string_equal(m->path, "kernel/drivers/block/virtio_blk.ko");
	assert_int_equal(m->dep_count, 2);
	assert_string_equal(m->deps[0], "virtio_ring");
	assert_string_equal(m->deps[1], "virtio");
	assert_null(m->deps[2]);
	m = modindex_find(&idx, "ata-piix");   /* '-' and '_' are the same */
	assert_non_null(m);
	assert_string_equal(m->deps[0], "libata");
	assert_int_equal(modindex_find(&idx, "squashfs")->dep_count, 0);
	assert_null(modindex_find(&idx, "nope"));
}

static unsigned hits;
static char last[MODINDEX_NAME_MAX];

static void on_match(const char *module, void *arg)
{
	(void)arg;
	hits++;
	strcpy(last, module);
}

static void test_alias(void **state)
{
	(void)state;
	assert_int_equal(idx.alias_count, 4);
	hits = 0;
	assert_int_equal(modindex_match(&idx, "virtio:d00000002v00001AF4", on_match, NULL), 1);
	assert_string_equal(last, "virtio_blk");
	assert_int_equal(modindex_match(&idx, "pci:v00008086d00007010sv00001AF4sd00001100bc01sc01i80",
					on_match, NULL), 1);
	assert_string_equal(last, "ata_piix");
	assert_int_equal(modindex_match(&idx, "pci:v00001AF4d00001001sv00001AF4sd00000002bc01sc00i00",
					NULL, NULL), 1);
	assert_int_equal(modindex_match(&idx, "virtio:d00000001v00001AF4", NULL, NULL), 0);
	assert_int_equal(modindex_match(&idx, "", NULL, NULL), 0);
	assert_int_equal(hits, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_from_paths),
		cmocka_unit_test(test_dep),
		cmocka_unit_test(test_alias),
	};
	return cmocka_run_group_tests_name("modindex", tests, setup, teardown);
}
