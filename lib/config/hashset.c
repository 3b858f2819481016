/* hashset.c - open-addressing set of caller ids for the uniqueness checks (hashset.h), and
 * SipHash-2-4 (Aumasson and Bernstein, the reference algorithm) under a random key. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "hashset.h"

void hashset_key_init(struct hashset_key *key)
{
	struct timespec now;

	if (getrandom(key, sizeof *key, GRND_NONBLOCK) == (ssize_t)sizeof *key)
		return;
	/* No entropy yet (early boot): still unknown to a remote client. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	key->k0 = ((uint64_t)now.tv_sec << 32) ^ (uint64_t)now.tv_nsec ^ (uint64_t)(uintptr_t)key;
	key->k1 = (uint64_t)(uintptr_t)&hashset_key_init ^ ((uint64_t)now.tv_nsec << 20) ^
		  0x736f6d6570736575ULL;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                   \
	do {                                                                       \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);          \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                             \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                             \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);          \
	} while (0)

static uint64_t load64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t hashset_hash(const struct hashset_key *key, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t v0 = 0x736f6d6570736575ULL ^ key->k0, v1 = 0x646f72616e646f6dULL ^ key->k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ key->k0, v3 = 0x7465646279746573ULL ^ key->k1;
	uint64_t m, last = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = load64(p + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= last;
	SIPROUND;
	SIPROUND;
	v0 ^= last;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

#define SLOT_FREE UINT32_MAX

static struct hashset_slot *empty_slots(size_t cap)
{
	struct hashset_slot *slots = malloc(cap * sizeof *slots);

	if (slots)
		memset(slots, 0xff, cap * sizeof *slots);   /* every id SLOT_FREE */
	return slots;
}

int hashset_init(struct hashset *set, size_t expected,
		 bool (*equal)(const void *context, size_t a, size_t b), const void *context)
{
	size_t cap = 16;

	while (cap < expected * 2)
		cap *= 2;
	*set = (struct hashset){ .slots = empty_slots(cap), .cap = cap, .equal = equal,
				 .context = context };
	return set->slots ? 0 : -1;
}

void hashset_free(struct hashset *set)
{
	free(set->slots);
	memset(set, 0, sizeof *set);
}

/* Doubles the table: the load stays at most one half. */
static int grow(struct hashset *set)
{
	size_t cap = set->cap * 2;
	struct hashset_slot *slots = cap <= ((size_t)1 << 32) ? empty_slots(cap) : NULL;

	if (!slots)
		return -1;
	for (size_t i = 0; i < set->cap; i++) {
		size_t at = set->slots[i].hash & (cap - 1);
		if (set->slots[i].id == SLOT_FREE)
			continue;
		while (slots[at].id != SLOT_FREE)
			at = (at + 1) & (cap - 1);
		slots[at] = set->slots[i];
	}
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

size_t hashset_first(struct hashset *set, uint64_t hash, size_t id)
{
	const uint32_t low = (uint32_t)hash;
	size_t at;

	if (id > HASHSET_IDS_MAX || ((set->count + 1) * 2 > set->cap && grow(set) < 0))
		return HASHSET_EMPTY;
	for (at = low & (set->cap - 1); set->slots[at].id != SLOT_FREE; at = (at + 1) & (set->cap - 1))
		if (set->slots[at].hash == low && set->equal(set->context, set->slots[at].id, id))
			return set->slots[at].id;
	set->slots[at] = (struct hashset_slot){ .hash = low, .id = (uint32_t)id };
	set->count++;
	return id;
}
