/* fingerprint.c: a dataset's fingerprint (aoi_hash_dataset, dataset.h):
 * the records in canonical JSON and the SHA-256 of every file they name. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "base/parallel.h"
#include "data/record.h"

/* The file fields of a record whose bytes are part of the fingerprint. */
static const char *const file_keys[] = { "image", "template", "mask" };
enum { NKEYS = sizeof file_keys / sizeof file_keys[0] };

typedef struct file_digest {
	int present;
	long long size;
	uint8_t d[32];
} file_digest;

static int digest_record_files(const json_t *rec, const char *base, file_digest *fd,
			       aoi_error *err)
{
	char path[4096];

	for (int k = 0; k < NKEYS; k++) {
		fd[k].present = 0;
		if (!aoi_record_str(rec, file_keys[k]))
			continue;
		if (aoi_record_path(rec, file_keys[k], base, path, sizeof path) != 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s path too long",
					     file_keys[k]);
		if (aoi_sha256_file(path, fd[k].d, err) != 0)
			return -1;
		FILE *fp = fopen(path, "rb");
		fd[k].size = 0;
		if (fp && fseek(fp, 0, SEEK_END) == 0)
			fd[k].size = ftell(fp);
		if (fp)
			fclose(fp);
		fd[k].present = 1;
	}
	return 0;
}

typedef struct digest_job {
	const json_t *records;
	const char *base;
	file_digest *fd;
} digest_job;

static int digest_one(void *ctx, size_t i, aoi_error *err)
{
	const digest_job *j = ctx;

	return digest_record_files(json_array_get(j->records, i), j->base, j->fd + i * NKEYS,
				   err);
}

int aoi_hash_dataset(const json_t *records, const char *base, aoi_progress *progress,
		     aoi_fingerprint *fp, aoi_error *err)
{
	size_t n = json_array_size(records);
	file_digest *fd = calloc(n ? n * NKEYS : 1, sizeof *fd);
	aoi_sha256 s;
	uint8_t d[32];
	digest_job job = { records, base, fd };
	long bad;

	if (!fd)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	memset(fp, 0, sizeof *fp);
	bad = aoi_parallel_each(n, 4, digest_one, &job, progress, err);
	if (bad >= 0) {
		free(fd);
		fp->failed = bad;
		return -1;
	}
	aoi_sha256_init(&s);
	for (size_t i = 0; i < n; i++) {
		char *json = aoi_hash_canonical(json_array_get(records, i));
		if (!json) {
			free(fd);
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		}
		aoi_sha256_update(&s, json, strlen(json) + 1);
		free(json);
		for (int k = 0; k < NKEYS; k++) {
			file_digest *f = &fd[i * NKEYS + k];
			if (!f->present)
				continue;
			/* the field name keeps an image and a template apart */
			aoi_sha256_update(&s, file_keys[k], strlen(file_keys[k]) + 1);
			aoi_sha256_update(&s, f->d, sizeof f->d);
			fp->files++;
			fp->bytes += f->size;
		}
	}
	aoi_sha256_final(&s, d);
	aoi_sha256_to_hex(d, fp->hex);
	fp->records = (long)n;
	fp->failed = -1;
	free(fd);
	return 0;
}
