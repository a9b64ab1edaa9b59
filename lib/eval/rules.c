#include "eval/rules.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/raster.h"
#include "eval/metrics.h"

#define MAX_PLACE AOI_METRICS_MAXKP

enum region_action { ACT_IGNORE, ACT_RENAME, ACT_ONLY };

typedef struct rule_limit {
	char *cls;        /* NULL for the "default" entry */
	long min_area;    /* a component counts when its area >= min_area */
	long min_count;   /* reject when that many components count */
	double max_share; /* reject when class pixels / all >= this; NAN: none */
} rule_limit;

typedef struct rule_region {
	char *name;
	int fraction;     /* coordinates are fractions of width and height */
	int npoints;      /* 2 for a box (corners), >= 3 for a polygon */
	int is_box;
	double *xy;
} rule_region;

typedef struct region_rule {
	char *cls;        /* "*" for every class */
	int region;       /* index in regions */
	enum region_action action;
	char *as;         /* ACT_RENAME */
} region_rule;

struct aoi_rules {
	aoi_classes known; /* "classes" when given */
	int has_known;
	rule_limit *limits;
	int nlimits;
	rule_limit deflimit;
	int has_default;
	rule_region *regions;
	int nregions;
	region_rule *rrules;
	int nrrules;
	double defect_share; /* NAN: not judged */
	double min_prob;     /* NAN: not judged */
	int has_placement, place_truth, nnominal;
	char place_field[64]; /* the record's field holding nominal points */
	double nominal[2 * MAX_PLACE];
	double max_offset, max_rotation; /* NAN: not judged */
	/* the image score: reject above max_score, or above pred.threshold */
	int has_max_score, max_score_model;
	double max_score;
	/* the anomaly map: regions above the threshold (or pred.threshold) */
	int has_anomaly, anomaly_model;
	double anomaly_threshold;
	long anomaly_min_area;
};

/* ---- parsing: a context that knows the key path for messages -----------
 *
 * The first error ends the parse, so a function that fails leaves the key
 * path as it was at the error (nothing reads it afterwards); only the ways
 * that succeed pop what they pushed. */

typedef struct pctx {
	const char *text;
	const char *name;
	const char *keys[8];
	int depth;
	aoi_error *err;
} pctx;

/* The line of a key path in the text: each key searched (as "key" then
 * ':') after the previous one. jansson keeps no positions for values, and
 * this finds the right place in any file a person would write. */
static long key_line(const pctx *c)
{
	const char *pos = c->text, *hit = NULL;
	long line = 1;

	for (int i = 0; i < c->depth && c->keys[i]; i++) {
		size_t len = strlen(c->keys[i]);
		const char *p = pos;

		hit = NULL;
		while ((p = strchr(p, '"')) != NULL) {
			const char *q = p + 1 + len;

			if (strncmp(p + 1, c->keys[i], len) == 0 && *q == '"') {
				q++;
				while (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')
					q++;
				if (*q == ':') {
					hit = p;
					break;
				}
			}
			p++;
		}
		if (!hit)
			break;
		pos = hit + 1;
	}
	if (pos == c->text)
		return 0;
	for (const char *p = c->text; p < pos; p++)
		line += *p == '\n';
	return line;
}

static int perr(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(pctx *c, const char *fmt, ...)
{
	char path[512] = "", msg[400];
	size_t used = 0;
	va_list ap;

	for (int i = 0; i < c->depth && c->keys[i] && used < sizeof path; i++)
		used += (size_t)snprintf(path + used, sizeof path - used, "%s%s",
					 i ? "." : "", c->keys[i]);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!path[0])
		return aoi_error_set(c->err, AOI_EFORMAT, c->name, key_line(c), "%s", msg);
	return aoi_error_set(c->err, AOI_EFORMAT, c->name, key_line(c), "'%s': %s",
			     path, msg);
}

static void push(pctx *c, const char *key)
{
	c->keys[c->depth < 8 ? c->depth : 7] = key;
	c->depth++;
}

static void pop(pctx *c)
{
	c->depth--;
}

/* Every key of obj must be one of the NULL-terminated `allowed`. */
static int check_keys(pctx *c, const json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		int ok = 0;

		for (int i = 0; allowed[i]; i++)
			ok |= strcmp(key, allowed[i]) == 0;
		if (!ok) {
			push(c, key);
			return perr(c, "unknown key");
		}
	}
	return 0;
}

static int get_number(pctx *c, const json_t *obj, const char *key, double lo,
		      double hi, double *out)
{
	json_t *v = json_object_get(obj, key);
	int rc = 0;

	if (!v)
		return 0;
	push(c, key);
	if (!json_is_number(v))
		rc = perr(c, "must be a number");
	else if (json_number_value(v) < lo || json_number_value(v) > hi)
		rc = perr(c, "%g is out of range %g..%g", json_number_value(v), lo, hi);
	else
		*out = json_number_value(v);
	pop(c);
	return rc;
}

static int get_count(pctx *c, const json_t *obj, const char *key, long lo, long *out)
{
	json_t *v = json_object_get(obj, key);
	int rc = 0;

	if (!v)
		return 0;
	push(c, key);
	if (!json_is_integer(v))
		rc = perr(c, "must be an integer");
	else if (json_integer_value(v) < lo)
		rc = perr(c, "must be at least %ld", lo);
	else
		*out = (long)json_integer_value(v);
	pop(c);
	return rc;
}

static int known_class(const aoi_rules *r, const char *name)
{
	if (!r->has_known || strcmp(name, "*") == 0 || aoi_classes_find(&r->known, name))
		return 1;
	for (int i = 0; i < r->nrrules; i++)
		if (r->rrules[i].as && strcmp(r->rrules[i].as, name) == 0)
			return 1;
	return 0;
}

static int parse_limit(pctx *c, const json_t *v, rule_limit *l)
{
	static const char *const keys[] = {"min_area", "min_count", "max_share", NULL};

	l->min_area = 1;
	l->min_count = 1;
	l->max_share = NAN;
	if (!json_is_object(v))
		return perr(c, "must be an object");
	if (check_keys(c, v, keys) < 0 || get_count(c, v, "min_area", 1, &l->min_area) < 0 ||
	    get_count(c, v, "min_count", 1, &l->min_count) < 0 ||
	    get_number(c, v, "max_share", 0, 1, &l->max_share) < 0)
		return -1;
	return 0;
}

/* Enter the section `key`, whose value must be an array (or an object of
 * named entries when !array; else the message `must`), and allocate its
 * table: a zeroed entry of `size` bytes for each, and one more. NULL with
 * the error set on failure. */
static void *enter_table(pctx *c, const char *key, const json_t *v, int array,
			 const char *must, size_t size)
{
	void *t;

	push(c, key);
	if (array ? !json_is_array(v) : !json_is_object(v)) {
		perr(c, "%s", must);
		return NULL;
	}
	t = calloc((array ? json_array_size(v) : json_object_size(v)) + 1, size);
	if (!t)
		aoi_error_set(c->err, AOI_ENOMEM, c->name, 0, "out of memory");
	return t;
}

static int parse_known(pctx *c, aoi_rules *r, const json_t *a)
{
	size_t i;
	json_t *v;

	if (!a)
		return 0;
	push(c, "classes");
	if (!json_is_array(a))
		return perr(c, "must be an array of class names");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || !json_string_value(v)[0] ||
		    aoi_classes_add(&r->known, json_string_value(v)) < 0)
			return perr(c, "item %zu is not a class name", i);
	}
	pop(c);
	r->has_known = 1;
	return 0;
}

static int parse_limits(pctx *c, aoi_rules *r, const json_t *obj)
{
	const char *key;
	json_t *v;

	if (!obj)
		return 0;
	r->limits = enter_table(c, "limits", obj, 0, "must be an object of class names",
				sizeof *r->limits);
	if (!r->limits)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		rule_limit *l = &r->limits[r->nlimits];

		push(c, key);
		if (!known_class(r, key) || strcmp(key, "*") == 0)
			return perr(c, "unknown class");
		if (parse_limit(c, v, l) < 0 || !(l->cls = strdup(key)))
			return -1;
		r->nlimits++;
		pop(c);
	}
	pop(c);
	return 0;
}

/* ---- regions ----------------------------------------------------------- */

static int parse_points(pctx *c, const json_t *a, rule_region *g)
{
	size_t i;
	json_t *p;

	if (!json_is_array(a) || json_array_size(a) < 3 || json_array_size(a) > 4096)
		return perr(c, "must be an array of at least 3 [x, y] points");
	g->xy = calloc(2 * json_array_size(a), sizeof *g->xy);
	if (!g->xy)
		return aoi_error_set(c->err, AOI_ENOMEM, c->name, 0, "out of memory");
	json_array_foreach(a, i, p) {
		if (!json_is_array(p) || json_array_size(p) != 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)))
			return perr(c, "point %zu is not [x, y]", i);
		g->xy[2 * i] = json_number_value(json_array_get(p, 0));
		g->xy[2 * i + 1] = json_number_value(json_array_get(p, 1));
	}
	g->npoints = (int)json_array_size(a);
	return 0;
}

static int parse_box(pctx *c, const json_t *a, rule_region *g)
{
	if (!json_is_array(a) || json_array_size(a) != 4)
		return perr(c, "must be [x1, y1, x2, y2]");
	g->xy = calloc(4, sizeof *g->xy);
	if (!g->xy)
		return aoi_error_set(c->err, AOI_ENOMEM, c->name, 0, "out of memory");
	for (int i = 0; i < 4; i++) {
		if (!json_is_number(json_array_get(a, (size_t)i)))
			return perr(c, "must be [x1, y1, x2, y2] numbers");
		g->xy[i] = json_number_value(json_array_get(a, (size_t)i));
	}
	if (g->xy[2] <= g->xy[0] || g->xy[3] <= g->xy[1])
		return perr(c, "needs x2 > x1 and y2 > y1");
	g->is_box = 1;
	g->npoints = 2;
	return 0;
}

static int parse_region(pctx *c, const json_t *v, rule_region *g)
{
	static const char *const keys[] = {"box", "polygon", "units", NULL};
	json_t *box = json_object_get(v, "box"), *poly = json_object_get(v, "polygon");
	json_t *units = json_object_get(v, "units");
	int rc;

	if (!json_is_object(v))
		return perr(c, "must be an object with \"box\" or \"polygon\"");
	if (check_keys(c, v, keys) < 0)
		return -1;
	if (!box == !poly)
		return perr(c, "needs exactly one of \"box\" and \"polygon\"");
	if (units) {
		const char *u = json_string_value(units);

		push(c, "units");
		if (!u || (strcmp(u, "px") && strcmp(u, "fraction")))
			return perr(c, "must be \"px\" or \"fraction\"");
		pop(c);
		g->fraction = strcmp(u, "fraction") == 0;
	}
	push(c, box ? "box" : "polygon");
	rc = box ? parse_box(c, box, g) : parse_points(c, poly, g);
	pop(c);
	return rc;
}

static int parse_regions(pctx *c, aoi_rules *r, const json_t *obj)
{
	const char *key;
	json_t *v;

	if (!obj)
		return 0;
	r->regions = enter_table(c, "regions", obj, 0, "must be an object of named regions",
				 sizeof *r->regions);
	if (!r->regions)
		return -1;
	json_object_foreach((json_t *)obj, key, v) {
		rule_region *g = &r->regions[r->nregions++];

		push(c, key);
		if (!(g->name = strdup(key)) || parse_region(c, v, g) < 0)
			return -1;
		pop(c);
	}
	pop(c);
	return 0;
}

static int find_region(const aoi_rules *r, const char *name)
{
	for (int i = 0; i < r->nregions; i++)
		if (strcmp(r->regions[i].name, name) == 0)
			return i;
	return -1;
}

static int parse_region_rule(pctx *c, aoi_rules *r, const json_t *v, region_rule *q)
{
	static const char *const keys[] = {"class", "region", "action", "as", NULL};
	const char *cls = json_string_value(json_object_get(v, "class"));
	const char *reg = json_string_value(json_object_get(v, "region"));
	const char *act = json_string_value(json_object_get(v, "action"));
	const char *as = json_string_value(json_object_get(v, "as"));

	if (!json_is_object(v))
		return perr(c, "must be an object");
	if (check_keys(c, v, keys) < 0)
		return -1;
	if (!cls || !reg || !act)
		return perr(c, "needs \"class\", \"region\" and \"action\" strings");
	if ((q->region = find_region(r, reg)) < 0)
		return perr(c, "unknown region '%s'", reg);
	if (strcmp(act, "ignore") == 0)
		q->action = ACT_IGNORE;
	else if (strcmp(act, "only") == 0)
		q->action = ACT_ONLY;
	else if (strcmp(act, "rename") == 0)
		q->action = ACT_RENAME;
	else
		return perr(c, "action must be \"ignore\", \"only\" or \"rename\", not '%s'",
			    act);
	if ((q->action == ACT_RENAME) != (as != NULL && as[0]))
		return perr(c, "\"as\" (a class name) goes with action \"rename\" only");
	if (!known_class(r, cls))
		return perr(c, "unknown class '%s'", cls);
	q->cls = strdup(cls);
	q->as = as ? strdup(as) : NULL;
	if (!q->cls || (as && !q->as))
		return aoi_error_set(c->err, AOI_ENOMEM, c->name, 0, "out of memory");
	return 0;
}

static int parse_region_rules(pctx *c, aoi_rules *r, const json_t *a)
{
	size_t i;
	json_t *v;
	char idx[32];

	if (!a)
		return 0;
	r->rrules = enter_table(c, "region_rules", a, 1, "must be an array", sizeof *r->rrules);
	if (!r->rrules)
		return -1;
	json_array_foreach(a, i, v) {
		snprintf(idx, sizeof idx, "%zu", i);
		push(c, idx);
		r->nrrules++; /* counted first so that free() sees a partial one */
		if (parse_region_rule(c, r, v, &r->rrules[i]) < 0)
			return -1;
		pop(c);
	}
	pop(c);
	return 0;
}

/* ---- scores ------------------------------------------------------------ */

/* obj.key as a number (*model 0) or the string "model" (*model 1). */
static int number_or_model(pctx *c, const json_t *obj, const char *key, double *out,
			   int *model)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	int rc = 0;

	push(c, key);
	if (s && strcmp(s, "model") == 0)
		*model = 1;
	else if (json_is_number(v) && isfinite(json_number_value(v)))
		*out = json_number_value(v);
	else
		rc = perr(c, "must be a number or \"model\" (the model's pred.threshold)");
	pop(c);
	return rc;
}

static int parse_max_score(pctx *c, aoi_rules *r, const json_t *root)
{
	if (!json_object_get(root, "max_score"))
		return 0;
	r->has_max_score = 1;
	return number_or_model(c, root, "max_score", &r->max_score, &r->max_score_model);
}

static int parse_anomaly(pctx *c, aoi_rules *r, const json_t *v)
{
	static const char *const keys[] = {"threshold", "min_area", NULL};
	int rc = 0;

	if (!v)
		return 0;
	push(c, "anomaly");
	r->anomaly_min_area = 1;
	if (!json_is_object(v))
		rc = perr(c, "must be an object");
	else if (check_keys(c, v, keys) < 0 ||
		 get_count(c, v, "min_area", 1, &r->anomaly_min_area) < 0)
		rc = -1;
	else if (!json_object_get(v, "threshold"))
		rc = perr(c, "needs \"threshold\"");
	else
		rc = number_or_model(c, v, "threshold", &r->anomaly_threshold,
				     &r->anomaly_model);
	pop(c);
	r->has_anomaly = rc == 0;
	return rc;
}

/* ---- placement --------------------------------------------------------- */

/* "truth" (the record's keypoints), {"field": NAME}, or the points. */
static int parse_nominal(pctx *c, aoi_rules *r, const json_t *nom)
{
	const char *f = json_string_value(json_object_get(nom, "field"));
	aoi_error e;
	int rc = 0;

	push(c, "nominal");
	if (json_is_string(nom) && strcmp(json_string_value(nom), "truth") == 0) {
		r->place_truth = 1;
		snprintf(r->place_field, sizeof r->place_field, "keypoints");
	} else if (json_is_object(nom)) {
		r->place_truth = 1;
		if (json_object_size(nom) != 1 || !f || !f[0] ||
		    strlen(f) >= sizeof r->place_field)
			rc = perr(c, "must be {\"field\": \"NAME\"}, a field of the record");
		else
			snprintf(r->place_field, sizeof r->place_field, "%s", f);
	} else {
		r->nnominal = nom ? aoi_keypoints_from_json(nom, r->nominal, MAX_PLACE, &e)
				  : -1;
		if (r->nnominal < 2)
			rc = perr(c, "must be \"truth\", {\"field\": \"NAME\"} or an array of "
				  "2 to %d [x, y] points", MAX_PLACE);
	}
	pop(c);
	return rc;
}

static int parse_placement(pctx *c, aoi_rules *r, const json_t *v)
{
	static const char *const keys[] = {"nominal", "max_offset", "max_rotation", NULL};
	int rc = 0;

	if (!v)
		return 0;
	push(c, "placement");
	if (!json_is_object(v))
		rc = perr(c, "must be an object");
	else if (check_keys(c, v, keys) < 0 ||
		 get_number(c, v, "max_offset", 0, 1e9, &r->max_offset) < 0 ||
		 get_number(c, v, "max_rotation", 0, 180, &r->max_rotation) < 0)
		rc = -1;
	else if (isnan(r->max_offset) && isnan(r->max_rotation))
		rc = perr(c, "needs \"max_offset\" or \"max_rotation\"");
	else
		rc = parse_nominal(c, r, json_object_get(v, "nominal"));
	pop(c);
	r->has_placement = rc == 0;
	return rc;
}

static int parse_top(pctx *c, aoi_rules *r, const json_t *root)
{
	static const char *const keys[] = {"classes",      "default",   "limits",
					   "regions",      "region_rules", "defect_share",
					   "min_prob",     "placement", "max_score",
					   "anomaly",      "comment",   NULL};
	json_t *def = json_object_get(root, "default");

	if (!json_is_object(root))
		return perr(c, "the rules must be a JSON object");
	if (check_keys(c, root, keys) < 0 || parse_known(c, r, json_object_get(root, "classes")) < 0 ||
	    parse_regions(c, r, json_object_get(root, "regions")) < 0 ||
	    parse_region_rules(c, r, json_object_get(root, "region_rules")) < 0 ||
	    parse_limits(c, r, json_object_get(root, "limits")) < 0 ||
	    get_number(c, root, "defect_share", 0, 1, &r->defect_share) < 0 ||
	    get_number(c, root, "min_prob", 0, 1, &r->min_prob) < 0 ||
	    parse_placement(c, r, json_object_get(root, "placement")) < 0 ||
	    parse_max_score(c, r, root) < 0 ||
	    parse_anomaly(c, r, json_object_get(root, "anomaly")) < 0)
		return -1;
	if (def) {
		push(c, "default");
		if (parse_limit(c, def, &r->deflimit) < 0)
			return -1;
		pop(c);
		r->has_default = 1;
	}
	return 0;
}

aoi_rules *aoi_rules_parse(const char *text, size_t len, const char *name,
			   aoi_error *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	aoi_rules *r;
	pctx c = {text, name, {NULL}, 0, err};

	if (!root) {
		aoi_error_set(err, AOI_EFORMAT, name, jerr.line, "malformed JSON: %s (column %d)",
			      jerr.text, jerr.column);
		return NULL;
	}
	r = calloc(1, sizeof *r);
	if (!r) {
		json_decref(root);
		aoi_error_set(err, AOI_ENOMEM, name, 0, "out of memory");
		return NULL;
	}
	aoi_classes_init(&r->known);
	r->defect_share = r->min_prob = r->max_offset = r->max_rotation = NAN;
	if (parse_top(&c, r, root) < 0) {
		json_decref(root);
		aoi_rules_free(r);
		return NULL;
	}
	json_decref(root);
	return r;
}

aoi_rules *aoi_rules_load(const char *path, aoi_error *err)
{
	unsigned char *buf;
	size_t len;
	aoi_rules *r;

	if (aoi_file_read(path, &buf, &len, err) < 0)
		return NULL;
	r = aoi_rules_parse((const char *)buf, len, path, err);
	free(buf);
	return r;
}

void aoi_rules_free(aoi_rules *r)
{
	if (!r)
		return;
	aoi_classes_release(&r->known);
	for (int i = 0; i < r->nlimits; i++)
		free(r->limits[i].cls);
	free(r->limits);
	for (int i = 0; i < r->nregions; i++) {
		free(r->regions[i].name);
		free(r->regions[i].xy);
	}
	free(r->regions);
	for (int i = 0; i < r->nrrules; i++) {
		free(r->rrules[i].cls);
		free(r->rrules[i].as);
	}
	free(r->rrules);
	free(r);
}

/* ---- evaluation -------------------------------------------------------- */

static const rule_limit *limit_for(const aoi_rules *r, const char *cls)
{
	for (int i = 0; i < r->nlimits; i++)
		if (strcmp(r->limits[i].cls, cls) == 0)
			return &r->limits[i];
	return r->has_default ? &r->deflimit : NULL;
}

static int in_polygon(const double *xy, int n, double x, double y, double sx, double sy)
{
	int in = 0;

	for (int i = 0, j = n - 1; i < n; j = i++) {
		double xi = xy[2 * i] * sx, yi = xy[2 * i + 1] * sy;
		double xj = xy[2 * j] * sx, yj = xy[2 * j + 1] * sy;

		if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi)
			in = !in;
	}
	return in;
}

static int in_region(const rule_region *g, double x, double y, int w, int h)
{
	double sx = g->fraction ? w : 1, sy = g->fraction ? h : 1;

	if (g->is_box)
		return x >= g->xy[0] * sx && x < g->xy[2] * sx && y >= g->xy[1] * sy &&
		       y < g->xy[3] * sy;
	return in_polygon(g->xy, g->npoints, x, y, sx, sy);
}

static int rule_matches(const region_rule *q, const char *cls)
{
	return strcmp(q->cls, "*") == 0 || strcmp(q->cls, cls) == 0;
}

/* The name a component is judged under after the region rules, or NULL
 * when it does not count: an "only" rule for its class whose region does
 * not hold its centroid, or a matching "ignore". The first matching ignore
 * or rename wins. */
static const char *judged_name(const aoi_rules *r, const char *cls,
			       const aoi_component *k, int w, int h)
{
	int only = 0, inside_only = 0;

	for (int i = 0; i < r->nrrules; i++) {
		const region_rule *q = &r->rrules[i];

		if (q->action == ACT_ONLY && rule_matches(q, cls)) {
			only = 1;
			inside_only |= in_region(&r->regions[q->region], k->cx, k->cy, w, h);
		}
	}
	if (only && !inside_only)
		return NULL;
	for (int i = 0; i < r->nrrules; i++) {
		const region_rule *q = &r->rrules[i];

		if (q->action == ACT_ONLY || !rule_matches(q, cls) ||
		    !in_region(&r->regions[q->region], k->cx, k->cy, w, h))
			continue;
		return q->action == ACT_IGNORE ? NULL : q->as;
	}
	return cls;
}

/* Per judged class: components that reach min_area, and pixels. */
typedef struct tally {
	const char *cls;
	long count, pixels;
} tally;

typedef struct tallies {
	tally *t;
	int n, cap;
	long pixels; /* all kept defect pixels */
} tallies;

static tally *tally_of(tallies *ts, const char *cls, aoi_error *err)
{
	for (int i = 0; i < ts->n; i++)
		if (strcmp(ts->t[i].cls, cls) == 0)
			return &ts->t[i];
	if (ts->n == ts->cap) {
		int cap = ts->cap ? 2 * ts->cap : 16;
		tally *t = realloc(ts->t, (size_t)cap * sizeof *t);

		if (!t) {
			aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
			return NULL;
		}
		ts->t = t;
		ts->cap = cap;
	}
	ts->t[ts->n] = (tally){cls, 0, 0};
	return &ts->t[ts->n++];
}

static int tally_class(const aoi_rules *r, const aoi_rules_input *in, int k,
		       tallies *ts, aoi_error *err)
{
	const char *cls = in->classes->names[k - 1];
	aoi_component *comps = NULL;
	int n = aoi_components(in->mask, k, &comps, err);

	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const char *name = judged_name(r, cls, &comps[i], in->mask->width,
					       in->mask->height);
		const rule_limit *l;
		tally *t;

		if (!name)
			continue;
		if (!(t = tally_of(ts, name, err))) {
			free(comps);
			return -1;
		}
		l = limit_for(r, name);
		t->count += l && comps[i].area >= l->min_area;
		t->pixels += comps[i].area;
		ts->pixels += comps[i].area;
	}
	free(comps);
	return 0;
}

static int add_reason(json_t *reasons, const char *rule, const char *cls, double value,
		      double limit)
{
	/* counts and areas stay integers in the JSON, measurements are reals */
	int count = strcmp(rule, "min_count") == 0 || strcmp(rule, "anomaly_area") == 0;
	json_t *o = json_pack("{s:s, s:o, s:o, s:o}", "rule", rule, "class",
			      cls ? json_string(cls) : json_null(), "value",
			      count ? json_integer((json_int_t)value) : json_real(value),
			      "limit",
			      count ? json_integer((json_int_t)limit) : json_real(limit));

	return o ? json_array_append_new(reasons, o) : -1;
}

static int judge_tallies(const aoi_rules *r, const tallies *ts, double all,
			 json_t *reasons)
{
	int rc = 0;

	for (int i = 0; i < ts->n; i++) {
		const rule_limit *l = limit_for(r, ts->t[i].cls);
		double share = ts->t[i].pixels / all;

		if (l && ts->t[i].count >= l->min_count)
			rc |= add_reason(reasons, "min_count", ts->t[i].cls,
					 (double)ts->t[i].count, (double)l->min_count);
		if (l && !isnan(l->max_share) && share >= l->max_share)
			rc |= add_reason(reasons, "max_share", ts->t[i].cls, share,
					 l->max_share);
	}
	/* Seed 001: defective when the share of defect pixels reaches the
	 * threshold (>=). */
	if (!isnan(r->defect_share) && ts->pixels / all >= r->defect_share)
		rc |= add_reason(reasons, "defect_share", NULL, ts->pixels / all,
				 r->defect_share);
	return rc;
}

static int judge_mask(const aoi_rules *r, const aoi_rules_input *in, json_t *reasons,
		      aoi_error *err)
{
	size_t n;
	long hist[256] = {0};
	tallies ts = {0};
	int rc = 0;

	if (!in->mask || !in->classes)
		return 0;
	n = (size_t)in->mask->width * (size_t)in->mask->height;
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		hist[in->mask->data[i]]++;
	for (int k = 1; k < 256 && rc == 0; k++) {
		if (!hist[k])
			continue;
		if (k > in->classes->n)
			rc = aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					   "predicted mask has class index %d but only %d "
					   "classes are named", k, in->classes->n);
		else
			rc = tally_class(r, in, k, &ts, err);
	}
	if (rc == 0 && judge_tallies(r, &ts, (double)n, reasons) < 0)
		rc = aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	free(ts.t);
	return rc;
}

static int judge_placement(const aoi_rules *r, const aoi_rules_input *in,
			   json_t *reasons, aoi_error *err)
{
	const double *nom = r->place_truth ? in->truth_keypoints : r->nominal;
	int nn = r->place_truth ? in->ntruth_keypoints : r->nnominal;
	double dx, dy, rot, off;

	if (!r->has_placement)
		return 0;
	if (!in->keypoints)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "the rules judge placement but the record has no "
				     "\"pred\" \"keypoints\"");
	if (!nom)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "the rules take the nominal placement from the "
				     "record's \"%s\", which it lacks", r->place_field);
	if (nn != in->nkeypoints)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%d predicted keypoints but %d nominal ones",
				     in->nkeypoints, nn);
	aoi_placement(nom, in->keypoints, nn, &dx, &dy, &rot);
	off = sqrt(dx * dx + dy * dy);
	if (!isnan(r->max_offset) && off > r->max_offset &&
	    add_reason(reasons, "max_offset", NULL, off, r->max_offset) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (!isnan(r->max_rotation) && fabs(rot) > r->max_rotation &&
	    add_reason(reasons, "max_rotation", NULL, rot, r->max_rotation) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

/* The model's threshold when a rule asks for it, else the rule's own. */
static int limit_of(const aoi_rules_input *in, int model, double own, const char *rule,
		    double *limit, aoi_error *err)
{
	if (model && !in->threshold)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "the rules set %s to \"model\" but the record has no "
				     "\"pred\" \"threshold\"", rule);
	*limit = model ? *in->threshold : own;
	return 0;
}

static int judge_score(const aoi_rules *r, const aoi_rules_input *in, json_t *reasons,
		       aoi_error *err)
{
	double limit = 0;

	if (!r->has_max_score)
		return 0;
	if (!in->score)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "the rules set max_score but the record has no \"pred\" "
				     "\"score\"");
	if (limit_of(in, r->max_score_model, r->max_score, "max_score", &limit, err) < 0)
		return -1;
	if (*in->score > limit && add_reason(reasons, "max_score", NULL, *in->score, limit) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

static int judge_anomaly(const aoi_rules *r, const aoi_rules_input *in, json_t *reasons,
			 aoi_error *err)
{
	double t = 0;
	long largest, count;

	if (!r->has_anomaly)
		return 0;
	if (!in->anomaly)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "the rules judge the anomaly map but the record has no "
				     "\"pred\" \"anomaly\"");
	if (limit_of(in, r->anomaly_model, r->anomaly_threshold, "anomaly.threshold", &t,
		     err) < 0 ||
	    aoi_anomaly_regions(in->anomaly, t, r->anomaly_min_area, &largest, &count, err) < 0)
		return -1;
	if (count > 0 && add_reason(reasons, "anomaly_area", NULL, (double)largest,
				    (double)r->anomaly_min_area) < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return 0;
}

int aoi_rules_eval(const aoi_rules *r, const aoi_rules_input *in, int *reject,
		   json_t **reasons, aoi_error *err)
{
	json_t *out = json_array();

	*reasons = NULL;
	if (!out)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (judge_mask(r, in, out, err) < 0)
		goto fail;
	if (!isnan(r->min_prob)) {
		if (isnan(in->prob)) {
			aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				      "the rules set min_prob but the record has no "
				      "\"pred\" \"prob\"");
			goto fail;
		}
		if (in->prob < r->min_prob &&
		    add_reason(out, "min_prob", NULL, in->prob, r->min_prob) < 0) {
			aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
			goto fail;
		}
	}
	if (judge_placement(r, in, out, err) < 0 || judge_score(r, in, out, err) < 0 ||
	    judge_anomaly(r, in, out, err) < 0)
		goto fail;
	*reject = json_array_size(out) > 0;
	*reasons = out;
	return 0;
fail:
	json_decref(out);
	return -1;
}

/* ---- records ----------------------------------------------------------- */

int aoi_keypoints_from_json(const json_t *a, double *xy, int max, aoi_error *err)
{
	size_t i;
	json_t *p;

	if (!json_is_array(a))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "keypoints must be an array of [x, y]");
	if (json_array_size(a) > (size_t)max)
		return aoi_error_set(err, AOI_ESHAPE, NULL, 0,
				     "%zu keypoints; at most %d are supported",
				     json_array_size(a), max);
	json_array_foreach(a, i, p) {
		if (!json_is_array(p) || json_array_size(p) < 2 ||
		    !json_is_number(json_array_get(p, 0)) ||
		    !json_is_number(json_array_get(p, 1)))
			return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
					     "keypoint %zu is not [x, y]", i);
		xy[2 * i] = json_number_value(json_array_get(p, 0));
		xy[2 * i + 1] = json_number_value(json_array_get(p, 1));
	}
	return (int)json_array_size(a);
}

int aoi_pred_mask(const json_t *rec, const char *base, aoi_classes *classes,
		  aoi_mask *out, aoi_error *err)
{
	json_t *pred = json_object_get(rec, "pred"), *view;
	aoi_classes own;
	int rc;

	if (!json_is_object(pred))
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0, "no \"pred\" object");
	/* The prediction read as a record of its own: same field names, and
	 * the size of the image when it has no mask of its own. */
	view = json_copy(pred);
	if (!view)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	json_object_del(view, "boxes"); /* boxes are judged as boxes, not pixels */
	if (!json_object_get(view, "width") && json_object_get(rec, "width"))
		json_object_set(view, "width", json_object_get(rec, "width"));
	if (!json_object_get(view, "height") && json_object_get(rec, "height"))
		json_object_set(view, "height", json_object_get(rec, "height"));
	aoi_classes_init(&own);
	rc = aoi_classes_from_record(&own, view, err);
	for (int k = 0; rc == 0 && k < own.n; k++)
		if (aoi_classes_add(classes, own.names[k]) < 0)
			rc = aoi_error_set(err, AOI_EINVAL, NULL, 0, "more than %d classes",
					   AOI_MAX_CLASSES);
	aoi_classes_release(&own);
	if (rc == 0)
		rc = aoi_record_mask(view, base, classes, out, err);
	json_decref(view);
	return rc;
}

/* A prediction that says it found defect pixels ("pixels", as aoi-infer
 * writes it) but comes without the mask to measure them: the rules that
 * count components cannot judge it, and accepting it would be wrong. */
static int needs_mask(const aoi_rules *r, const json_t *pred)
{
	const char *key;
	json_t *v;
	int judged = r->nlimits > 0 || r->has_default || !isnan(r->defect_share);

	json_object_foreach((json_t *)json_object_get(pred, "pixels"), key, v)
		if (judged && json_is_number(v) && json_number_value(v) > 0)
			return 1;
	return 0;
}

/* pred.score and pred.threshold when present (numbers, else an error),
 * and pred.anomaly's map when a rule reads it. */
typedef struct score_parts {
	double score, threshold;
	aoi_anomaly anomaly;
} score_parts;

static int read_number(const json_t *pred, const char *key, double *out,
		       const double **in, aoi_error *err)
{
	json_t *v = json_object_get(pred, key);

	if (!v)
		return 0;
	if (!json_is_number(v))
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0, "\"pred\" \"%s\" must be a number",
				     key);
	*out = json_number_value(v);
	*in = out;
	return 0;
}

static int read_scores(const aoi_rules *r, const json_t *pred, const char *base,
		       score_parts *sp, aoi_rules_input *in, aoi_error *err)
{
	int got;

	if (read_number(pred, "score", &sp->score, &in->score, err) < 0 ||
	    read_number(pred, "threshold", &sp->threshold, &in->threshold, err) < 0)
		return -1;
	if (!r->has_anomaly)
		return 0;
	if ((got = aoi_anomaly_read(pred, base, &sp->anomaly, err)) < 0)
		return -1;
	in->anomaly = got ? &sp->anomaly : NULL;
	return 0;
}

int aoi_rules_apply(const aoi_rules *r, json_t *rec, const char *base,
		    aoi_error *err)
{
	json_t *pred = json_object_get(rec, "pred"), *reasons, *masks;
	double kp[2 * MAX_PLACE], tkp[2 * MAX_PLACE];
	aoi_rules_input in = {.prob = NAN};
	aoi_classes classes;
	aoi_mask mask = {0};
	score_parts sp = {0};
	int reject, rc = 0;

	if (!json_is_object(pred))
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "no \"pred\" object (run aoi-infer first)");
	aoi_classes_init(&classes);
	/* An empty "masks" object is a prediction of no defect, whatever the
	 * image's size. */
	masks = json_object_get(pred, "masks");
	if (json_object_get(pred, "mask") ||
	    (masks && (!json_is_object(masks) || json_object_size(masks)))) {
		rc = aoi_pred_mask(rec, base, &classes, &mask, err);
		in.mask = &mask;
		in.classes = &classes;
	} else if (needs_mask(r, pred)) {
		rc = aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				   "\"pred\" counts defect pixels but has no \"mask\" "
				   "(run aoi-infer with --masks DIR)");
	}
	if (rc == 0 && json_is_number(json_object_get(pred, "prob")))
		in.prob = json_number_value(json_object_get(pred, "prob"));
	/* Points are read only for a placement rule: a prediction's other
	 * parts are none of the other rules' business. */
	if (rc == 0 && r->has_placement && json_object_get(pred, "keypoints")) {
		rc = in.nkeypoints = aoi_keypoints_from_json(json_object_get(pred, "keypoints"),
							     kp, MAX_PLACE, err);
		in.keypoints = kp;
	}
	if (rc >= 0 && r->place_truth && json_object_get(rec, r->place_field)) {
		rc = in.ntruth_keypoints = aoi_keypoints_from_json(
			json_object_get(rec, r->place_field), tkp, MAX_PLACE, err);
		in.truth_keypoints = tkp;
	}
	if (rc >= 0)
		rc = read_scores(r, pred, base, &sp, &in, err);
	if (rc >= 0)
		rc = aoi_rules_eval(r, &in, &reject, &reasons, err);
	if (rc >= 0) {
		json_object_set_new(rec, "decision", json_string(reject ? "reject" : "accept"));
		json_object_set_new(rec, "reasons", reasons);
	}
	aoi_anomaly_release(&sp.anomaly);
	aoi_mask_release(&mask);
	aoi_classes_release(&classes);
	return rc < 0 ? -1 : 0;
}
