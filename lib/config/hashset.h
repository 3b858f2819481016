/* hashset.h - internal: the set behind the decoder's uniqueness checks (mapping keys, list
 * items, documents, MACs), so that each costs time linear in its input. Entries are the
 * caller's ids (indexes into its own arrays) with their hash; the caller's equal() decides
 * equality, so a check keeps its exact meaning. Hashes are SipHash-2-4 under a key drawn
 * at random for each decode: no input can be crafted to make the set slow. */
#ifndef CAIRN_CONFIG_HASHSET_H
#define CAIRN_CONFIG_HASHSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashset_key {
	uint64_t k0, k1;
};

struct hashset_slot {
	uint32_t hash;             /* the low half of the hash: the position, and a first check */
	uint32_t id;               /* SLOT_FREE: a free slot */
};

#define HASHSET_EMPTY SIZE_MAX     /* out of memory */
#define HASHSET_IDS_MAX (UINT32_MAX - 1)

struct hashset {
	struct hashset_slot *slots;
	size_t cap, count;         /* cap: a power of two, at least twice count */
	bool (*equal)(const void *context, size_t a, size_t b);
	const void *context;
};

/* A fresh random key (getrandom, else a clock-and-address fallback). */
void hashset_key_init(struct hashset_key *key);
/* SipHash-2-4 of LEN bytes at DATA under KEY. */
uint64_t hashset_hash(const struct hashset_key *key, const void *data, size_t len);

/* An empty set sized for EXPECTED entries (it grows past them); -1 when out of memory. */
int hashset_init(struct hashset *set, size_t expected,
		 bool (*equal)(const void *context, size_t a, size_t b), const void *context);
void hashset_free(struct hashset *set);
/* The id of the entry equal to ID (same HASH and equal() true), or ID itself after adding
 * it; so with ids added in input order, the first occurrence. HASHSET_EMPTY: out of memory
 * (or an ID above HASHSET_IDS_MAX). */
size_t hashset_first(struct hashset *set, uint64_t hash, size_t id);

#endif
