/* hash.h: SHA-256 (FIPS 180-4), a seeded 64-bit string hash, and the
 * fingerprint of a dataset: its records and every file they name.
 *
 * The fingerprint is for versioning a dataset and for recording in a trained
 * model which data it saw: it changes when any record, or any byte of an
 * image, template or mask file a record names, changes. */
#ifndef AOI_HASH_H
#define AOI_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cli.h"
#include "error.h"

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

typedef struct aoi_fingerprint {
	char hex[65];
	long records;
	long files;     /* file references hashed (image, template, mask) */
	long long bytes; /* their total size */
	long failed;    /* on error: index of the record whose file failed */
} aoi_fingerprint;

/* The SHA-256 over, for each record in order, its canonical JSON and the
 * digests of the files its "image", "template" and "mask" fields name
 * (resolved against base). Files are hashed in parallel; progress (may be
 * NULL) steps once per record. A missing or
 * unreadable file is an error naming it; fp->failed is then the index of
 * the first record with such a file. */
int aoi_hash_dataset(const json_t *records, const char *base, aoi_progress *progress,
		     aoi_fingerprint *fp, aoi_error *err);

#endif
