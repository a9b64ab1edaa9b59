/* rng.h: the one random number generator (xoshiro256**, seeded through
 * splitmix64). Every program takes --seed with a fixed default, never the
 * clock, so that the same seed gives the same bytes. The state is a plain
 * struct the caller owns: no globals. */
#ifndef AOI_RNG_H
#define AOI_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct aoi_rng {
	uint64_t s[4];
} aoi_rng;

void aoi_rng_seed(aoi_rng *r, uint64_t seed);
/* An independent stream for worker k (thread, rank, image index), so that
 * results do not depend on the order the work is done in. */
void aoi_rng_fork(const aoi_rng *r, uint64_t k, aoi_rng *out);
uint64_t aoi_rng_next(aoi_rng *r);
double aoi_rng_uniform(aoi_rng *r);               /* [0, 1) */
double aoi_rng_range(aoi_rng *r, double lo, double hi); /* [lo, hi) */
uint32_t aoi_rng_below(aoi_rng *r, uint32_t n);   /* [0, n), n > 0 */
double aoi_rng_normal(aoi_rng *r);                /* mean 0, sd 1 */
/* n uniform floats in [0, 1), multiples of 2^-24, two from each 64-bit
 * draw: for masks and noise in bulk, where a double per value costs more
 * than it gives. Its own stream: not n calls of aoi_rng_uniform. */
void aoi_rng_uniform_floats(aoi_rng *r, float *out, size_t n);
/* Fisher-Yates over n elements of `size` bytes. */
void aoi_rng_shuffle(aoi_rng *r, void *base, size_t n, size_t size);

#endif
