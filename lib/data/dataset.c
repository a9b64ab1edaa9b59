/* dataset.c: loading with line numbers, seeded split and sample, filters. */
#include "data/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "data/mask.h"
#include "data/record.h"

int aoi_dataset_load(aoi_dataset *ds, const char *path, const char *root,
		     aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	size_t cap = 0;
	json_t *rec;
	int got;

	memset(ds, 0, sizeof *ds);
	if (!r)
		return -1;
	snprintf(ds->name, sizeof ds->name, "%s", aoi_reader_name(r));
	snprintf(ds->base, sizeof ds->base, "%s", aoi_reader_base(r));
	ds->records = json_array();
	while ((got = aoi_reader_next(r, &rec, err)) > 0) {
		size_t n = json_array_size(ds->records);
		if (n == cap) {
			long *p = realloc(ds->lines, (cap = cap ? 2 * cap : 256) * sizeof *p);
			if (!p) {
				json_decref(rec);
				got = aoi_error_set(err, AOI_ENOMEM, ds->name, 0, "out of memory");
				break;
			}
			ds->lines = p;
		}
		ds->lines[n] = aoi_reader_line(r);
		json_array_append_new(ds->records, rec);
	}
	aoi_reader_free(r);
	if (got < 0) {
		aoi_dataset_release(ds);
		return -1;
	}
	return 0;
}

void aoi_dataset_release(aoi_dataset *ds)
{
	json_decref(ds->records);
	free(ds->lines);
	ds->records = NULL;
	ds->lines = NULL;
}

size_t aoi_dataset_size(const aoi_dataset *ds)
{
	return json_array_size(ds->records);
}

void aoi_dataset_place(aoi_error *err, const char *name, long line)
{
	if (!err)
		return;
	if (err->where[0] && strcmp(err->where, name) != 0) {
		char msg[sizeof err->where + sizeof err->msg + 2];
		snprintf(msg, sizeof msg, "%s: %s", err->where, err->msg);
		memcpy(err->msg, msg, sizeof err->msg - 1);
		err->msg[sizeof err->msg - 1] = '\0';
	}
	aoi_error_locate(err, name, line);
}

void aoi_dataset_locate(const aoi_dataset *ds, size_t i, aoi_error *err)
{
	aoi_dataset_place(err, ds->name, i < aoi_dataset_size(ds) ? ds->lines[i] : 0);
}

/* A field's value as text (strings as they are, numbers and booleans as
 * JSON), or NULL when absent. Caller frees. */
static char *field_text(const json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);

	if (!v || json_is_null(v))
		return NULL;
	if (json_is_string(v))
		return strdup(json_string_value(v));
	return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/* One unit of a split or sample: a record, or a group of records. Units
 * sort by (hash, name, canonical JSON), which does not depend on the input
 * order even when ids repeat. */
typedef struct unit {
	uint64_t h;
	char *name;
	char *canon;     /* tie-break for equal names; NULL for groups */
	char *stratum;   /* "" without stratification */
	json_t *votes;   /* stratum value -> count, for groups */
	int part;        /* 0 train, 1 val, 2 test; for samples 1 = chosen */
} unit;

static int unit_cmp(const void *pa, const void *pb)
{
	const unit *a = pa, *b = pb;
	int c;

	if (a->h != b->h)
		return a->h < b->h ? -1 : 1;
	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	return strcmp(a->canon ? a->canon : "", b->canon ? b->canon : "");
}

static void units_free(unit *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(u[i].name);
		free(u[i].canon);
		free(u[i].stratum);
		json_decref(u[i].votes);
	}
	free(u);
}

/* The unit of a record on its own: named by its id, else its JSON. */
static int record_unit(unit *u, const json_t *rec, uint64_t seed, const char *stratify)
{
	memset(u, 0, sizeof *u);
	u->canon = aoi_hash_canonical(rec);
	u->name = field_text(rec, "id");
	if (!u->name && u->canon)
		u->name = strdup(u->canon);
	u->stratum = stratify ? field_text(rec, stratify) : NULL;
	if (!u->stratum)
		u->stratum = strdup("");
	if (!u->canon || !u->name || !u->stratum)
		return -1;
	u->h = aoi_hash_str64(seed, u->name);
	return 0;
}

/* The most common stratum value among a group's records (ties: the
 * smallest value, so that the result does not depend on input order). */
static char *majority(const json_t *votes)
{
	const char *key, *best = "";
	json_int_t best_n = 0;
	json_t *v;

	json_object_foreach((json_t *)votes, key, v) {
		json_int_t n = json_integer_value(v);
		if (n > best_n || (n == best_n && strcmp(key, best) < 0)) {
			best = key;
			best_n = n;
		}
	}
	return strdup(best);
}

/* Units for a split by field `by`: records without the field are units of
 * their own. unit_of[i] receives record i's unit. */
static unit *group_units(const json_t *records, const aoi_split_opts *o, size_t *nu,
			 size_t *unit_of)
{
	size_t n = json_array_size(records), m = 0;
	unit *u = calloc(n ? n : 1, sizeof *u);
	json_t *index = json_object();
	int ok = u && index;

	for (size_t i = 0; ok && i < n; i++) {
		const json_t *rec = json_array_get(records, i);
		char *g = field_text(rec, o->by);
		json_t *at = g ? json_object_get(index, g) : NULL;
		if (at) {
			unit_of[i] = (size_t)json_integer_value(at);
			free(g);
		} else if (!g) {
			ok = record_unit(&u[m], rec, o->seed, o->stratify) == 0;
			unit_of[i] = m++;
			continue;
		} else {
			u[m].name = g;
			u[m].h = aoi_hash_str64(o->seed, g);
			u[m].votes = json_object();
			json_object_set_new(index, g, json_integer((json_int_t)m));
			unit_of[i] = m++;
		}
		char *s = o->stratify ? field_text(rec, o->stratify) : NULL;
		json_t *votes = u[unit_of[i]].votes;
		json_object_set_new(votes, s ? s : "",
				    json_integer(json_integer_value(
						    json_object_get(votes, s ? s : "")) + 1));
		free(s);
	}
	for (size_t k = 0; ok && k < m; k++)
		if (u[k].votes && !(u[k].stratum = majority(u[k].votes)))
			ok = 0;
	json_decref(index);
	*nu = m;
	if (!ok) {
		units_free(u, m);
		return NULL;
	}
	return u;
}

static unit *record_units(const json_t *records, uint64_t seed, const char *stratify,
			  size_t *unit_of)
{
	size_t n = json_array_size(records);
	unit *u = calloc(n ? n : 1, sizeof *u);

	for (size_t i = 0; u && i < n; i++) {
		unit_of[i] = i;
		if (record_unit(&u[i], json_array_get(records, i), seed, stratify) != 0) {
			units_free(u, i + 1);
			return NULL;
		}
	}
	return u;
}

static int stratum_cmp(const void *pa, const void *pb)
{
	const unit *a = pa, *b = pb;
	int c = strcmp(a->stratum, b->stratum);

	return c ? c : unit_cmp(a, b);
}

/* Sort units by stratum, then by hash. Returns perm: perm[old index] = new
 * index, through which unit_of[] still finds each record's unit. */
static int *sort_units(unit *u, size_t n)
{
	int *perm = malloc((n ? n : 1) * sizeof *perm);

	if (!perm)
		return NULL;
	for (size_t i = 0; i < n; i++)
		u[i].part = (int)i; /* remember the old index through the sort */
	qsort(u, n, sizeof *u, stratum_cmp);
	for (size_t i = 0; i < n; i++)
		perm[u[i].part] = (int)i;
	return perm;
}

static void split_stratum(unit *u, size_t n, const aoi_split_opts *o)
{
	size_t n_test = (size_t)floor(n * o->test + 0.5);
	size_t n_val = (size_t)floor(n * o->val + 0.5);

	if (n_test > n)
		n_test = n;
	if (n_val > n - n_test)
		n_val = n - n_test;
	for (size_t i = 0; i < n; i++)
		u[i].part = i < n_test ? 2 : i < n_test + n_val ? 1 : 0;
}

int aoi_dataset_split(json_t *records, const aoi_split_opts *o, aoi_error *err)
{
	static const char *const names[] = { "train", "val", "test" };
	size_t n = json_array_size(records), nu = n;
	size_t *unit_of = malloc((n ? n : 1) * sizeof *unit_of);
	unit *u = NULL;
	int *perm = NULL;

	if (o->val < 0 || o->test < 0 || o->val + o->test > 1 + 1e-12) {
		free(unit_of);
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--val and --test must be shares that add up to at most 1");
	}
	if (unit_of)
		u = o->by ? group_units(records, o, &nu, unit_of)
			  : record_units(records, o->seed, o->stratify, unit_of);
	if (u)
		perm = sort_units(u, nu);
	if (!perm) {
		units_free(u, nu);
		free(unit_of);
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	for (size_t lo = 0, hi; lo < nu; lo = hi) {
		for (hi = lo + 1; hi < nu && strcmp(u[hi].stratum, u[lo].stratum) == 0; hi++)
			;
		split_stratum(u + lo, hi - lo, o);
	}
	for (size_t i = 0; i < n; i++)
		json_object_set_new(json_array_get(records, i), "split",
				    json_string(names[u[perm[unit_of[i]]].part]));
	units_free(u, nu);
	free(perm);
	free(unit_of);
	return 0;
}

/* Largest-remainder shares of n over the strata [start[s], start[s+1]). */
static void sample_quotas(const size_t *start, size_t ns, size_t total, long n,
			  size_t *quota)
{
	double *rem = malloc((ns ? ns : 1) * sizeof *rem);
	long given = 0;

	for (size_t s = 0; s < ns; s++) {
		double exact = (double)n * (double)(start[s + 1] - start[s]) / (double)total;
		quota[s] = (size_t)floor(exact);
		rem[s] = rem ? exact - floor(exact) : 0;
		given += (long)quota[s];
	}
	while (given < n && rem) {
		size_t best = 0;
		for (size_t s = 1; s < ns; s++)
			if (rem[s] > rem[best])
				best = s;
		quota[best]++;
		rem[best] = -1;
		given++;
	}
	free(rem);
}

json_t *aoi_dataset_sample(const json_t *records, long n, uint64_t seed,
			   const char *stratify, aoi_error *err)
{
	size_t total = json_array_size(records), ns = 0;
	size_t *unit_of = malloc((total ? total : 1) * sizeof *unit_of);
	size_t *start = malloc((total + 2) * sizeof *start);
	size_t *quota = malloc((total + 1) * sizeof *quota);
	unit *u = unit_of ? record_units(records, seed, stratify, unit_of) : NULL;
	int *perm = u ? sort_units(u, total) : NULL;
	json_t *out = json_array();

	if (!perm || !start || !quota || !out) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		json_decref(out);
		out = NULL;
		goto done;
	}
	if (n > (long)total)
		n = (long)total;
	for (size_t i = 0; i < total; i++)
		if (i == 0 || strcmp(u[i].stratum, u[i - 1].stratum) != 0)
			start[ns++] = i;
	start[ns] = total;
	if (total)
		sample_quotas(start, ns, total, n, quota);
	for (size_t s = 0; s < ns; s++)
		for (size_t i = start[s]; i < start[s + 1]; i++)
			u[i].part = i - start[s] < quota[s];
	for (size_t i = 0; i < total; i++)
		if (u[perm[i]].part)
			json_array_append(out, json_array_get(records, i));
done:
	units_free(u, total);
	free(perm);
	free(unit_of);
	free(start);
	free(quota);
	return out;
}

void aoi_filter_init(aoi_filter *f)
{
	memset(f, 0, sizeof *f);
}

void aoi_filter_release(aoi_filter *f)
{
	for (int k = 0; k < AOI_FILTER_NFIELDS; k++) {
		for (int i = 0; i < f->n[k]; i++)
			free(f->values[k][i]);
		free(f->values[k]);
	}
	aoi_filter_init(f);
}

int aoi_filter_add(aoi_filter *f, enum aoi_filter_field field, const char *list,
		   aoi_error *err)
{
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		if (len > 0) {
			char **v = realloc(f->values[field], (f->n[field] + 1) * sizeof *v);
			if (!v || !(v[f->n[field]] = strndup(p, len))) {
				if (v)
					f->values[field] = v;
				return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
			}
			f->values[field] = v;
			f->n[field]++;
		}
		p += len;
		if (!*p)
			return 0;
	}
}

static int in_list(char *const *values, int n, const char *s)
{
	for (int i = 0; s && i < n; i++)
		if (strcmp(values[i], s) == 0)
			return 1;
	return 0;
}

static int field_matches(const aoi_filter *f, enum aoi_filter_field k, const json_t *rec,
			 const char *key)
{
	char *v = field_text(rec, key);
	int hit = in_list(f->values[k], f->n[k], v);

	free(v);
	return hit;
}

/* Whether a "mask" class-index file has pixels of one of the classes. */
static int mask_file_has(const aoi_filter *f, const json_t *rec, const char *base,
			 aoi_error *err)
{
	aoi_classes cls;
	aoi_mask m = { 0 };
	int hit = 0;

	aoi_classes_init(&cls);
	if (aoi_classes_from_record(&cls, rec, err) != 0 ||
	    aoi_record_mask(rec, base, &cls, &m, err) != 0) {
		aoi_classes_release(&cls);
		return -1;
	}
	for (int i = 0; !hit && i < f->n[AOI_FILTER_CLASS]; i++) {
		int k = aoi_classes_find(&cls, f->values[AOI_FILTER_CLASS][i]);
		hit = k > 0 && aoi_mask_count(&m, k) > 0;
	}
	aoi_mask_release(&m);
	aoi_classes_release(&cls);
	return hit;
}

/* A record has a class when its inline masks, its boxes or its mask file
 * show it. */
static int class_matches(const aoi_filter *f, const json_t *rec, const char *base,
			 aoi_error *err)
{
	char *const *want = f->values[AOI_FILTER_CLASS];
	int n = f->n[AOI_FILTER_CLASS];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(json_object_get(rec, "masks"), key, v)
		if (in_list(want, n, key))
			return 1;
	json_array_foreach(json_object_get(rec, "boxes"), i, v)
		if (in_list(want, n, json_string_value(json_array_get(v, 4))))
			return 1;
	if (aoi_record_str(rec, "mask"))
		return mask_file_has(f, rec, base, err);
	return 0;
}

int aoi_filter_match(const aoi_filter *f, const json_t *rec, const char *base,
		     aoi_error *err)
{
	static const char *const keys[AOI_FILTER_NFIELDS] = {
		[AOI_FILTER_LABEL] = "label", [AOI_FILTER_SPLIT] = "split",
		[AOI_FILTER_SOURCE] = "source", [AOI_FILTER_GROUP] = "group",
	};

	for (int k = 0; k < AOI_FILTER_NFIELDS; k++) {
		if (f->n[k] == 0)
			continue;
		int hit = k == AOI_FILTER_CLASS ? class_matches(f, rec, base, err)
						: field_matches(f, (enum aoi_filter_field)k, rec,
								keys[k]);
		if (hit <= 0)
			return hit;
	}
	return 1;
}
