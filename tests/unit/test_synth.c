/* test_synth.c: synthetic labels match the pixels they label.
 *
 *  - a painted defect's mask is exactly the pixels that changed, for every
 *    kind, on a drawn binary PCB and on a texture;
 *  - place: the new corners and mask sit on the pasted component (a bright
 *    rectangle on a grainy board), labels follow the tolerance, held-out
 *    sources give test images;
 *  - defects: the output differs from its template exactly under the mask;
 *  - augment: a bright dot at a keypoint is found at the moved keypoint,
 *    --balance brings every label to N;
 *  - anomalies painted on the fly: the kinds parsed, the mask on the
 *    changed pixels, none=F leaves that share untouched;
 *  - the same seed gives the same bytes, whatever the thread count. */
#include <omp.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/fileio.h"
#include "check.h"
#include "data/raster.h"
#include "data/record.h"
#include "synth/synth.h"

/* ---- helpers ---- */

static char *tmpdir(void)
{
	char tmpl[] = "/tmp/aoi-synth-test.XXXXXX";
	char *d = mkdtemp(tmpl);

	return d ? strdup(d) : NULL;
}

static void rmrf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static void join(char *out, const char *dir, const char *name)
{
	snprintf(out, 4096, "%s/%s", dir, name);
}

static void job_init(aoi_synth_job *j, const char *dir, long n, uint64_t seed)
{
	memset(j, 0, sizeof *j);
	j->n = n;
	j->seed = seed;
	j->out_dir = dir;
	j->base = dir;
}

/* Run fn with records into dir/name; returns the records read back. */
typedef int (*run_fn)(const aoi_synth_job *job, const void *opts, aoi_error *err);

static json_t *run_into(aoi_synth_job *job, const char *name, run_fn fn, const void *opts)
{
	char path[4096];
	aoi_error err;

	join(path, job->out_dir, name);
	aoi_mkdir_p(job->out_dir, NULL);
	job->records = fopen(path, "w");
	int rc = fn(job, opts, &err);
	fclose(job->records);
	job->records = NULL;
	if (rc < 0) {
		fprintf(stderr, "generator failed: %s\n", err.msg);
		return NULL;
	}
	return aoi_dataset_read(path, NULL, &err);
}

static int run_place(const aoi_synth_job *j, const void *o, aoi_error *e) { return aoi_synth_place(j, o, e); }
static int run_texture(const aoi_synth_job *j, const void *o, aoi_error *e) { return aoi_synth_texture(j, o, e); }
static int run_defects(const aoi_synth_job *j, const void *o, aoi_error *e) { return aoi_synth_defects(j, o, e); }
static int run_augment(const aoi_synth_job *j, const void *o, aoi_error *e) { return aoi_synth_augment(j, o, e); }

static int load_rec_image(const json_t *rec, const char *key, const char *base, aoi_image *img)
{
	char path[4096];

	return aoi_record_path(rec, key, base, path, sizeof path) == 0 &&
	       aoi_image_load(path, img, NULL) == 0;
}

/* The record's annotation as a class-index mask, indices of its classes. */
static int rec_mask(const json_t *rec, const char *base, aoi_mask *m)
{
	aoi_classes cl;

	aoi_classes_init(&cl);
	int ok = aoi_classes_from_record(&cl, rec, NULL) == 0 &&
		 aoi_record_mask(rec, base, &cl, m, NULL) == 0;
	aoi_classes_release(&cl);
	return ok;
}

/* A binarised PCB: white board, black traces of a few widths, pads. */
static void draw_pcb(aoi_image *img, int w, int h)
{
	aoi_mask cu = { 0 };

	aoi_image_alloc(img, w, h, 1, NULL);
	aoi_mask_alloc(&cu, w, h, NULL);
	for (int k = 0; k < 6; k++) {
		aoi_raster_line(&cu, 10, 15 + 22 * k, w - 10, 15 + 22 * k, 3 + k, 1);
		aoi_raster_line(&cu, 20 + 30 * k, 8, 20 + 30 * k, h - 140, 4, 1);
	}
	aoi_raster_box(&cu, 40, 150, 90, 190, 1);
	aoi_raster_ellipse(&cu, 150, 170, 18, 14, 0, 1);
	for (size_t i = 0; i < (size_t)w * h; i++)
		img->data[i] = cu.data[i] ? 0 : 255;
	aoi_mask_release(&cu);
}

/* Pixels under the mask differ, the others do not. */
static void check_changed_exactly(const aoi_image *before, const aoi_image *after,
				  const aoi_mask *m, const char *what)
{
	long wrong_in = 0, wrong_out = 0, set = 0;
	int ch = before->channels;

	CHECK(before->width == after->width && before->height == after->height && m->width == after->width);
	if (before->width != after->width || before->height != after->height || m->width != after->width)
		return;
	for (size_t i = 0; i < (size_t)m->width * m->height; i++) {
		int diff = memcmp(before->data + i * ch, after->data + i * ch, (size_t)ch) != 0;
		set += m->data[i] != 0;
		wrong_in += m->data[i] && !diff;
		wrong_out += !m->data[i] && diff;
	}
	CHECK_MSG(set > 0 && wrong_in == 0 && wrong_out == 0, "%s: %ld marked, %ld unchanged under the mask, %ld changed outside",
		  what, set, wrong_in, wrong_out);
}

/* ---- paint ---- */

static void test_paint_contract(void)
{
	aoi_image pcb = { 0 }, tex = { 0 };
	aoi_rng rng;

	draw_pcb(&pcb, 200, 200);
	aoi_rng_seed(&rng, 11);
	CHECK(aoi_synth_texture_draw(5, 0, &rng, 160, 120, &tex, NULL) == 0);
	CHECK(aoi_synth_is_binary(&pcb) == 1);
	CHECK(aoi_synth_is_binary(&tex) == 0);
	for (int d = 0; d < AOI_DEFECT_COUNT; d++) {
		aoi_image *base = d < AOI_DEFECT_SCRATCH ? &pcb : &tex;
		for (int t = 0; t < 5; t++) {
			aoi_image img = { 0 };
			aoi_mask m = { 0 };
			aoi_image_copy(base, &img, NULL);
			aoi_mask_alloc(&m, img.width, img.height, NULL);
			int painted = aoi_synth_paint_defect(&img, &m, d, (uint8_t)(d + 1), &rng);
			CHECK_MSG(painted == 1, "%s not painted", aoi_synth_defect_name(d));
			if (painted)
				check_changed_exactly(base, &img, &m, aoi_synth_defect_name(d));
			CHECK(aoi_mask_count(&m, -1) == aoi_mask_count(&m, d + 1));
			aoi_image_release(&img);
			aoi_mask_release(&m);
		}
	}
	/* a blank board has no trace to cut: open reports it, touches nothing */
	aoi_image blank = { 0 };
	aoi_mask m = { 0 };
	aoi_image_alloc(&blank, 40, 40, 1, NULL);
	memset(blank.data, 255, 1600);
	aoi_mask_alloc(&m, 40, 40, NULL);
	CHECK(aoi_synth_paint_defect(&blank, &m, AOI_DEFECT_OPEN, 1, &rng) == 0);
	CHECK(aoi_mask_count(&m, -1) == 0);
	aoi_image_release(&blank);
	aoi_mask_release(&m);
	aoi_image_release(&pcb);
	aoi_image_release(&tex);
}

/* ---- anomalies painted on the fly (learning from good images) ---- */

/* The mask marks exactly the pixels changed by 4 levels or more. */
static void check_marked(const aoi_image *before, const aoi_image *img, const aoi_mask *m,
			 const char *what)
{
	long bad = 0, changed = 0;

	for (int i = 0; i < img->width * img->height; i++) {
		int d = abs((int)img->data[i] - (int)before->data[i]);
		changed += d >= 4;
		bad += (d >= 4) != (m->data[i] == 7);
	}
	CHECK_MSG(changed > 0 && bad == 0, "%s: %ld changed, %ld mismarked", what, changed, bad);
}

static void test_paint_anomaly(void)
{
	static const char *const names[] = {"blob", "scratch", "spot", "cutpaste", "texture"};
	aoi_synth_anomaly_opts o;
	aoi_image tex = { 0 };
	aoi_error err;
	aoi_rng rng;

	CHECK(aoi_synth_anomaly_parse("all", &o, &err) == 0);
	CHECK(o.kinds == AOI_SYNTH_ANOM_ALL && o.none == 0.25);
	CHECK(aoi_synth_anomaly_parse("cutpaste,none=0.5", &o, &err) == 0);
	CHECK(o.kinds == AOI_SYNTH_ANOM_CUTPASTE && o.none == 0.5);
	CHECK(aoi_synth_anomaly_parse("blob,crack", &o, &err) < 0);
	CHECK_MSG(strstr(err.msg, "'crack'") != NULL, "%s", err.msg);
	CHECK(aoi_synth_anomaly_parse("none=1", &o, &err) < 0);
	aoi_rng_seed(&rng, 5);
	CHECK(aoi_synth_texture_draw(3, 0, &rng, 96, 80, &tex, NULL) == 0);
	for (int k = 0; k < 5; k++) {
		CHECK(aoi_synth_anomaly_parse(names[k], &o, &err) == 0);
		o.none = 0;
		int npainted = 0;
		for (int t = 0; t < 6; t++) {
			aoi_image img = { 0 };
			aoi_mask m = { 0 };
			aoi_image_copy(&tex, &img, NULL);
			aoi_mask_alloc(&m, img.width, img.height, NULL);
			int painted = aoi_synth_paint_anomaly(&img, &m, &o, 7, &rng, &err);
			CHECK_MSG(painted >= 0, "%s: %s", names[k], err.msg);
			npainted += painted == 1;
			if (painted == 0) /* nothing changed by 4 levels: nothing marked */
				CHECK(aoi_mask_count(&m, -1) == 0);
			if (painted == 1 && k >= 3)
				check_marked(&tex, &img, &m, names[k]);
			if (painted == 1 && k < 3)
				check_changed_exactly(&tex, &img, &m, names[k]);
			aoi_image_release(&img);
			aoi_mask_release(&m);
		}
		/* a faint texture region can change no pixel by 4 levels */
		CHECK_MSG(npainted >= 4, "%s: %d of 6 painted", names[k], npainted);
	}
	/* none=F: about that share is left alone, untouched */
	CHECK(aoi_synth_anomaly_parse("blob,none=0.5", &o, &err) == 0);
	int left = 0;
	for (int t = 0; t < 200; t++) {
		aoi_image img = { 0 };
		aoi_mask m = { 0 };
		aoi_image_copy(&tex, &img, NULL);
		aoi_mask_alloc(&m, img.width, img.height, NULL);
		if (aoi_synth_paint_anomaly(&img, &m, &o, 7, &rng, &err) == 0) {
			left++;
			CHECK(aoi_mask_count(&m, -1) == 0 && !memcmp(img.data, tex.data, 96 * 80));
		}
		aoi_image_release(&img);
		aoi_mask_release(&m);
	}
	CHECK_MSG(left > 70 && left < 130, "%d of 200 left alone", left);
	aoi_image_release(&tex);
}

/* ---- inpaint ---- */

static void test_inpaint(void)
{
	aoi_image img = { 0 }, orig = { 0 };
	aoi_mask hole = { 0 };

	aoi_image_alloc(&img, 64, 48, 3, NULL);
	for (int y = 0; y < 48; y++)
		for (int x = 0; x < 64; x++)
			for (int c = 0; c < 3; c++)
				img.data[(y * 64 + x) * 3 + c] = (uint8_t)(40 + 2 * x + y + 10 * c);
	aoi_image_copy(&img, &orig, NULL);
	aoi_mask_alloc(&hole, 64, 48, NULL);
	aoi_raster_box(&hole, 20, 14, 44, 34, 1);
	for (size_t i = 0; i < 64 * 48; i++)
		if (hole.data[i])
			memset(img.data + i * 3, 255, 3); /* the component to remove */
	CHECK(aoi_synth_inpaint(&img, &hole, NULL) == 0);
	double worst = 0;
	int outside_same = 1;
	for (size_t i = 0; i < 64 * 48 * 3; i++) {
		if (hole.data[i / 3])
			worst = fmax(worst, fabs((double)img.data[i] - orig.data[i]));
		else
			outside_same &= img.data[i] == orig.data[i];
	}
	/* a linear ramp is harmonic: diffusion recovers it; the grain added
	 * is that of the (noiseless) surroundings, none */
	CHECK_MSG(worst <= 6, "inpainted ramp off by %g", worst);
	CHECK(outside_same);
	aoi_mask full = { 0 };
	aoi_mask_alloc(&full, 64, 48, NULL);
	memset(full.data, 1, 64 * 48);
	CHECK(aoi_synth_inpaint(&img, &full, NULL) == -1);
	aoi_mask_release(&full);
	aoi_image_release(&img);
	aoi_image_release(&orig);
	aoi_mask_release(&hole);
}

/* ---- place ---- */

/* A grainy gray board with a bright rectangle (the component), corners
 * known exactly; `k` varies its position. */
static void write_source(const char *dir, int k, FILE *list)
{
	aoi_image img = { 0 };
	aoi_rng rng;
	char path[4096], name[64];
	double x0 = 40 + 3 * k, y0 = 45 + 2 * k, x1 = x0 + 41, y1 = y0 + 29; /* edges */

	aoi_rng_seed(&rng, (uint64_t)k);
	aoi_image_alloc(&img, 128, 128, 1, NULL);
	for (int y = 0; y < 128; y++)
		for (int x = 0; x < 128; x++) {
			int inside = x >= x0 && x < x1 && y >= y0 && y < y1;
			img.data[y * 128 + x] = (uint8_t)(inside ? 235 : 70 + aoi_rng_below(&rng, 30));
		}
	snprintf(name, sizeof name, "src%d.png", k);
	join(path, dir, name);
	aoi_image_save_png(path, &img, NULL);
	/* record corners span pixels as boxes do: the rectangle's edges */
	fprintf(list, "{\"id\":\"s%d\",\"image\":\"%s\",\"width\":128,\"height\":128,"
		      "\"keypoints\":[[%g,%g],[%g,%g],[%g,%g],[%g,%g]]}\n",
		k, name, x0, y0, x1, y0, x0, y1, x1, y1);
	aoi_image_release(&img);
}

/* Inside the quadrilateral TL, TR, BR, BL by at least `margin` pixels
 * (record coordinates: pixel centres at +0.5). */
static int inside_quad(const double *kp, double px, double py, double margin)
{
	const int order[4] = { 0, 1, 3, 2 };
	for (int e = 0; e < 4; e++) {
		const double *a = &kp[2 * order[e]], *b = &kp[2 * order[(e + 1) % 4]];
		double ex = b[0] - a[0], ey = b[1] - a[1], len = hypot(ex, ey);
		double cross = (ex * (py - a[1]) - ey * (px - a[0])) / len;
		if (cross < margin)
			return 0;
	}
	return 1;
}

static void check_place_record(const json_t *rec, const char *base, const aoi_synth_place_opts *o)
{
	aoi_image img = { 0 };
	aoi_mask m = { 0 };
	double kp[8];
	json_t *k = json_object_get(rec, "keypoints");

	CHECK(json_array_size(k) == 4);
	for (int i = 0; i < 8; i++)
		kp[i] = json_number_value(json_array_get(json_array_get(k, (size_t)i / 2), (size_t)i % 2));
	CHECK(load_rec_image(rec, "image", base, &img));
	CHECK(rec_mask(rec, base, &m));
	if (!img.data || !m.data)
		return;
	long bad_in = 0, bad_out = 0, in = 0;
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < img.width; x++) {
			int v = img.data[y * img.width + x], mk = m.data[y * m.width + x];
			if (inside_quad(kp, x + 0.5, y + 0.5, 1.0)) {
				in++;
				bad_in += v < 200 || !mk;
			} else if (!inside_quad(kp, x + 0.5, y + 0.5, -1.0)) {
				bad_out += v > 150 || mk;
			}
		}
	/* to a fraction of a pixel: the brightness-weighted centre of the pasted
	 * rectangle (edges blended in proportion) is the corners' centre */
	double sw = 0, swx = 0, swy = 0;
	for (int y = 0; y < img.height; y++)
		for (int x = 0; x < img.width; x++) {
			double wgt = fmax(0, img.data[y * img.width + x] - 100.0);
			sw += wgt, swx += wgt * (x + 0.5), swy += wgt * (y + 0.5);
		}
	double bcx = (kp[0] + kp[2] + kp[4] + kp[6]) / 4, bcy = (kp[1] + kp[3] + kp[5] + kp[7]) / 4;
	CHECK_MSG(fabs(swx / sw - bcx) < 0.15 && fabs(swy / sw - bcy) < 0.15,
		  "bright centre (%.3f, %.3f), corners centre (%.3f, %.3f)", swx / sw, swy / sw, bcx, bcy);
	CHECK(in > 600);
	CHECK_MSG(bad_in == 0 && bad_out == 0, "%s: %ld wrong inside, %ld wrong outside the corners",
		  aoi_record_str(rec, "id"), bad_in, bad_out);
	/* the label follows the tolerance */
	json_t *sh = json_object_get(rec, "shift");
	double dx = json_number_value(json_array_get(sh, 0)), dy = json_number_value(json_array_get(sh, 1));
	double ang = aoi_record_num(rec, "angle", 99);
	int bad = hypot(dx, dy) > o->tol_px + 1e-3 || fabs(ang) > o->tol_deg + 1e-3;
	int near = fabs(hypot(dx, dy) - o->tol_px) < 2e-3 || fabs(fabs(ang) - o->tol_deg) < 2e-3;
	if (!near)
		CHECK_STR(aoi_record_str(rec, "label"), bad ? "defective" : "good");
	CHECK(dx >= o->shift_lo && dx <= o->shift_hi && ang >= o->rotate_lo && ang <= o->rotate_hi);
	/* the nominal corners: where it belongs; the centre moved by the shift */
	json_t *nom = json_object_get(rec, "nominal");
	double ncx = 0, ncy = 0, kcx = 0, kcy = 0;
	for (int i = 0; i < 4; i++) {
		ncx += json_number_value(json_array_get(json_array_get(nom, (size_t)i), 0)) / 4;
		ncy += json_number_value(json_array_get(json_array_get(nom, (size_t)i), 1)) / 4;
		kcx += kp[2 * i] / 4;
		kcy += kp[2 * i + 1] / 4;
	}
	CHECK(json_array_size(nom) == 4);
	CHECK_NEAR(kcx - ncx, dx, 0.02);
	CHECK_NEAR(kcy - ncy, dy, 0.02);
	aoi_image_release(&img);
	aoi_mask_release(&m);
}

static void test_place(void)
{
	char *dir = tmpdir(), list[4096];
	aoi_synth_job job;
	aoi_synth_place_opts o;

	join(list, dir, "sources.jsonl");
	FILE *fp = fopen(list, "w");
	for (int k = 0; k < 4; k++)
		write_source(dir, k, fp);
	fclose(fp);
	aoi_synth_place_opts_init(&o);
	o.sources = list;
	o.shift_lo = -6, o.shift_hi = 6, o.rotate_lo = -12, o.rotate_hi = 12;
	o.tol_px = 3, o.tol_deg = 4, o.holdout = 1;
	job_init(&job, dir, 24, 5);
	json_t *recs = run_into(&job, "place.jsonl", run_place, &o);
	CHECK(recs && json_array_size(recs) == 24);
	size_t i;
	json_t *rec;
	int good = 0, defective = 0;
	json_array_foreach(recs, i, rec) {
		check_place_record(rec, dir, &o);
		const char *split = aoi_record_str(rec, "split");
		int held = strcmp(aoi_record_str(rec, "source"), "s3") == 0;
		CHECK_STR(split, held ? "test" : strcmp(split, "val") == 0 ? "val" : "train");
		good += strcmp(aoi_record_str(rec, "label"), "good") == 0;
		defective += strcmp(aoi_record_str(rec, "label"), "defective") == 0;
		CHECK(aoi_record_check(rec, NULL) == 0);
	}
	CHECK(good + defective == 24 && defective > 0);
	json_decref(recs);

	/* --size: everything scales together */
	job.width = job.height = 96;
	job.n = 6;
	recs = run_into(&job, "small.jsonl", run_place, &o);
	CHECK(recs && json_array_size(recs) == 6);
	json_array_foreach(recs, i, rec) {
		CHECK(aoi_record_num(rec, "width", 0) == 96);
	}
	json_decref(recs);

	/* every source held out is an error */
	o.holdout = 4;
	job.width = job.height = 0;
	aoi_error err;
	job.records = fopen("/dev/null", "w");
	CHECK(aoi_synth_place(&job, &o, &err) == -1);
	fclose(job.records);
	rmrf(dir);
	free(dir);
}

/* ---- defects on images: the template is the original ---- */

static void check_defect_records(json_t *recs, const char *base, const char *what)
{
	size_t i;
	json_t *rec;

	json_array_foreach(recs, i, rec) {
		aoi_image img = { 0 }, tpl = { 0 };
		aoi_mask m = { 0 };
		CHECK(load_rec_image(rec, "image", base, &img));
		CHECK(load_rec_image(rec, "template", base, &tpl));
		CHECK(rec_mask(rec, base, &m));
		if (img.data && tpl.data && m.data)
			check_changed_exactly(&tpl, &img, &m, what);
		CHECK_STR(aoi_record_str(rec, "label"), "defective");
		CHECK(json_array_size(json_object_get(rec, "boxes")) > 0);
		CHECK(aoi_record_check(rec, NULL) == 0);
		aoi_image_release(&img);
		aoi_image_release(&tpl);
		aoi_mask_release(&m);
	}
}

static void test_defects(void)
{
	char *dir = tmpdir(), path[4096], list[4096];
	aoi_image pcb = { 0 };
	aoi_synth_job job;
	aoi_synth_defects_opts o;

	draw_pcb(&pcb, 200, 200);
	join(path, dir, "pcb.png");
	aoi_image_save_png(path, &pcb, NULL);
	aoi_rng rng;
	aoi_image tex = { 0 };
	aoi_rng_seed(&rng, 3);
	aoi_synth_texture_draw(1, 3, &rng, 120, 100, &tex, NULL);
	join(path, dir, "tex.png");
	aoi_image_save_png(path, &tex, NULL);
	join(list, dir, "good.jsonl");
	FILE *fp = fopen(list, "w");
	fprintf(fp, "{\"id\":\"pcb\",\"image\":\"pcb.png\",\"label\":\"good\"}\n"
		    "{\"id\":\"tex\",\"image\":\"tex.png\",\"label\":\"good\"}\n");
	fclose(fp);
	aoi_synth_defects_opts_init(&o);
	o.on = list;
	job_init(&job, dir, 10, 9);
	json_t *recs = run_into(&job, "defects.jsonl", run_defects, &o);
	CHECK(recs && json_array_size(recs) == 10);
	if (recs) {
		check_defect_records(recs, dir, "defects");
		json_t *cl = json_object_get(json_array_get(recs, 0), "classes");
		CHECK_STR(json_string_value(json_array_get(cl, 0)), "open");
		cl = json_object_get(json_array_get(recs, 1), "classes");
		CHECK_STR(json_string_value(json_array_get(cl, 0)), "scratch");
	}
	json_decref(recs);
	/* on DeepPCB templates when ../shared is there */
	const char *shared = getenv("AOI_SHARED") ? getenv("AOI_SHARED") : "../shared";
	char tpl[4096];
	snprintf(tpl, sizeof tpl, "%s/datasets/deeppcb/PCBData/group00041/00041/00041000_temp.jpg", shared);
	if (aoi_path_exists(tpl)) {
		char abs[4096];
		fp = fopen(list, "w");
		if (realpath(tpl, abs))
			fprintf(fp, "{\"id\":\"deeppcb\",\"image\":\"%s\",\"label\":\"good\"}\n", abs);
		fclose(fp);
		job.n = 4;
		recs = run_into(&job, "deeppcb.jsonl", run_defects, &o);
		CHECK(recs && json_array_size(recs) == 4);
		if (recs)
			check_defect_records(recs, dir, "deeppcb");
		json_decref(recs);
	} else {
		printf("skipped: DeepPCB templates (no %s)\n", tpl);
	}
	aoi_image_release(&pcb);
	aoi_image_release(&tex);
	rmrf(dir);
	free(dir);
}

/* ---- augment ---- */

static void test_augment_records(void)
{
	char *dir = tmpdir(), path[4096], list[4096];
	aoi_image img = { 0 };
	aoi_synth_job job;
	aoi_synth_augment_opts o;

	aoi_image_alloc(&img, 90, 70, 1, NULL);
	memset(img.data, 20, 90 * 70);
	for (int y = 0; y < 70; y++)
		for (int x = 0; x < 90; x++) {
			double d = hypot(x - 40, y - 30);
			if (d < 5)
				img.data[y * 90 + x] = (uint8_t)(250 - 40 * d);
		}
	join(path, dir, "dot.png");
	aoi_image_save_png(path, &img, NULL);
	join(list, dir, "in.jsonl");
	FILE *fp = fopen(list, "w");
	/* a dot on pixel (40, 30), so at keypoint (40.5, 30.5), boxed, with the
	 * same image as template */
	for (int k = 0; k < 5; k++)
		fprintf(fp, "{\"id\":\"r%d\",\"image\":\"dot.png\",\"template\":\"dot.png\",\"width\":90,"
			    "\"height\":70,\"label\":\"%s\",\"keypoints\":[[40.5,30.5]],"
			    "\"boxes\":[[35,25,46,36,\"dot\"]]}\n", k, k < 2 ? "a" : "b");
	fclose(fp);
	aoi_synth_augment_opts_init(&o);
	o.input = list;
	o.aug.vflip = 1;
	o.aug.rotate = 40;
	o.aug.crop = 0.85;
	job_init(&job, dir, 3, 4);
	json_t *recs = run_into(&job, "aug.jsonl", run_augment, &o);
	CHECK(recs && json_array_size(recs) == 15);
	size_t i;
	json_t *rec;
	json_array_foreach(recs, i, rec) {
		aoi_image a = { 0 }, t = { 0 };
		CHECK(load_rec_image(rec, "image", dir, &a));
		CHECK(load_rec_image(rec, "template", dir, &t));
		if (!a.data || !t.data)
			continue;
		CHECK(memcmp(a.data, t.data, (size_t)a.width * a.height) == 0);
		json_t *kp = json_array_get(json_object_get(rec, "keypoints"), 0);
		double kx = json_number_value(json_array_get(kp, 0)), ky = json_number_value(json_array_get(kp, 1));
		int bx = 0, by = 0, best = -1;
		for (int y = 0; y < a.height; y++)
			for (int x = 0; x < a.width; x++)
				if (a.data[y * a.width + x] > best)
					best = a.data[y * a.width + x], bx = x, by = y;
		CHECK_MSG(fabs(bx + 0.5 - kx) <= 1 && fabs(by + 0.5 - ky) <= 1, "dot at (%d,%d), keypoint (%.2f,%.2f)", bx, by, kx, ky);
		json_t *box = json_array_get(json_object_get(rec, "boxes"), 0);
		CHECK(json_number_value(json_array_get(box, 0)) <= bx && json_number_value(json_array_get(box, 2)) > bx);
		aoi_image_release(&a);
		aoi_image_release(&t);
	}
	json_decref(recs);
	/* --balance 4: a (2 records) gets 2 augmented copies, b (3) keeps 3 + 1 */
	o.balance = 4;
	job.seed = 8;
	recs = run_into(&job, "bal.jsonl", run_augment, &o);
	CHECK(recs && json_array_size(recs) == 8);
	int a = 0, b = 0, copies = 0;
	json_array_foreach(recs, i, rec) {
		a += strcmp(aoi_record_str(rec, "label"), "a") == 0;
		b += strcmp(aoi_record_str(rec, "label"), "b") == 0;
		copies += strstr(aoi_record_str(rec, "id"), "-aug") != NULL;
	}
	CHECK(a == 4 && b == 4 && copies == 3);
	json_decref(recs);
	/* --balance 1: one of each, no augmentation */
	o.balance = 1;
	recs = run_into(&job, "under.jsonl", run_augment, &o);
	CHECK(recs && json_array_size(recs) == 2);
	json_decref(recs);
	aoi_image_release(&img);
	rmrf(dir);
	free(dir);
}

/* ---- determinism ---- */

static int same_file(const char *a, const char *b)
{
	unsigned char *x = NULL, *y = NULL;
	size_t nx = 0, ny = 0;
	int same = aoi_file_read(a, &x, &nx, NULL) == 0 && aoi_file_read(b, &y, &ny, NULL) == 0 &&
		   nx == ny && memcmp(x, y, nx) == 0;

	free(x);
	free(y);
	return same;
}

/* Two runs into the same relative directory (moved aside in between) give
 * the same image bytes and the same records, with 1 or 4 threads; another
 * seed changes every image. */
static void test_determinism(void)
{
	char *root = tmpdir(), cwd[4096];
	aoi_synth_job j;
	aoi_synth_texture_opts o;

	if (!getcwd(cwd, sizeof cwd) || chdir(root) != 0)
		return;
	aoi_synth_texture_opts_init(&o);
	o.defective = 0.5;
	const char *runs[3] = { "one", "two", "three" };
	for (int r = 0; r < 3; r++) {
		job_init(&j, "out", 10, r < 2 ? 42 : 43);
		j.base = ".";
		j.width = j.height = 64;
		omp_set_num_threads(r == 0 ? 1 : 4);
		json_t *recs = run_into(&j, "t.jsonl", run_texture, &o);
		CHECK(recs && json_array_size(recs) == 10);
		CHECK_STR(aoi_record_str(json_array_get(recs, 0), "image"), "out/texture_000000.png");
		json_decref(recs);
		CHECK(rename("out", runs[r]) == 0);
	}
	int same = 1, differs = 0;
	for (int i = 0; i < 10; i++) {
		char a[4096], b[4096], c[4096];
		snprintf(a, sizeof a, "one/texture_%06d.png", i);
		snprintf(b, sizeof b, "two/texture_%06d.png", i);
		snprintf(c, sizeof c, "three/texture_%06d.png", i);
		same &= same_file(a, b);
		differs += !same_file(a, c);
	}
	CHECK(same);
	CHECK(same_file("one/t.jsonl", "two/t.jsonl"));
	CHECK(differs == 10);
	CHECK(chdir(cwd) == 0);
	rmrf(root);
	free(root);
}

/* DAGM's ellipse labels: the same pixels as --labels shape, the ellipse
 * covering every painted pixel and not much more. */
static void test_texture_ellipse(void)
{
	char *d1 = tmpdir(), *d2 = tmpdir();
	aoi_synth_job j1, j2;
	aoi_synth_texture_opts o1, o2;

	aoi_synth_texture_opts_init(&o1);
	o1.defective = 1;
	o2 = o1;
	o2.labels = AOI_SYNTH_LABEL_ELLIPSE;
	job_init(&j1, d1, 8, 6);
	job_init(&j2, d2, 8, 6);
	j1.width = j1.height = j2.width = j2.height = 96;
	json_t *r1 = run_into(&j1, "s.jsonl", run_texture, &o1);
	json_t *r2 = run_into(&j2, "e.jsonl", run_texture, &o2);
	CHECK(r1 && r2 && json_array_size(r1) == 8 && json_array_size(r2) == 8);
	for (size_t i = 0; r1 && r2 && i < 8; i++) {
		aoi_image a = { 0 }, b = { 0 };
		aoi_mask ms = { 0 }, me = { 0 };
		CHECK(load_rec_image(json_array_get(r1, i), "image", d1, &a));
		CHECK(load_rec_image(json_array_get(r2, i), "image", d2, &b));
		CHECK(rec_mask(json_array_get(r1, i), d1, &ms) && rec_mask(json_array_get(r2, i), d2, &me));
		if (a.data && b.data && ms.data && me.data) {
			CHECK(memcmp(a.data, b.data, 96 * 96) == 0);
			long uncovered = 0;
			for (int k = 0; k < 96 * 96; k++)
				uncovered += ms.data[k] && me.data[k] != ms.data[k];
			long area_s = aoi_mask_count(&ms, -1), area_e = aoi_mask_count(&me, -1);
			CHECK_MSG(uncovered == 0 && area_e >= area_s && area_e <= 12 * area_s + 60,
				  "ellipse: %ld uncovered, area %ld for a shape of %ld", uncovered, area_e, area_s);
		}
		aoi_image_release(&a), aoi_image_release(&b);
		aoi_mask_release(&ms), aoi_mask_release(&me);
	}
	json_decref(r1), json_decref(r2);
	rmrf(d1), rmrf(d2);
	free(d1), free(d2);
}

static void test_relpath(void)
{
	char buf[4096], *root = tmpdir(), cwd[4096];
	const char *out = buf;

	if (!getcwd(cwd, sizeof cwd) || chdir(root) != 0)
		return;
	aoi_mkdir_p("a/b", NULL);
	CHECK(aoi_synth_relpath("a/b", "c.png", buf, sizeof buf, NULL) == 0);
	CHECK_STR(out, "../../c.png");
	CHECK(aoi_synth_relpath(".", "a/b/d.png", buf, sizeof buf, NULL) == 0);
	CHECK_STR(out, "a/b/d.png");
	CHECK(aoi_synth_relpath("a", "a/b/d.png", buf, sizeof buf, NULL) == 0);
	CHECK_STR(out, "b/d.png");
	CHECK(aoi_synth_relpath("a/b", "/etc/x.png", buf, sizeof buf, NULL) == 0);
	CHECK_STR(out, "/etc/x.png");
	CHECK(aoi_synth_relpath("no/such/dir", "c.png", buf, sizeof buf, NULL) == -1);
	CHECK(chdir(cwd) == 0);
	rmrf(root);
	free(root);
}

int main(void)
{
	test_paint_contract();
	test_paint_anomaly();
	test_inpaint();
	test_place();
	test_defects();
	test_augment_records();
	test_determinism();
	test_texture_ellipse();
	test_relpath();
	return check_done();
}
