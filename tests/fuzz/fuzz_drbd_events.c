/* fuzz_drbd_events.c - libFuzzer harness for drbd_parse_events() (services/storage/drbd.c):
 * any bytes give an object of objects of known keys, without a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "drbd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *parsed = drbd_parse_events((const char *)data, size), *item;
	const char *name;

	if (!json_is_object(parsed))
		abort();
	json_object_foreach(parsed, name, item)
		if (!json_is_object(item))
			abort();
	json_decref(parsed);
	return 0;
}
