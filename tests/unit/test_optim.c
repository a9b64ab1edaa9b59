/* test_optim.c: optimiser steps against torch.optim, schedules, early stopping. */
#include "check.h"

#include "nn/optim.h"

/* A weight (decays), a bias (does not) and a frozen tensor, as a net
 * would describe them. */
static const aoi_param_info infos[3] = {
	{"w", 0, 4, 1, {4, 0, 0, 0}, 1, 1, 0},
	{"b", 4, 2, 1, {2, 0, 0, 0}, 1, 0, 0},
	{"f", 6, 1, 1, {1, 0, 0, 0}, 2, 1, 1},
};

static void grads_at(int t, float *g)
{
	g[0] = 0.3f - 0.1f * t;
	g[1] = -0.2f + 0.05f * t;
	g[2] = 1.0f;
	g[3] = -0.7f * t + 0.1f;
	g[4] = 0.05f * t - 0.1f;
	g[5] = 0.4f;
	g[6] = 1.0f; /* frozen: must not move */
}

static void reset(float *p)
{
	const float p0[7] = {0.5f, -1.0f, 2.0f, 0.25f, 0.1f, -0.2f, 3.0f};
	memcpy(p, p0, sizeof p0);
}

static void run(aoi_optim *opt, float *p, int from, int to)
{
	float g[7];

	for (int t = from; t < to; t++) {
		grads_at(t, g);
		for (int i = 0; i < 3; i++)
			aoi_optim_update_tensor(opt, i, &infos[i], p, g);
	}
}

/* Three steps; expected values printed by torch.optim (PyTorch 1.13,
 * float64) with weight decay in a param group of w only. */
static void check_against_torch(const char *what, const aoi_optim_opts *o, const double *want)
{
	aoi_error err;
	aoi_optim *opt = aoi_optim_new(o, 7, 3, &err);
	float p[7];

	CHECK(opt != NULL);
	if (!opt)
		return;
	reset(p);
	run(opt, p, 0, 3);
	for (int i = 0; i < 6; i++)
		CHECK_MSG(fabs(p[i] - want[i]) < 2e-6, "%s[%d]: %.9g != %.9g", what, i, p[i],
			  want[i]);
	CHECK(p[6] == 3.0f);
	aoi_optim_free(opt);
}

static void test_torch_values(void)
{
	static const double sgd[6] = {0.4259465, -0.925847, 1.643588, 0.42217375, 0.115, -0.32};
	static const double mom[6] = {0.350296665, -0.85917607, 1.36666628, 0.429160738, 0.13565, -0.4128};
	static const double nest[6] = {0.409899747, -0.931828986, 1.58985557, 0.43657133, 0.12397, -0.36098};
	static const double adam[6] = {0.471000527, -0.970368369, 1.9700008, 0.253548103, 0.126527569, -0.229999999};
	static const double adamw[6] = {0.469891467, -0.967781601, 1.96403599, 0.253333412, 0.126527569, -0.229999999};
	aoi_optim_opts o;

	aoi_optim_opts_init(&o, AOI_OPTIM_SGD);
	o.lr = 0.1;
	o.weight_decay = 0.1;
	check_against_torch("sgd", &o, sgd);
	o.momentum = 0.9;
	o.dampening = 0.1;
	check_against_torch("sgd momentum", &o, mom);
	o.lr = 0.05;
	o.weight_decay = 0.01;
	o.dampening = 0.0;
	o.nesterov = 1;
	check_against_torch("sgd nesterov", &o, nest);
	aoi_optim_opts_init(&o, AOI_OPTIM_ADAM);
	o.lr = 0.01;
	o.weight_decay = 0.1;
	check_against_torch("adam", &o, adam);
	aoi_optim_opts_init(&o, AOI_OPTIM_ADAMW);
	o.lr = 0.01;
	o.weight_decay = 0.1;
	check_against_torch("adamw", &o, adamw);
}

/* Saving the state after two steps and restoring it into a new optimiser
 * gives the same third step, bit for bit. */
static void test_state_round_trip(void)
{
	aoi_optim_opts o;
	aoi_error err;
	float p[7], q[7];
	size_t na, nb;

	aoi_optim_opts_init(&o, AOI_OPTIM_ADAM);
	aoi_optim *a = aoi_optim_new(&o, 7, 3, &err), *b = aoi_optim_new(&o, 7, 3, &err);
	reset(p);
	run(a, p, 0, 2);
	memcpy(q, p, sizeof p);
	float *sa = aoi_optim_state(a, &na), *sb = aoi_optim_state(b, &nb);
	CHECK_INT(na, 3 + 2 * 7);
	CHECK_INT(na, nb);
	CHECK(sa[0] == 2.0f && sa[2] == 0.0f); /* step counts; the frozen one never moved */
	memcpy(sb, sa, na * sizeof *sa);
	run(a, p, 2, 3);
	run(b, q, 2, 3);
	CHECK(memcmp(p, q, sizeof p) == 0);
	aoi_optim_free(a);
	aoi_optim_free(b);
	/* plain SGD keeps only step counts */
	aoi_optim_opts_init(&o, AOI_OPTIM_SGD);
	a = aoi_optim_new(&o, 7, 3, &err);
	aoi_optim_state(a, &na);
	CHECK_INT(na, 3);
	aoi_optim_free(a);
	aoi_optim_free(NULL);
}

static void test_bad_options(void)
{
	aoi_optim_opts o;
	aoi_error err;

	aoi_optim_opts_init(&o, AOI_OPTIM_SGD);
	o.nesterov = 1;
	CHECK(aoi_optim_new(&o, 7, 3, &err) == NULL);
	CHECK(strstr(err.msg, "Nesterov") != NULL);
	aoi_optim_opts_init(&o, AOI_OPTIM_ADAM);
	o.beta2 = 1.0;
	CHECK(aoi_optim_new(&o, 7, 3, &err) == NULL);
	o.beta2 = 0.999;
	o.lr = -1;
	CHECK(aoi_optim_new(&o, 7, 3, &err) == NULL);
	CHECK_INT(aoi_optim_kind_parse("adamw"), AOI_OPTIM_ADAMW);
	CHECK_INT(aoi_optim_kind_parse("rmsprop"), -1);
	CHECK_INT(aoi_sched_kind_parse("plateau"), AOI_SCHED_PLATEAU);
}

static void test_schedules(void)
{
	aoi_sched s;

	aoi_sched_init(&s, AOI_SCHED_STEP, 0.1, 100);
	CHECK_NEAR(aoi_sched_lr(&s, 29), 0.1, 1e-12);
	CHECK_NEAR(aoi_sched_lr(&s, 30), 0.01, 1e-12);
	CHECK_NEAR(aoi_sched_lr(&s, 65), 0.001, 1e-12);
	aoi_sched_init(&s, AOI_SCHED_COSINE, 1.0, 10);
	CHECK_NEAR(aoi_sched_lr(&s, 0), 1.0, 1e-12);
	CHECK_NEAR(aoi_sched_lr(&s, 5), 0.5, 1e-12);
	CHECK_NEAR(aoi_sched_lr(&s, 2), (1 + cos(M_PI * 0.2)) / 2, 1e-12);
	CHECK_NEAR(aoi_sched_lr(&s, 10), 0.0, 1e-12);
	CHECK_NEAR(aoi_sched_observe(&s, 4, 1.0), 0.5, 1e-12);
	/* seed 004: lr 1e-4, /10 after 5 epochs without improvement, floor 1e-10 */
	aoi_sched_init(&s, AOI_SCHED_PLATEAU, 1e-4, 0);
	CHECK_NEAR(aoi_sched_observe(&s, 0, 1.0), 1e-4, 1e-18);
	CHECK_NEAR(aoi_sched_observe(&s, 1, 0.9), 1e-4, 1e-18);
	for (int e = 2; e < 6; e++)
		CHECK_NEAR(aoi_sched_observe(&s, e, 0.95), 1e-4, 1e-18);
	CHECK_NEAR(aoi_sched_observe(&s, 6, 0.9), 1e-5, 1e-18); /* 5th without */
	CHECK_NEAR(aoi_sched_observe(&s, 7, 0.5), 1e-5, 1e-18);
	for (int e = 8; e < 100; e++)
		aoi_sched_observe(&s, e, 0.6);
	CHECK_NEAR(aoi_sched_lr(&s, 100), 1e-10, 1e-22);
}

static void test_early_stop(void)
{
	aoi_early_stop e;
	int stopped = -1;

	aoi_early_stop_init(&e, 15);
	/* improves until epoch 81, then never: stops after epoch 96 (seed 004) */
	for (int ep = 0; ep < 200 && stopped < 0; ep++)
		if (aoi_early_stop_observe(&e, ep, ep <= 81 ? 10.0 - ep * 0.1 : 5.0))
			stopped = ep;
	CHECK_INT(stopped, 96);
	CHECK_INT(e.best_epoch, 81);
	CHECK_NEAR(e.best, 10.0 - 8.1, 1e-12);
}

int main(void)
{
	test_torch_values();
	test_state_round_trip();
	test_bad_options();
	test_schedules();
	test_early_stop();
	return check_done();
}
