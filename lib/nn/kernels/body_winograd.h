/* body_winograd.h, part of one kernel level (isa.h): 3x3 stride-1
 * convolution by Winograd's F(4x4, 3x3) (Lavin and Gray 2016). Each 6x6 input tile becomes 36 values
 * (V = B^T d B), each filter 36 values (U = G g G^T); the 36 products
 * summed over input channels are small matrix products, and each 6x6
 * result gives a 4x4 output (A^T M A): four times fewer multiplies than
 * the direct convolution.
 *
 * The work goes in blocks of 32 tiles, numbered across the whole batch so
 * that small images still fill a block; a thread transforms a block's
 * inputs, multiplies and writes its outputs while they are in its cache.
 * The products run in registers, RB output channels by two vectors of
 * tiles (8 by 32 with AVX-512's 32 registers, 4 by 16 with AVX2's 16),
 * the filters packed 8 channels together (winograd_filter), the inputs
 * laid out [value][channel][tile]. Kernels larger than 3x3 run as
 * their 3x3 windows, each a Winograd convolution of the input shifted by
 * the window's offset, summed.
 *
 * The weight gradient uses the same transforms backwards:
 * dW = G^T [sum over tiles of (A dy A^T) . (B^T d B)] G, the sums being
 * sgemms over chunks of tiles. */
#define TB 32 /* tiles per block */
#define CB 8  /* output channels packed together */
#define NX 36 /* transformed values per tile */
#ifndef SB
#define SB 4  /* blocks a thread multiplies per pass over the filters */
#endif
#define CHUNK_BLOCKS 16 /* weight gradient: tiles per sgemm, in blocks */
/* the register block of the products: RB channels by WV vectors of tiles
 * (accumulators, the tiles' vectors and one broadcast weight fill the
 * register file without spilling) */
#define RB (VW >= 16 ? 8 : 4)
#define WV 2

typedef float v8 __attribute__((vector_size(4 * CB)));

static int round_cb(int c)
{
	return (c + CB - 1) / CB * CB;
}

/* A k x k kernel runs as sides x sides windows of 3x3. */
static int sides(int k)
{
	return (k + 2) / 3;
}

static size_t part_floats(int cout, int cin)
{
	return (size_t)NX * round_cb(cout) * cin;
}

static size_t winograd_filter_floats(int cout, int cin, int k)
{
	return (size_t)sides(k) * sides(k) * part_floats(cout, cin);
}

/* u = G g over three values a stride apart, six results, for CB filters
 * at once. */
static inline void filter_1d(const v8 *g, int s, v8 *u, int us)
{
	const float c4 = 1.0f / 4, c6 = 1.0f / 6, c12 = 1.0f / 12, c24 = 1.0f / 24;
	v8 a = g[0], b = g[s], c = g[2 * s];

	u[0] = a * c4;
	u[us] = -(a + b + c) * c6;
	u[2 * us] = -(a - b + c) * c6;
	u[3 * us] = a * c24 + b * c12 + c * c6;
	u[4 * us] = a * c24 - b * c12 + c * c6;
	u[5 * us] = c;
}

/* u = G g G^T for CB 3x3 filters g (rows of 3), lane by lane. */
static void filter_tiles(const v8 g[9], v8 u[NX])
{
	v8 t[18];

	for (int j = 0; j < 3; j++) /* columns: t is 6 x 3 */
		filter_1d(g + j, 3, t + j, 3);
	for (int i = 0; i < 6; i++) /* rows */
		filter_1d(t + 3 * i, 1, u + 6 * i, 1);
}

/* One block's V and M. */
static size_t block_floats(int cout, int cin)
{
	return (size_t)NX * TB * ((size_t)cin + round_cb(cout));
}

static size_t thread_floats(int cout, int cin)
{
	/* up to SB blocks, and room to align the start to 64 bytes */
	return SB * block_floats(cout, cin) + 16;
}

static size_t winograd_work_floats(int cout, int cin, int threads)
{
	return (size_t)(threads > 0 ? threads : 1) * thread_floats(cout, cin);
}

/* Tap (ky, kx) of the kernel from ci to co, zero past k. */
static float tap(const float *w, int cout, int cin, int k, int transpose, int co,
		 int ci, int ky, int kx)
{
	if (ky >= k || kx >= k)
		return 0.0f;
	if (transpose) /* w is [ci][co], rotated by 180 degrees */
		return w[(((size_t)ci * cout + co) * k + k - 1 - ky) * k + k - 1 - kx];
	return w[(((size_t)co * cin + ci) * k + ky) * k + kx];
}

/* Per window, layout [value][block of CB outputs][input][CB], zero past
 * cout: a block's CB filters are transformed together, lane by lane. */
static void winograd_filter(const float *w, int cout, int cin, int k, int transpose,
			    float *u)
{
	int nb = round_cb(cout) / CB, sd = sides(k);

#pragma omp parallel for collapse(2) schedule(static)
	for (int b = 0; b < nb; b++)
		for (int q = 0; q < sd * sd; q++) {
			float *uq = u + q * part_floats(cout, cin);

			for (int ci = 0; ci < cin; ci++) {
				v8 g[9], t[NX];

				for (int r = 0; r < CB; r++)
					for (int i = 0; i < 9; i++)
						g[i][r] = b * CB + r < cout
							  ? tap(w, cout, cin, k, transpose, b * CB + r, ci,
								3 * (q / sd) + i / 3, 3 * (q % sd) + i % 3)
							  : 0.0f;
				filter_tiles(g, t);
				for (int xi = 0; xi < NX; xi++)
					memcpy(uq + (((size_t)xi * nb + b) * cin + ci) * CB, &t[xi],
					       sizeof t[xi]);
			}
		}
}

/* Where a block's tiles lie: image, top-left output pixel. */
typedef struct tile_map {
	int count;
	int img[TB], oy[TB], ox[TB];
} tile_map;

typedef struct wino_geom {
	int th, tw; /* tiles down and across an image */
	long tiles; /* in the batch */
} wino_geom;

static void map_block(const wino_geom *g, long t0, tile_map *m)
{
	long per = (long)g->th * g->tw;

	m->count = g->tiles - t0 < TB ? (int)(g->tiles - t0) : TB;
	for (int t = 0; t < m->count; t++) {
		long i = (t0 + t) % per;

		m->img[t] = (int)((t0 + t) / per);
		m->oy[t] = 4 * (int)(i / g->tw);
		m->ox[t] = 4 * (int)(i % g->tw);
	}
}

/* Which lanes every_fourth takes from a pair of vectors, then joins. */
#if VW == 4
#define PICK(k) {k, k + 4}
#define JOIN {0, 1, 4, 5}
#elif VW == 8
#define PICK(k) {k, k + 4, k + 8, k + 12}
#define JOIN {0, 1, 2, 3, 8, 9, 10, 11}
#else
#define PICK(k) {k, k + 4, k + 8, k + 12, k + 16, k + 20, k + 24, k + 28}
#define JOIN {0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23}
#endif

/* Lanes kk, kk + 4, ..., kk + 4 (VW - 1) of the 4 VW floats at p (kk < 4)
 * into out: column kk of VW tiles side by side. */
static inline void every_fourth(const float *p, int kk, vf *out)
{
	static const vfi pick[4] = {PICK(0), PICK(1), PICK(2), PICK(3)};
	const vfi join = JOIN;
	vf a0 = *(const vfu *)p, a1 = *(const vfu *)(p + VW);
	vf a2 = *(const vfu *)(p + 2 * VW), a3 = *(const vfu *)(p + 3 * VW);

	*out = __builtin_shuffle(__builtin_shuffle(a0, a1, pick[kk]),
				 __builtin_shuffle(a2, a3, pick[kk]), join);
}

/* Tiles VW h .. VW h + VW - 1 of the block lie side by side in one row of
 * tiles, and the rows x (4 VW + extra) pixels from the first one's
 * top-left corner (shifted by top, left) lie inside a height x width
 * image: every_fourth can read them. */
static int side_by_side(const tile_map *m, int h, int top, int left, int rows,
			int extra, int height, int width)
{
	int t0 = VW * h, t1 = t0 + VW - 1, y0 = m->oy[t0] + top, x0 = m->ox[t0] + left;

	if (t1 >= m->count || y0 < 0 || y0 + rows > height || x0 < 0 ||
	    x0 + 4 * VW + extra > width)
		return 0;
	return m->img[t1] == m->img[t0] && m->oy[t1] == m->oy[t0] &&
	       m->ox[t1] == m->ox[t0] + 4 * (VW - 1);
}

/* Tile t's top-left pixel in channel co of j->out (the output, or the
 * output gradient), and how many of its 4 rows and columns lie inside. */
static float *tile_at(const aoi_wino_job *j, const tile_map *m, int t, int co,
		      int *rows, int *cols)
{
	const aoi_direct_out *o = &j->out;

	*rows = o->oh - m->oy[t] < 4 ? o->oh - m->oy[t] : 4;
	*cols = o->ow - m->ox[t] < 4 ? o->ow - m->ox[t] : 4;
	return o->y + (((size_t)m->img[t] * o->cout + co) * o->oh + m->oy[t]) * o->ow +
	       m->ox[t];
}

/* The 6x6 input patches of a block, one channel, as d[value][tile]; fast
 * says which vectors of tiles are side_by_side. */
static void gather_patches(const aoi_wino_job *j, const tile_map *m, int ci,
			   int top, int left, const int fast[TB / VW], float d[NX][TB])
{
	size_t plane = (size_t)j->h * j->w;

	for (int t = 0; t < m->count; t++) {
		const float *x = j->x + ((size_t)m->img[t] * j->cin + ci) * plane;
		int y0 = m->oy[t] + top, x0 = m->ox[t] + left;

		if (fast[t / VW]) {
			const float *s = x + (size_t)y0 * j->w + x0;
			for (int i = 0; i < 6; i++, s += j->w)
				for (int k = 0; k < 6; k++)
					every_fourth(s + (k & 4), k & 3, (vf *)&d[i * 6 + k][t]);
			t += VW - 1;
			continue;
		}
		if (y0 >= 0 && x0 >= 0 && y0 + 6 <= j->h && x0 + 6 <= j->w) {
			const float *s = x + (size_t)y0 * j->w + x0;
			for (int i = 0; i < 6; i++)
				for (int k = 0; k < 6; k++)
					d[i * 6 + k][t] = s[(size_t)i * j->w + k];
			continue;
		}
		for (int i = 0; i < 6; i++)
			for (int k = 0; k < 6; k++) {
				int yy = y0 + i, xx = x0 + k;
				d[i * 6 + k][t] = yy >= 0 && yy < j->h && xx >= 0 && xx < j->w
							  ? x[(size_t)yy * j->w + xx] : 0.0f;
			}
	}
	for (int t = m->count; t < TB; t++)
		for (int i = 0; i < NX; i++)
			d[i][t] = 0.0f;
}

/* r = B^T d over six vectors a stride apart. */
static inline void input_1d(const vf *d, int s, vf *r, int rs)
{
	vf d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s],
	    d5 = d[5 * s];

	r[0] = 4 * d0 - 5 * d2 + d4;
	r[rs] = d4 + d3 - 4 * (d1 + d2);
	r[2 * rs] = d4 - d3 + 4 * (d1 - d2);
	r[3 * rs] = d4 - d2 + 2 * (d3 - d1);
	r[4 * rs] = d4 - d2 - 2 * (d3 - d1);
	r[5 * rs] = 4 * d1 - 5 * d3 + d5;
}

/* V = B^T d B for the block's tiles, each channel ci, into
 * v[(value * cin + ci) * ld + tile]. */
static void transform_input(const aoi_wino_job *j, const tile_map *m, int top,
			    int left, float *v, size_t ld)
{
	float d[NX][TB] __attribute__((aligned(64)));
	int fast[TB / VW];

	for (int h = 0; h < TB / VW; h++)
		fast[h] = side_by_side(m, h, top, left, 6, 4, j->h, j->w);
	for (int ci = 0; ci < j->cin; ci++) {
		gather_patches(j, m, ci, top, left, fast, d);
		for (int h = 0; h < TB / VW; h++) {
			vf in[NX], t[NX];

			for (int i = 0; i < NX; i++)
				in[i] = *(const vf *)&d[i][VW * h];
			for (int k = 0; k < 6; k++) /* columns */
				input_1d(in + k, 6, t + k, 6);
			for (int i = 0; i < 6; i++) /* rows */
				input_1d(t + 6 * i, 1, in + 6 * i, 1);
			for (int i = 0; i < NX; i++)
				*(vf *)(v + ((size_t)i * j->cin + ci) * ld + VW * h) = in[i];
		}
	}
}

/* The register block: m[r][tile] for RB rows r of u (packed CB apart)
 * and WV vectors of tiles of v (rows TB apart), summed over cin. */
static inline void multiply_block(const float *u, const float *v, float *m, int cin)
{
	vf acc[RB][WV];

	for (int r = 0; r < RB; r++)
		for (int t = 0; t < WV; t++)
			acc[r][t] = (vf){0};
	for (int ci = 0; ci < cin; ci++, u += CB, v += TB) {
		vf x[WV];

		for (int t = 0; t < WV; t++)
			x[t] = *(const vf *)(v + t * VW);
		for (int r = 0; r < RB; r++)
			for (int t = 0; t < WV; t++)
				acc[r][t] += u[r] * x[t];
	}
	for (int r = 0; r < RB; r++)
		for (int t = 0; t < WV; t++)
			*(vf *)(m + r * TB + t * VW) = acc[r][t];
}

/* M[value][co][tile] = sum over ci of U[value][co][ci] V[value][ci][tile],
 * for nblk blocks whose V and M lie `stride` floats apart: each 8-output
 * slice of U is read once for all of them (the filters of a big layer do
 * not fit in cache, and two threads streaming them from memory for every
 * block ran no faster than one). */
static void multiply(const float *u, const float *v, float *mm, int cin, int cout,
		     int nblk, size_t stride)
{
	int nb = round_cb(cout) / CB;

	for (int xi = 0; xi < NX; xi++)
		for (int b = 0; b < nb; b++) {
			const float *ub = u + ((size_t)xi * nb + b) * cin * CB;

			for (int s = 0; s < nblk; s++) {
				const float *vx = v + s * stride + (size_t)xi * cin * TB;
				float *mb = mm + s * stride + ((size_t)xi * nb + b) * CB * TB;

				for (int r = 0; r < CB; r += RB)
					for (int t = 0; t < TB; t += WV * VW)
						multiply_block(ub + r, vx + t, mb + r * TB + t, cin);
			}
		}
}

/* r = A^T m over six vectors a stride apart, four results. */
static inline void output_1d(const vf *m, int s, vf *r, int rs)
{
	vf a = m[s] + m[2 * s], b = m[s] - m[2 * s];
	vf c = m[3 * s] + m[4 * s], d = m[3 * s] - m[4 * s];

	r[0] = m[0] + a + c;
	r[rs] = b + 2 * d;
	r[2 * rs] = a + 4 * c;
	r[3 * rs] = b + 8 * d + m[5 * s];
}

/* The 4x4 outputs of every tile of the block for output channel co. */
static void transform_output(const float *mm, int cout, int co, float o[16][TB])
{
	size_t stride = (size_t)round_cb(cout) * TB;

	for (int h = 0; h < TB / VW; h++) {
		vf in[NX], t[24], r[16];

		for (int i = 0; i < NX; i++)
			in[i] = *(const vf *)(mm + i * stride + (size_t)co * TB + VW * h);
		for (int k = 0; k < 6; k++) /* columns: t is 4 x 6 */
			output_1d(in + k, 6, t + k, 6);
		for (int i = 0; i < 4; i++) /* rows */
			output_1d(t + 6 * i, 1, r + 4 * i, 1);
		for (int i = 0; i < 16; i++)
			*(vf *)&o[i][VW * h] = r[i];
	}
}

/* The block's outputs of channel co into y: added to what is there with
 * accumulate, bias and activation applied with finish. */
static void store_outputs(const aoi_wino_job *j, const tile_map *m, const float *mm,
			  int accumulate, int finish)
{
	float o[16][TB] __attribute__((aligned(64)));
	size_t ow = (size_t)j->out.ow;

	for (int co = 0; co < j->out.cout; co++) {
		transform_output(mm, j->out.cout, co, o);
		for (int t = 0; accumulate && t < m->count; t++) {
			int rows, cols;
			const float *y = tile_at(j, m, t, co, &rows, &cols);

			for (int i = 0; i < rows; i++)
				for (int k = 0; k < cols; k++)
					o[i * 4 + k][t] += y[i * ow + k];
		}
		if (finish) {
			float b = j->out.bias ? j->out.bias[co] : 0.0f;
			for (int i = 0; i < 16; i++)
				for (int t = 0; t < TB; t++)
					o[i][t] += b;
			act_row(&o[0][0], 16 * TB, j->out.act, j->out.alpha);
		}
		for (int t = 0; t < m->count; t++) {
			int rows, cols;
			float *y = tile_at(j, m, t, co, &rows, &cols);

			for (int i = 0; i < rows; i++)
				for (int k = 0; k < cols; k++)
					y[i * ow + k] = o[i * 4 + k][t];
		}
	}
}

static float *align64(float *p)
{
	return (float *)(((uintptr_t)p + 63) & ~(uintptr_t)63);
}

static wino_geom geometry(const aoi_wino_job *j)
{
	wino_geom g;

	g.th = (j->out.oh + 3) / 4;
	g.tw = (j->out.ow + 3) / 4;
	g.tiles = (long)j->n * g.th * g.tw;
	return g;
}

static void winograd_conv(const aoi_wino_job *j, const float *u, int threads,
			  float *work)
{
	wino_geom g = geometry(j);
	long blocks = (g.tiles + TB - 1) / TB, groups;
	size_t per = thread_floats(j->out.cout, j->cin);
	size_t stride = block_floats(j->out.cout, j->cin);
	int sd = sides(j->k), group;

	if (threads > omp_get_max_threads()) /* the net's thread count */
		threads = omp_get_max_threads();
	if (threads < 1)
		threads = 1;
	/* as many blocks to a pass over the filters as keeps every thread busy */
	group = blocks / threads < SB ? (int)(blocks / threads) : SB;
	group = group < 1 ? 1 : group;
	groups = (blocks + group - 1) / group;
	if (threads > groups)
		threads = (int)groups;
#pragma omp parallel num_threads(threads)
	{
		int id = omp_get_thread_num(), nt = omp_get_num_threads();
		float *v = align64(work + id * per);
		float *mm = v + (size_t)NX * TB * j->cin;
		tile_map m[SB];

		for (long gi = id; gi < groups; gi += nt) {
			long b0 = gi * group;
			int nblk = blocks - b0 < group ? (int)(blocks - b0) : group;

			for (int s = 0; s < nblk; s++)
				map_block(&g, (b0 + s) * TB, &m[s]);
			for (int q = 0; q < sd * sd; q++) {
				for (int s = 0; s < nblk; s++)
					transform_input(j, &m[s], j->top + 3 * (q / sd),
							j->left + 3 * (q % sd), v + s * stride, TB);
				multiply(u + q * part_floats(j->out.cout, j->cin), v, mm, j->cin,
					 j->out.cout, nblk, stride);
				for (int s = 0; s < nblk; s++)
					store_outputs(j, &m[s], mm + s * stride,
						      j->out.accumulate || q > 0,
						      !j->out.accumulate && q == sd * sd - 1);
			}
		}
	}
}

/* ---- the weight gradient ---- */

static long chunk_blocks(long tiles)
{
	long blocks = (tiles + TB - 1) / TB;

	return blocks < CHUNK_BLOCKS ? blocks : CHUNK_BLOCKS;
}

static size_t winograd_wgrad_floats(int cout, int cin, int k, int n, int oh, int ow)
{
	long tiles = (long)n * ((oh + 3) / 4) * ((ow + 3) / 4);
	size_t c = (size_t)chunk_blocks(tiles) * TB, parts = (size_t)sides(k) * sides(k);

	return (size_t)NX * (c * ((size_t)cin + cout) + parts * cout * cin) + 16;
}

/* z = A dy over four vectors a stride apart, six results. */
static inline void grad_1d(const vf *d, int s, vf *r, int rs)
{
	vf even = d[0] + d[2 * s], odd = d[s] + d[3 * s];
	vf even4 = d[0] + 4 * d[2 * s], odd4 = 2 * d[s] + 8 * d[3 * s];

	r[0] = d[0];
	r[rs] = even + odd;
	r[2 * rs] = even - odd;
	r[3 * rs] = even4 + odd4;
	r[4 * rs] = even4 - odd4;
	r[5 * rs] = d[3 * s];
}

/* Z = A dy A^T for the block's 4x4 output-gradient tiles, each channel co,
 * into z[(value * cout + co) * ld + tile]. */
static void transform_grad(const aoi_wino_job *j, const tile_map *m, float *z,
			   size_t ld)
{
	float d[16][TB] __attribute__((aligned(64)));
	size_t ow = (size_t)j->out.ow;
	int fast[TB / VW];

	for (int h = 0; h < TB / VW; h++)
		fast[h] = side_by_side(m, h, 0, 0, 4, 0, j->out.oh, j->out.ow);
	for (int co = 0; co < j->out.cout; co++) {
		for (int t = 0; t < TB; t++) {
			int rows = 0, cols = 0;
			const float *dy = t < m->count ? tile_at(j, m, t, co, &rows, &cols) : NULL;

			if (dy && fast[t / VW]) {
				for (int i = 0; i < 4; i++)
					for (int k = 0; k < 4; k++)
						every_fourth(dy + i * ow, k, (vf *)&d[i * 4 + k][t]);
				t += VW - 1;
				continue;
			}
			for (int i = 0; i < 16; i++)
				d[i][t] = 0.0f;
			for (int i = 0; i < rows; i++)
				for (int k = 0; k < cols; k++)
					d[i * 4 + k][t] = dy[i * ow + k];
		}
		for (int h = 0; h < TB / VW; h++) {
			vf in[16], t[24], r[NX];

			for (int i = 0; i < 16; i++)
				in[i] = *(const vf *)&d[i][VW * h];
			for (int k = 0; k < 4; k++) /* columns: t is 6 x 4 */
				grad_1d(in + k, 4, t + k, 4);
			for (int i = 0; i < 6; i++) /* rows */
				grad_1d(t + 4 * i, 1, r + 6 * i, 1);
			for (int i = 0; i < NX; i++)
				*(vf *)(z + ((size_t)i * j->out.cout + co) * ld + VW * h) = r[i];
		}
	}
}

/* g = G^T m: six values a stride apart to three. */
static void wgrad_1d(const float *m, int s, float *g, int gs)
{
	const float c4 = 1.0f / 4, c6 = 1.0f / 6, c12 = 1.0f / 12, c24 = 1.0f / 24;
	float a = m[s] + m[2 * s], b = m[2 * s] - m[s];
	float c = m[3 * s] + m[4 * s], e = m[3 * s] - m[4 * s];

	g[0] = m[0] * c4 - a * c6 + c * c24;
	g[gs] = b * c6 + e * c12;
	g[2 * gs] = (c - a) * c6 + m[5 * s];
}

/* dw's window at (ky0, kx0) += G^T M G for every pair of channels. */
static void add_weight_window(const float *mw, int cout, int cin, int k, int ky0,
			      int kx0, float *dw)
{
	size_t plane = (size_t)cout * cin;

#pragma omp parallel for schedule(static)
	for (int co = 0; co < cout; co++)
		for (int ci = 0; ci < cin; ci++) {
			float m[NX], t[18], r[9];
			float *w = dw + ((size_t)co * cin + ci) * k * k;

			for (int xi = 0; xi < NX; xi++)
				m[xi] = mw[xi * plane + (size_t)co * cin + ci];
			for (int i = 0; i < 6; i++) /* rows: t is 6 x 3 */
				wgrad_1d(m + 6 * i, 1, t + 3 * i, 1);
			for (int b = 0; b < 3; b++) /* columns */
				wgrad_1d(t + b, 3, r + b, 3);
			for (int a = 0; a < 3 && ky0 + a < k; a++)
				for (int b = 0; b < 3 && kx0 + b < k; b++)
					w[(ky0 + a) * k + kx0 + b] += r[a * 3 + b];
		}
}

/* Per chunk of tiles: the output gradients transformed once, the inputs
 * once per window of the kernel, and 36 sgemms per window summing over the
 * chunk's tiles into that window's M. */
static void winograd_weight_grad(const aoi_wino_job *j, float *dw, float *work)
{
	wino_geom g = geometry(j);
	long blocks = (g.tiles + TB - 1) / TB, cb = chunk_blocks(g.tiles);
	size_t c = (size_t)cb * TB, part = (size_t)NX * j->out.cout * j->cin;
	float *v = align64(work), *z = v + (size_t)NX * c * j->cin;
	float *mw = z + (size_t)NX * c * j->out.cout;
	int sd = sides(j->k);

	for (long b0 = 0; b0 < blocks; b0 += cb) {
		long nb = blocks - b0 < cb ? blocks - b0 : cb;

#pragma omp parallel for schedule(static)
		for (long b = 0; b < nb; b++) {
			tile_map m;

			map_block(&g, (b0 + b) * TB, &m);
			transform_grad(j, &m, z + b * TB, c);
		}
		for (int q = 0; q < sd * sd; q++) {
			int top = j->top + 3 * (q / sd), left = j->left + 3 * (q % sd);

#pragma omp parallel for schedule(static)
			for (long b = 0; b < nb; b++) {
				tile_map m;

				map_block(&g, (b0 + b) * TB, &m);
				transform_input(j, &m, top, left, v + b * TB, c);
			}
			/* one sgemm a thread (OpenBLAS runs single-threaded inside a
			 * parallel region): 36 small products scale better so */
#pragma omp parallel for schedule(static)
			for (int xi = 0; xi < NX; xi++)
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->out.cout,
					    j->cin, (int)(nb * TB), 1.0f,
					    z + (size_t)xi * j->out.cout * c, (int)c,
					    v + (size_t)xi * j->cin * c, (int)c, b0 ? 1.0f : 0.0f,
					    mw + q * part + (size_t)xi * j->out.cout * j->cin, j->cin);
		}
	}
	for (int q = 0; q < sd * sd; q++)
		add_weight_window(mw + q * part, j->out.cout, j->cin, j->k, 3 * (q / sd),
				  3 * (q % sd), dw);
}
