/* datatool.c: aoi-datatool's dataset subcommands (datatool.h). */
#include "data/datatool.h"

#include "data/record.h"
#include "data/render.h"

int aoi_datatool_write(FILE *out, const json_t *records, aoi_error *err)
{
	size_t i;
	json_t *rec;

	json_array_foreach(records, i, rec)
		if (aoi_record_write(out, rec, err) != 0)
			return -1;
	return 0;
}

static int load(aoi_dataset *ds, const aoi_datatool *t, aoi_error *err)
{
	return aoi_dataset_load(ds, t->path ? t->path : "-", t->root, err);
}

int aoi_datatool_split(const aoi_datatool *t, const aoi_split_opts *o, aoi_error *err)
{
	aoi_dataset ds;
	int rc;

	if (load(&ds, t, err) != 0)
		return -1;
	rc = aoi_dataset_split(ds.records, o, err) == 0 ? aoi_datatool_write(t->out, ds.records, err)
							: -1;
	aoi_dataset_release(&ds);
	return rc;
}

int aoi_datatool_sample(const aoi_datatool *t, long n, uint64_t seed, const char *stratify,
			aoi_error *err)
{
	aoi_dataset ds;
	json_t *picked;

	if (load(&ds, t, err) != 0)
		return -1;
	picked = aoi_dataset_sample(ds.records, n, seed, stratify, err);
	aoi_dataset_release(&ds);
	if (!picked)
		return -1;
	int rc = aoi_datatool_write(t->out, picked, err);
	json_decref(picked);
	return rc;
}

int aoi_datatool_filter(const aoi_datatool *t, const aoi_filter *f, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(t->path ? t->path : "-", t->root, err);
	json_t *rec;
	int got, rc = 0;

	if (!r)
		return -1;
	while (rc == 0 && (got = aoi_reader_next(r, &rec, err)) > 0) {
		int hit = aoi_filter_match(f, rec, aoi_reader_base(r), err);
		if (hit < 0) {
			aoi_dataset_place(err, aoi_reader_name(r), aoi_reader_line(r));
			rc = -1;
		} else if (hit && aoi_record_write(t->out, rec, err) != 0) {
			rc = -1;
		}
		json_decref(rec);
	}
	if (rc == 0 && got < 0)
		rc = -1;
	aoi_reader_free(r);
	return rc;
}

int aoi_datatool_stats(const aoi_datatool *t, int table, aoi_error *err)
{
	aoi_dataset ds;
	json_t *st;
	int rc;

	if (load(&ds, t, err) != 0)
		return -1;
	st = aoi_dataset_stats(&ds, err);
	aoi_dataset_release(&ds);
	if (!st)
		return -1;
	rc = table ? aoi_stats_print_table(t->out, st, err) : aoi_record_write(t->out, st, err);
	json_decref(st);
	return rc;
}

/* The dataset, and a progress line over its records. */
static int load_counted(aoi_dataset *ds, const aoi_datatool *t, aoi_progress *p,
			const char *label, aoi_error *err)
{
	if (load(ds, t, err) != 0)
		return -1;
	aoi_progress_init(p, label, (long)aoi_dataset_size(ds));
	return 0;
}

int aoi_datatool_hash(const aoi_datatool *t, aoi_error *err)
{
	aoi_dataset ds;
	aoi_fingerprint fp;
	aoi_progress progress;

	if (load_counted(&ds, t, &progress, "hash", err) != 0)
		return -1;
	int rc = aoi_hash_dataset(ds.records, ds.base, &progress, &fp, err);
	aoi_progress_end(&progress);
	if (rc != 0)
		aoi_dataset_locate(&ds, (size_t)fp.failed, err);
	else
		fprintf(t->out, "%s\n", fp.hex);
	aoi_dataset_release(&ds);
	return rc != 0 ? -1 : 0;
}

int aoi_datatool_render(const aoi_datatool *t, const char *dir, aoi_error *err)
{
	aoi_dataset ds;
	aoi_progress progress;

	if (load_counted(&ds, t, &progress, "render", err) != 0)
		return -1;
	int rc = aoi_render_dataset(&ds, dir, &progress, err);
	aoi_progress_end(&progress);
	if (rc == 0)
		rc = aoi_datatool_write(t->out, ds.records, err);
	aoi_dataset_release(&ds);
	return rc;
}

int aoi_datatool_validate(const aoi_datatool *t, aoi_validate_report report, void *ctx,
			  long *problems, aoi_error *err)
{
	aoi_validate_summary sum;
	aoi_progress progress;
	int rc;

	aoi_progress_init(&progress, "validate", 0);
	rc = aoi_dataset_validate(t->path ? t->path : "-", t->root, report, ctx, &progress, &sum,
				  err);
	aoi_progress_end(&progress);
	if (rc != 0)
		return -1;
	json_t *v = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "records", (json_int_t)sum.records,
			      "valid", (json_int_t)sum.valid, "problems",
			      (json_int_t)sum.problems, "images", (json_int_t)sum.images,
			      "templates", (json_int_t)sum.templates, "masks",
			      (json_int_t)sum.masks);
	rc = aoi_record_write(t->out, v, err);
	json_decref(v);
	*problems = sum.problems;
	return rc;
}
