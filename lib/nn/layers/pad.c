/* pad.c: constant padding of each plane, a different amount on each side
 * (ONNX's Pad; the asymmetric pads of a convolution or pool that
 * TensorFlow and some exports write, which the import puts in front of
 * it). Backward takes the gradient of the inner part. */
#include "nn/layers/layers.h"

typedef struct pad_priv {
	int top, left, bottom, right;
	float value;
} pad_priv;

static int pad_shape(aoi_net *net, aoi_node *node, aoi_error *err)
{
	const pad_priv *p = node->priv;
	aoi_shape in = aoi_nn_in(net, node, 0)->out;

	(void)err;
	node->out = (aoi_shape){in.n, in.c, in.h + p->top + p->bottom, in.w + p->left + p->right};
	return 0;
}

static void pad_forward(aoi_net *net, aoi_node *node, int training, aoi_rng *rng)
{
	const pad_priv *p = node->priv;
	const aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	int h = in->out.h, w = in->out.w;

	(void)training;
	(void)rng;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++) {
		const float *x = in->y + (size_t)pl * h * w;
		float *y = node->y + (size_t)pl * s.h * s.w;
		for (int oy = 0; oy < s.h; oy++)
			for (int ox = 0; ox < s.w; ox++) {
				int iy = oy - p->top, ix = ox - p->left;
				y[oy * s.w + ox] = iy >= 0 && iy < h && ix >= 0 && ix < w
							   ? x[iy * w + ix] : p->value;
			}
	}
}

static void pad_backward(aoi_net *net, aoi_node *node, const aoi_bwd *b)
{
	const pad_priv *p = node->priv;
	aoi_node *in = aoi_nn_in(net, node, 0);
	aoi_shape s = node->out;
	int h = in->out.h, w = in->out.w;

	if (!aoi_nn_dx_wanted(b, 0))
		return;
#pragma omp parallel for schedule(static)
	for (int pl = 0; pl < s.n * s.c; pl++) {
		float *dx = in->dy + (size_t)pl * h * w;
		const float *dy = node->dy + (size_t)pl * s.h * s.w;
		for (int iy = 0; iy < h; iy++)
			for (int ix = 0; ix < w; ix++)
				dx[iy * w + ix] += dy[(iy + p->top) * s.w + ix + p->left];
	}
}

const aoi_layer_ops aoi_nn_pad_ops = {
	.kind = "pad",
	.shape = pad_shape,
	.forward = pad_forward,
	.backward = pad_backward,
};

int aoi_net_pad(aoi_net *net, int in, const int pads[4], float value, aoi_error *err)
{
	pad_priv p = {pads[0], pads[1], pads[2], pads[3], value};

	if (aoi_nn_check_input(net, in, err) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (pads[i] < 0 || pads[i] > 1 << 16)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "pad: %d on a side", pads[i]);
	return aoi_nn_add_node(net, &aoi_nn_pad_ops, 1, &in, &p, sizeof p, err);
}
