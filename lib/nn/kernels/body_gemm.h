/* body_gemm.h, part of one kernel level (isa.h): the pointwise (1x1,
 * stride 1) convolution as aoi's own packed product, y = W x with W
 * cout x cin and x cin x pixels, bias and activation applied on the way
 * out. The weights are packed once into blocks of GR rows ([block][ci][GR],
 * zero past cout); a thread copies a panel of GS x GP pixels of every
 * input channel into its scratch ([GS][ci][GP], zero past the image),
 * then runs every block of rows over each GP of it: GR x GP accumulators in registers, per
 * input channel GP / VW loads of the panel (from L1 or L2) and GR
 * broadcast weights. OpenBLAS's sgemm does the same with its own packing,
 * but how fast depends on which of its kernels it picks for the CPU
 * (OPENBLAS_CORETYPE) and on its threading; this one is the same on every
 * machine of a level. */

/* rows by pixel vectors: GR x GV accumulators, GV pixel vectors and one
 * broadcast weight within 16 registers (32 with AVX-512) */
#if VW >= 16
#define GR 8
#define GV 2
#else
#define GR 4
#define GV 2
#endif
#define GP (GV * VW) /* pixels the register block covers */
#define GS 4            /* those in a panel: rows copied 4 GP floats at a time */

static size_t gemm_packed_floats(int cout, int cin)
{
	return (size_t)(cout + GR - 1) / GR * GR * cin;
}

static size_t gemm_work_floats(int cin, int threads)
{
	/* a panel per thread, and room to align each to 64 bytes */
	return (size_t)(threads > 0 ? threads : 1) * ((size_t)cin * GS * GP + 16);
}

static void gemm_pack(const float *w, int cout, int cin, float *packed)
{
	int nb = (cout + GR - 1) / GR;

	for (int b = 0; b < nb; b++)
		for (int ci = 0; ci < cin; ci++)
			for (int r = 0; r < GR; r++) {
				int co = b * GR + r;
				packed[((size_t)b * cin + ci) * GR + r] =
					co < cout ? w[(size_t)co * cin + ci] : 0.0f;
			}
}

/* Pixels [p0, p0 + n) of every channel (n <= GS GP) into panel[s][ci][GP]
 * for the GS register blocks s, zeros after n. */
static void gemm_panel(const float *x, int cin, size_t pixels, size_t p0, int n,
		       float *panel)
{
	for (int ci = 0; ci < cin; ci++) {
		const float *src = x + (size_t)ci * pixels + p0;

		for (int s = 0; s < GS; s++) {
			float *dst = panel + ((size_t)s * cin + ci) * GP;
			int m = n - s * GP;

			m = m < 0 ? 0 : m > GP ? GP : m;
			memcpy(dst, src + s * GP, sizeof(float) * m);
			memset(dst + m, 0, sizeof(float) * (GP - m));
		}
	}
}

/* act(v) in registers for the piecewise-linear activations (1), else 0. */
static inline int vact(vf *v, enum aoi_act act, float alpha)
{
	vfi pos = *v > 0.0f;

	switch (act) {
	case AOI_ACT_NONE:
		return 1;
	case AOI_ACT_RELU:
		*v = (vf)((vfi)*v & pos);
		return 1;
	case AOI_ACT_RELU6: {
		vf six = (vf){0} + 6.0f, r = (vf)((vfi)*v & pos);
		vfi low = r < six;
		*v = (vf)(((vfi)r & low) | ((vfi)six & ~low));
		return 1;
	}
	case AOI_ACT_LEAKY: {
		vf neg = *v * alpha;
		*v = (vf)(((vfi)*v & pos) | ((vfi)neg & ~pos));
		return 1;
	}
	default:
		return 0;
	}
}

/* Rows co0 .. co0 + rows - 1 of the output, pixels [p0, p0 + n), from the
 * sums over ci of w[ci][r] panel[ci][]: whole panels go straight from the
 * registers through bias and activation into y. */
static inline void gemm_block(const float *w, const float *panel, int cin,
			      const aoi_direct_out *o, int co0, int rows, size_t pixels,
			      size_t p0, int n)
{
	vf acc[GR][GV];
	float lane[GP];

	for (int r = 0; r < GR; r++)
		for (int v = 0; v < GV; v++)
			acc[r][v] = (vf){0};
	for (int ci = 0; ci < cin; ci++, w += GR, panel += GP) {
		vf x[GV];

		for (int v = 0; v < GV; v++)
			x[v] = *(const vf *)(panel + v * VW);
		for (int r = 0; r < GR; r++)
			for (int v = 0; v < GV; v++)
				acc[r][v] += w[r] * x[v];
	}
	for (int r = 0; r < rows; r++) {
		int co = co0 + r, fast = n == GP && !o->accumulate;
		float *dst = o->y + (size_t)co * pixels + p0;

		for (int v = 0; fast && v < GV; v++) {
			vf y = acc[r][v] + (o->bias ? o->bias[co] : 0.0f);
			if (!vact(&y, o->act, o->alpha)) {
				fast = 0;
				break;
			}
			*(vfu *)(dst + v * VW) = y;
		}
		if (fast)
			continue;
		for (int v = 0; v < GV; v++)
			memcpy(lane + v * VW, &acc[r][v], sizeof(vf));
		if (o->accumulate) {
			for (int i = 0; i < n; i++)
				dst[i] += lane[i];
			continue;
		}
		for (int i = 0; i < n; i++)
			lane[i] += o->bias ? o->bias[co] : 0.0f;
		act_row(lane, n, o->act, o->alpha);
		memcpy(dst, lane, sizeof(float) * n);
	}
}

/* y (o->cout x o->oh * o->ow) = the product of packed weights and x
 * (cin x the same pixels), through o's bias, activation or accumulation.
 * work from gemm_work_floats(cin, threads); at most `threads` threads. */
static void gemm_conv1x1(const float *packed, const float *x, int cin,
			 const aoi_direct_out *o, int threads, float *work)
{
	size_t pixels = (size_t)o->oh * o->ow;
	long panels = (long)((pixels + GS * GP - 1) / (GS * GP));
	int nb = (o->cout + GR - 1) / GR;

	threads = team_size(threads, panels);
#pragma omp parallel num_threads(threads)
	{
		int id = omp_get_thread_num();
		float *panel = (float *)(((uintptr_t)(work + id * ((size_t)cin * GS * GP + 16)) +
					  63) & ~(uintptr_t)63);

#pragma omp for schedule(static)
		for (long pi = 0; pi < panels; pi++) {
			size_t p0 = (size_t)pi * GS * GP;
			int n = pixels - p0 < GS * GP ? (int)(pixels - p0) : GS * GP;

			gemm_panel(x, cin, pixels, p0, n, panel);
			for (int b = 0; b < nb; b++) {
				int rows = o->cout - b * GR < GR ? o->cout - b * GR : GR;

				for (int s = 0; s < GS && s * GP < n; s++)
					gemm_block(packed + (size_t)b * cin * GR,
						   panel + (size_t)s * cin * GP, cin, o, b * GR,
						   rows, pixels, p0 + s * GP,
						   n - s * GP < GP ? n - s * GP : GP);
			}
		}
	}
}
