/* bench_report.c: aoi-bench's JSON lines and tables (bench_report.h). */
#include "bench/bench_report.h"

#include <math.h>

#include <jansson.h>

#include "nn/cpu.h"

static json_t *base_json(const aoi_bench_report *r, const char *mode)
{
	return json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s}", "net", r->name, "mode",
			 mode, "task", aoi_task_name(r->task), "width", r->width, "height",
			 r->height, "batch", r->batch, "threads", r->threads, "runs", r->runs,
			 "kernels", aoi_nn_kernel_level());
}

/* Infinite and NaN figures (no peak, no time) are left out. */
static void put_real(json_t *j, const char *key, double v)
{
	if (isfinite(v))
		json_object_set_new(j, key, json_real(v));
}

static void print_json(const aoi_bench_report *r, json_t *j)
{
	if (j) {
		json_dumpf(j, r->out, JSON_COMPACT | JSON_REAL_PRECISION(6));
		fputc('\n', r->out);
		json_decref(j);
	}
}

/* Rate-derived figures shared by inference, training and pipeline lines. */
static void put_rate(const aoi_bench_report *r, json_t *j, double rate, double gflops)
{
	put_real(j, "images_per_s", rate);
	put_real(j, "images_per_day", aoi_bench_per_day(rate));
	put_real(j, "gflops", gflops);
	if (r->peak > 0) {
		put_real(j, "peak_gflops", r->peak);
		put_real(j, "peak_share", gflops / r->peak);
	}
	if (r->base_rate > 0) {
		put_real(j, "speedup", rate / r->base_rate);
		put_real(j, "efficiency", rate / r->base_rate * r->first_threads / r->threads);
	}
	if (r->price > 0)
		put_real(j, "cost_per_million", aoi_bench_cost_per_million(rate, r->price));
	if (r->target > 0) {
		put_real(j, "target", r->target);
		json_object_set_new(j, "meets_target", json_boolean(rate >= r->target));
	}
}

static void put_stats(json_t *j, const aoi_bench_stats *st)
{
	put_real(j, "median_s", st->median);
	put_real(j, "p95_s", st->p95);
	put_real(j, "p99_s", st->p99);
	put_real(j, "mean_s", st->mean);
	put_real(j, "min_s", st->min);
	put_real(j, "max_s", st->max);
	put_real(j, "stddev_s", st->stddev);
}

static void table_rate_header(const aoi_bench_report *r, const char *first)
{
	fprintf(r->out, "%-8s %10s %10s %10s %9s %9s %8s %8s", first, "median_ms", "p95_ms",
		"p99_ms", "img/s", "GFLOP/s", "%peak", "speedup");
	if (r->price > 0)
		fprintf(r->out, " %12s", "cost/M_img");
	if (r->target > 0)
		fprintf(r->out, " %7s", "target");
	fputc('\n', r->out);
}

static void table_rate_row(const aoi_bench_report *r, const aoi_bench_stats *st, double rate,
			   double gflops)
{
	fprintf(r->out, "%-8d %10.2f %10.2f %10.2f %9.2f %9.1f %7.1f%% %7.2fx", r->threads,
		st->median * 1e3, st->p95 * 1e3, st->p99 * 1e3, rate, gflops,
		r->peak > 0 ? 100 * gflops / r->peak : NAN,
		r->base_rate > 0 ? rate / r->base_rate : 1.0);
	if (r->price > 0)
		fprintf(r->out, " %12.4f", aoi_bench_cost_per_million(rate, r->price));
	if (r->target > 0)
		fprintf(r->out, " %7s", rate >= r->target ? "met" : "missed");
	fputc('\n', r->out);
}

void aoi_bench_report_infer(aoi_bench_report *r, const aoi_bench_stats *st, double flops)
{
	double rate = aoi_bench_rate(st->median, r->batch), gflops = flops / st->median / 1e9;

	if (r->base_rate == 0)
		r->base_rate = rate;
	if (r->table) {
		if (r->first)
			fprintf(r->out, "%s inference, batch %d, %dx%d, %.3f GFLOP a run, %d runs, kernels %s\n",
				r->name, r->batch, r->width, r->height, flops / 1e9, r->runs,
				aoi_nn_kernel_level()),
			table_rate_header(r, "threads");
		table_rate_row(r, st, rate, gflops);
		return;
	}
	json_t *j = base_json(r, "infer");
	put_real(j, "gflop", flops / 1e9);
	put_stats(j, st);
	put_rate(r, j, rate, gflops);
	print_json(r, j);
}

void aoi_bench_report_train(aoi_bench_report *r, const aoi_bench_stats *st,
			    const double ph[4], double flops, long dataset_size)
{
	double rate = aoi_bench_rate(st->median, r->batch), gflops = flops / st->median / 1e9;
	double epoch = dataset_size ? ceil((double)dataset_size / r->batch) * st->median : 0;

	if (r->base_rate == 0)
		r->base_rate = rate;
	if (r->table) {
		if (r->first)
			fprintf(r->out, "%s training step, batch %d, %dx%d, %d runs, kernels %s\n",
				r->name, r->batch, r->width, r->height, r->runs, aoi_nn_kernel_level()),
			table_rate_header(r, "threads");
		table_rate_row(r, st, rate, gflops);
		fprintf(r->out, "%8s forward %.1f ms, loss %.1f ms, backward %.1f ms, optimiser %.1f ms",
			"", ph[0] * 1e3, ph[1] * 1e3, ph[2] * 1e3, ph[3] * 1e3);
		if (epoch > 0)
			fprintf(r->out, "; epoch of %ld images: %.1f s", dataset_size, epoch);
		fputc('\n', r->out);
		return;
	}
	json_t *j = base_json(r, "train");
	put_real(j, "gflop", flops / 1e9);
	put_stats(j, st);
	put_real(j, "forward_s", ph[0]);
	put_real(j, "loss_s", ph[1]);
	put_real(j, "backward_s", ph[2]);
	put_real(j, "optim_s", ph[3]);
	if (epoch > 0) {
		json_object_set_new(j, "dataset_size", json_integer(dataset_size));
		put_real(j, "epoch_s", epoch);
	}
	put_rate(r, j, rate, gflops);
	print_json(r, j);
}

/* One row of the layer table: node i's time and FLOPs, and both cumulated. */
static void layer_row(const aoi_bench_report *r, int i, const aoi_node_info *in, double t,
		      double f, const double cum[2], const double total[2])
{
	if (r->table) {
		char shape[48];

		snprintf(shape, sizeof shape, "%dx%dx%d", in->out.c, in->out.h, in->out.w);
		fprintf(r->out, "%5d %-14.14s %-12.12s %15s %10.2f %9.3f %6.1f%% %6.1f%%\n", i,
			in->kind, in->block, shape, f / 1e6, t * 1e3, 100 * cum[0] / total[0],
			total[1] > 0 ? 100 * cum[1] / total[1] : 0);
		return;
	}
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:s, s:[i,i,i,i]}", "net", r->name,
			      "mode", "layer", "threads", r->threads, "node", i, "kind", in->kind,
			      "block", in->block, "shape", in->out.n, in->out.c, in->out.h, in->out.w);
	put_real(j, "flops", f);
	put_real(j, "seconds", t);
	put_real(j, "cum_flops", cum[0]);
	put_real(j, "cum_flops_share", cum[0] / total[0]);
	put_real(j, "cum_seconds", cum[1]);
	put_real(j, "cum_seconds_share", total[1] > 0 ? cum[1] / total[1] : 0);
	print_json(r, j);
}

void aoi_bench_report_layers(const aoi_bench_report *r, const aoi_net *net,
			     const double *t, const double *f, int n)
{
	double total[2] = {0, 0}, cum[2] = {0, 0};
	aoi_node_info info;

	for (int i = 0; i < n; i++)
		total[0] += f[i], total[1] += t[i];
	if (r->table)
		fprintf(r->out, "%s layers, batch %d, %dx%d, threads %d, kernels %s\n"
			"%5s %-14s %-12s %15s %10s %9s %7s %7s\n", r->name, r->batch, r->width,
			r->height, r->threads, aoi_nn_kernel_level(), "node", "kind", "block", "output", "MFLOP", "ms",
			"cumFL", "cumT");
	for (int i = 0; i < n; i++) {
		aoi_net_node_info(net, i, &info);
		cum[0] += f[i], cum[1] += t[i];
		layer_row(r, i, &info, t[i], f[i], cum, total);
	}
}

/* The JSON line of the stage cut: per stage its first node, node count,
 * FLOPs and seconds. */
static void stages_json(const aoi_bench_report *r, int stages, const int *first, int n,
			const double *t, const double *f, int by_time, double slowest)
{
	json_t *jf = json_array(), *jn = json_array(), *jt = json_array(), *jc = json_array();

	for (int k = 0; k < stages; k++) {
		int end = k + 1 < stages ? first[k + 1] : n;
		double sf = 0, st = 0;

		for (int i = first[k]; i < end; i++)
			sf += f[i], st += t[i];
		json_array_append_new(jc, json_integer(first[k]));
		json_array_append_new(jn, json_integer(end - first[k]));
		json_array_append_new(jf, json_real(sf));
		json_array_append_new(jt, json_real(st));
	}
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:s, s:o, s:o, s:o, s:o}", "net", r->name,
			      "mode", "stages", "threads", r->threads, "stages", stages, "cut_by",
			      by_time ? "time" : "flops", "first_node", jc, "nodes", jn,
			      "stage_flops", jf, "stage_seconds", jt);
	put_real(j, "pipeline_images_per_s", aoi_bench_rate(slowest, r->batch));
	print_json(r, j);
}

void aoi_bench_report_stages(const aoi_bench_report *r, int stages, const int *first, int n,
			     const double *t, const double *f, int by_time)
{
	double slowest = 0;

	if (r->table)
		fprintf(r->out, "%d stages by %s:\n", stages, by_time ? "time" : "flops");
	for (int k = 0; k < stages; k++) {
		int end = k + 1 < stages ? first[k + 1] : n;
		double sf = 0, st = 0;

		for (int i = first[k]; i < end; i++)
			sf += f[i], st += t[i];
		slowest = fmax(slowest, st);
		if (r->table)
			fprintf(r->out, "  stage %d: nodes %d-%d (%d), %.1f MFLOP, %.2f ms\n", k + 1,
				first[k], end - 1, end - first[k], sf / 1e6, st * 1e3);
	}
	if (r->table)
		fprintf(r->out, "  pipelined: %.2f images/s (the slowest stage)\n",
			aoi_bench_rate(slowest, r->batch));
	else
		stages_json(r, stages, first, n, t, f, by_time, slowest);
}

static void pipeline_table(const aoi_bench_report *r, const char *dataset,
			   const aoi_bench_chain *ch, double rate)
{
	fprintf(r->out, "%s pipeline on %s, %ld images at %dx%d, threads %d: %.2f images/s, "
		"%ld rejected\n%-12s %10s %7s\n", r->name, dataset, ch->images, r->width,
		r->height, r->threads, rate, ch->rejected, "stage", "ms/image", "share");
	for (int s = 0; s < AOI_BENCH_NSTAGES; s++)
		fprintf(r->out, "%-12s %10.2f %6.1f%%\n", aoi_bench_stage_name(s),
			1e3 * ch->seconds[s] / ch->images, 100 * ch->seconds[s] / ch->wall);
	if (r->target > 0)
		fprintf(r->out, "target %.2f images/s: %s (%.0f images a day)\n", r->target,
			rate >= r->target ? "met" : "missed", aoi_bench_per_day(rate));
}

void aoi_bench_report_pipeline(const aoi_bench_report *r, const char *dataset,
			       const aoi_bench_chain *ch)
{
	double rate = ch->images / ch->wall;
	int slow = 0;

	if (r->table) {
		pipeline_table(r, dataset, ch, rate);
		return;
	}
	for (int s = 1; s < AOI_BENCH_NSTAGES; s++)
		if (ch->seconds[s] > ch->seconds[slow])
			slow = s;
	json_t *j = json_pack("{s:s, s:s, s:s, s:i, s:i, s:i, s:I, s:I, s:s}", "net", r->name,
			      "mode", "pipeline", "dataset", dataset, "width", r->width,
			      "height", r->height, "threads", r->threads, "images",
			      (json_int_t)ch->images, "rejected", (json_int_t)ch->rejected,
			      "slowest_stage", aoi_bench_stage_name(slow));
	put_real(j, "wall_s", ch->wall);
	for (int s = 0; s < AOI_BENCH_NSTAGES; s++) {
		char key[32];

		snprintf(key, sizeof key, "%s_s", aoi_bench_stage_name(s));
		put_real(j, key, ch->seconds[s] / ch->images);
	}
	put_rate(r, j, rate, NAN);
	print_json(r, j);
}
