/* image_png.c: PNG through libpng, decoding straight into the image buffer.
 *
 * libpng reports errors by longjmp. Everything that must survive the jump
 * (the structs, the image being filled) lives in a struct owned by the
 * caller of the function that calls setjmp, so no local variable is
 * modified between setjmp and longjmp and nothing needs `volatile`. */
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "image/image_codec.h"

/* zlib level for writing: 6 is zlib's default balance of size and speed. */
#define PNG_WRITE_LEVEL 6

struct png_job {
	png_structp png;
	png_infop info;
	const char *name;
	char msg[256];
	/* reading from memory */
	const unsigned char *buf;
	size_t len, pos;
	/* writing: to a FILE, or appended to a malloc'd buffer */
	FILE *fp;
	unsigned char *out;
	size_t out_len, out_cap;
	aoi_image img; /* the image being decoded */
	/* 16-bit gray maps: samples being decoded, and 8-bit rows to widen */
	uint16_t *g16;
	uint8_t *g8;
	int gw, gh;
};

static void on_png_error(png_structp png, png_const_charp msg)
{
	struct png_job *job = png_get_error_ptr(png);

	snprintf(job->msg, sizeof job->msg, "%s", msg);
	png_longjmp(png, 1);
}

/* Warnings are about ancillary chunks (colour profiles, text); the pixels
 * are fine, so they are not errors. Real damage to the image data reaches
 * on_png_error. */
static void on_png_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void read_from_memory(png_structp png, png_bytep dst, size_t n)
{
	struct png_job *job = png_get_io_ptr(png);

	if (n > job->len - job->pos)
		png_error(png, "file is truncated");
	memcpy(dst, job->buf + job->pos, n);
	job->pos += n;
}

static void read_from_file(png_structp png, png_bytep dst, size_t n)
{
	struct png_job *job = png_get_io_ptr(png);

	if (fread(dst, 1, n, job->fp) != n)
		png_error(png, "file is truncated");
}

/* Expand everything to 8-bit gray, gray+alpha, RGB or RGBA. */
static void ask_for_8bit(struct png_job *job)
{
	png_structp png = job->png;
	png_infop info = job->info;
	int type = png_get_color_type(png, info);

	if (type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (png_get_valid(png, info, PNG_INFO_tRNS))
		png_set_tRNS_to_alpha(png);
	if (png_get_bit_depth(png, info) == 16)
		png_set_scale_16(png); /* rounds v * 255 / 65535 */
}

/* Drop alpha in place by compositing on black: each pixel shrinks from
 * n + 1 to n samples, so writing never overtakes reading. */
static void composite_on_black(aoi_image *img, int with_alpha)
{
	size_t npix = (size_t)img->width * img->height;
	int n = with_alpha - 1;
	const uint8_t *s = img->data;
	uint8_t *d = img->data;

	for (size_t i = 0; i < npix; i++, s += with_alpha, d += n) {
		unsigned a = s[n];
		for (int c = 0; c < n; c++)
			d[c] = (uint8_t)((s[c] * a + 127) / 255);
	}
	img->channels = n;
	uint8_t *shrunk = realloc(img->data, npix * n);
	if (shrunk)
		img->data = shrunk;
}

/* The read and info structs of job, reading through read_fn. */
static int png_open_read(struct png_job *job, png_rw_ptr read_fn, aoi_error *err)
{
	job->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_png_error,
					  on_png_warning);
	if (job->png)
		job->info = png_create_info_struct(job->png);
	if (!job->png || !job->info) {
		png_destroy_read_struct(&job->png, &job->info, NULL);
		return aoi_error_set(err, AOI_ENOMEM, job->name, 0, "out of memory");
	}
	png_set_read_fn(job->png, job, read_fn);
	return 0;
}

/* The header, its sides held to the limits before libpng allocates for
 * them. Called under the caller's setjmp: libpng's errors jump there. */
static void read_header(struct png_job *job, png_uint_32 *w, png_uint_32 *h)
{
	png_set_user_limits(job->png, AOI_IMAGE_MAX_DIM, AOI_IMAGE_MAX_DIM);
	png_read_info(job->png, job->info);
	*w = png_get_image_width(job->png, job->info);
	*h = png_get_image_height(job->png, job->info);
}

static int png_decode_rows(struct png_job *job)
{
	png_uint_32 w, h;
	int passes;
	size_t stride;

	if (setjmp(png_jmpbuf(job->png)))
		return -1;
	read_header(job, &w, &h);
	ask_for_8bit(job);
	passes = png_set_interlace_handling(job->png);
	png_read_update_info(job->png, job->info);
	int ch = png_get_channels(job->png, job->info);
	if (aoi_image_check_size(w, h, ch, job->name, NULL) != 0)
		png_error(job->png, "image size is beyond the limits");
	if (aoi_image_alloc(&job->img, w, h, ch, NULL) != 0)
		png_error(job->png, "out of memory");
	stride = (size_t)w * ch;
	if (png_get_rowbytes(job->png, job->info) != stride)
		png_error(job->png, "unexpected row layout");
	for (int p = 0; p < passes; p++)
		for (png_uint_32 y = 0; y < h; y++)
			png_read_row(job->png, job->img.data + y * stride, NULL);
	png_read_end(job->png, NULL);
	return 0;
}

int aoi_image_decode_png(const unsigned char *buf, size_t len, const char *name,
			 aoi_image *img, aoi_error *err)
{
	struct png_job job = {.name = name, .buf = buf, .len = len};
	int rc = -1;

	memset(img, 0, sizeof *img);
	if (png_open_read(&job, read_from_memory, err) != 0)
		return -1;
	if (png_decode_rows(&job) == 0) {
		if (job.img.channels == 2 || job.img.channels == 4)
			composite_on_black(&job.img, job.img.channels);
		*img = job.img;
		rc = 0;
	} else {
		aoi_image_release(&job.img);
		aoi_error_set(err, AOI_EFORMAT, name, 0, "corrupt PNG: %s", job.msg);
	}
	png_destroy_read_struct(&job.png, &job.info, NULL);
	return rc;
}

static int png_probe_header(struct png_job *job, int *width, int *height, int *channels)
{
	png_uint_32 w, h;

	if (setjmp(png_jmpbuf(job->png)))
		return -1;
	read_header(job, &w, &h);
	*width = (int)w;
	*height = (int)h;
	*channels = (png_get_color_type(job->png, job->info) & PNG_COLOR_MASK_COLOR) ? 3 : 1;
	return 0;
}

int aoi_image_probe_png(FILE *fp, const char *name, int *width, int *height,
			int *channels, aoi_error *err)
{
	struct png_job job = {.name = name, .fp = fp};
	int w = 0, h = 0, c = 0, rc;

	if (png_open_read(&job, read_from_file, err) != 0)
		return -1;
	rc = png_probe_header(&job, &w, &h, &c);
	png_destroy_read_struct(&job.png, &job.info, NULL);
	if (rc != 0)
		return aoi_error_set(err, AOI_EFORMAT, name, 0, "corrupt PNG: %s", job.msg);
	if (aoi_image_check_size(w, h, c, name, err) != 0)
		return -1;
	*width = w;
	*height = h;
	*channels = c;
	return 0;
}

/* ---- writing ---- */

static void write_to_file(png_structp png, png_bytep src, size_t n)
{
	struct png_job *job = png_get_io_ptr(png);

	if (fwrite(src, 1, n, job->fp) != n)
		png_error(png, "write failed");
}

static void write_to_memory(png_structp png, png_bytep src, size_t n)
{
	struct png_job *job = png_get_io_ptr(png);

	if (n > job->out_cap - job->out_len) {
		size_t cap = job->out_cap ? job->out_cap : 4096;
		while (cap - job->out_len < n)
			cap *= 2;
		unsigned char *p = realloc(job->out, cap);
		if (!p)
			png_error(png, "out of memory");
		job->out = p;
		job->out_cap = cap;
	}
	memcpy(job->out + job->out_len, src, n);
	job->out_len += n;
}

static void flush_nothing(png_structp png)
{
	(void)png;
}

static int png_encode_rows(struct png_job *job, const aoi_image *img)
{
	static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
				     PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
	size_t stride = (size_t)img->width * img->channels;

	if (setjmp(png_jmpbuf(job->png)))
		return -1;
	png_set_IHDR(job->png, job->info, img->width, img->height, 8,
		     types[img->channels], PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(job->png, PNG_WRITE_LEVEL);
	png_write_info(job->png, job->info);
	for (int y = 0; y < img->height; y++)
		png_write_row(job->png, img->data + y * stride);
	png_write_end(job->png, job->info);
	return 0;
}

/* Encode img with the write function chosen by the caller (file or memory). */
static int png_encode(struct png_job *job, const aoi_image *img,
		      png_rw_ptr write_fn, aoi_error *err)
{
	int rc;

	if (aoi_image_check_writable(img, job->name, err) != 0)
		return -1;
	job->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, job, on_png_error,
					   on_png_warning);
	if (job->png)
		job->info = png_create_info_struct(job->png);
	if (!job->png || !job->info) {
		png_destroy_write_struct(&job->png, &job->info);
		return aoi_error_set(err, AOI_ENOMEM, job->name, 0, "out of memory");
	}
	png_set_write_fn(job->png, job, write_fn, flush_nothing);
	rc = png_encode_rows(job, img);
	png_destroy_write_struct(&job->png, &job->info);
	if (rc != 0)
		return aoi_error_set(err, AOI_EIO, job->name, 0, "cannot write PNG: %s",
				     job->msg);
	return 0;
}

int aoi_image_save_png(const char *path, const aoi_image *img, aoi_error *err)
{
	struct png_job job = {.name = path};
	aoi_atomic_file f;

	if (aoi_image_check_writable(img, path, err) != 0)
		return -1;
	if (aoi_atomic_open(&f, path, err) != 0)
		return -1;
	job.fp = f.fp;
	if (png_encode(&job, img, write_to_file, err) != 0) {
		aoi_atomic_abort(&f);
		return -1;
	}
	return aoi_atomic_commit(&f, err);
}

int aoi_image_encode_png(const aoi_image *img, unsigned char **buf, size_t *len,
			 aoi_error *err)
{
	struct png_job job = {.name = "PNG buffer"};

	*buf = NULL;
	*len = 0;
	if (png_encode(&job, img, write_to_memory, err) != 0) {
		free(job.out);
		return -1;
	}
	*buf = job.out;
	*len = job.out_len;
	return 0;
}

/* ---- 16-bit gray maps ---- */

static int host_is_little_endian(void)
{
	const uint16_t one = 1;

	return *(const uint8_t *)&one == 1;
}

/* Gray samples only: 1-, 2- and 4-bit widened to 8, alpha dropped,
 * 16-bit samples in host order. Returns the sample depth (8 or 16). */
static int ask_for_gray(struct png_job *job)
{
	png_structp png = job->png;
	int type = png_get_color_type(png, job->info);
	int depth = png_get_bit_depth(png, job->info);

	if (type & (PNG_COLOR_MASK_COLOR | PNG_COLOR_MASK_PALETTE))
		png_error(png, "not a gray image");
	if (depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (type & PNG_COLOR_MASK_ALPHA)
		png_set_strip_alpha(png);
	if (depth == 16 && host_is_little_endian())
		png_set_swap(png);
	return depth == 16 ? 16 : 8;
}

static int png_decode_gray16(struct png_job *job)
{
	png_uint_32 w, h;
	int passes, depth;

	if (setjmp(png_jmpbuf(job->png)))
		return -1;
	png_set_user_limits(job->png, AOI_IMAGE_MAX_DIM, AOI_IMAGE_MAX_DIM);
	png_read_info(job->png, job->info);
	w = png_get_image_width(job->png, job->info);
	h = png_get_image_height(job->png, job->info);
	depth = ask_for_gray(job);
	passes = png_set_interlace_handling(job->png);
	png_read_update_info(job->png, job->info);
	if (aoi_image_check_size(w, h, 2, job->name, NULL) != 0)
		png_error(job->png, "image size is beyond the limits");
	if (png_get_rowbytes(job->png, job->info) != (size_t)w * depth / 8)
		png_error(job->png, "unexpected row layout");
	job->gw = (int)w;
	job->gh = (int)h;
	job->g16 = malloc((size_t)w * h * sizeof *job->g16);
	job->g8 = depth == 8 ? malloc((size_t)w * h) : NULL;
	if (!job->g16 || (depth == 8 && !job->g8))
		png_error(job->png, "out of memory");
	for (int p = 0; p < passes; p++)
		for (png_uint_32 y = 0; y < h; y++)
			png_read_row(job->png, depth == 8 ? job->g8 + (size_t)y * w
							  : (png_bytep)(job->g16 + (size_t)y * w),
				     NULL);
	png_read_end(job->png, NULL);
	/* v / 255 = v * 257 / 65535 exactly */
	for (size_t i = 0; job->g8 && i < (size_t)w * h; i++)
		job->g16[i] = (uint16_t)(job->g8[i] * 257);
	return 0;
}

int aoi_gray16_alloc(aoi_gray16 *g, int width, int height, aoi_error *err)
{
	memset(g, 0, sizeof *g);
	if (aoi_image_check_size(width, height, 2, NULL, err) != 0)
		return -1;
	g->data = calloc((size_t)width * height, sizeof *g->data);
	if (!g->data)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	g->width = width;
	g->height = height;
	return 0;
}

void aoi_gray16_release(aoi_gray16 *g)
{
	free(g->data);
	memset(g, 0, sizeof *g);
}

int aoi_gray16_load_png(const char *path, aoi_gray16 *g, aoi_error *err)
{
	struct png_job job = {.name = path};
	unsigned char *buf;
	size_t len;
	int rc;

	memset(g, 0, sizeof *g);
	if (aoi_file_read(path, &buf, &len, err) < 0)
		return -1;
	job.buf = buf;
	job.len = len;
	job.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, on_png_error,
					 on_png_warning);
	if (job.png)
		job.info = png_create_info_struct(job.png);
	if (!job.png || !job.info) {
		png_destroy_read_struct(&job.png, &job.info, NULL);
		free(buf);
		return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	}
	png_set_read_fn(job.png, &job, read_from_memory);
	rc = png_decode_gray16(&job);
	png_destroy_read_struct(&job.png, &job.info, NULL);
	free(buf);
	free(job.g8);
	if (rc != 0) {
		free(job.g16);
		return aoi_error_set(err, AOI_EFORMAT, path, 0, "%s%s",
				     strstr(job.msg, "gray") ? "" : "corrupt PNG: ", job.msg);
	}
	*g = (aoi_gray16){job.gw, job.gh, job.g16};
	return 0;
}

static int png_encode_gray16(struct png_job *job, const aoi_gray16 *g)
{
	uint8_t *row = malloc((size_t)g->width * 2);

	if (setjmp(png_jmpbuf(job->png))) {
		free(job->g8);
		return -1;
	}
	job->g8 = row; /* freed above if libpng jumps */
	if (!row)
		png_error(job->png, "out of memory");
	png_set_IHDR(job->png, job->info, g->width, g->height, 16, PNG_COLOR_TYPE_GRAY,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_set_compression_level(job->png, PNG_WRITE_LEVEL);
	png_write_info(job->png, job->info);
	for (int y = 0; y < g->height; y++) {
		const uint16_t *src = g->data + (size_t)y * g->width;

		for (int x = 0; x < g->width; x++) { /* PNG is big-endian */
			row[2 * x] = (uint8_t)(src[x] >> 8);
			row[2 * x + 1] = (uint8_t)(src[x] & 255);
		}
		png_write_row(job->png, row);
	}
	png_write_end(job->png, job->info);
	free(row);
	job->g8 = NULL;
	return 0;
}

int aoi_gray16_save_png(const char *path, const aoi_gray16 *g, aoi_error *err)
{
	struct png_job job = {.name = path};
	aoi_atomic_file f;
	int rc;

	if (!g->data || aoi_image_check_size(g->width, g->height, 2, path, err) != 0)
		return g->data ? -1 : aoi_error_set(err, AOI_EINVAL, path, 0, "empty map");
	if (aoi_atomic_open(&f, path, err) != 0)
		return -1;
	job.fp = f.fp;
	job.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, on_png_error,
					  on_png_warning);
	if (job.png)
		job.info = png_create_info_struct(job.png);
	if (!job.png || !job.info) {
		png_destroy_write_struct(&job.png, &job.info);
		aoi_atomic_abort(&f);
		return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
	}
	png_set_write_fn(job.png, &job, write_to_file, flush_nothing);
	rc = png_encode_gray16(&job, g);
	png_destroy_write_struct(&job.png, &job.info);
	if (rc != 0) {
		aoi_atomic_abort(&f);
		return aoi_error_set(err, AOI_EIO, path, 0, "cannot write PNG: %s", job.msg);
	}
	return aoi_atomic_commit(&f, err);
}
