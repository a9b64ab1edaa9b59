/* synth.c: what the generators share: the parallel, deterministic driver,
 * output paths, and the JSON of a record's common fields. */
#include "synth/synth.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/record.h"

enum { SYNTH_BATCH = 64 };

typedef struct batch {
	json_t *recs[SYNTH_BATCH];
	int status[SYNTH_BATCH];
	aoi_error errs[SYNTH_BATCH];
} batch;

/* Make records start..start+m-1 in parallel; each depends only on its index. */
static void make_batch(const aoi_rng *base, long start, int m, aoi_synth_make_fn make,
		       void *ctx, batch *b)
{
#pragma omp parallel for schedule(dynamic, 1)
	for (int j = 0; j < m; j++) {
		aoi_rng r;

		aoi_rng_fork(base, (uint64_t)(start + j), &r);
		b->recs[j] = NULL;
		aoi_error_clear(&b->errs[j]);
		b->status[j] = make(ctx, start + j, &r, &b->recs[j], &b->errs[j]);
	}
}

/* Write the batch in order; stop at the first failure (its records after it
 * are dropped). */
static int write_batch(const aoi_synth_job *job, int m, batch *b, aoi_error *err)
{
	int rc = 0;

	for (int j = 0; j < m; j++) {
		if (rc == 0 && b->status[j] < 0) {
			if (err)
				*err = b->errs[j];
			rc = -1;
		}
		if (rc == 0 && b->recs[j] && aoi_record_write(job->records, b->recs[j], err) < 0)
			rc = -1;
		json_decref(b->recs[j]);
		b->recs[j] = NULL;
	}
	return rc;
}

int aoi_synth_run(const aoi_synth_job *job, long n, aoi_synth_make_fn make, void *ctx,
		  aoi_error *err)
{
	aoi_rng base;
	batch *b;
	int rc = 0;

	if (aoi_mkdir_p(job->out_dir, err) < 0)
		return -1;
	b = calloc(1, sizeof *b);
	if (!b)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	/* jansson seeds its hash function on first use; do it before threads */
	json_object_seed(0x5eed);
	aoi_rng_seed(&base, job->seed);
	for (long start = 0; start < n && rc == 0; start += SYNTH_BATCH) {
		int m = (int)(n - start < SYNTH_BATCH ? n - start : SYNTH_BATCH);

		make_batch(&base, start, m, make, ctx, b);
		rc = write_batch(job, m, b, err);
		if (job->progress)
			job->progress(job->progress_ctx, start + m, n);
	}
	free(b);
	return rc;
}

int aoi_synth_out_path(const aoi_synth_job *job, const char *name, char *out, size_t size,
		       aoi_error *err)
{
	if (aoi_path_join(out, size, job->out_dir, name) < 0)
		return aoi_error_set(err, AOI_EINVAL, job->out_dir, 0, "output path too long");
	return 0;
}

int aoi_synth_finish(const aoi_synth_job *job, int rc, const char *name, aoi_image *img,
		     json_t *rec, json_t **out, aoi_error *err)
{
	char path[4096];

	if (rc == 0)
		rc = aoi_synth_out_path(job, name, path, sizeof path, err);
	if (rc == 0)
		rc = aoi_image_save_png(path, img, err);
	aoi_image_release(img);
	if (rc < 0) {
		json_decref(rec);
		return -1;
	}
	*out = rec;
	return 0;
}

int aoi_synth_record_path(const aoi_synth_job *job, const char *name, char *out, size_t size,
			  aoi_error *err)
{
	char path[4096];

	if (aoi_synth_out_path(job, name, path, sizeof path, err) < 0)
		return -1;
	return aoi_synth_relpath(job->base ? job->base : ".", path, out, size, err);
}

/* Absolute, symlinks resolved: the directory must exist. */
static int absolute_dir(const char *dir, char *out, aoi_error *err)
{
	if (!realpath(dir, out))
		return aoi_error_errno(err, dir, "cannot resolve");
	return 0;
}

int aoi_synth_relpath(const char *dir, const char *target, char *out, size_t size,
		      aoi_error *err)
{
	char adir[PATH_MAX], tdir[PATH_MAX], stem[PATH_MAX];
	const char *file = strrchr(target, '/');

	if (target[0] == '/') { /* absolute stays absolute: it names one file anywhere */
		if (snprintf(out, size, "%s", target) >= (int)size)
			return aoi_error_set(err, AOI_EINVAL, target, 0, "path too long");
		return 0;
	}
	aoi_path_dir(stem, sizeof stem, target);
	if (absolute_dir(dir, adir, err) < 0 || absolute_dir(stem, tdir, err) < 0)
		return -1;
	file = file ? file + 1 : target;
	/* the longest common prefix that ends at a '/' (or at the end) */
	size_t common = 0, i = 0;
	while (adir[i] && adir[i] == tdir[i]) {
		i++;
		if ((adir[i] == '/' || adir[i] == '\0') && (tdir[i] == '/' || tdir[i] == '\0'))
			common = i;
	}
	if (strcmp(adir, "/") == 0)
		common = 1; /* nothing to climb out of */
	size_t used = 0;
	out[0] = '\0';
	for (const char *p = adir + common; *p; p++)
		if (*p == '/' && used + 4 < size) {
			memcpy(out + used, "../", 4);
			used += 3;
		}
	const char *rest = tdir + common;
	while (*rest == '/')
		rest++;
	int n = snprintf(out + used, size - used, "%s%s%s", rest, *rest ? "/" : "", file);
	if (n < 0 || (size_t)n >= size - used)
		return aoi_error_set(err, AOI_EINVAL, target, 0, "path too long");
	return 0;
}

json_t *aoi_synth_real(double v)
{
	return json_real(round(v * 1000.0) / 1000.0);
}

json_t *aoi_synth_record_new(const char *id, const char *image, const aoi_image *img)
{
	json_t *r = json_object();

	json_object_set_new(r, "id", json_string(id));
	json_object_set_new(r, "image", json_string(image));
	json_object_set_new(r, "width", json_integer(img->width));
	json_object_set_new(r, "height", json_integer(img->height));
	json_object_set_new(r, "channels", json_integer(img->channels));
	return r;
}

json_t *aoi_synth_points_json(const double *xy, int n)
{
	json_t *a = json_array();

	for (int i = 0; i < n; i++) {
		json_t *p = json_array();

		json_array_append_new(p, json_real(round(xy[2 * i] * 100.0) / 100.0));
		json_array_append_new(p, json_real(round(xy[2 * i + 1] * 100.0) / 100.0));
		json_array_append_new(a, p);
	}
	return a;
}
