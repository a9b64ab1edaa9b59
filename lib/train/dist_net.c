/* dist_net.c: what data-parallel training does to a network's flat
 * buffers (see "The trainer's side" in dist.h). */
#include "train/dist.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <omp.h>

#include "base/cli.h"
#include "train/dist_impl.h"

int aoi_dist_sync_net(aoi_dist *d, aoi_net *net, aoi_error *err)
{
	size_t nstate = 0;
	float *state = aoi_net_state(net, &nstate);
	if (aoi_dist_bcast(d, aoi_net_params(net), aoi_net_param_count(net) * sizeof(float),
			   err) < 0)
		return -1;
	return aoi_dist_bcast(d, state, nstate * sizeof(float), err);
}

void aoi_dist_scale_loss_grad(const aoi_dist *d, float *grad, size_t n)
{
	int size = aoi_dist_size(d);
	if (size == 1)
		return;
	float k = 1.0f / (float)size;
	for (size_t i = 0; i < n; i++)
		grad[i] *= k;
}

int aoi_dist_reduce_grads(aoi_dist *d, aoi_net *net, aoi_error *err)
{
	if (aoi_dist_size(d) == 1)
		return 0;
	size_t n = aoi_net_param_count(net);
	double t0 = aoi_now();
	int rc = aoi_dist_allreduce_float(d, aoi_net_grads(net), n, AOI_DIST_SUM, err);
	aoi_dist_stats *s = aoi_dist_counters(d);
	s->grad_steps++;
	s->grad_bytes += (double)n * sizeof(float);
	s->grad_seconds += aoi_now() - t0;
	return rc;
}

int aoi_dist_average_state(aoi_dist *d, aoi_net *net, aoi_error *err)
{
	size_t n = 0;
	float *state = aoi_net_state(net, &n);
	int size = aoi_dist_size(d);
	if (size == 1 || n == 0)
		return 0;
	if (aoi_dist_allreduce_float(d, state, n, AOI_DIST_SUM, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		state[i] /= (float)size;
	return 0;
}

int aoi_dist_agree(aoi_dist *d, double *loss, int stop_asked, int *halt, aoi_error *err)
{
	double v[2] = { *loss, stop_asked ? 1 : 0 };
	if (aoi_dist_allreduce_double(d, v, 2, AOI_DIST_SUM, err) < 0)
		return -1;
	*loss = v[0] / aoi_dist_size(d);
	*halt = v[1] > 0;
	return 0;
}

/* FNV-1a over the bytes, cut to 52 bits so that a double holds it. */
static double checksum(const void *buf, size_t bytes)
{
	const unsigned char *p = buf;
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < bytes; i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return (double)(h >> 12);
}

int aoi_dist_check_replicas(aoi_dist *d, aoi_net *net, aoi_error *err)
{
	if (aoi_dist_size(d) == 1)
		return 0;
	double h = checksum(aoi_net_params(net), aoi_net_param_count(net) * sizeof(float));
	double v[2] = { h, -h };  /* max and min in one call */
	if (aoi_dist_allreduce_double(d, v, 2, AOI_DIST_MAX, err) < 0)
		return -1;
	if (v[0] != -v[1])
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "the model replicas differ between processes (rank %d)",
				     aoi_dist_rank(d));
	return 0;
}

static double peak_rss_mib(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return ru.ru_maxrss / 1024.0;  /* kilobytes on Linux */
}

int aoi_dist_summary(aoi_dist *d, char *buf, size_t size, aoi_error *err)
{
	double rss = peak_rss_mib();
	if (aoi_dist_allreduce_double(d, &rss, 1, AOI_DIST_MAX, err) < 0)
		return -1;
	aoi_dist_stats s;
	aoi_dist_get_stats(d, &s);
	int n = aoi_dist_size(d), threads = omp_get_max_threads();
	long steps = s.grad_steps > 0 ? s.grad_steps : 1;
	snprintf(buf, size,
		 "%d process%s x %d thread%s: %.2f MB of gradients all-reduced per step, "
		 "%.1f ms per step in all-reduce (%.1f%% of the run); "
		 "peak memory per process %.0f MiB (largest of %d)",
		 n, n == 1 ? "" : "es", threads, threads == 1 ? "" : "s",
		 s.grad_bytes / steps / 1e6, 1e3 * s.grad_seconds / steps,
		 s.seconds > 0 ? 100 * s.grad_seconds / s.seconds : 0, rss, n);
	return 0;
}
