/* import_dirs.c: two directory layouts: images with same-stem mask files
 * (KolektorSDD, MVTec AD, most in-house data), and one folder per class
 * (PlantVillage). */
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
static int find_mask(const char *masks, const char *stem, char *out, size_t size)
{
	static const char *const suffix[] = { ".png", "_mask.png", "_label.png", "_GT.png",
					      ".bmp", "_label.bmp" };

	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++)
		if (snprintf(out, size, "%s/%s%s", masks, stem, suffix[i]) < (int)size &&
		    aoi_path_exists(out))
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

static int add_mask(json_t *rec, const char *path, const aoi_classes *cls,
		    aoi_error *err)
{
	aoi_mask m = { 0 };
	int w = (int)aoi_record_num(rec, "width", 0), h = (int)aoi_record_num(rec, "height", 0);
	int rc = -1;

	if (load_mask_file(path, &m, err) != 0)
		return -1;
	if (m.width != w || m.height != h) {
		aoi_error_set(err, AOI_ESHAPE, path, 0, "mask is %dx%d, its image %dx%d",
			      m.width, m.height, w, h);
		goto done;
	}
	for (size_t i = 0; i < (size_t)w * h; i++) {
		if (cls->n == 1 && m.data[i])
			m.data[i] = 1; /* 255, 1, anything: a binary mask */
		else if (m.data[i] > cls->n) {
			aoi_error_set(err, AOI_EFORMAT, path, 0,
				      "mask value %d but only %d classes (give --classes)",
				      m.data[i], cls->n);
			goto done;
		}
	}
	json_object_set_new(rec, "label", json_string(aoi_mask_count(&m, -1) ? "defective"
									     : "good"));
	rc = aoi_mask_count(&m, -1) ? aoi_record_set_masks(rec, &m, cls, err) : 0;
done:
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
			bad = find_mask(o->masks, stem, mask, sizeof mask) &&
			      add_mask(rec, mask, &cls, err) != 0;
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

/* The images of one class folder. */
static int import_class(const char *dir, const char *label, const char *split,
			json_t *ids, json_t *out, aoi_error *err)
{
	json_t *files = aoi_import_list_dir(dir, 0, err), *f;
	char image[4096], stem[1024], id[2200];
	size_t i;

	if (!files)
		return -1;
	json_array_foreach(files, i, f) {
		aoi_path_join(image, sizeof image, dir, json_string_value(f));
		aoi_path_stem(stem, sizeof stem, json_string_value(f));
		snprintf(id, sizeof id, "%s", stem);
		if (json_object_get(ids, id))
			snprintf(id, sizeof id, "%s%s%s/%s", split ? split : "", split ? "/" : "",
				 label, stem);
		json_t *rec = aoi_import_record(id, image, err);
		if (!rec) {
			json_decref(files);
			return -1;
		}
		json_object_set_new(rec, "label", json_string(label));
		if (split)
			json_object_set_new(rec, "split", json_string(
				strcmp(split, "train") && strcmp(split, "test") ? "val" : split));
		json_object_set_new(rec, "source", json_string("class-dirs"));
		json_object_set_new(ids, id, json_true());
		json_array_append_new(out, rec);
	}
	json_decref(files);
	return 0;
}

/* The class folders under dir (a split folder or the top). */
static int import_classes(const char *dir, const char *split, json_t *ids, json_t *out,
			  aoi_error *err)
{
	json_t *classes = aoi_import_list_dir(dir, 1, err), *c;
	char path[4096];
	size_t i;
	int rc = classes ? 0 : -1;

	json_array_foreach(classes, i, c) {
		const char *label = json_string_value(c);
		if (rc == 0 && (aoi_path_join(path, sizeof path, dir, label) != 0 ||
				import_class(path, label, split, ids, out, err) != 0))
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
					import_classes(path, json_string_value(s), ids, out,
						       err) != 0))
				rc = -1;
	} else {
		rc = import_classes(prefix, NULL, ids, out, err);
	}
	if (rc == 0 && json_array_size(out) == 0)
		rc = aoi_error_set(err, AOI_ENOTFOUND, dir, 0,
				   "no images in class folders (DIR/CLASS/*.png)");
	json_decref(ids);
	json_decref(subs);
	if (rc != 0) {
		json_decref(out);
		return NULL;
	}
	return out;
}
