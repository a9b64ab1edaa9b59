#include "base/rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void aoi_rng_seed(aoi_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

void aoi_rng_fork(const aoi_rng *r, uint64_t k, aoi_rng *out)
{
	uint64_t x = r->s[0] ^ (r->s[1] << 1) ^ (k * 0xd1342543de82ef95ULL);

	for (int i = 0; i < 4; i++)
		out->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t aoi_rng_next(aoi_rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double aoi_rng_uniform(aoi_rng *r)
{
	return (aoi_rng_next(r) >> 11) * 0x1.0p-53;
}

double aoi_rng_range(aoi_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * aoi_rng_uniform(r);
}

uint32_t aoi_rng_below(aoi_rng *r, uint32_t n)
{
	/* Lemire's multiply-shift; the tiny bias is irrelevant here */
	return (uint32_t)(((aoi_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

double aoi_rng_normal(aoi_rng *r)
{
	double u = aoi_rng_uniform(r), v = aoi_rng_uniform(r);

	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

void aoi_rng_shuffle(aoi_rng *r, void *base, size_t n, size_t size)
{
	unsigned char *p = base, tmp[256];

	if (size > sizeof tmp)
		return;
	for (size_t i = n; i > 1; i--) {
		size_t j = aoi_rng_below(r, (uint32_t)i);
		memcpy(tmp, p + (i - 1) * size, size);
		memcpy(p + (i - 1) * size, p + j * size, size);
		memcpy(p + j * size, tmp, size);
	}
}

void aoi_rng_uniform_floats(aoi_rng *r, float *out, size_t n)
{
	size_t i = 0;

	for (; i + 2 <= n; i += 2) {
		uint64_t x = aoi_rng_next(r);

		out[i] = (float)(x >> 40) * 0x1.0p-24f;
		out[i + 1] = (float)((x >> 8) & 0xffffff) * 0x1.0p-24f;
	}
	if (i < n)
		out[i] = (float)(aoi_rng_next(r) >> 40) * 0x1.0p-24f;
}
