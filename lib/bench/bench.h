/* bench.h: what aoi-bench measures with, apart from the network itself:
 * timing statistics over repeated runs, this machine's FP32
 * matrix-multiply peak (the yardstick for "how much of the CPU does a
 * network use"), pipeline stage cuts by cumulative cost (seed 003 cuts
 * MobileNetV2 into five stages of about equal computation), and the
 * cost of a million images at a price per hour (seed 000, table I).
 *
 * Timing a network (bench_net.c): forward passes, training steps and
 * per-node times on a planned net with random inputs.
 *
 * The whole chain of a segmentation line (bench_pipeline.c): decode,
 * preprocess, infer, write the mask, classify, timed stage by stage.
 *
 * aoi-bench's whole run (bench_run.c): the net built or loaded, each
 * measurement over the thread counts, the figures written out
 * (bench_report.h).
 *
 * Nothing here prints. aoi_bench_sgemm_peak() and aoi_bench_stage_cuts()
 * allocate their work space and free it before they return; the others
 * work in the caller's arrays. */
#ifndef AOI_BENCH_H
#define AOI_BENCH_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"
#include "base/rng.h"
#include "data/loader.h"
#include "data/record.h"
#include "eval/rules.h"
#include "model/arch.h"
#include "nn/net.h"

/* ---- timing statistics ---- */

typedef struct aoi_bench_stats {
	int n;
	double min, max, mean, stddev;
	double median, p95, p99;
} aoi_bench_stats;

/* Quantile p (0..1) of n ascending values, interpolated linearly between
 * the closest ranks: x[h] with h = (n - 1) p, as numpy.quantile's default
 * (and R's type 7). n = 0 gives NaN. */
double aoi_bench_quantile(const double *sorted, int n, double p);

/* Statistics of n samples; sorts `samples` in place (ascending). */
int aoi_bench_stats_compute(double *samples, int n, aoi_bench_stats *out,
			    aoi_error *err);

/* ---- the machine's FP32 peak ---- */

/* Cores OpenMP sees (the default thread count). */
int aoi_bench_cores(void);

typedef struct aoi_bench_peak {
	int n;          /* square matrices n x n */
	int threads;
	double seconds; /* the fastest of the timed products */
	double gflops;  /* 2 n^3 / seconds / 1e9 */
} aoi_bench_peak;

/* Time C = A B with cblas_sgemm on n x n matrices at `threads` threads
 * (0 = all cores), one untimed product first, then `reps` timed ones;
 * the peak is the fastest. Leaves OpenBLAS and OpenMP at `threads`. */
int aoi_bench_sgemm_peak(int n, int threads, int reps, aoi_bench_peak *out,
			 aoi_error *err);

/* ---- pipeline stages ---- */

/* Split n layers of cost[0..n-1] (FLOPs or seconds, >= 0) into `stages`
 * contiguous, non-empty stages so that the most expensive stage (the
 * pipeline's bottleneck) costs as little as possible. cuts[k] (k <
 * stages - 1) is the index of the first layer of stage k + 1; stage_cost
 * (may be NULL) gets each stage's total. Among the splits with the best
 * bottleneck it takes the most even one (least sum of squared stage
 * costs), and among those the one with the last cut earliest (then the
 * one before it, and so on). Needs
 * 1 <= stages <= n. */
int aoi_bench_stage_cuts(const double *cost, int n, int stages, int *cuts,
			 double *stage_cost, aoi_error *err);

/* ---- timing a network (bench_net.c) ----
 * The net must be planned (aoi_net_plan) and its threads set. Inputs are
 * drawn from N(0, 1) with rng; the buffers are allocated before the clock
 * starts, so that only the network's own work is timed. */

/* FLOPs of one forward pass of the planned batch (2 per multiply-add),
 * summed over the nodes. */
double aoi_bench_net_flops(const aoi_net *net);

/* `warmup` untimed then `runs` timed forward passes; seconds[runs]. */
int aoi_bench_forward(aoi_net *net, int warmup, int runs, aoi_rng *rng,
		      double *seconds, aoi_error *err);

/* One training step, in its phases, as torch_ref.py times it. */
typedef struct aoi_bench_step {
	double forward, loss, backward, optim, total;
} aoi_bench_step;

/* `warmup` untimed then `runs` timed training steps on a fixed random
 * batch: gradients zeroed, forward in training mode, the task's loss
 * (cross-entropy on random labels for segmentation and classification,
 * MSE on random targets for keypoints), backward, an SGD step (lr 0.001,
 * momentum 0.9). steps[runs]. The parameters change: use a scratch net. */
int aoi_bench_train(aoi_net *net, enum aoi_task task, int warmup, int runs,
		    aoi_rng *rng, aoi_bench_step *steps, aoi_error *err);

/* Per-node forward times: the median over `runs` timed passes (after
 * `warmup`) of each node's time into node_seconds[aoi_net_node_count()];
 * 0 for the input and for nodes fused into another. */
int aoi_bench_layers(aoi_net *net, int warmup, int runs, aoi_rng *rng,
		     double *node_seconds, aoi_error *err);

/* ---- the whole chain (bench_pipeline.c) ---- */

enum aoi_bench_stage {
	AOI_BENCH_DECODE,     /* the image file into pixels */
	AOI_BENCH_PREPROCESS, /* resized to the input, normalised floats */
	AOI_BENCH_INFER,      /* the network */
	AOI_BENCH_WRITE,      /* class-index mask at full size, written as PNG */
	AOI_BENCH_CLASSIFY,   /* the rules' decision */
	AOI_BENCH_NSTAGES
};

const char *aoi_bench_stage_name(int stage); /* "decode", ... */

typedef struct aoi_bench_chain_opts {
	int channels;               /* of the image in the input: 1 or 3 */
	aoi_norm norm;              /* per-channel normalisation */
	const aoi_classes *classes; /* names of mask indices 1..; may be NULL */
	const aoi_rules *rules;     /* the decision */
	const char *mask_dir;       /* masks go to DIR/NNNNNN.png */
	long limit;                 /* images at most; 0: all */
} aoi_bench_chain_opts;

typedef struct aoi_bench_chain {
	long images, rejected;
	double seconds[AOI_BENCH_NSTAGES]; /* summed over the images */
	double wall;                       /* the whole loop */
} aoi_bench_chain;

/* Every record of `dataset` (JSON lines, man aoi-dataset.5) through the
 * chain, one image after the other; the net (segmentation, planned for
 * batch 1) sets the input size. */
int aoi_bench_pipeline(aoi_net *net, const char *dataset, const aoi_bench_chain_opts *o,
		       aoi_bench_chain *out, aoi_error *err);

/* ---- throughput and money ---- */

/* images/s from seconds per run of `batch` images. */
double aoi_bench_rate(double seconds, int batch);
/* Price of a million images at `rate` images/s on a machine that costs
 * price_per_hour for every hour it runs. */
double aoi_bench_cost_per_million(double rate, double price_per_hour);
/* Images a day at `rate` images/s. */
double aoi_bench_per_day(double rate);

/* ---- aoi-bench's whole run (bench_run.c) ---- */

#define AOI_BENCH_MAX_THREADS 64

/* What aoi-bench measures: inference by default, or per layer (with stage
 * cuts), training steps or the whole chain; man/aoi-bench.1. */
typedef struct aoi_bench_opts {
	const char *arch;     /* a reference network with random weights, */
	const char *model;    /* or a model file */
	long classes;         /* outputs of arch; 0: the network's */
	int width, height;    /* input; 0: the network's */
	long batch, runs, warmup;
	long threads[AOI_BENCH_MAX_THREADS]; /* thread counts in turn */
	int nthreads;         /* 0: all cores */
	int layers;           /* per layer, */
	long stages;          /* cut into this many stages (0: no cut) */
	int cut_by_time;      /* of equal time, not FLOPs */
	int train;            /* training steps, */
	long dataset_size;    /* and an epoch of this many images */
	const char *pipeline; /* the whole chain on this dataset, */
	const char *rules;    /* with these rules (NULL: {}), */
	const char *mask_dir; /* the masks kept here (NULL: a temporary directory) */
	long limit;           /* images at most; 0: all */
	double target;        /* images/s to reach; 0: none */
	double price;         /* machine price per hour; 0: none */
	long peak_size;       /* sgemm peak on NxN matrices; 0: not measured */
	long seed;            /* weights and inputs */
	int table;            /* tables, not JSON lines */
} aoi_bench_opts;

/* batch 1, 10 runs after 2, peak on 2048x2048, seed 1, the rest 0 */
void aoi_bench_opts_init(aoi_bench_opts *o);

/* The measurement o asks for, at each thread count, reported to out as it
 * goes (bench_report.h); 0 or -1. */
int aoi_bench_run(const aoi_bench_opts *o, FILE *out, aoi_error *err);

#endif
