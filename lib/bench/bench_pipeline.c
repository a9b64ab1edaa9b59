/* bench_pipeline.c: the whole inspection chain on a dataset, stage by
 * stage, built from the same pieces aoi-infer and aoi-classify use. */
#include "bench/bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "data/dataset.h"
#include "data/mask.h"
#include "image/image.h"

static const char *const stage_names[AOI_BENCH_NSTAGES] = {
	"decode", "preprocess", "infer", "write", "classify",
};

const char *aoi_bench_stage_name(int stage)
{
	return stage >= 0 && stage < AOI_BENCH_NSTAGES ? stage_names[stage] : "?";
}

/* What one image needs, allocated once for the whole run. */
typedef struct chain_bufs {
	aoi_shape in, out;
	float *x;
	aoi_mask small; /* the argmax at the input size */
} chain_bufs;

static int bufs_init(chain_bufs *b, aoi_net *net, const aoi_bench_chain_opts *o,
		     aoi_error *err)
{
	memset(b, 0, sizeof *b);
	b->in = aoi_net_input_shape(net);
	b->out = aoi_net_output_shape(net);
	if (b->in.n != 1 || b->in.c != o->channels || b->out.h != b->in.h ||
	    b->out.w != b->in.w)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "the pipeline needs a segmentation net planned for batch 1 "
				     "with %d input channels", o->channels);
	b->x = malloc((size_t)b->in.c * b->in.h * b->in.w * sizeof *b->x);
	if (!b->x)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return aoi_mask_alloc(&b->small, b->in.w, b->in.h, err);
}

static void bufs_release(chain_bufs *b)
{
	free(b->x);
	aoi_mask_release(&b->small);
}

/* Class of each pixel: the highest score, or score > 0 for one channel. */
static void argmax_mask(const float *y, aoi_shape s, aoi_mask *m)
{
	size_t plane = (size_t)s.h * s.w;

	for (size_t p = 0; p < plane; p++) {
		int best = s.c == 1 ? y[p] > 0 : 0;

		for (int c = 1; c < s.c; c++)
			if (y[(size_t)c * plane + p] > y[(size_t)best * plane + p])
				best = c;
		m->data[p] = (uint8_t)best;
	}
}

static int write_mask(const aoi_mask *small, int width, int height, const char *dir,
		      long index, aoi_mask *full, aoi_error *err)
{
	char path[4096];

	if (aoi_mask_resize(small, full, width, height, err) < 0)
		return -1;
	if (snprintf(path, sizeof path, "%s/%06ld.png", dir, index) >= (int)sizeof path)
		return aoi_error_set(err, AOI_EINVAL, dir, 0, "mask directory name too long");
	return aoi_mask_save_png(path, full, err);
}

static int classify(const aoi_bench_chain_opts *o, const aoi_mask *full, int *reject,
		    aoi_error *err)
{
	aoi_rules_input in = {0};
	json_t *reasons = NULL;
	int rc;

	in.mask = full;
	in.classes = o->classes;
	in.prob = NAN;
	rc = aoi_rules_eval(o->rules, &in, reject, &reasons, err);
	json_decref(reasons);
	return rc;
}

/* One record through the five stages; t[] gets each stage's time. */
static int one_image(aoi_net *net, chain_bufs *b, const json_t *rec, const char *base,
		     const aoi_bench_chain_opts *o, long index, double *t, int *reject,
		     aoi_error *err)
{
	aoi_image img = {0}, small = {0};
	aoi_mask full = {0};
	const float *y;
	double t0 = aoi_now(), t1, t2, t3, t4;
	int rc = -1;

	if (aoi_loader_read_images(rec, base, o->channels, &img, NULL, err) < 0)
		return -1;
	t1 = aoi_now();
	if (aoi_image_resize(&img, &small, b->in.w, b->in.h, AOI_RESIZE_BILINEAR, err) < 0)
		goto done;
	aoi_loader_to_tensor(&small, NULL, 0, 0, b->in.w, b->in.h, &o->norm, b->x);
	t2 = aoi_now();
	if (!(y = aoi_net_forward(net, b->x, 0, NULL, err)))
		goto done;
	t3 = aoi_now();
	argmax_mask(y, b->out, &b->small);
	if (write_mask(&b->small, img.width, img.height, o->mask_dir, index, &full, err) < 0)
		goto done;
	t4 = aoi_now();
	if (classify(o, &full, reject, err) < 0)
		goto done;
	t[AOI_BENCH_DECODE] = t1 - t0, t[AOI_BENCH_PREPROCESS] = t2 - t1;
	t[AOI_BENCH_INFER] = t3 - t2, t[AOI_BENCH_WRITE] = t4 - t3;
	t[AOI_BENCH_CLASSIFY] = aoi_now() - t4;
	rc = 0;
done:
	aoi_image_release(&img), aoi_image_release(&small);
	aoi_mask_release(&full);
	return rc;
}

static int run_records(aoi_net *net, chain_bufs *b, aoi_reader *r,
		       const aoi_bench_chain_opts *o, aoi_bench_chain *out, aoi_error *err)
{
	json_t *rec;
	int got = 0;

	while ((o->limit == 0 || out->images < o->limit) &&
	       (got = aoi_reader_next(r, &rec, err)) > 0) {
		double t[AOI_BENCH_NSTAGES] = {0};
		int reject = 0, rc;

		rc = one_image(net, b, rec, aoi_reader_base(r), o, out->images, t, &reject, err);
		json_decref(rec);
		if (rc < 0) {
			/* the record's place, the file's name kept in the message */
			aoi_dataset_place(err, aoi_reader_name(r), aoi_reader_line(r));
			return -1;
		}
		for (int s = 0; s < AOI_BENCH_NSTAGES; s++)
			out->seconds[s] += t[s];
		out->images++;
		out->rejected += reject;
	}
	return o->limit && out->images >= o->limit ? 0 : got;
}

int aoi_bench_pipeline(aoi_net *net, const char *dataset, const aoi_bench_chain_opts *o,
		       aoi_bench_chain *out, aoi_error *err)
{
	chain_bufs b;
	aoi_reader *r;
	double t0;
	int rc;

	memset(out, 0, sizeof *out);
	if (bufs_init(&b, net, o, err) < 0) {
		bufs_release(&b);
		return -1;
	}
	if (!(r = aoi_reader_open(dataset, NULL, err))) {
		bufs_release(&b);
		return -1;
	}
	t0 = aoi_now();
	rc = run_records(net, &b, r, o, out, err);
	out->wall = aoi_now() - t0;
	aoi_reader_free(r);
	bufs_release(&b);
	if (rc == 0 && out->images == 0)
		return aoi_error_set(err, AOI_EINVAL, dataset, 0, "no records to run");
	return rc < 0 ? -1 : 0;
}
