/* report_files.c: a record's pictures in the report's folders. Images go
 * in as they are when the browser reads their format (PNG, JPEG), else as
 * PNG; thumbnails and coloured heatmaps as whichever of PNG and JPEG is
 * smaller. PNG wins on drawn or binary pictures of few colours, JPEG on
 * photographs; a picture of more than FEW_COLOURS colours is not tried as
 * PNG, whose encoding costs ten times JPEG's (nine tenths of a report's
 * time when it was always tried). */
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "report/report_impl.h"

#define THUMB_JPEG_QUALITY 85
#define FEW_COLOURS 1024

int report_write_file(const report_ctx *c, const char *rel, const void *buf, size_t len,
		      aoi_error *err)
{
	char path[4096];
	aoi_atomic_file f;

	if (aoi_path_join(path, sizeof path, c->dir, rel) != 0)
		return aoi_error_set(err, AOI_EINVAL, c->dir, 0, "path too long");
	if (aoi_atomic_open(&f, path, err) != 0)
		return -1;
	f.no_sync = 1;
	if (len && fwrite(buf, 1, len, f.fp) != len) {
		aoi_atomic_abort(&f);
		return aoi_error_errno(err, path, "write");
	}
	return aoi_atomic_commit(&f, err);
}

/* 3 channels, whatever src has. */
static int to_rgb(aoi_image *img, aoi_error *err)
{
	aoi_image rgb = { 0 };

	if (img->channels == 3)
		return 0;
	if (aoi_image_convert(img, &rgb, 3, err) != 0)
		return -1;
	aoi_image_release(img);
	*img = rgb;
	return 0;
}

/* The image file src into folder/stem.EXT (rel), decoded into img (RGB)
 * unless img is NULL (a PNG or JPEG is then only copied). */
static int copy_image(const report_ctx *c, const char *src, const char *folder,
		      const char *stem, char *rel, size_t size, aoi_image *img,
		      aoi_error *err)
{
	unsigned char *buf = NULL, *png = NULL;
	size_t len = 0, plen = 0;
	enum aoi_image_format f;
	aoi_image own = { 0 }, *dec = img ? img : &own;
	int rc = -1;

	if (aoi_file_read(src, &buf, &len, err) != 0)
		goto done;
	f = aoi_image_sniff(buf, len);
	if ((img || (f != AOI_FORMAT_PNG && f != AOI_FORMAT_JPEG)) &&
	    aoi_image_decode(buf, len, src, dec, err) != 0)
		goto done;
	snprintf(rel, size, "%s/%s.%s", folder, stem, f == AOI_FORMAT_JPEG ? "jpg" : "png");
	if (f == AOI_FORMAT_PNG || f == AOI_FORMAT_JPEG)
		rc = report_write_file(c, rel, buf, len, err);
	else if (aoi_image_encode_png(dec, &png, &plen, err) == 0)
		rc = report_write_file(c, rel, png, plen, err);
	if (rc == 0 && img)
		rc = to_rgb(img, err);
done:
	free(buf);
	free(png);
	aoi_image_release(&own);
	if (rc != 0 && img)
		aoi_image_release(img);
	return rc;
}

static int copy_field(const report_ctx *c, const json_t *obj, const char *key,
		      const char *folder, const char *stem, char *rel, size_t size,
		      aoi_image *img, aoi_error *err)
{
	char path[4096];

	if (aoi_record_path(obj, key, c->recs.base, path, sizeof path) != 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "'%s': no path, or too long", key);
	return copy_image(c, path, folder, stem, rel, size, img, err);
}

/* At most `limit` distinct colours in a 3-channel image? (An open-addressing
 * set of 24-bit colours, 4 * limit slots.) */
static int few_colours(const aoi_image *img, int limit)
{
	enum { SLOTS = 4 * FEW_COLOURS };
	uint32_t set[SLOTS];
	size_t n = (size_t)img->width * img->height;
	int count = 0;

	memset(set, 0xff, sizeof set);
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = img->data + 3 * i;
		uint32_t c = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
		uint32_t h = (c * 2654435761u) % SLOTS;

		while (set[h] != 0xffffffffu && set[h] != c)
			h = (h + 1) % SLOTS;
		if (set[h] == c)
			continue;
		if (++count > limit)
			return 0;
		set[h] = c;
	}
	return 1;
}

/* The smaller of PNG and JPEG (PNG tried only for few colours) into
 * folder/NAME.EXT, its name in rel. */
static int save_smaller(const report_ctx *c, const aoi_image *img, const char *folder,
			const char *name, char *rel, size_t size, aoi_error *err)
{
	unsigned char *png = NULL, *jpg = NULL;
	size_t plen = 0, jlen = 0;
	int rc = -1, use_jpg;

	if (aoi_image_encode_jpeg(img, THUMB_JPEG_QUALITY, &jpg, &jlen, err) == 0 &&
	    (!few_colours(img, FEW_COLOURS) || aoi_image_encode_png(img, &png, &plen, err) == 0)) {
		use_jpg = !png || jlen < plen;
		snprintf(rel, size, "%s/%s.%s", folder, name, use_jpg ? "jpg" : "png");
		rc = report_write_file(c, rel, use_jpg ? jpg : png, use_jpg ? jlen : plen, err);
	}
	free(png);
	free(jpg);
	return rc;
}

/* pred.anomaly {"map": PATH, "scale": S} coloured into heat/NAME.png. */
static int anomaly_heat(const report_ctx *c, report_item *it, const json_t *pred,
			aoi_image *heat, aoi_error *err)
{
	const json_t *anomaly = json_object_get(pred, "anomaly");
	aoi_image map = { 0 };
	char path[4096];
	int rc = -1;

	if (aoi_record_path(anomaly, "map", c->recs.base, path, sizeof path) != 0)
		return aoi_error_set(err, AOI_EFORMAT, NULL, 0,
				     "pred.anomaly needs \"map\": the path of a PNG");
	if (aoi_image_load(path, &map, err) == 0 &&
	    report_heat_colour(&map, aoi_record_num(pred, "threshold", 0),
			       aoi_record_num(anomaly, "scale", 0), heat, err) == 0)
		rc = save_smaller(c, heat, "heat", it->name, it->heat, sizeof it->heat, err);
	aoi_image_release(&map);
	return rc;
}

static int heat_file(const report_ctx *c, report_item *it, aoi_image *heat, aoi_error *err)
{
	const json_t *pred = json_object_get(it->rec, "pred");

	if (json_object_get(pred, "heatmap"))
		return copy_field(c, pred, "heatmap", "heat", it->name, it->heat,
				  sizeof it->heat, heat, err);
	if (json_object_get(pred, "anomaly"))
		return anomaly_heat(c, it, pred, heat, err);
	return 0;
}

int report_item_files(const report_ctx *c, report_item *it, const report_masks *m,
		      aoi_error *err)
{
	aoi_image img = { 0 }, heat = { 0 }, thumb = { 0 };
	char stem[200];
	int rc = -1;

	snprintf(stem, sizeof stem, "%s-t", it->name);
	if (copy_field(c, it->rec, "image", "full", it->name, it->full, sizeof it->full, &img,
		       err) != 0 ||
	    (json_object_get(it->rec, "template") &&
	     copy_field(c, it->rec, "template", "full", stem, it->tmpl, sizeof it->tmpl,
			NULL, err) != 0) ||
	    heat_file(c, it, &heat, err) != 0)
		goto done;
	if (img.width != it->width || img.height != it->height) {
		aoi_error_set(err, AOI_ESHAPE, NULL, 0, "the image is %dx%d but the record says %dx%d",
			      img.width, img.height, it->width, it->height);
		goto done;
	}
	if (report_thumb_draw(c, it, &img, m, heat.data ? &heat : NULL, &thumb, err) == 0)
		rc = save_smaller(c, &thumb, "thumbs", it->name, it->thumb, sizeof it->thumb, err);
done:
	aoi_image_release(&img);
	aoi_image_release(&heat);
	aoi_image_release(&thumb);
	return rc;
}
