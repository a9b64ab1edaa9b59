/* report.c: the report's directory: records and truth read and joined,
 * every record's files made in parallel, aoi-metrics' figures and charts,
 * data.js for the page, the page itself, and files of earlier runs that no
 * record uses any more removed. */
#include "report/report.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/hash.h"
#include "base/parallel.h"
#include "eval/evaluate.h"
#include "image/draw.h"
#include "report/report_impl.h"

static const char *const folders[] = { "thumbs", "full", "heat", "masks", "charts" };
static const char *const charts[] = { "confusion.png", "pixels.png", "classes.png", "pr.png" };

/* ---- reading ---- */

/* id -> index into ds->records; a repeated id is an error at its line. */
static json_t *index_by_id(const aoi_dataset *ds, aoi_error *err)
{
	json_t *index = json_object(), *rec;
	size_t i;

	json_array_foreach(ds->records, i, rec) {
		const char *id = aoi_record_str(rec, "id");

		if (!id || json_object_get(index, id)) {
			aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				      id ? "id '%s' appears twice" : "record without an 'id'", id);
			aoi_dataset_locate(ds, i, err);
			json_decref(index);
			return NULL;
		}
		json_object_set_new(index, id, json_integer((json_int_t)i));
	}
	return index;
}

static int add_names(aoi_classes *cls, const json_t *rec, aoi_error *err)
{
	const json_t *pred = json_object_get(rec, "pred");
	json_t *v;
	size_t i;

	if (aoi_classes_from_record(cls, rec, err) != 0)
		return -1;
	json_array_foreach(json_object_get(pred, "classes"), i, v)
		if (json_is_string(v) && aoi_classes_add(cls, json_string_value(v)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "too many classes");
	json_array_foreach(json_object_get(pred, "boxes"), i, v) {
		const char *name = json_string_value(json_array_get(v, 4));

		if (name && aoi_classes_add(cls, name) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "too many classes");
	}
	return 0;
}

/* Every class the records and the truth name, in the order met. */
static int collect_classes(report_ctx *c, aoi_error *err)
{
	json_t *rec;
	size_t i;

	json_array_foreach(c->truth.records, i, rec)
		if (add_names(&c->classes, rec, err) != 0) {
			aoi_dataset_locate(&c->truth, i, err);
			return -1;
		}
	json_array_foreach(c->recs.records, i, rec)
		if (add_names(&c->classes, rec, err) != 0) {
			aoi_dataset_locate(&c->recs, i, err);
			return -1;
		}
	return 0;
}

static int ctx_open(report_ctx *c, const aoi_report_opts *o, aoi_error *err)
{
	char path[4096];
	json_t *ids;

	memset(c, 0, sizeof *c);
	c->o = o;
	c->dir = o->out;
	c->thumb = o->thumb > 0 ? o->thumb : 160;
	aoi_classes_init(&c->classes);
	if (aoi_dataset_load(&c->recs, o->records, o->root, err) != 0 ||
	    !(ids = index_by_id(&c->recs, err)))
		return -1;
	json_decref(ids); /* only checked: the page finds records by id */
	if (o->truth && (aoi_dataset_load(&c->truth, o->truth, o->root, err) != 0 ||
			 !(c->truth_index = index_by_id(&c->truth, err))))
		return -1;
	if (collect_classes(c, err) != 0 || aoi_mkdir_p(c->dir, err) != 0)
		return -1;
	for (size_t k = 0; k < sizeof folders / sizeof folders[0]; k++)
		if (aoi_path_join(path, sizeof path, c->dir, folders[k]) != 0 ||
		    aoi_mkdir_p(path, err) != 0)
			return -1;
	return 0;
}

static void ctx_close(report_ctx *c)
{
	aoi_dataset_release(&c->recs);
	if (c->o && c->o->truth)
		aoi_dataset_release(&c->truth);
	json_decref(c->truth_index);
	aoi_classes_release(&c->classes);
}

/* ---- the records' files ---- */

static void item_init(const report_ctx *c, size_t i, report_item *it)
{
	const json_t *rec = json_array_get(c->recs.records, i);

	memset(it, 0, sizeof *it);
	it->rec = rec;
	if (c->truth_index) {
		json_t *at = json_object_get(c->truth_index, aoi_record_str(rec, "id"));

		it->truth = at ? json_array_get(c->truth.records, (size_t)json_integer_value(at))
			       : NULL;
		it->tbase = c->truth.base;
	} else if (json_object_get(rec, "label") || json_object_get(rec, "masks") ||
		   json_object_get(rec, "mask") || json_object_get(rec, "boxes")) {
		it->truth = rec;
		it->own_truth = 1;
		it->tbase = c->recs.base;
	}
}

typedef struct make_job {
	const report_ctx *c;
	report_item *items;
} make_job;

static int make_one(void *ctx, size_t i, aoi_error *err)
{
	const make_job *j = ctx;

	item_init(j->c, i, &j->items[i]);
	return report_item_make(j->c, &j->items[i], err);
}

/* Every record's files, on all threads (dynamic chunks of 2: a record with
 * a large image takes much longer than one whose files are there). */
static int make_items(const report_ctx *c, report_item *items, aoi_error *err)
{
	make_job j = { c, items };
	long bad = aoi_parallel_each(aoi_dataset_size(&c->recs), 2, make_one, &j,
				     c->o->progress, err);

	if (bad < 0)
		return 0;
	aoi_dataset_locate(&c->recs, (size_t)bad, err);
	return -1;
}

/* ---- metrics ---- */

/* The records as their own truth, without what the model added, paths made
 * to resolve from anywhere: a file aoi-metrics can read as the truth. */
static int write_own_truth(const report_ctx *c, const char *path, aoi_error *err)
{
	static const char *const paths[] = { "image", "template", "mask" };
	aoi_atomic_file f;
	json_t *rec;
	size_t i;

	if (aoi_atomic_open(&f, path, err) != 0)
		return -1;
	json_array_foreach(c->recs.records, i, rec) {
		json_t *t = json_copy(rec);
		char full[4096];

		json_object_del(t, "pred");
		json_object_del(t, "decision");
		json_object_del(t, "reasons");
		for (int k = 0; k < 3; k++)
			if (aoi_record_path(t, paths[k], c->recs.base, full, sizeof full) == 0)
				json_object_set_new(t, paths[k], json_string(full));
		int rc = aoi_record_write(f.fp, t, err);
		json_decref(t);
		if (rc != 0) {
			aoi_atomic_abort(&f);
			return -1;
		}
	}
	return aoi_atomic_commit(&f, err);
}

static int has_truth(const report_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (items[i].truth && json_object_get(items[i].rec, "pred"))
			return 1;
	return 0;
}

/* aoi-metrics' report (*metrics) and charts; nothing without a truth. */
static int metrics(const report_ctx *c, const report_item *items, json_t **metrics,
		   json_t *chart_list, aoi_error *err)
{
	aoi_eval_opts eo = { .truth = c->o->truth, .pred = c->o->records, .root = c->o->root,
			     .iou_min = 0.33 };
	char own[4096], dir[4096], path[4096];
	aoi_eval *e = NULL;
	int written = 0, rc = -1;

	*metrics = json_null();
	aoi_path_join(dir, sizeof dir, c->dir, "charts");
	for (size_t k = 0; k < sizeof charts / sizeof charts[0]; k++)
		if (aoi_path_join(path, sizeof path, dir, charts[k]) == 0)
			unlink(path);
	if (!has_truth(items, aoi_dataset_size(&c->recs)))
		return 0;
	aoi_path_join(own, sizeof own, c->dir, ".truth.jsonl");
	if (!eo.truth && write_own_truth(c, own, err) != 0)
		return -1;
	if (!eo.truth)
		eo.truth = own;
	if (!(e = aoi_eval_run(&eo, err)) || aoi_eval_plots(e, dir, NULL, &written, err) != 0)
		goto done;
	json_decref(*metrics);
	*metrics = aoi_eval_report(e);
	for (size_t k = 0; k < sizeof charts / sizeof charts[0]; k++)
		if (aoi_path_join(path, sizeof path, dir, charts[k]) == 0 && aoi_path_exists(path))
			json_array_append_new(chart_list, json_sprintf("charts/%s", charts[k]));
	rc = 0;
done:
	aoi_eval_free(e);
	if (eo.truth == own)
		unlink(own);
	return rc;
}

/* ---- data.js ---- */

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v && v[0])
		json_object_set_new(o, key, json_string(v));
}

static void set_field(json_t *o, const char *key, const json_t *v)
{
	if (v && !json_is_null(v))
		json_object_set(o, key, (json_t *)v);
}

/* pred.score, else the probability of "defective", else the best box's. */
static json_t *score_of(const json_t *pred)
{
	json_t *v = json_object_get(pred, "score"), *b;
	double best = -1;
	size_t i;

	if (json_is_number(v))
		return json_real(json_number_value(v));
	v = json_object_get(json_object_get(pred, "probs"), "defective");
	if (json_is_number(v))
		return json_real(json_number_value(v));
	json_array_foreach(json_object_get(pred, "boxes"), i, b)
		if (json_is_number(json_array_get(b, 5)) && json_number_value(json_array_get(b, 5)) > best)
			best = json_number_value(json_array_get(b, 5));
	return best >= 0 ? json_real(best) : NULL;
}

static json_t *present_classes(const report_item *it)
{
	json_t *a = json_array();

	for (int k = 1; k <= AOI_MAX_CLASSES; k++)
		if (it->present[k])
			json_array_append_new(a, json_integer(k));
	return a;
}

static json_t *item_json(const report_item *it)
{
	const json_t *rec = it->rec, *pred = json_object_get(rec, "pred");
	json_t *o = json_pack("{s:s,s:i,s:i,s:s,s:i,s:i,s:I,s:I,s:f}", "id",
			      aoi_record_str(rec, "id"), "w", it->width, "h", it->height,
			      "thumb", it->thumb, "tw", it->tw, "th", it->th, "area",
			      (json_int_t)it->parea, "tarea", (json_int_t)it->tarea, "dis",
			      it->disagree);
	json_t *score = score_of(pred);
	int agree = report_agreement(it);

	if (!o)
		return NULL;
	set_str(o, "img", it->full);
	set_str(o, "tmpl", it->tmpl);
	set_str(o, "heat", it->heat);
	set_str(o, "masks", it->masks);
	set_str(o, "split", aoi_record_str(rec, "split"));
	set_str(o, "sampled", aoi_record_str(rec, "sampled"));
	set_str(o, "label", it->truth ? aoi_record_str(it->truth, "label") : NULL);
	set_str(o, "tdec", report_truth_decision(it));
	set_str(o, "dec", report_model_decision(it));
	set_str(o, "plabel", aoi_record_str(pred, "label"));
	set_field(o, "thr", json_object_get(pred, "threshold"));
	set_field(o, "probs", json_object_get(pred, "probs"));
	set_field(o, "boxes", json_object_get(pred, "boxes"));
	set_field(o, "tboxes", it->truth ? json_object_get(it->truth, "boxes") : NULL);
	set_field(o, "reasons", json_object_get(rec, "reasons"));
	set_field(o, "review", json_object_get(rec, "review"));
	if (score)
		json_object_set_new(o, "score", score);
	if (agree >= 0)
		json_object_set_new(o, "agree", json_boolean(agree));
	json_object_set_new(o, "pred", json_boolean(pred != NULL));
	json_object_set_new(o, "truth", json_boolean(it->truth != NULL));
	json_object_set_new(o, "cls", present_classes(it));
	return o;
}

static json_t *palette(const aoi_classes *cls)
{
	json_t *a = json_array();

	for (int k = 1; k <= cls->n; k++) {
		aoi_rgb c = aoi_draw_palette(k);

		json_array_append_new(a, json_pack("[i,i,i]", c.r, c.g, c.b));
	}
	return a;
}

/* A name for the page's saved review work: the same records, the same name. */
static void review_key(const report_item *items, size_t n, char hex[65])
{
	aoi_sha256 s;
	uint8_t d[32];

	aoi_sha256_init(&s);
	for (size_t i = 0; i < n; i++) {
		const char *id = aoi_record_str(items[i].rec, "id");

		aoi_sha256_update(&s, id, strlen(id) + 1);
	}
	aoi_sha256_final(&s, d);
	aoi_sha256_to_hex(d, hex);
}

static int write_data(const report_ctx *c, const report_item *items, json_t *metrics,
		      json_t *chart_list, aoi_error *err)
{
	size_t n = aoi_dataset_size(&c->recs);
	const char *title = c->o->title ? c->o->title : c->o->records;
	json_t *list = json_array(), *data;
	char key[65], *text;
	int rc = -1;

	review_key(items, n, key);
	for (size_t i = 0; list && i < n; i++)
		json_array_append_new(list, item_json(&items[i]));
	data = json_pack("{s:s,s:s?,s:s,s:o,s:o,s:O,s:O,s:o}", "title", title, "truth",
			 c->o->truth, "key", key, "classes", aoi_classes_to_json(&c->classes),
			 "palette", palette(&c->classes), "metrics", metrics, "charts", chart_list,
			 "items", list);
	if (data && (text = json_dumps(data, JSON_COMPACT)) != NULL) {
		size_t len = strlen(text);
		char *js = malloc(len + 64);

		if (js) {
			snprintf(js, len + 64, "window.AOI_REPORT = %s;\n", text);
			rc = report_write_file(c, "data.js", js, strlen(js), err);
		}
		free(js);
		free(text);
	}
	if (rc != 0 && !err->msg[0])
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	json_decref(data);
	return rc;
}

/* ---- the page, and what no record uses any more ---- */

static int write_assets(const report_ctx *c, aoi_error *err)
{
	aoi_report_asset a;

	for (int i = 0; aoi_report_asset_get(i, &a) == 0; i++)
		if (report_write_file(c, a.name, a.data, a.size, err) != 0)
			return -1;
	return 0;
}

/* NAME-KEY.ext or NAME-KEY-t.ext, KEY REPORT_KEY_HEX hex digits: ours. */
static int made_by_us(const char *name)
{
	const char *dot = strrchr(name, '.'), *end = dot;

	if (!dot || (strcmp(dot, ".png") && strcmp(dot, ".jpg") && strcmp(dot, ".js")))
		return 0;
	if (end - name > 2 && strncmp(end - 2, "-t", 2) == 0)
		end -= 2;
	if (end - name < REPORT_KEY_HEX + 2 || end[-REPORT_KEY_HEX - 1] != '-')
		return 0;
	for (const char *p = end - REPORT_KEY_HEX; p < end; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return 0;
	return 1;
}

static void remove_unused(const report_ctx *c, const report_item *items)
{
	json_t *used = json_object();
	size_t n = aoi_dataset_size(&c->recs);

	for (size_t i = 0; used && i < n; i++) {
		const char *paths[] = { items[i].thumb, items[i].full, items[i].tmpl,
					items[i].heat, items[i].masks };
		for (int k = 0; k < 5; k++)
			if (paths[k][0])
				json_object_set_new(used, paths[k], json_true());
	}
	for (int f = 0; used && f < 4; f++) {
		char dir[4096], rel[4096], path[4096];
		struct dirent *d;
		DIR *dp;

		if (aoi_path_join(dir, sizeof dir, c->dir, folders[f]) != 0 || !(dp = opendir(dir)))
			continue;
		while ((d = readdir(dp)) != NULL) {
			snprintf(rel, sizeof rel, "%s/%s", folders[f], d->d_name);
			if (made_by_us(d->d_name) && !json_object_get(used, rel) &&
			    aoi_path_join(path, sizeof path, c->dir, rel) == 0)
				unlink(path);
		}
		closedir(dp);
	}
	json_decref(used);
}

int aoi_report_write(const aoi_report_opts *o, aoi_report_summary *sum, aoi_error *err)
{
	report_ctx c;
	report_item *items = NULL;
	json_t *metric = NULL, *chart_list = json_array();
	size_t n;
	int rc = -1;

	if (ctx_open(&c, o, err) != 0)
		goto done;
	n = aoi_dataset_size(&c.recs);
	if (!(items = calloc(n ? n : 1, sizeof *items)) || !chart_list) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		goto done;
	}
	if (make_items(&c, items, err) != 0 || metrics(&c, items, &metric, chart_list, err) != 0 ||
	    write_data(&c, items, metric, chart_list, err) != 0 || write_assets(&c, err) != 0)
		goto done;
	remove_unused(&c, items);
	if (sum) {
		memset(sum, 0, sizeof *sum);
		sum->records = (long)n;
		sum->charts = (int)json_array_size(chart_list);
		for (size_t i = 0; i < n; i++) {
			sum->with_truth += items[i].truth != NULL;
			sum->reused += items[i].reused;
		}
		sum->made = sum->records - sum->reused;
	}
	rc = 0;
done:
	free(items);
	json_decref(metric);
	json_decref(chart_list);
	ctx_close(&c);
	return rc;
}

int aoi_report_run(const aoi_datatool *t, const aoi_report_opts *o, aoi_error *err)
{
	aoi_report_opts with = *o;
	aoi_report_summary sum;
	aoi_progress progress;
	json_t *v;
	int rc;

	aoi_progress_init(&progress, "report", 0);
	with.progress = &progress;
	with.records = t->path;
	with.root = t->root;
	rc = aoi_report_write(&with, &sum, err);
	aoi_progress_end(&progress);
	if (rc != 0)
		return -1;
	v = json_pack("{s:s,s:I,s:I,s:I,s:I,s:i}", "report", o->out, "records",
		      (json_int_t)sum.records, "truth", (json_int_t)sum.with_truth, "made",
		      (json_int_t)sum.made, "reused", (json_int_t)sum.reused, "charts",
		      sum.charts);
	if (!v)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	rc = aoi_record_write(t->out, v, err);
	json_decref(v);
	return rc;
}
