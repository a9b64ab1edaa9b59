/* arch.c: the named networks, layer for layer as their PyTorch references. */
#include "model/arch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SEG AOI_TASK_SEGMENTATION
#define CLS AOI_TASK_CLASSIFICATION
#define KPT AOI_TASK_KEYPOINTS

static const aoi_arch_info arch_table[] = {
	{"mbv2-unet", SEG, "MobileNetV2 encoder, Unet decoder (seed 001)", 512, 512, 32, 0,
	 {3, 2, 1.0, 5, {256, 128, 64, 32, 16}, 512, 512, 0}},
	{"mbv2-unet-s", SEG, "compact mbv2-unet: width 0.5, decoder 64,32,24,16,8", 512, 512, 32, 0,
	 {3, 2, 0.5, 5, {64, 32, 24, 16, 8}, 512, 512, 0}},
	{"mbv2-unet-xs", SEG, "mbv2-unet-s for CPUs: no 1280 conv, decoder 64,32,24,16 to stride 2, bilinear x2", 512, 512, 32, 0,
	 {3, 2, 0.5, 4, {64, 32, 24, 16}, 512, 512, 0}},
	{"mbv2-linknet", SEG, "MobileNetV2 encoder, LinkNet decoder (seed 001)", 512, 512, 32, 0,
	 {3, 2, 1.0, 1, {32}, 512, 512, 0}},
	{"mbv2-linknet-s", SEG, "compact mbv2-linknet: width 0.5, prefinal 16, bottlenecks >= 8", 512, 512, 32, 0,
	 {3, 2, 0.5, 1, {16}, 512, 512, 0}},
	{"segnet", SEG, "SegNet, four VGG16 stages, max-unpool decoder (seed 004)", 224, 896, 16, 0,
	 {3, 2, 1.0, 0, {0}, 224, 896, 0}},
	{"segnet-s", SEG, "compact segnet: VGG channels x 0.25", 224, 896, 16, 0,
	 {3, 2, 0.25, 0, {0}, 224, 896, 0}},
	{"alexnet", CLS, "torchvision AlexNet (seed 000)", 224, 224, 1, 0,
	 {3, 2, 1.0, 0, {0}, 224, 224, 0}},
	{"mbv2-cls", CLS, "MobileNetV2 classifier (seed 003)", 224, 224, 1, 0,
	 {3, 2, 1.0, 0, {0}, 224, 224, 0}},
	{"mbv2-cls-s", CLS, "compact mbv2-cls: width 0.5", 224, 224, 1, 0,
	 {3, 2, 0.5, 0, {0}, 224, 224, 0}},
	{"mbv2-corners", KPT, "MobileNetV2 + separable conv + dense: 4 corners (seed 002)", 256, 256, 32, 1,
	 {3, 8, 1.0, 0, {0}, 256, 256, 0}},
	{"mbv2-corners-s", KPT, "compact mbv2-corners: width 0.5", 256, 256, 32, 1,
	 {3, 8, 0.5, 0, {0}, 256, 256, 0}},
};

static const char *const task_names[AOI_TASK_COUNT] = {
	"segmentation", "classification", "keypoints"};

int aoi_arch_count(void)
{
	return (int)(sizeof arch_table / sizeof arch_table[0]);
}

const aoi_arch_info *aoi_arch_at(int i)
{
	return i >= 0 && i < aoi_arch_count() ? &arch_table[i] : NULL;
}

const aoi_arch_info *aoi_arch_find(const char *name)
{
	for (int i = 0; name && i < aoi_arch_count(); i++)
		if (strcmp(arch_table[i].name, name) == 0)
			return &arch_table[i];
	return NULL;
}

const char *aoi_task_name(enum aoi_task task)
{
	return (unsigned)task < AOI_TASK_COUNT ? task_names[task] : "unknown";
}

int aoi_task_parse(const char *name)
{
	for (int i = 0; name && i < AOI_TASK_COUNT; i++)
		if (strcmp(task_names[i], name) == 0)
			return i;
	return -1;
}

int aoi_arch_make_divisible(double v, int divisor)
{
	int nv = (int)(v + divisor / 2.0) / divisor * divisor;

	if (nv < divisor)
		nv = divisor;
	if (nv < 0.9 * v)
		nv += divisor;
	return nv;
}

static int check_opts(const aoi_arch_info *info, const aoi_arch_opts *o, aoi_error *err)
{
	if (o->in_channels < 1 || o->in_channels > 64)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: in_channels %d not in 1..64", info->name, o->in_channels);
	if (o->classes < 1 || o->classes > 65536)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: classes %d not in 1..65536", info->name, o->classes);
	if (!(o->width > 0.0 && o->width <= 4.0))
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: width %g not in (0, 4]", info->name, o->width);
	if (o->ndecoder != info->defaults.ndecoder)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s takes %d decoder channel counts, not %d", info->name,
				     info->defaults.ndecoder, o->ndecoder);
	for (int i = 0; i < o->ndecoder; i++)
		if (o->decoder[i] < 1 || o->decoder[i] > 8192)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "%s: decoder channels %d not in 1..8192",
					     info->name, o->decoder[i]);
	if (o->decision && info->task != AOI_TASK_SEGMENTATION)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: a decision head goes on segmentation networks",
				     info->name);
	if (o->input_h < 1 || o->input_w < 1 || o->input_h % info->size_multiple ||
	    o->input_w % info->size_multiple)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "%s: input size %dx%d is not a positive multiple of %d",
				     info->name, o->input_w, o->input_h, info->size_multiple);
	return 0;
}

int aoi_arch_resolve(const char *name, const aoi_arch_opts *opts, aoi_arch_opts *out,
		     aoi_error *err)
{
	const aoi_arch_info *info = aoi_arch_find(name);
	aoi_arch_opts o;

	if (!info)
		return aoi_error_set(err, AOI_ENOTFOUND, NULL, 0,
				     "unknown architecture '%s'", name ? name : "");
	o = info->defaults;
	if (opts) {
		if (opts->in_channels)
			o.in_channels = opts->in_channels;
		if (opts->classes)
			o.classes = opts->classes;
		if (opts->width != 0.0)
			o.width = opts->width;
		if (opts->ndecoder) {
			o.ndecoder = opts->ndecoder;
			memcpy(o.decoder, opts->decoder, sizeof o.decoder);
		}
		if (opts->input_h)
			o.input_h = opts->input_h;
		if (opts->input_w)
			o.input_w = opts->input_w;
		o.decision = opts->decision;
	}
	if (check_opts(info, &o, err) < 0)
		return -1;
	*out = o;
	return 0;
}

/* ---- building blocks; each passes a failed input (-1) through ---- */

typedef struct builder {
	aoi_net *net;
	aoi_error *err;
	int features;  /* decoder features at stride 8, for a decision head */
} builder;

static void block(builder *b, const char *fmt, int n)
{
	char name[64];

	snprintf(name, sizeof name, fmt, n);
	aoi_net_set_block(b->net, name);
}

static int act(builder *b, int x, enum aoi_act a)
{
	return x < 0 || a == AOI_ACT_NONE ? x : aoi_net_activation(b->net, x, a, 0.0f, b->err);
}

/* conv k/s (padding k/2, no bias), bn, activation */
static int conv_bn(builder *b, int x, int out, int k, int s, int groups, enum aoi_act a)
{
	if (x >= 0)
		x = aoi_net_conv(b->net, x, out, k, s, k / 2, 1, groups, 0, b->err);
	if (x >= 0)
		x = aoi_net_batchnorm(b->net, x, b->err);
	return act(b, x, a);
}

/* conv k/s with bias and padding pad, then an activation */
static int conv_bias(builder *b, int x, int out, int k, int s, int pad, int groups,
		     enum aoi_act a)
{
	if (x >= 0)
		x = aoi_net_conv(b->net, x, out, k, s, pad, 1, groups, 1, b->err);
	return act(b, x, a);
}

static int dense(builder *b, int x, int out, enum aoi_act a)
{
	if (x >= 0)
		x = aoi_net_dense(b->net, x, out, 1, b->err);
	return act(b, x, a);
}

static int dropout(builder *b, int x, float p)
{
	return x < 0 ? x : aoi_net_dropout(b->net, x, p, b->err);
}

static int flatten(builder *b, int x)
{
	return x < 0 ? x : aoi_net_flatten(b->net, x, b->err);
}

/* ---- MobileNetV2 encoder (torchvision mobilenet_v2().features) ---- */

static const int mbv2_table[7][4] = { /* t, c, n, s */
	{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
	{6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};

/* features indices whose outputs the decoders take (strides 2..32) */
static const int mbv2_taps[5] = {1, 3, 6, 13, 18};

typedef struct mbv2_features {
	int node[5];  /* tap outputs, stride 2, 4, 8, 16, 32 */
	int chans[5];
} mbv2_features;

static int inverted_residual(builder *b, int x, int cin, int cout, int stride, int t)
{
	int y = x, hidden = cin * t;

	if (t != 1)
		y = conv_bn(b, y, hidden, 1, 1, 1, AOI_ACT_RELU6);
	y = conv_bn(b, y, hidden, 3, stride, hidden, AOI_ACT_RELU6);
	y = conv_bn(b, y, cout, 1, 1, 1, AOI_ACT_NONE);
	if (y >= 0 && stride == 1 && cin == cout)
		y = aoi_net_add(b->net, x, y, b->err);
	return y;
}

static void keep_tap(mbv2_features *f, int idx, int x, int c)
{
	for (int k = 0; k < 5; k++)
		if (mbv2_taps[k] == idx) {
			f->node[k] = x;
			f->chans[k] = c;
		}
}

/* The encoder; with `last` 0 it stops before the final 1x1 conv to 1280
 * channels (the stride-32 tap is then the last block's output). */
static int mbv2_features_up_to(builder *b, double width, mbv2_features *f, int last_conv)
{
	int c = aoi_arch_make_divisible(32 * width, 8), idx = 0, x;
	int last = aoi_arch_make_divisible(1280 * (width > 1.0 ? width : 1.0), 8);

	block(b, "encoder.%d", idx);
	x = conv_bn(b, 0, c, 3, 2, 1, AOI_ACT_RELU6);
	for (int r = 0; r < 7; r++) {
		int cout = aoi_arch_make_divisible(mbv2_table[r][1] * width, 8);
		for (int i = 0; i < mbv2_table[r][2]; i++) {
			block(b, "encoder.%d", ++idx);
			x = inverted_residual(b, x, c, cout, i ? 1 : mbv2_table[r][3],
					      mbv2_table[r][0]);
			c = cout;
			keep_tap(f, idx, x, c);
		}
	}
	if (!last_conv) {
		f->node[4] = x;
		f->chans[4] = c;
		return x;
	}
	block(b, "encoder.%d", ++idx);
	x = conv_bn(b, x, last, 1, 1, 1, AOI_ACT_RELU6);
	keep_tap(f, idx, x, last);
	return x;
}

static int mbv2_encoder(builder *b, double width, mbv2_features *f)
{
	return mbv2_features_up_to(b, width, f, 1);
}

/* ---- segmentation decoders ---- */

/* segmentation_models_pytorch's Unet: nearest x2, concatenate the skip,
 * two conv 3/1 + bn + ReLU; head conv 3/1 with bias. */
static int build_unet(builder *b, const aoi_arch_opts *o)
{
	mbv2_features f;
	int x = mbv2_encoder(b, o->width, &f);

	for (int k = 0; k < 5; k++) {
		block(b, "decoder.%d", k);
		if (x >= 0)
			x = aoi_net_upsample(b->net, x, 2, 0, b->err);
		if (x >= 0 && k < 4) {
			int ins[2] = {x, f.node[3 - k]};
			x = aoi_net_concat(b->net, 2, ins, b->err);
		}
		x = conv_bn(b, x, o->decoder[k], 3, 1, 1, AOI_ACT_RELU);
		x = conv_bn(b, x, o->decoder[k], 3, 1, 1, AOI_ACT_RELU);
		if (k == 1)
			b->features = x;
	}
	aoi_net_set_block(b->net, "head");
	return conv_bias(b, x, o->classes, 3, 1, 1, 1, AOI_ACT_NONE);
}

/* mbv2-unet-xs: the Unet of mbv2-unet-s made cheap on a CPU. The decoder
 * read the encoder's 1280-channel 1x1 conv (28% of mbv2-unet-s's work at
 * 224x224) and ended in 8-channel 3x3 convs at full resolution (40% of
 * its time: so few channels keep a CPU's vector units idle). Here the
 * decoder reads the last block (160 channels), has four blocks (to stride
 * 2), and the head's logits are upsampled x2 (bilinear). */
static int build_unet_xs(builder *b, const aoi_arch_opts *o)
{
	mbv2_features f;
	int x = mbv2_features_up_to(b, o->width, &f, 0);

	for (int k = 0; k < 4; k++) {
		block(b, "decoder.%d", k);
		if (x >= 0)
			x = aoi_net_upsample(b->net, x, 2, 0, b->err);
		if (x >= 0) {
			int ins[2] = {x, f.node[3 - k]};
			x = aoi_net_concat(b->net, 2, ins, b->err);
		}
		x = conv_bn(b, x, o->decoder[k], 3, 1, 1, AOI_ACT_RELU);
		x = conv_bn(b, x, o->decoder[k], 3, 1, 1, AOI_ACT_RELU);
		if (k == 1)
			b->features = x;
	}
	aoi_net_set_block(b->net, "head");
	x = conv_bias(b, x, o->classes, 3, 1, 1, 1, AOI_ACT_NONE);
	return x < 0 ? x : aoi_net_upsample(b->net, x, 2, 1, b->err);
}

/* LinkNet: 1x1 to cin/4 (at least min_mid), transposed conv 3/2, 1x1 to
 * the skip's channels (each + bn + ReLU), added to the skip; head conv 1/1
 * with bias. */
static int linknet(builder *b, const aoi_arch_opts *o, int min_mid)
{
	mbv2_features f;
	int x = mbv2_encoder(b, o->width, &f);
	int chans[6] = {f.chans[4], f.chans[3], f.chans[2], f.chans[1], f.chans[0],
			o->decoder[0]};

	for (int k = 0; k < 5; k++) {
		int mid = chans[k] / 4 > min_mid ? chans[k] / 4 : min_mid;
		block(b, "decoder.%d", k);
		x = conv_bn(b, x, mid, 1, 1, 1, AOI_ACT_RELU);
		if (x >= 0)
			x = aoi_net_conv_transpose(b->net, x, mid, 3, 2, 1, 1, 0, b->err);
		if (x >= 0)
			x = aoi_net_batchnorm(b->net, x, b->err);
		x = act(b, x, AOI_ACT_RELU);
		x = conv_bn(b, x, chans[k + 1], 1, 1, 1, AOI_ACT_RELU);
		if (x >= 0 && k < 4)
			x = aoi_net_add(b->net, x, f.node[3 - k], b->err);
		if (k == 1)
			b->features = x;
	}
	aoi_net_set_block(b->net, "head");
	return conv_bias(b, x, o->classes, 1, 1, 0, 1, AOI_ACT_NONE);
}

static int build_linknet(builder *b, const aoi_arch_opts *o)
{
	return linknet(b, o, 1);
}

/* The compact variant keeps at least 8 channels in each bottleneck: at
 * width 0.5 cin/4 leaves 2 at strides 2 and 4, all that reaches the full
 * resolution, and through 2 ReLU channels the net (PyTorch's too, same
 * weights) could not even learn 4 images by heart. */
#define LINKNET_S_MIN_MID 8

static int build_linknet_s(builder *b, const aoi_arch_opts *o)
{
	return linknet(b, o, LINKNET_S_MIN_MID);
}

static const int vgg_stages[4][3] = {{64, 64, 0}, {128, 128, 0}, {256, 256, 256}, {512, 512, 512}};

static int vgg_width(int s, double width)
{
	return aoi_arch_make_divisible(vgg_stages[s][0] * width, 8);
}

/* SegNet: VGG16 stages 1-4 (conv 3/1 + bn + ReLU), 2x2 max pools keeping
 * indices; the decoder unpools with them and mirrors the convs. */
static int build_segnet(builder *b, const aoi_arch_opts *o)
{
	int x = 0, pool[4];

	for (int s = 0; s < 4; s++) {
		block(b, "encoder.%d", s);
		for (int i = 0; i < 3 && vgg_stages[s][i]; i++)
			x = conv_bn(b, x, vgg_width(s, o->width), 3, 1, 1, AOI_ACT_RELU);
		pool[s] = x = x < 0 ? x : aoi_net_maxpool(b->net, x, 2, 2, 0, b->err);
	}
	for (int s = 3; s >= 0; s--) {
		int n = vgg_stages[s][2] ? 3 : 2;
		block(b, "decoder.%d", 3 - s);
		if (x >= 0)
			x = aoi_net_maxunpool(b->net, x, pool[s], b->err);
		for (int i = 0; i < (s ? n : n - 1); i++) {
			int out = s && i == n - 1 ? vgg_width(s - 1, o->width) : vgg_width(s, o->width);
			x = conv_bn(b, x, out, 3, 1, 1, AOI_ACT_RELU);
		}
		if (s == 3)
			b->features = x;
	}
	aoi_net_set_block(b->net, "head");
	return conv_bias(b, x, o->classes, 3, 1, 1, 1, AOI_ACT_NONE);
}

/* ---- classification and keypoints ---- */

static int maxpool(builder *b, int x, int k, int s)
{
	return x < 0 ? x : aoi_net_maxpool(b->net, x, k, s, 0, b->err);
}

/* torchvision AlexNet; encoder blocks named by its features indices */
static int build_alexnet(builder *b, const aoi_arch_opts *o)
{
	int x;

	block(b, "encoder.%d", 0);
	x = maxpool(b, conv_bias(b, 0, 64, 11, 4, 2, 1, AOI_ACT_RELU), 3, 2);
	block(b, "encoder.%d", 3);
	x = maxpool(b, conv_bias(b, x, 192, 5, 1, 2, 1, AOI_ACT_RELU), 3, 2);
	block(b, "encoder.%d", 6);
	x = conv_bias(b, x, 384, 3, 1, 1, 1, AOI_ACT_RELU);
	block(b, "encoder.%d", 8);
	x = conv_bias(b, x, 256, 3, 1, 1, 1, AOI_ACT_RELU);
	block(b, "encoder.%d", 10);
	x = maxpool(b, conv_bias(b, x, 256, 3, 1, 1, 1, AOI_ACT_RELU), 3, 2);
	aoi_net_set_block(b->net, "head");
	if (x >= 0)
		x = aoi_net_adaptive_avgpool(b->net, x, 6, 6, b->err);
	x = dropout(b, flatten(b, x), 0.5f);
	x = dropout(b, dense(b, x, 4096, AOI_ACT_RELU), 0.5f);
	x = dense(b, x, 4096, AOI_ACT_RELU);
	return dense(b, x, o->classes, AOI_ACT_NONE);
}

/* torchvision mobilenet_v2 classifier: global average, dropout 0.2, dense */
static int build_mbv2_cls(builder *b, const aoi_arch_opts *o)
{
	mbv2_features f;
	int x = mbv2_encoder(b, o->width, &f);

	aoi_net_set_block(b->net, "head");
	if (x >= 0)
		x = aoi_net_global_avgpool(b->net, x, b->err);
	x = dropout(b, flatten(b, x), 0.2f);
	return dense(b, x, o->classes, AOI_ACT_NONE);
}

/* Seed 002: separable conv (dw 5/1, 1x1 to 8, ReLU), dense 512 ReLU,
 * dropout 0.1, dense 8 (x, y of the corners c1..c4). */
static int build_corners(builder *b, const aoi_arch_opts *o)
{
	mbv2_features f;
	int x = mbv2_encoder(b, o->width, &f);

	aoi_net_set_block(b->net, "head");
	x = conv_bias(b, x, f.chans[4], 5, 1, 2, f.chans[4], AOI_ACT_NONE);
	x = conv_bias(b, x, 8, 1, 1, 0, 1, AOI_ACT_RELU);
	x = dropout(b, dense(b, flatten(b, x), 512, AOI_ACT_RELU), 0.1f);
	return dense(b, x, o->classes, AOI_ACT_NONE);
}

/* The image decision head (arch.h): features at stride 8 and the
 * segmentation logits seg (at the input's resolution) into one logit. */
static int decision_head(builder *b, int features, int seg)
{
	int x = seg, s, small, pools[4];

	aoi_net_set_block(b->net, "decision");
	if (x >= 0)
		x = s = aoi_net_detach(b->net, seg, b->err);
	if (x >= 0)
		x = small = aoi_net_maxpool(b->net, s, 8, 8, 0, b->err);
	if (x >= 0)
		x = aoi_net_concat(b->net, 2, (int[]){ features, small }, b->err);
	x = conv_bn(b, x, 32, 3, 2, 1, AOI_ACT_RELU);
	x = conv_bn(b, x, 32, 3, 2, 1, AOI_ACT_RELU);
	if (x < 0)
		return x;
	pools[0] = aoi_net_global_avgpool(b->net, x, b->err);
	pools[1] = aoi_net_global_maxpool(b->net, x, b->err);
	pools[2] = aoi_net_global_maxpool(b->net, s, b->err);
	pools[3] = aoi_net_global_avgpool(b->net, s, b->err);
	for (int i = 0; i < 4; i++)
		if (pools[i] < 0)
			return -1;
	x = aoi_net_concat(b->net, 4, pools, b->err);
	return dense(b, flatten(b, x), 1, AOI_ACT_NONE);
}

typedef int (*build_fn)(builder *, const aoi_arch_opts *);

static build_fn builder_for(const char *name)
{
	if (strcmp(name, "mbv2-unet-xs") == 0)
		return build_unet_xs;
	if (strncmp(name, "mbv2-unet", 9) == 0)
		return build_unet;
	if (strcmp(name, "mbv2-linknet-s") == 0)
		return build_linknet_s;
	if (strncmp(name, "mbv2-linknet", 12) == 0)
		return build_linknet;
	if (strncmp(name, "segnet", 6) == 0)
		return build_segnet;
	if (strcmp(name, "alexnet") == 0)
		return build_alexnet;
	if (strncmp(name, "mbv2-cls", 8) == 0)
		return build_mbv2_cls;
	return build_corners;
}

aoi_net *aoi_arch_build(const char *name, const aoi_arch_opts *opts, aoi_error *err)
{
	aoi_arch_opts o;
	builder b;
	int out;

	if (aoi_arch_resolve(name, opts, &o, err) < 0)
		return NULL;
	b.err = err;
	b.features = -1;
	b.net = aoi_net_new(o.in_channels, err);
	if (!b.net)
		return NULL;
	/* shapes are checked while building at this size; a dense layer after
	 * a flatten (mbv2-corners) takes its input features from it */
	if (aoi_net_set_input_size(b.net, o.input_h, o.input_w, err) < 0) {
		aoi_net_free(b.net);
		return NULL;
	}
	out = builder_for(name)(&b, &o);
	int dec = o.decision && out >= 0 ? decision_head(&b, b.features, out) : 0;
	if (out >= 0 && dec >= 0)
		out = aoi_net_set_output(b.net, out, err);
	if (out >= 0 && o.decision && dec >= 0)
		dec = aoi_net_add_output(b.net, dec, err);
	if (dec < 0)
		out = -1;
	if (out < 0) {
		aoi_net_free(b.net);
		return NULL;
	}
	return b.net;
}
