/* bench_report.h: aoi-bench's figures written out, as JSON lines (one
 * object a line, for programs) or aligned tables (for people): inference
 * and training rows over thread counts with rates, share of the sgemm peak,
 * speedup, cost and target; the per-layer table; pipeline stage cuts; the
 * whole chain stage by stage. Keys and columns: man/aoi-bench.1.
 *
 * Each function writes to r->out and reports nothing back: a write error
 * shows when the caller checks the stream (aoi_cli_close_stdout). */
#ifndef AOI_BENCH_REPORT_H
#define AOI_BENCH_REPORT_H

#include <stdio.h>

#include "bench/bench.h"
#include "model/arch.h"
#include "nn/net.h"

/* What every line of one run shares. */
typedef struct aoi_bench_report {
	FILE *out;
	int table;           /* 1: tables; 0: JSON lines */
	const char *name;    /* the net: architecture name or model file */
	enum aoi_task task;
	int width, height, batch, runs;
	int threads;         /* this pass */
	int first_threads;   /* the first pass's thread count */
	int first;           /* the first pass: tables print their heading */
	double peak;         /* the sgemm peak, GFLOP/s; 0: not measured */
	double base_rate;    /* images/s of the first pass (speedup); 0 before */
	double price;        /* machine price per hour; 0: none */
	double target;       /* images/s to reach; 0: none */
} aoi_bench_report;

/* Forward passes: flops a run, st their times; the first call sets
 * base_rate. */
void aoi_bench_report_infer(aoi_bench_report *r, const aoi_bench_stats *st, double flops);

/* Training steps: flops a step, st their times, phase[4] the medians of
 * forward, loss, backward and optimiser; with dataset_size > 0 the time
 * of an epoch of that many images too. */
void aoi_bench_report_train(aoi_bench_report *r, const aoi_bench_stats *st,
			    const double phase[4], double flops, long dataset_size);

/* Node by node: seconds[i] and flops[i] of each of the net's n nodes, with
 * their running shares. */
void aoi_bench_report_layers(const aoi_bench_report *r, const aoi_net *net,
			     const double *seconds, const double *flops, int n);

/* Stage k of `stages` runs nodes first[k]..first[k+1]-1 (the last up to
 * node n-1); cut by time or by FLOPs (by_time). */
void aoi_bench_report_stages(const aoi_bench_report *r, int stages, const int *first, int n,
			     const double *seconds, const double *flops, int by_time);

/* The whole chain on `dataset`. */
void aoi_bench_report_pipeline(const aoi_bench_report *r, const char *dataset,
			       const aoi_bench_chain *ch);

#endif
