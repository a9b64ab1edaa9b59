/* hash.h: SHA-256 (FIPS 180-4), a seeded 64-bit string hash, and JSON in
 * the canonical form that hashes compare (a dataset's fingerprint,
 * data/dataset.h, is built on them). */
#ifndef AOI_HASH_H
#define AOI_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/error.h"

typedef struct aoi_sha256 {
	uint32_t h[8];
	uint64_t bytes;     /* message length so far */
	uint8_t block[64];
	size_t fill;        /* bytes waiting in block */
} aoi_sha256;

void aoi_sha256_init(aoi_sha256 *s);
void aoi_sha256_update(aoi_sha256 *s, const void *data, size_t len);
void aoi_sha256_final(aoi_sha256 *s, uint8_t digest[32]);
/* One call: hex digest (64 characters and NUL) of a buffer. */
void aoi_sha256_hex(const void *data, size_t len, char hex[65]);
void aoi_sha256_to_hex(const uint8_t digest[32], char hex[65]);
/* Digest of a file's bytes, read in pieces. */
int aoi_sha256_file(const char *path, uint8_t digest[32], aoi_error *err);

/* A well-mixed 64-bit hash of a string under a seed (FNV-1a folded through
 * the splitmix64 finaliser): the sort key of seeded splits and samples, so
 * that their result does not depend on the order of the input. */
uint64_t aoi_hash_str64(uint64_t seed, const char *s);

/* A record as canonical JSON: compact, keys sorted. Caller frees. */
char *aoi_hash_canonical(const json_t *rec);

#endif
