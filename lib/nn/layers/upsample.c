/* upsample.c: Upsample by an integer factor, nearest (source pixel
 * floor(dst / f)) or bilinear with align_corners = false (source coordinate
 * (dst + 0.5) / f - 0.5 clamped at 0, as PyTorch computes it in float). */
#include "nn/layers/layers.h"

#include <string.h>

typedef struct upsample_priv {
	int f, bilinear;
} upsample_priv;

static const char *upsample_name(const aoi_node *node)
{
	const upsample_priv *u = node->priv;
	return u->bilinear ? "upsample_bilinear" : "upsample_nearest";
}

static int upsample_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const upsample_priv *u = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	(void)err;
	node->out = (aoi_shape){in.n, in.c, in.h * u->f, in.w * u->f};
	return 0;
}

static double upsample_flops(const aoi_net *net, const aoi_node *node)
{
	const upsample_priv *u = node->priv;

	(void)net;
	return u->bilinear ? 7.0 * aoi_nn_numel(node->out) : 0.0;
}

/* Source index pair and weight of the second one along one axis. */
typedef struct lerp {
	int i0, i1;
	float l1;
} lerp;

static lerp lerp_at(int dst, int f, int size)
{
	float scale = 1.0f / (float)f, src = scale * (dst + 0.5f) - 0.5f;
	lerp l;

	if (src < 0.0f)
		src = 0.0f;
	l.i0 = (int)src;
	l.i1 = l.i0 + (l.i0 < size - 1);
	l.l1 = src - (float)l.i0;
	return l;
}

static void nearest_plane(const float *x, float *y, int h, int w, int f)
{
	if (f == 2) { /* the U-Net decoder's case: one row, then copy it */
		for (int iy = 0; iy < h; iy++) {
			const float *xr = x + (size_t)iy * w;
			float *yr = y + (size_t)iy * 4 * w;
			for (int ix = 0; ix < w; ix++)
				yr[2 * ix] = yr[2 * ix + 1] = xr[ix];
			memcpy(yr + 2 * w, yr, sizeof(float) * 2 * w);
		}
		return;
	}
	for (int oy = 0; oy < h * f; oy++) {
		const float *xr = x + (size_t)(oy / f) * w;
		float *yr = y + (size_t)oy * w * f;
		for (int ox = 0; ox < w * f; ox++)
			yr[ox] = xr[ox / f];
	}
}

static void bilinear_plane(const float *x, float *y, int h, int w, int f)
{
	for (int oy = 0; oy < h * f; oy++) {
		lerp ly = lerp_at(oy, f, h);
		const float *r0 = x + (size_t)ly.i0 * w, *r1 = x + (size_t)ly.i1 * w;
		float *yr = y + (size_t)oy * w * f;

		for (int ox = 0; ox < w * f; ox++) {
			lerp lx = lerp_at(ox, f, w);
			float top = (1.0f - lx.l1) * r0[lx.i0] + lx.l1 * r0[lx.i1];
			float bot = (1.0f - lx.l1) * r1[lx.i0] + lx.l1 * r1[lx.i1];
			yr[ox] = (1.0f - ly.l1) * top + ly.l1 * bot;
		}
	}
}

static void upsample_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const upsample_priv *u = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	int h = in->out.h, w = in->out.w;
	size_t ihw = (size_t)h * w, ohw = ihw * u->f * u->f;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < node->out.n * node->out.c; pl++) {
		if (u->bilinear)
			bilinear_plane(in->y + pl * ihw, node->y + pl * ohw, h, w, u->f);
		else
			nearest_plane(in->y + pl * ihw, node->y + pl * ohw, h, w, u->f);
	}
}

static void upsample_plane_backward(const float *dy, float *dx, int h, int w,
				    int f, int bilinear, int assign)
{
	if (assign) /* a plane, while it is in cache */
		memset(dx, 0, sizeof(float) * (size_t)h * w);
	for (int oy = 0; oy < h * f; oy++) {
		const float *dyr = dy + (size_t)oy * w * f;

		if (!bilinear && f == 2) {
			float *dxr = dx + (size_t)(oy / 2) * w;
			for (int ix = 0; ix < w; ix++)
				dxr[ix] += dyr[2 * ix] + dyr[2 * ix + 1];
			continue;
		}
		if (!bilinear) {
			float *dxr = dx + (size_t)(oy / f) * w;
			for (int ox = 0; ox < w * f; ox++)
				dxr[ox / f] += dyr[ox];
			continue;
		}
		lerp ly = lerp_at(oy, f, h);
		float *r0 = dx + (size_t)ly.i0 * w, *r1 = dx + (size_t)ly.i1 * w;
		for (int ox = 0; ox < w * f; ox++) {
			lerp lx = lerp_at(ox, f, w);
			float g0 = (1.0f - ly.l1) * dyr[ox], g1 = ly.l1 * dyr[ox];
			r0[lx.i0] += (1.0f - lx.l1) * g0;
			r0[lx.i1] += lx.l1 * g0;
			r1[lx.i0] += (1.0f - lx.l1) * g1;
			r1[lx.i1] += lx.l1 * g1;
		}
	}
}

static void upsample_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const upsample_priv *u = node->priv;
	aoi_node *in = aoi_nn_in(net, node, 0);
	int h = in->out.h, w = in->out.w;
	size_t ihw = (size_t)h * w, ohw = ihw * u->f * u->f;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < node->out.n * node->out.c; pl++)
		upsample_plane_backward(node->dy + pl * ohw, in->dy + pl * ihw, h, w,
					u->f, u->bilinear, aoi_nn_dx_assign(b, 0));
}

const aoi_layer_ops aoi_nn_upsample_ops = {
	.kind = "upsample",
	.shape = upsample_shape,
	.flops = upsample_flops,
	.forward = upsample_forward,
	.backward = upsample_backward,
	.name = upsample_name,
	.assigns_dx = 1,
};

int aoi_net_upsample(aoi_net *net, int in, int factor, int bilinear, aoi_error *err)
{
	upsample_priv u = {factor, bilinear != 0};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	if (factor < 1 || factor > 64)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "upsample factor %d is not in 1..64", factor);
	return aoi_nn_add_node(net, &aoi_nn_upsample_ops, 1, &in, &u, sizeof u, err);
}
