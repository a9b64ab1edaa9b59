/* import_dirs.c: two directory layouts: images with same-stem mask files
 * (KolektorSDD, MVTec AD, most in-house data), and one folder per class
 * (PlantVillage; magnetic-tile, whose masks sit beside the images). */
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "data/record.h"
#include "formats/import.h"
#include "image/image.h"

/* Class names: --classes, else masks/classes.txt, else one class "defect". */
static int mask_classes(const aoi_import_opts *o, aoi_classes *cls, aoi_error *err)
{
	char path[4096], *cursor, *l;
	unsigned char *text = NULL;
	size_t len;

	aoi_path_join(path, sizeof path, o->masks, "classes.txt");
	if (!o->classes && aoi_path_exists(path) && aoi_file_read(path, &text, &len, err) != 0)
		return -1;
	cursor = text ? (char *)text : (char *)(o->classes ? o->classes : "defect");
	cursor = strdup(cursor);
	free(text);
	text = (unsigned char *)cursor;
	while (cursor && (l = aoi_import_next_line(&cursor)) != NULL)
		for (char *name = strtok(l, ","); name; name = strtok(NULL, ","))
			if ((name += strspn(name, " \t"))[0] && aoi_classes_add(cls, name) < 0)
				break;
	free(text);
	if (cls->n == 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "no class names");
	return 0;
}

/* The mask file of an image stem, if there is one (the names MVTec AD,
 * KolektorSDD and KolektorSDD2 give them). */
static const char *const mask_suffix[] = { ".png", "_mask.png", "_label.png", "_GT.png",
					   ".bmp", "_label.bmp" };
#define NSUFFIX (sizeof mask_suffix / sizeof mask_suffix[0])

static int find_mask(const char *masks, const char *stem, const char *image, char *out,
		     size_t size)
{
	for (size_t i = 0; i < NSUFFIX; i++)
		if (snprintf(out, size, "%s/%s%s", masks, stem, mask_suffix[i]) < (int)size &&
		    strcmp(out, image) != 0 && aoi_path_exists(out))
			return 1;
	return 0;
}

/* A single-channel PNG as it is (class indices); anything else the image
 * loader reads (BMP, RGB PNG) by its largest channel, as a binary mask. */
static int load_mask_file(const char *path, aoi_mask *m, aoi_error *err)
{
	aoi_image img = { 0 };

	if (aoi_mask_load_png(path, m, err) == 0)
		return 0;
	aoi_error_clear(err);
	if (aoi_image_load(path, &img, err) != 0 ||
	    aoi_mask_alloc(m, img.width, img.height, err) != 0) {
		aoi_image_release(&img);
		return -1;
	}
	for (size_t i = 0; i < (size_t)img.width * img.height; i++)
		for (int c = 0; c < img.channels; c++)
			if (img.data[i * img.channels + c] > m->data[i])
				m->data[i] = img.data[i * img.channels + c];
	aoi_image_release(&img);
	return 0;
}

/* Where a binary mask is cut: the threshold given, else 128 when the mask
 * has values above 127 (0/255 masks, whose soft edges and stray low
 * values are not defects), else 1 (0/1 masks). */
static int mask_cut(const aoi_mask *m, int threshold)
{
	if (threshold > 0)
		return threshold;
	for (size_t i = 0; i < (size_t)m->width * m->height; i++)
		if (m->data[i] >= 128)
			return 128;
	return 1;
}

/* The mask file of rec as class indices of its image's size: with one
 * class a binary mask cut at the threshold, else indices checked. */
static int read_mask(const json_t *rec, const char *path, const aoi_classes *cls,
		     int threshold, aoi_mask *m, aoi_error *err)
{
	int w = (int)aoi_record_num(rec, "width", 0), h = (int)aoi_record_num(rec, "height", 0);

	if (load_mask_file(path, m, err) != 0)
		return -1;
	if (m->width != w || m->height != h)
		return aoi_error_set(err, AOI_ESHAPE, path, 0, "mask is %dx%d, its image %dx%d",
				     m->width, m->height, w, h);
	int cut = mask_cut(m, threshold);
	for (size_t i = 0; i < (size_t)w * h; i++) {
		if (cls->n == 1)
			m->data[i] = m->data[i] >= cut;
		else if (m->data[i] > cls->n)
			return aoi_error_set(err, AOI_EFORMAT, path, 0,
					     "mask value %d but only %d classes (give --classes)",
					     m->data[i], cls->n);
	}
	return 0;
}

static int add_mask(json_t *rec, const char *path, const aoi_classes *cls, int threshold,
		    aoi_error *err)
{
	aoi_mask m = { 0 };
	int rc = read_mask(rec, path, cls, threshold, &m, err);

	if (rc == 0) {
		json_object_set_new(rec, "label", json_string(aoi_mask_count(&m, -1) ? "defective"
										      : "good"));
		rc = aoi_mask_count(&m, -1) ? aoi_record_set_masks(rec, &m, cls, err) : 0;
	}
	aoi_mask_release(&m);
	return rc;
}

json_t *aoi_import_mask_dir(const aoi_import_opts *o, aoi_error *err)
{
	char images[4096], image[4096], mask[4096], stem[1024];
	aoi_classes cls;
	json_t *files = NULL, *out = NULL, *f;
	size_t i;

	aoi_classes_init(&cls);
	if (!o->images || !o->masks) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "mask-dir needs --images and --masks");
		goto done;
	}
	if (!aoi_path_is_dir(o->masks)) {
		aoi_error_set(err, AOI_ENOTFOUND, o->masks, 0, "not a directory");
		goto done;
	}
	if (aoi_import_prefix(o->images, o->absolute, images, sizeof images, err) != 0 ||
	    mask_classes(o, &cls, err) != 0 || !(files = aoi_import_list_dir(images, 0, err)))
		goto done;
	out = json_array();
	json_array_foreach(files, i, f) {
		aoi_path_join(image, sizeof image, images, json_string_value(f));
		aoi_path_stem(stem, sizeof stem, json_string_value(f));
		json_t *rec = aoi_import_record(stem, image, err);
		int bad = !rec;
		if (rec) {
			json_object_set_new(rec, "label", json_string("good"));
			json_object_set_new(rec, "source", json_string("mask-dir"));
			json_object_set_new(rec, "classes", aoi_classes_to_json(&cls));
			bad = find_mask(o->masks, stem, image, mask, sizeof mask) &&
			      add_mask(rec, mask, &cls, o->mask_threshold, err) != 0;
		}
		if (bad) {
			json_decref(rec);
			json_decref(out);
			out = NULL;
			break;
		}
		json_array_append_new(out, rec);
	}
done:
	json_decref(files);
	aoi_classes_release(&cls);
	return out;
}

static int is_split_dir(const char *name)
{
	static const char *const splits[] = { "train", "val", "valid", "validation", "test" };

	for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++)
		if (strcmp(name, splits[i]) == 0)
			return 1;
	return 0;
}

/* Is file name f the mask of another image of the folder (NAME.png or
 * NAME_mask.png beside NAME.jpg, and the other names of find_mask)? Of
 * NAME.png and NAME.bmp side by side the PNG is the mask. */
static int is_mask_beside(const json_t *names, const char *f)
{
	static const char *const ext[] = { ".jpg", ".jpeg", ".JPG", ".JPEG",
					   ".png", ".PNG", ".bmp", ".BMP" };
	char other[1024];
	size_t n = strlen(f);

	for (size_t i = 0; i < NSUFFIX; i++) {
		size_t k = strlen(mask_suffix[i]), next = sizeof ext / sizeof ext[0];
		if (n <= k || strcmp(f + n - k, mask_suffix[i]) != 0)
			continue;
		if (!strcmp(mask_suffix[i], ".bmp"))
			next = 4; /* NAME.bmp is a mask beside a JPEG only */
		for (size_t e = 0; e < next; e++)
			if (snprintf(other, sizeof other, "%.*s%s", (int)(n - k), f, ext[e]) <
				    (int)sizeof other &&
			    strcmp(other, f) != 0 && json_object_get(names, other))
				return 1;
	}
	return 0;
}

/* A class folder's import: where it goes and what its masks said. */
typedef struct class_import {
	const aoi_import_opts *o;
	const char *label, *split;
	aoi_classes cls;   /* the one class its masks mark: the folder's name */
	json_t *ids, *out;
} class_import;

/* The mask beside an image, if any, into rec: "beside" records what it
 * held (0 no mask, 1 an empty one, 2 defect pixels) until fix_labels(). */
static int mask_beside(class_import *ci, json_t *rec, const char *dir, const char *stem,
		       const char *image, aoi_error *err)
{
	char path[4096];
	aoi_mask m = { 0 };
	int state = 0, rc = 0;

	if (find_mask(dir, stem, image, path, sizeof path)) {
		rc = read_mask(rec, path, &ci->cls, ci->o->mask_threshold, &m, err);
		state = rc == 0 && aoi_mask_count(&m, -1) ? 2 : 1;
		if (rc == 0 && state == 2) {
			json_object_set_new(rec, "classes", aoi_classes_to_json(&ci->cls));
			rc = aoi_record_set_masks(rec, &m, &ci->cls, err);
		}
	}
	aoi_mask_release(&m);
	json_object_set_new(rec, "beside", json_integer(state));
	return rc;
}

static int import_image(class_import *ci, const char *dir, const char *name,
			aoi_error *err)
{
	char image[4096], stem[1024], id[2200];

	aoi_path_join(image, sizeof image, dir, name);
	aoi_path_stem(stem, sizeof stem, name);
	snprintf(id, sizeof id, "%s", stem);
	if (json_object_get(ci->ids, id))
		snprintf(id, sizeof id, "%s%s%s/%s", ci->split ? ci->split : "",
			 ci->split ? "/" : "", ci->label, stem);
	json_t *rec = aoi_import_record(id, image, err);
	if (!rec)
		return -1;
	json_object_set_new(rec, "label", json_string(ci->label));
	if (ci->split)
		json_object_set_new(rec, "split", json_string(
			strcmp(ci->split, "train") && strcmp(ci->split, "test") ? "val"
										: ci->split));
	json_object_set_new(rec, "source", json_string("class-dirs"));
	json_object_set_new(ci->ids, id, json_true());
	json_array_append_new(ci->out, rec);
	return mask_beside(ci, rec, dir, stem, image, err);
}

/* The images of a class folder and of the folders below it, sorted by
 * name in each; masks beside them are not images. */
static int import_tree(class_import *ci, const char *dir, int depth, aoi_error *err)
{
	json_t *files = aoi_import_list_dir(dir, 0, err), *subs = NULL, *names, *f;
	char path[4096];
	size_t i;
	int rc = files ? 0 : -1;

	if (depth > 16)
		rc = aoi_error_set(err, AOI_EINVAL, dir, 0, "folders nested too deep");
	names = json_object();
	json_array_foreach(files, i, f)
		json_object_set(names, json_string_value(f), json_true());
	json_array_foreach(files, i, f)
		if (rc == 0 && !is_mask_beside(names, json_string_value(f)))
			rc = import_image(ci, dir, json_string_value(f), err);
	if (rc == 0 && !(subs = aoi_import_list_dir(dir, 1, err)))
		rc = -1;
	json_array_foreach(subs, i, f)
		if (rc == 0 && (aoi_path_join(path, sizeof path, dir, json_string_value(f)) != 0 ||
				import_tree(ci, path, depth + 1, err) != 0))
			rc = -1;
	json_decref(names);
	json_decref(files);
	json_decref(subs);
	return rc;
}

static int import_class(const char *dir, const char *label, const char *split,
			const aoi_import_opts *o, json_t *ids, json_t *out, aoi_error *err)
{
	class_import ci = { o, label, split, { 0 }, ids, out };
	int rc;

	aoi_classes_init(&ci.cls);
	rc = aoi_classes_add(&ci.cls, label) < 0 ? -1 : import_tree(&ci, dir, 0, err);
	aoi_classes_release(&ci.cls);
	return rc;
}

/* With masks beside the images, labels say good or defective: a class
 * whose masks mark no pixel anywhere is good, the images of the others
 * are defective whatever their own mask holds (an empty or missing one:
 * the label alone is known, the mask is not). Without masks the folder
 * name stays the label. */
static void fix_labels(json_t *out)
{
	json_t *rec, *defect = json_object();
	size_t i;
	int masks = 0;

	json_array_foreach(out, i, rec) {
		json_int_t state = json_integer_value(json_object_get(rec, "beside"));
		masks |= state > 0;
		if (state == 2)
			json_object_set(defect, aoi_record_str(rec, "label"), json_true());
	}
	json_array_foreach(out, i, rec) {
		const char *label = aoi_record_str(rec, "label");
		int bad = json_object_get(defect, label) != NULL;
		if (masks && bad && !json_object_get(rec, "classes"))
			json_object_set_new(rec, "classes", json_pack("[s]", label));
		if (masks)
			json_object_set_new(rec, "label", json_string(bad ? "defective" : "good"));
		json_object_del(rec, "beside");
	}
	json_decref(defect);
}

/* The class folders under dir (a split folder or the top). */
static int import_classes(const char *dir, const char *split, const aoi_import_opts *o,
			  json_t *ids, json_t *out, aoi_error *err)
{
	json_t *classes = aoi_import_list_dir(dir, 1, err), *c;
	char path[4096];
	size_t i;
	int rc = classes ? 0 : -1;

	json_array_foreach(classes, i, c) {
		const char *label = json_string_value(c);
		if (rc == 0 && (aoi_path_join(path, sizeof path, dir, label) != 0 ||
				import_class(path, label, split, o, ids, out, err) != 0))
			rc = -1;
	}
	json_decref(classes);
	return rc;
}

json_t *aoi_import_class_dirs(const char *dir, const aoi_import_opts *o, aoi_error *err)
{
	char prefix[4096], path[4096];
	json_t *subs, *out, *ids, *s;
	size_t i, nsplit = 0;
	int rc = 0;

	if (aoi_import_prefix(dir, o->absolute, prefix, sizeof prefix, err) != 0 ||
	    !(subs = aoi_import_list_dir(prefix, 1, err)))
		return NULL;
	json_array_foreach(subs, i, s)
		nsplit += is_split_dir(json_string_value(s));
	out = json_array();
	ids = json_object();
	if (nsplit > 0 && nsplit == json_array_size(subs)) {
		json_array_foreach(subs, i, s)
			if (rc == 0 && (aoi_path_join(path, sizeof path, prefix,
						      json_string_value(s)) != 0 ||
					import_classes(path, json_string_value(s), o, ids,
						       out, err) != 0))
				rc = -1;
	} else {
		rc = import_classes(prefix, NULL, o, ids, out, err);
	}
	if (rc == 0 && json_array_size(out) == 0)
		rc = aoi_error_set(err, AOI_ENOTFOUND, dir, 0,
				   "no images in class folders (DIR/CLASS/*.png)");
	if (rc == 0)
		fix_labels(out);
	json_decref(ids);
	json_decref(subs);
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
