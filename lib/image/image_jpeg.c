/* image_jpeg.c: JPEG through libjpeg-turbo.
 *
 * libjpeg only warns about a truncated file ("Premature end of JPEG file",
 * then it pads with gray) and about corrupt entropy data; aoi treats those
 * warnings as errors, because a half-gray image fed to training or
 * inspection is worse than a clear refusal. Errors leave by longjmp; the
 * state that must survive it lives in a struct the caller owns, so no local
 * variable changes between setjmp and longjmp. */
#include <stdio.h>

#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "image/image_codec.h"

/* Rows handed to jpeg_read_scanlines per call. */
#define JPEG_ROWS_PER_CALL 16

struct jpeg_fail {
	struct jpeg_error_mgr mgr; /* first, so cinfo->err points at the whole */
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
};

static void on_jpeg_error(j_common_ptr cinfo)
{
	struct jpeg_fail *fail = (struct jpeg_fail *)cinfo->err;

	cinfo->err->format_message(cinfo, fail->msg);
	longjmp(fail->jump, 1);
}

/* Warnings that do not touch the pixels stay warnings. */
static int harmless_warning(int code)
{
	return code == JWRN_ADOBE_XFORM || code == JWRN_JFIF_MAJOR ||
	       code == JWRN_BOGUS_ICC || code == JWRN_NOT_SEQUENTIAL;
}

static void on_jpeg_message(j_common_ptr cinfo, int level)
{
	if (level < 0 && !harmless_warning(cinfo->err->msg_code))
		on_jpeg_error(cinfo);
	/* trace messages (level >= 0) and harmless warnings: ignored */
}

static void setup_errors(struct jpeg_fail *fail, j_common_ptr cinfo)
{
	cinfo->err = jpeg_std_error(&fail->mgr);
	fail->mgr.error_exit = on_jpeg_error;
	fail->mgr.emit_message = on_jpeg_message;
	fail->msg[0] = '\0';
}

/* Output colour space and channels for a source colour space; 0 when aoi
 * does not read it. */
static int output_channels(struct jpeg_decompress_struct *cinfo)
{
	switch (cinfo->jpeg_color_space) {
	case JCS_GRAYSCALE:
		cinfo->out_color_space = JCS_GRAYSCALE;
		return 1;
	case JCS_YCbCr:
	case JCS_RGB:
		cinfo->out_color_space = JCS_RGB;
		return 3;
	default:
		return 0;
	}
}

struct jpeg_read_job {
	struct jpeg_decompress_struct cinfo;
	struct jpeg_fail fail;
	const char *name;
	aoi_error *err;
	aoi_image img;
};

static int jpeg_decode_rows(struct jpeg_read_job *job, const unsigned char *buf,
			    size_t len)
{
	struct jpeg_decompress_struct *cinfo = &job->cinfo;
	JSAMPROW rows[JPEG_ROWS_PER_CALL];
	int ch;
	size_t stride;

	if (setjmp(job->fail.jump))
		return aoi_error_set(job->err, AOI_EFORMAT, job->name, 0,
				     "corrupt JPEG: %s", job->fail.msg);
	jpeg_create_decompress(cinfo);
	jpeg_mem_src(cinfo, buf, (unsigned long)len);
	jpeg_read_header(cinfo, TRUE);
	ch = output_channels(cinfo);
	if (ch == 0)
		return aoi_error_set(job->err, AOI_EFORMAT, job->name, 0,
				     "unsupported JPEG colour space (CMYK?)");
	if (aoi_image_check_size(cinfo->image_width, cinfo->image_height, ch,
				 job->name, job->err) != 0)
		return -1;
	jpeg_start_decompress(cinfo);
	if (aoi_image_alloc(&job->img, cinfo->output_width, cinfo->output_height,
			    ch, job->err) != 0)
		return -1;
	stride = (size_t)cinfo->output_width * ch;
	while (cinfo->output_scanline < cinfo->output_height) {
		JDIMENSION y = cinfo->output_scanline;
		JDIMENSION n = cinfo->output_height - y;
		if (n > JPEG_ROWS_PER_CALL)
			n = JPEG_ROWS_PER_CALL;
		for (JDIMENSION k = 0; k < n; k++)
			rows[k] = job->img.data + (y + k) * stride;
		if (jpeg_read_scanlines(cinfo, rows, n) == 0)
			return aoi_error_set(job->err, AOI_EFORMAT, job->name, 0,
					     "corrupt JPEG: no progress decoding");
	}
	jpeg_finish_decompress(cinfo);
	return 0;
}

int aoi_image_decode_jpeg(const unsigned char *buf, size_t len, const char *name,
			  aoi_image *img, aoi_error *err)
{
	struct jpeg_read_job job = {.name = name, .err = err};
	int rc;

	memset(img, 0, sizeof *img);
	setup_errors(&job.fail, (j_common_ptr)&job.cinfo);
	rc = jpeg_decode_rows(&job, buf, len);
	jpeg_destroy_decompress(&job.cinfo);
	if (rc != 0) {
		aoi_image_release(&job.img);
		return -1;
	}
	*img = job.img;
	return 0;
}

static int jpeg_probe_header(struct jpeg_read_job *job, FILE *fp, int *width,
			     int *height, int *channels)
{
	if (setjmp(job->fail.jump))
		return aoi_error_set(job->err, AOI_EFORMAT, job->name, 0,
				     "corrupt JPEG: %s", job->fail.msg);
	jpeg_create_decompress(&job->cinfo);
	jpeg_stdio_src(&job->cinfo, fp);
	jpeg_read_header(&job->cinfo, TRUE);
	*channels = output_channels(&job->cinfo);
	if (*channels == 0)
		return aoi_error_set(job->err, AOI_EFORMAT, job->name, 0,
				     "unsupported JPEG colour space (CMYK?)");
	*width = (int)job->cinfo.image_width;
	*height = (int)job->cinfo.image_height;
	return aoi_image_check_size(job->cinfo.image_width, job->cinfo.image_height,
				    *channels, job->name, job->err);
}

int aoi_image_probe_jpeg(FILE *fp, const char *name, int *width, int *height,
			 int *channels, aoi_error *err)
{
	struct jpeg_read_job job = {.name = name, .err = err};
	int w = 0, h = 0, c = 0, rc;

	setup_errors(&job.fail, (j_common_ptr)&job.cinfo);
	rc = jpeg_probe_header(&job, fp, &w, &h, &c);
	jpeg_destroy_decompress(&job.cinfo);
	if (rc != 0)
		return -1;
	*width = w;
	*height = h;
	*channels = c;
	return 0;
}

/* ---- writing ---- */

struct jpeg_write_job {
	struct jpeg_compress_struct cinfo;
	struct jpeg_fail fail;
	/* the memory destination's buffer (libjpeg mallocs and grows it) */
	unsigned char *mem;
	unsigned long mem_len;
};

/* Into fp, or into job->mem when fp is NULL. */
static int jpeg_encode_rows(struct jpeg_write_job *job, const aoi_image *img,
			    int quality, FILE *fp)
{
	struct jpeg_compress_struct *cinfo = &job->cinfo;
	size_t stride = (size_t)img->width * img->channels;

	if (setjmp(job->fail.jump))
		return -1;
	jpeg_create_compress(cinfo);
	if (fp)
		jpeg_stdio_dest(cinfo, fp);
	else
		jpeg_mem_dest(cinfo, &job->mem, &job->mem_len);
	cinfo->image_width = img->width;
	cinfo->image_height = img->height;
	cinfo->input_components = img->channels;
	cinfo->in_color_space = img->channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
	jpeg_set_defaults(cinfo);
	jpeg_set_quality(cinfo, quality, TRUE);
	jpeg_start_compress(cinfo, TRUE);
	while (cinfo->next_scanline < cinfo->image_height) {
		JSAMPROW row = img->data + cinfo->next_scanline * stride;
		jpeg_write_scanlines(cinfo, &row, 1);
	}
	jpeg_finish_compress(cinfo);
	return 0;
}

static int jpeg_writable(const aoi_image *img, int quality, const char *name,
			 aoi_error *err)
{
	if (aoi_image_check_writable(img, name, err) != 0)
		return -1;
	if (img->channels != 1 && img->channels != 3)
		return aoi_error_set(err, AOI_EINVAL, name, 0,
				     "JPEG needs 1 or 3 channels, not %d", img->channels);
	if (quality < 1 || quality > 100)
		return aoi_error_set(err, AOI_EINVAL, name, 0,
				     "JPEG quality %d is not in 1..100", quality);
	return 0;
}

int aoi_image_encode_jpeg(const aoi_image *img, int quality, unsigned char **buf,
			  size_t *len, aoi_error *err)
{
	struct jpeg_write_job job;
	int rc;

	*buf = NULL;
	*len = 0;
	if (jpeg_writable(img, quality, "JPEG buffer", err) != 0)
		return -1;
	memset(&job, 0, sizeof job);
	setup_errors(&job.fail, (j_common_ptr)&job.cinfo);
	rc = jpeg_encode_rows(&job, img, quality, NULL);
	jpeg_destroy_compress(&job.cinfo);
	if (rc != 0) {
		free(job.mem);
		return aoi_error_set(err, AOI_EIO, "JPEG buffer", 0, "cannot encode JPEG: %s",
				     job.fail.msg);
	}
	*buf = job.mem;
	*len = job.mem_len;
	return 0;
}

int aoi_image_save_jpeg(const char *path, const aoi_image *img, int quality,
			aoi_error *err)
{
	struct jpeg_write_job job;
	aoi_atomic_file f;
	int rc;

	if (jpeg_writable(img, quality, path, err) != 0)
		return -1;
	if (aoi_atomic_open(&f, path, err) != 0)
		return -1;
	memset(&job, 0, sizeof job);
	setup_errors(&job.fail, (j_common_ptr)&job.cinfo);
	rc = jpeg_encode_rows(&job, img, quality, f.fp);
	jpeg_destroy_compress(&job.cinfo);
	if (rc != 0) {
		aoi_atomic_abort(&f);
		return aoi_error_set(err, AOI_EIO, path, 0, "cannot write JPEG: %s",
				     job.fail.msg);
	}
	return aoi_atomic_commit(&f, err);
}
