/* kernels_winograd.c: 3x3 stride-1 convolution by Winograd's F(2x2, 3x3)
 * (Lavin and Gray 2016): each 4x4 input tile becomes 16 values
 * (V = B^T d B), each filter 16 values (U = G g G^T); the 16 products
 * summed over input channels are 16 sgemms (cout x cin) x (cin x tiles),
 * and each 4x4 result gives a 2x2 output (A^T M A). 2.25 times fewer
 * multiplies than direct; worth it when the sgemms are large, i.e. when
 * both channel counts are. */
#include "nn/kernels_winograd.h"

#include <string.h>

#include <cblas.h>

#pragma GCC optimize("fp-contract=fast")

size_t aoi_nn_winograd_filter_floats(int cout, int cin)
{
	return (size_t)16 * cout * cin;
}

/* Tiles per block: V for a block (16 x cin x tb) stays near 8 MB. */
static int tile_block(int cin, int tiles)
{
	int tb = (int)(((size_t)1 << 21) / (16 * (size_t)cin));

	tb = tb < 32 ? 32 : tb;
	return tb > tiles ? tiles : tb;
}

size_t aoi_nn_winograd_work_floats(int cout, int cin, int oh, int ow)
{
	int tiles = ((oh + 1) / 2) * ((ow + 1) / 2), tb = tile_block(cin, tiles);

	return (size_t)16 * tb * (cin + cout);
}

/* U[xi][co][ci] = (G g G^T)[xi] for each 3x3 filter g = w[co][ci]. */
void aoi_nn_winograd_filter(const float *w, int cout, int cin, float *u)
{
	size_t plane = (size_t)cout * cin;

	for (int co = 0; co < cout; co++)
		for (int ci = 0; ci < cin; ci++) {
			const float *g = w + ((size_t)co * cin + ci) * 9;
			float t[4][3], r[4][4];

			for (int j = 0; j < 3; j++) { /* t = G g */
				t[0][j] = g[j];
				t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
				t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
				t[3][j] = g[6 + j];
			}
			for (int i = 0; i < 4; i++) { /* r = t G^T */
				r[i][0] = t[i][0];
				r[i][1] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
				r[i][2] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
				r[i][3] = t[i][2];
			}
			for (int i = 0; i < 16; i++)
				u[i * plane + (size_t)co * cin + ci] = r[i / 4][i % 4];
		}
}

/* The 4x4 input tile at (y0, x0), zero outside the image. */
static void load_tile(const float *x, int h, int w, int y0, int x0, float d[4][4])
{
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++) {
			int y = y0 + i, xx = x0 + j;
			d[i][j] = (y >= 0 && y < h && xx >= 0 && xx < w)
					  ? x[(size_t)y * w + xx] : 0.0f;
		}
}

/* V = B^T d B into v[xi * stride]. */
static void input_transform(float d[4][4], float *v, size_t stride)
{
	float t[4][4];

	for (int j = 0; j < 4; j++) {
		t[0][j] = d[0][j] - d[2][j];
		t[1][j] = d[1][j] + d[2][j];
		t[2][j] = d[2][j] - d[1][j];
		t[3][j] = d[1][j] - d[3][j];
	}
	for (int i = 0; i < 4; i++) {
		v[(i * 4 + 0) * stride] = t[i][0] - t[i][2];
		v[(i * 4 + 1) * stride] = t[i][1] + t[i][2];
		v[(i * 4 + 2) * stride] = t[i][2] - t[i][1];
		v[(i * 4 + 3) * stride] = t[i][1] - t[i][3];
	}
}

/* Y = A^T m A: the 2x2 outputs of one tile from m[xi * stride]. */
static void output_transform(const float *m, size_t stride, float y[2][2])
{
	float t[2][4], q[16];

	for (int i = 0; i < 16; i++)
		q[i] = m[i * stride];
	for (int j = 0; j < 4; j++) {
		t[0][j] = q[j] + q[4 + j] + q[8 + j];
		t[1][j] = q[4 + j] - q[8 + j] - q[12 + j];
	}
	for (int i = 0; i < 2; i++) {
		y[i][0] = t[i][0] + t[i][1] + t[i][2];
		y[i][1] = t[i][1] - t[i][2] - t[i][3];
	}
}

static void transform_block(const float *x, int cin, int h, int w, int p, int tw,
			    int t0, int tb, float *v)
{
	size_t stride = (size_t)cin * tb;

#pragma omp parallel for schedule(static)
	for (int ci = 0; ci < cin; ci++)
		for (int t = 0; t < tb; t++) {
			float d[4][4];
			int ty = (t0 + t) / tw, tx = (t0 + t) % tw;

			load_tile(x + (size_t)ci * h * w, h, w, 2 * ty - p, 2 * tx - p, d);
			input_transform(d, v + (size_t)ci * tb + t, stride);
		}
}

/* The 2x2 outputs of a block of tiles; bias and activation are the
 * caller's, in one pass afterwards. */
static void store_block(const float *m, float *y, int cout, int oh, int ow,
			int tw, int t0, int tb)
{
	size_t stride = (size_t)cout * tb;

#pragma omp parallel for schedule(static)
	for (int co = 0; co < cout; co++) {
		float *yc = y + (size_t)co * oh * ow;

		for (int t = 0; t < tb; t++) {
			float r[2][2];
			int ty = (t0 + t) / tw, tx = (t0 + t) % tw;

			output_transform(m + (size_t)co * tb + t, stride, r);
			for (int i = 0; i < 2 && 2 * ty + i < oh; i++)
				for (int j = 0; j < 2 && 2 * tx + j < ow; j++)
					yc[(size_t)(2 * ty + i) * ow + 2 * tx + j] = r[i][j];
		}
	}
}

void aoi_nn_winograd_conv(const float *x, int cin, int h, int w, int p,
			  const float *u, float *y, int cout, int oh, int ow, float *work)
{
	int th = (oh + 1) / 2, tw = (ow + 1) / 2, tiles = th * tw;
	int tb = tile_block(cin, tiles);
	size_t uplane = (size_t)cout * cin;

	for (int t0 = 0; t0 < tiles; t0 += tb) {
		int n = tiles - t0 < tb ? tiles - t0 : tb;
		float *v = work, *m = work + (size_t)16 * cin * n;

		transform_block(x, cin, h, w, p, tw, t0, n, v);
		for (int xi = 0; xi < 16; xi++)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cout, n,
				    cin, 1.0f, u + xi * uplane, cin,
				    v + (size_t)xi * cin * n, n, 0.0f,
				    m + (size_t)xi * cout * n, n);
		store_block(m, y, cout, oh, ow, tw, t0, n);
	}
}
