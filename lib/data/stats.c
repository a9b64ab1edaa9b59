/* stats.c: what is in a dataset: counts, sizes, defect areas. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/parallel.h"
#include "data/dataset.h"
#include "data/raster.h"
#include "data/record.h"

/* Instances of one record as [[class, area], ...]: its boxes when it has
 * any, else the connected components of each class of its mask. */
static int box_instances(const json_t *boxes, json_t *out)
{
	size_t i;
	json_t *b;

	json_array_foreach(boxes, i, b) {
		double w = json_number_value(json_array_get(b, 2)) -
			   json_number_value(json_array_get(b, 0));
		double h = json_number_value(json_array_get(b, 3)) -
			   json_number_value(json_array_get(b, 1));
		const char *c = json_string_value(json_array_get(b, 4));
		json_array_append_new(out, json_pack("[s,f]", c ? c : "?",
						     w > 0 && h > 0 ? w * h : 0.0));
	}
	return 0;
}

static int mask_instances(const json_t *rec, const char *base, json_t *out,
			  aoi_error *err)
{
	aoi_classes cls;
	aoi_mask m = { 0 };
	int rc = -1;

	aoi_classes_init(&cls);
	if (aoi_classes_from_record(&cls, rec, err) != 0 ||
	    aoi_record_mask(rec, base, &cls, &m, err) != 0)
		goto done;
	for (int k = 1; k <= cls.n; k++) {
		aoi_component *comps = NULL;
		int n = aoi_mask_count(&m, k) > 0 ? aoi_components(&m, k, &comps, err) : 0;
		if (n < 0)
			goto done;
		for (int i = 0; i < n; i++)
			json_array_append_new(out, json_pack("[s,f]", cls.names[k - 1],
							     (double)comps[i].area));
		free(comps);
	}
	rc = 0;
done:
	aoi_mask_release(&m);
	aoi_classes_release(&cls);
	return rc;
}

static int record_instances(const json_t *rec, const char *base, json_t *out,
			    aoi_error *err)
{
	const json_t *boxes = json_object_get(rec, "boxes");

	if (json_array_size(boxes) > 0)
		return box_instances(boxes, out);
	if (json_object_get(rec, "masks") || aoi_record_str(rec, "mask"))
		return mask_instances(rec, base, out, err);
	return 0;
}

typedef struct instances_job {
	const aoi_dataset *ds;
	json_t **inst;
} instances_job;

static int one_instances(void *ctx, size_t i, aoi_error *err)
{
	instances_job *j = ctx;

	j->inst[i] = json_array();
	return record_instances(json_array_get(j->ds->records, i), j->ds->base, j->inst[i], err);
}

/* Instances of every record, computed in parallel (masks are decoded). */
static json_t **all_instances(const aoi_dataset *ds, aoi_error *err)
{
	size_t n = aoi_dataset_size(ds);
	json_t **inst = calloc(n ? n : 1, sizeof *inst);
	instances_job job = { ds, inst };
	long bad;

	if (!inst) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	bad = aoi_parallel_each(n, 8, one_instances, &job, NULL, err);
	if (bad < 0)
		return inst;
	aoi_dataset_locate(ds, (size_t)bad, err);
	for (size_t i = 0; i < n; i++)
		json_decref(inst[i]);
	free(inst);
	return NULL;
}

static void count(json_t *obj, const char *key, json_int_t by)
{
	json_int_t now = json_integer_value(json_object_get(obj, key));

	json_object_set_new(obj, key, json_integer(now + by));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double quantile(const double *v, size_t n, double q)
{
	double at = q * (double)(n - 1);
	size_t lo = (size_t)floor(at);
	size_t hi = lo + 1 < n ? lo + 1 : lo;

	return v[lo] + (v[hi] - v[lo]) * (at - (double)lo);
}

/* min, quantiles, max and mean of a set of areas (sorted in place). */
static json_t *distribution(double *v, size_t n)
{
	double sum = 0;

	if (n == 0)
		return json_null();
	qsort(v, n, sizeof *v, cmp_double);
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min", v[0], "q10",
			 quantile(v, n, 0.1), "q25", quantile(v, n, 0.25), "median",
			 quantile(v, n, 0.5), "q75", quantile(v, n, 0.75), "q90",
			 quantile(v, n, 0.9), "max", v[n - 1], "mean", sum / (double)n);
}

static void count_record(json_t *st, const json_t *rec)
{
	const char *label = aoi_record_str(rec, "label");
	const char *split = aoi_record_str(rec, "split");
	char size[64];

	count(json_object_get(st, "labels"), label ? label : "(none)", 1);
	count(json_object_get(st, "splits"), split ? split : "(none)", 1);
	snprintf(size, sizeof size, "%.0fx%.0fx%.0f", aoi_record_num(rec, "width", 0),
		 aoi_record_num(rec, "height", 0), aoi_record_num(rec, "channels", 0));
	count(json_object_get(st, "sizes"), size, 1);
}

/* The entry of class c, made on first sight (so that classes keep the
 * order the records' "classes" give them). */
static json_t *class_entry(json_t *st, json_t *areas, const char *c)
{
	json_t *classes = json_object_get(st, "classes"), *cs = json_object_get(classes, c);

	if (!cs) {
		json_object_set_new(classes, c, json_pack("{s:i,s:i}", "images", 0,
							  "instances", 0));
		json_object_set_new(areas, c, json_array());
		cs = json_object_get(classes, c);
	}
	return cs;
}

/* Per-class images and instances, and the area lists, from instances. */
static void count_instances(json_t *st, const json_t *rec, const json_t *inst,
			    json_t *areas)
{
	json_t *seen = json_object();
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(rec, "classes"), i, v)
		if (json_is_string(v))
			class_entry(st, areas, json_string_value(v));
	json_array_foreach(inst, i, v) {
		const char *c = json_string_value(json_array_get(v, 0));
		json_t *cs = class_entry(st, areas, c);
		count(cs, "instances", 1);
		if (!json_object_get(seen, c)) {
			count(cs, "images", 1);
			json_object_set_new(seen, c, json_true());
		}
		json_array_append(json_object_get(areas, c), json_array_get(v, 1));
	}
	json_decref(seen);
}

static int add_areas(json_t *st, const json_t *areas, size_t total)
{
	double *all = malloc((total ? total : 1) * sizeof *all), *one;
	size_t n_all = 0, i;
	const char *c;
	json_t *list, *a;

	if (!all)
		return -1;
	json_object_foreach((json_t *)areas, c, list) {
		one = all + n_all;
		json_array_foreach(list, i, a)
			all[n_all++] = json_number_value(a);
		json_object_set_new(json_object_get(json_object_get(st, "classes"), c), "area",
				    distribution(one, json_array_size(list)));
	}
	json_object_set_new(st, "instances", json_integer((json_int_t)n_all));
	json_object_set_new(st, "area", distribution(all, n_all));
	free(all);
	return 0;
}

json_t *aoi_dataset_stats(const aoi_dataset *ds, aoi_error *err)
{
	size_t n = aoi_dataset_size(ds), total = 0, defective = 0;
	json_t **inst = all_instances(ds, err);
	json_t *st, *areas;

	if (!inst)
		return NULL;
	st = json_pack("{s:i,s:{},s:{},s:{},s:{}}", "records", (json_int_t)n, "labels",
		       "splits", "sizes", "classes");
	areas = json_object();
	for (size_t i = 0; i < n; i++) {
		const json_t *rec = json_array_get(ds->records, i);
		const char *label = aoi_record_str(rec, "label");
		count_record(st, rec);
		count_instances(st, rec, inst[i], areas);
		total += json_array_size(inst[i]);
		if (json_array_size(inst[i]) > 0 || (label && strcmp(label, "defective") == 0))
			defective++;
		json_decref(inst[i]);
	}
	free(inst);
	json_object_set_new(st, "defective", json_integer((json_int_t)defective));
	json_object_set_new(st, "defective_share", json_real(n ? (double)defective / n : 0));
	if (add_areas(st, areas, total) != 0) {
		json_decref(st);
		st = NULL;
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	json_decref(areas);
	return st;
}

static void print_counts(FILE *fp, const char *title, const json_t *obj)
{
	const char *key;
	json_t *v;

	fprintf(fp, "%s:", title);
	json_object_foreach((json_t *)obj, key, v)
		fprintf(fp, "  %s %lld", key, (long long)json_integer_value(v));
	fputc('\n', fp);
}

static void print_area_row(FILE *fp, const char *name, json_int_t images,
			   json_int_t instances, const json_t *a)
{
	fprintf(fp, "%-16s %8lld %10lld", name, (long long)images, (long long)instances);
	if (json_is_object(a))
		fprintf(fp, " %9.0f %9.0f %9.0f %9.0f %9.0f\n",
			json_number_value(json_object_get(a, "min")),
			json_number_value(json_object_get(a, "q25")),
			json_number_value(json_object_get(a, "median")),
			json_number_value(json_object_get(a, "q75")),
			json_number_value(json_object_get(a, "max")));
	else
		fprintf(fp, " %9s %9s %9s %9s %9s\n", "-", "-", "-", "-", "-");
}

int aoi_stats_print_table(FILE *fp, const json_t *st, aoi_error *err)
{
	const char *c;
	json_t *cs;

	fprintf(fp, "records: %lld  defective: %lld (%.1f%%)\n",
		(long long)json_integer_value(json_object_get(st, "records")),
		(long long)json_integer_value(json_object_get(st, "defective")),
		100 * json_number_value(json_object_get(st, "defective_share")));
	print_counts(fp, "labels", json_object_get(st, "labels"));
	print_counts(fp, "splits", json_object_get(st, "splits"));
	print_counts(fp, "sizes (WxHxC)", json_object_get(st, "sizes"));
	fprintf(fp, "\n%-16s %8s %10s %9s %9s %9s %9s %9s\n", "class", "images",
		"instances", "area min", "q25", "median", "q75", "max");
	json_object_foreach(json_object_get(st, "classes"), c, cs)
		print_area_row(fp, c, json_integer_value(json_object_get(cs, "images")),
			       json_integer_value(json_object_get(cs, "instances")),
			       json_object_get(cs, "area"));
	print_area_row(fp, "(all)", json_integer_value(json_object_get(st, "defective")),
		       json_integer_value(json_object_get(st, "instances")),
		       json_object_get(st, "area"));
	if (ferror(fp))
		return aoi_error_errno(err, NULL, "write failed");
	return 0;
}
