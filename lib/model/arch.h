/* arch.h: the named networks (../shared/ARCHITECTURES.md), built on net.h.
 *
 * Every network is built layer for layer as its PyTorch reference
 * (../shared/bench/torch_ref.py, torchvision), nodes added in the order of
 * PyTorch's parameters() so that the flat parameter arrays map one to one.
 * Blocks are named "encoder.N" (N = torchvision's features index for the
 * MobileNetV2 and AlexNet encoders, the VGG stage for segnet),
 * "decoder.N" and "head", so that --freeze encoder and --init transfer
 * work by name.
 *
 * Every network outputs raw scores (logits): softmax over channels (or a
 * sigmoid for one channel) is the caller's, as in PyTorch, so that the
 * losses can take logits.
 *
 * A segmentation network with opts.decision gets an image decision head
 * (Bozic et al. 2021, after Tabernik et al. 2019) as its second output,
 * in block "decision": the decoder's features at stride 8 beside the
 * segmentation logits max-pooled to that stride, two conv 3/2 32 + bn +
 * ReLU, then the global average and max of those features and the global
 * max and average of the segmentation logits, concatenated, dense to one
 * logit. The segmentation logits enter through a detach: the decision
 * learns from them but does not bend them; its gradient reaches the net
 * through the features.
 *
 * Names (see man/aoi-model.5 for the same table):
 *   mbv2-unet        segmentation, MobileNetV2 1.0 + Unet decoder 256,128,64,32,16
 *   mbv2-unet-s      compact: width 0.5, decoder 64,32,24,16,8
 *   mbv2-unet-xs     for CPUs: mbv2-unet-s without the 1280 conv, decoder
 *                    64,32,24,16 to stride 2, logits upsampled x2
 *   mbv2-linknet     segmentation, MobileNetV2 1.0 + LinkNet decoder, prefinal 32
 *   mbv2-linknet-s   compact: width 0.5, prefinal 16
 *   segnet           segmentation, VGG16 first four stages + mirrored decoder
 *   segnet-s         compact: VGG channels x 0.25 (16,32,64,128)
 *   alexnet          classification, torchvision AlexNet
 *   mbv2-cls         classification, MobileNetV2 + dropout 0.2 + dense
 *   mbv2-cls-s       compact: width 0.5
 *   mbv2-corners     keypoints (4 corners = 8 outputs), seed 002's head
 *   mbv2-corners-s   compact: width 0.5
 */
#ifndef AOI_ARCH_H
#define AOI_ARCH_H

#include "base/error.h"
#include "nn/net.h"

enum aoi_task {
	AOI_TASK_SEGMENTATION,
	AOI_TASK_CLASSIFICATION,
	AOI_TASK_KEYPOINTS,
	AOI_TASK_COUNT
};

#define AOI_ARCH_MAX_DECODER 8

/* Options; a zero field means "the name's default", so a zeroed struct
 * (or NULL) builds the reference network. */
typedef struct aoi_arch_opts {
	int in_channels;  /* 3 (RGB) or 1 (grey); doubled when a template is stacked */
	int classes;      /* segmentation/classification outputs; keypoints: 2 per point */
	double width;     /* MobileNetV2 width multiplier / VGG channel factor */
	int ndecoder;     /* decoder channels: 5 for unet, 1 (prefinal) for linknet */
	int decoder[AOI_ARCH_MAX_DECODER];
	int input_h, input_w; /* only nets with a flatten (mbv2-corners) depend on it */
	/* segmentation: 1 adds an image decision head (a second output, one
	 * logit per image: defective or not) */
	int decision;
} aoi_arch_opts;

typedef struct aoi_arch_info {
	const char *name;
	enum aoi_task task;
	const char *summary;
	int input_h, input_w; /* default input size */
	int size_multiple;    /* input sides must be multiples of this */
	int fixed_size;       /* 1: the net runs only at the size it was built for */
	aoi_arch_opts defaults; /* every field filled */
} aoi_arch_info;

int aoi_arch_count(void);
/* The i-th name (0 <= i < aoi_arch_count()), static storage. */
const aoi_arch_info *aoi_arch_at(int i);
/* NULL when the name is unknown. */
const aoi_arch_info *aoi_arch_find(const char *name);

const char *aoi_task_name(enum aoi_task task); /* "segmentation", ... */
/* -1 when the name is unknown. */
int aoi_task_parse(const char *name);

/* Fill every zero field of `opts` (may be NULL) with the name's default
 * into *out and check the values. */
int aoi_arch_resolve(const char *name, const aoi_arch_opts *opts,
		     aoi_arch_opts *out, aoi_error *err);

/* Build the named network (not planned, parameters not initialised: call
 * aoi_net_init_params() and aoi_net_plan()). The caller frees it. */
aoi_net *aoi_arch_build(const char *name, const aoi_arch_opts *opts, aoi_error *err);

/* torchvision's _make_divisible: v rounded to the nearest multiple of
 * divisor, never below divisor nor below 90% of v. */
int aoi_arch_make_divisible(double v, int divisor);

#endif
