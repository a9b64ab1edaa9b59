/* validate.c: every record against the format and against its files. The
 * files are decoded whole, in parallel; problems are reported in input
 * order afterwards. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "base/parallel.h"
#include "data/dataset.h"
#include "data/mask.h"
#include "data/record.h"
#include "image/image.h"

#define MAX_PROBLEMS 4 /* per record: the first few tell the story */

typedef struct entry {
	json_t *rec;     /* NULL for a malformed line */
	long line;
	int n;           /* problems found */
	aoi_error e[MAX_PROBLEMS];
	int images, templates, masks;
} entry;

static void problem(entry *en, const aoi_error *e)
{
	if (en->n < MAX_PROBLEMS)
		en->e[en->n] = *e;
	en->n++;
}

static void problemf(entry *en, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problemf(entry *en, const char *fmt, ...)
{
	aoi_error e;
	va_list ap;

	aoi_error_clear(&e);
	e.code = AOI_ESHAPE;
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof e.msg, fmt, ap);
	va_end(ap);
	problem(en, &e);
}

/* Decode one file field; *w, *h, *c receive its size. 0 when decoded. */
static int decode(entry *en, const char *key, const char *base, int *w, int *h, int *c)
{
	char path[4096];
	aoi_image img = { 0 };
	aoi_error e;

	aoi_error_clear(&e);
	if (aoi_record_path(en->rec, key, base, path, sizeof path) != 0) {
		aoi_error_set(&e, AOI_EINVAL, NULL, 0, "%s: path too long", key);
		problem(en, &e);
		return -1;
	}
	if (aoi_image_load(path, &img, &e) != 0) {
		problem(en, &e);
		return -1;
	}
	*w = img.width;
	*h = img.height;
	*c = img.channels;
	aoi_image_release(&img);
	return 0;
}

/* The "image" against the record's width, height and channels. */
static int check_image(entry *en, const char *base, int *w, int *h)
{
	int c;
	long rw = (long)aoi_record_num(en->rec, "width", -1);
	long rh = (long)aoi_record_num(en->rec, "height", -1);
	long rc = (long)aoi_record_num(en->rec, "channels", -1);

	if (decode(en, "image", base, w, h, &c) != 0)
		return -1;
	en->images++;
	if ((rw >= 0 && rw != *w) || (rh >= 0 && rh != *h))
		problemf(en, "%s is %dx%d but the record says %ldx%ld",
			 aoi_record_str(en->rec, "image"), *w, *h, rw, rh);
	if (rc >= 0 && rc != c)
		problemf(en, "%s has %d channels but the record says %ld",
			 aoi_record_str(en->rec, "image"), c, rc);
	return 0;
}

static void check_template(entry *en, const char *base, int w, int h)
{
	int tw, th, tc;

	if (!aoi_record_str(en->rec, "template") ||
	    decode(en, "template", base, &tw, &th, &tc) != 0)
		return;
	en->templates++;
	if (tw != w || th != h)
		problemf(en, "template %s is %dx%d, the image %dx%d",
			 aoi_record_str(en->rec, "template"), tw, th, w, h);
}

static void check_inline_masks(entry *en, int w, int h)
{
	const char *cls;
	json_t *m;

	json_object_foreach(json_object_get(en->rec, "masks"), cls, m) {
		json_t *size = json_object_get(m, "size");
		long mh = (long)json_integer_value(json_array_get(size, 0));
		long mw = (long)json_integer_value(json_array_get(size, 1));
		if (mw != w || mh != h)
			problemf(en, "mask of class '%s' is %ldx%ld, the image %dx%d", cls,
				 mw, mh, w, h);
	}
}

static void check_mask_file(entry *en, const char *base, int w, int h)
{
	char path[4096];
	aoi_mask m = { 0 };
	aoi_error e;
	long classes = (long)json_array_size(json_object_get(en->rec, "classes"));

	aoi_error_clear(&e);
	if (aoi_record_path(en->rec, "mask", base, path, sizeof path) != 0)
		return;
	if (aoi_mask_load_png(path, &m, &e) != 0) {
		problem(en, &e);
		return;
	}
	en->masks++;
	if (m.width != w || m.height != h)
		problemf(en, "mask %s is %dx%d, the image %dx%d",
			 aoi_record_str(en->rec, "mask"), m.width, m.height, w, h);
	for (size_t i = 0; classes > 0 && i < (size_t)m.width * m.height; i++)
		if (m.data[i] > classes) {
			problemf(en, "mask %s has class index %d but the record has %ld classes",
				 aoi_record_str(en->rec, "mask"), m.data[i], classes);
			break;
		}
	aoi_mask_release(&m);
}

static void check_boxes(entry *en, int w, int h)
{
	size_t i;
	json_t *b;

	json_array_foreach(json_object_get(en->rec, "boxes"), i, b) {
		double x1 = json_number_value(json_array_get(b, 0));
		double y1 = json_number_value(json_array_get(b, 1));
		double x2 = json_number_value(json_array_get(b, 2));
		double y2 = json_number_value(json_array_get(b, 3));
		if (x1 < 0 || y1 < 0 || x2 > w || y2 > h || x1 >= x2 || y1 >= y2) {
			problemf(en, "box %zu is empty or outside the %dx%d image", i + 1, w, h);
			return;
		}
	}
}

static void check_files(entry *en, const char *base)
{
	int w, h;

	if (check_image(en, base, &w, &h) != 0)
		return;
	check_template(en, base, w, h);
	check_inline_masks(en, w, h);
	if (aoi_record_str(en->rec, "mask"))
		check_mask_file(en, base, w, h);
	check_boxes(en, w, h);
}

/* Read every line; malformed ones become entries with their problem. */
static entry *read_entries(aoi_reader *r, size_t *n, aoi_error *err)
{
	entry *en = NULL;
	size_t cap = 0;
	json_t *rec;
	aoi_error e;
	int got;

	*n = 0;
	for (;;) {
		aoi_error_clear(&e);
		got = aoi_reader_next(r, &rec, &e);
		if (got == 0 || (got < 0 && e.code != AOI_EFORMAT))
			break;
		if (*n == cap) {
			entry *p = realloc(en, (cap = cap ? 2 * cap : 256) * sizeof *p);
			if (!p) {
				json_decref(rec);
				e.code = AOI_ENOMEM;
				aoi_error_set(&e, AOI_ENOMEM, NULL, 0, "out of memory");
				break;
			}
			en = p;
		}
		memset(&en[*n], 0, sizeof en[*n]);
		en[*n].rec = rec;
		en[*n].line = aoi_reader_line(r);
		if (got < 0)
			problem(&en[*n], &e);
		(*n)++;
	}
	if (got < 0 && e.code != AOI_EFORMAT) {
		*err = e;
		for (size_t i = 0; i < *n; i++)
			json_decref(en[i].rec);
		free(en);
		return NULL;
	}
	return en ? en : calloc(1, sizeof *en);
}


typedef struct check_job {
	entry *en;
	const char *base;
} check_job;

/* The format first; the files only for a well-formed record. Problems are
 * kept in the entry: the call itself never fails. */
static int check_entry(void *ctx, size_t i, aoi_error *unused)
{
	const check_job *j = ctx;
	entry *en = &j->en[i];
	aoi_error e;

	(void)unused;
	aoi_error_clear(&e);
	if (!en->rec || en->n > 0)
		return 0;
	if (aoi_record_check(en->rec, &e) != 0)
		problem(en, &e);
	else
		check_files(en, j->base);
	return 0;
}

/* Problems to report() in input order; counts into sum; entries freed. */
static void report_entries(entry *en, size_t n, const char *name,
			   aoi_validate_report report, void *ctx, aoi_validate_summary *sum)
{
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < en[i].n && k < MAX_PROBLEMS; k++) {
			aoi_dataset_place(&en[i].e[k], name, en[i].line);
			report(ctx, &en[i].e[k]);
		}
		sum->records++;
		sum->valid += en[i].n == 0;
		sum->problems += en[i].n;
		sum->images += en[i].images;
		sum->templates += en[i].templates;
		sum->masks += en[i].masks;
		json_decref(en[i].rec);
	}
	free(en);
}

int aoi_dataset_validate(const char *path, const char *root, aoi_validate_report report,
			 void *ctx, aoi_progress *progress, aoi_validate_summary *sum,
			 aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	entry *en;
	size_t n;

	memset(sum, 0, sizeof *sum);
	if (!r)
		return -1;
	if (!(en = read_entries(r, &n, err))) {
		aoi_reader_free(r);
		return -1;
	}
	if (progress)
		progress->total = (long)n;
	check_job job = { en, aoi_reader_base(r) };
	aoi_parallel_each(n, 4, check_entry, &job, progress, NULL);
	report_entries(en, n, aoi_reader_name(r), report, ctx, sum);
	aoi_reader_free(r);
	return 0;
}
