/* aoi-synth: synthetic training data with labels for free (lib/synth.h).
 *
 *   aoi-synth board|place|texture|defects|augment [OPTION]... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "data/loader.h"
#include "synth/synth.h"

static const char *const prog = "aoi-synth";

enum sub { SUB_BOARD, SUB_PLACE, SUB_TEXTURE, SUB_DEFECTS, SUB_AUGMENT, SUB_COUNT };
static const char *const sub_names[SUB_COUNT] = { "board", "place", "texture", "defects", "augment" };
static const long default_n[SUB_COUNT] = { 12, 2000, 1000, 100, 1 };

static void usage(void)
{
	printf("Usage: %s SUBCOMMAND [OPTION]...\n"
	       "Make synthetic training data whose labels come for free: images and masks\n"
	       "into --out DIR, dataset records (JSON lines) on standard output.\n\n"
	       "Subcommands:\n"
	       "  board              draw board photos with one chip (sources for place)\n"
	       "  place              shift and rotate a component of a few good photos (seed 002)\n"
	       "  texture            DAGM2007-like textures, some with a scratch, blob or spot\n"
	       "  defects            paint defects on good images (DeepPCB classes on binary PCBs)\n"
	       "  augment [DATASET]  rotate, flip, crop and zoom records alike (seed 003)\n\n"
	       "Common options:\n"
	       "  -n, --count N        records to make (board 12, place 2000, texture 1000,\n"
	       "                       defects 100; augment: copies per record, 1)\n"
	       "  -s, --seed S         the same seed gives the same bytes (default 1)\n"
	       "  -o, --out DIR        where images go (default synth)\n"
	       "      --base DIR       records name files relative to DIR (default .)\n"
	       "      --size WxH       output size (board/place 256x256 or the sources',\n"
	       "                       texture 512x512, augment the input's)\n"
	       "      --root DIR       base of the input's relative paths (default: its directory)\n"
	       "  -q, --quiet          no progress line\n"
	       "  -h, --help           this text\n"
	       "  -V, --version        version\n\n"
	       "place:\n"
	       "      --sources FILE   good photos with the component's keypoints or mask\n"
	       "      --draw-sources K draw K board photos as sources (into DIR/sources/)\n"
	       "      --shift LO:HI    pixels, each of dx and dy (default -8:8)\n"
	       "      --rotate LO:HI   degrees (default -10:10)\n"
	       "      --tolerance PX[,DEG]  beyond either the label is defective (default 3,3)\n"
	       "      --holdout K      the last K sources only make split test images (default 0)\n"
	       "      --holdout-ids ID,...  hold out these sources\n"
	       "      --val SHARE      of the other images into split val (default 0.15)\n"
	       "      --fill diffuse|template  fill the hole by diffusion (default) or from the\n"
	       "                       record's template (the bare board)\n"
	       "texture:\n"
	       "      --classes K      texture classes, 1..10 (default 6)\n"
	       "      --defective F    share of images with a defect (default 0.08)\n"
	       "      --labels shape|ellipse  truth mask: the painted shape (default) or DAGM's\n"
	       "                       enclosing ellipse\n"
	       "defects:\n"
	       "      --on FILE        the dataset of good images to paint on\n"
	       "      --defects LO:HI  defects per image (default 1:3)\n"
	       "augment:\n"
	       "      --augment SPEC   as aoi-train: flip,vflip,rot90,rot=D,crop=F,zoom=LO:HI,\n"
	       "                       shift=F,bright=B,contrast=C\n"
	       "                       (default flip,rot=15,crop=0.9,zoom=0.9:1.1)\n"
	       "      --balance N      bring every label to N records (oversample with\n"
	       "                       augmentation, undersample at random)\n",
	       prog);
}

enum opt {
	OPT_BASE = 256, OPT_SIZE, OPT_ROOT, OPT_SOURCES, OPT_DRAW, OPT_SHIFT, OPT_ROTATE, OPT_TOL,
	OPT_HOLDOUT, OPT_HOLDOUT_IDS, OPT_VAL, OPT_FILL, OPT_CLASSES, OPT_DEFECTIVE, OPT_LABELS,
	OPT_ON, OPT_DEFECTS, OPT_AUGMENT, OPT_BALANCE,
};

static const struct option long_opts[] = {
	{ "count", required_argument, NULL, 'n' },
	{ "seed", required_argument, NULL, 's' },
	{ "out", required_argument, NULL, 'o' },
	{ "base", required_argument, NULL, OPT_BASE },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "root", required_argument, NULL, OPT_ROOT },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ "sources", required_argument, NULL, OPT_SOURCES },
	{ "draw-sources", required_argument, NULL, OPT_DRAW },
	{ "shift", required_argument, NULL, OPT_SHIFT },
	{ "rotate", required_argument, NULL, OPT_ROTATE },
	{ "tolerance", required_argument, NULL, OPT_TOL },
	{ "holdout", required_argument, NULL, OPT_HOLDOUT },
	{ "holdout-ids", required_argument, NULL, OPT_HOLDOUT_IDS },
	{ "val", required_argument, NULL, OPT_VAL },
	{ "fill", required_argument, NULL, OPT_FILL },
	{ "classes", required_argument, NULL, OPT_CLASSES },
	{ "defective", required_argument, NULL, OPT_DEFECTIVE },
	{ "labels", required_argument, NULL, OPT_LABELS },
	{ "on", required_argument, NULL, OPT_ON },
	{ "defects", required_argument, NULL, OPT_DEFECTS },
	{ "augment", required_argument, NULL, OPT_AUGMENT },
	{ "balance", required_argument, NULL, OPT_BALANCE },
	{ NULL, 0, NULL, 0 },
};

/* Everything the options set, for every subcommand. */
typedef struct args {
	int sub; /* enum sub, -1 before it is known */
	aoi_synth_job job;
	const char *root;
	int quiet;
	long n;
	char *ids; /* --holdout-ids, split in place */
	aoi_synth_board_opts board;
	aoi_synth_place_opts place;
	aoi_synth_texture_opts texture;
	aoi_synth_defects_opts defects;
	aoi_synth_augment_opts augment;
} args;

static const char *option_name(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

/* The subcommand each option belongs to (-1: all). */
static int option_owner(int c)
{
	if (c >= OPT_SOURCES && c <= OPT_FILL)
		return SUB_PLACE;
	if (c >= OPT_CLASSES && c <= OPT_LABELS)
		return SUB_TEXTURE;
	if (c == OPT_ON || c == OPT_DEFECTS)
		return SUB_DEFECTS;
	if (c == OPT_AUGMENT || c == OPT_BALANCE)
		return SUB_AUGMENT;
	return -1;
}

static int parse_tolerance(const char *s, aoi_synth_place_opts *p, aoi_error *err)
{
	char buf[64];
	char *comma;

	snprintf(buf, sizeof buf, "%s", s);
	comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	if (aoi_cli_parse_double("--tolerance", buf, 0, 1e6, &p->tol_px, err) < 0)
		return -1;
	return comma ? aoi_cli_parse_double("--tolerance", comma + 1, 0, 360, &p->tol_deg, err) : 0;
}

static int parse_ids(args *a, const char *s, aoi_error *err)
{
	char *save = NULL;

	free(a->ids);
	a->ids = strdup(s);
	if (!a->ids)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	a->place.n_holdout_ids = 0;
	for (char *t = strtok_r(a->ids, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (a->place.n_holdout_ids == AOI_SYNTH_MAX_HOLDOUT)
			return aoi_error_set(err, AOI_EINVAL, "", 0, "--holdout-ids: more than %d ids",
					     AOI_SYNTH_MAX_HOLDOUT);
		a->place.holdout_ids[a->place.n_holdout_ids++] = t;
	}
	return 0;
}

static int parse_choice(const char *opt, const char *s, const char *a, const char *b, int *out,
			aoi_error *err)
{
	if (strcmp(s, a) == 0 || strcmp(s, b) == 0) {
		*out = strcmp(s, b) == 0;
		return 0;
	}
	return aoi_error_set(err, AOI_EINVAL, "", 0, "%s: '%s' is neither %s nor %s", opt, s, a, b);
}

static int parse_range_int(const char *opt, const char *s, int *lo, int *hi, aoi_error *err)
{
	double l, h;

	if (aoi_cli_parse_range(opt, s, &l, &h, err) < 0)
		return -1;
	if (l < 1 || h > 100 || l != (int)l || h != (int)h)
		return aoi_error_set(err, AOI_EINVAL, "", 0, "%s: want LO:HI with 1 <= LO <= HI <= 100", opt);
	*lo = (int)l;
	*hi = (int)h;
	return 0;
}

/* One option of a subcommand; 0 or -1 with err. */
static int sub_option(args *a, int c, const char *v, aoi_error *err)
{
	long l;

	switch (c) {
	case OPT_SOURCES: a->place.sources = v; return 0;
	case OPT_DRAW:
		if (aoi_cli_parse_int("--draw-sources", v, 1, 10000, &l, err) < 0)
			return -1;
		a->place.draw_sources = (int)l;
		return 0;
	case OPT_SHIFT: return aoi_cli_parse_range("--shift", v, &a->place.shift_lo, &a->place.shift_hi, err);
	case OPT_ROTATE: return aoi_cli_parse_range("--rotate", v, &a->place.rotate_lo, &a->place.rotate_hi, err);
	case OPT_TOL: return parse_tolerance(v, &a->place, err);
	case OPT_HOLDOUT:
		if (aoi_cli_parse_int("--holdout", v, 0, 100000, &l, err) < 0)
			return -1;
		a->place.holdout = (int)l;
		return 0;
	case OPT_HOLDOUT_IDS: return parse_ids(a, v, err);
	case OPT_VAL: return aoi_cli_parse_double("--val", v, 0, 1, &a->place.val, err);
	case OPT_FILL: return parse_choice("--fill", v, "diffuse", "template", &a->place.fill_template, err);
	case OPT_CLASSES:
		if (aoi_cli_parse_int("--classes", v, 1, 10, &l, err) < 0)
			return -1;
		a->texture.classes = (int)l;
		return 0;
	case OPT_DEFECTIVE: return aoi_cli_parse_double("--defective", v, 0, 1, &a->texture.defective, err);
	case OPT_LABELS: return parse_choice("--labels", v, "shape", "ellipse", &a->texture.labels, err);
	case OPT_ON: a->defects.on = v; return 0;
	case OPT_DEFECTS: return parse_range_int("--defects", v, &a->defects.min_defects, &a->defects.max_defects, err);
	case OPT_AUGMENT:
		aoi_augment_opts_init(&a->augment.aug);
		return aoi_loader_parse_augment(v, &a->augment.aug, err);
	case OPT_BALANCE: return aoi_cli_parse_int("--balance", v, 1, 100000000, &a->augment.balance, err);
	}
	return 0;
}

static int common_option(args *a, int c, const char *v, aoi_error *err)
{
	long l;

	switch (c) {
	case 'n':
		if (aoi_cli_parse_int("--count", v, 0, 100000000, &l, err) < 0)
			return -1;
		a->n = l;
		return 0;
	case 's':
		if (aoi_cli_parse_int("--seed", v, 0, 0x7fffffffffffffffL, &l, err) < 0)
			return -1;
		a->job.seed = (uint64_t)l;
		return 0;
	case 'o': a->job.out_dir = v; return 0;
	case OPT_BASE: a->job.base = v; return 0;
	case OPT_SIZE:
		if (aoi_cli_parse_size("--size", v, &a->job.width, &a->job.height, err) < 0)
			return -1;
		if (a->job.width < 16 || a->job.height < 16 || a->job.width > 16384 || a->job.height > 16384)
			return aoi_error_set(err, AOI_EINVAL, "", 0, "--size: from 16x16 to 16384x16384");
		return 0;
	case OPT_ROOT: a->root = v; return 0;
	case 'q': a->quiet = 1; return 0;
	}
	return sub_option(a, c, v, err);
}

static void args_init(args *a)
{
	memset(a, 0, sizeof *a);
	a->n = -1;
	a->job.seed = 1;
	a->job.out_dir = "synth";
	aoi_synth_board_opts_init(&a->board);
	aoi_synth_place_opts_init(&a->place);
	aoi_synth_texture_opts_init(&a->texture);
	aoi_synth_defects_opts_init(&a->defects);
	aoi_synth_augment_opts_init(&a->augment);
}

static int find_sub(const char *s)
{
	for (int k = 0; k < SUB_COUNT; k++)
		if (strcmp(s, sub_names[k]) == 0)
			return k;
	return -1;
}

/* 0 to run, 1 when --help or --version answered, else an exit status + 2. */
static int parse(args *a, int argc, char **argv, int *status)
{
	aoi_error err;
	int c;

	aoi_error_clear(&err);
	while ((c = getopt_long(argc, argv, "n:s:o:qhV", long_opts, NULL)) != -1) {
		if (c == 'h' || c == 'V') {
			c == 'h' ? usage() : aoi_cli_version(prog);
			*status = AOI_EXIT_OK;
			return 1;
		}
		if (c == '?' || c == ':') {
			*status = aoi_cli_usage_error(prog, "bad option");
			return 1;
		}
		int owner = option_owner(c);
		if (owner >= 0 && owner != a->sub) {
			*status = aoi_cli_usage_error(prog, "--%s does not apply to %s", option_name(c),
						      a->sub >= 0 ? sub_names[a->sub] : "no subcommand");
			return 1;
		}
		if (common_option(a, c, optarg, &err) < 0) {
			*status = aoi_cli_usage_error(prog, "%s", err.msg);
			return 1;
		}
	}
	return 0;
}

/* Subcommand-specific checks once all options are in. */
static int check_args(args *a, int argc, char **argv, int *status)
{
	if (a->sub < 0) {
		*status = aoi_cli_usage_error(prog, "missing subcommand (board, place, texture, defects, augment)");
		return 1;
	}
	int positional = argc - optind;
	if (a->sub == SUB_AUGMENT && positional <= 1) {
		a->augment.input = positional ? argv[optind] : "-";
		return 0;
	}
	if (positional > 0) {
		*status = aoi_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
		return 1;
	}
	if (a->sub == SUB_PLACE && !a->place.sources == !a->place.draw_sources) {
		*status = aoi_cli_usage_error(prog, "place needs one of --sources FILE and --draw-sources K");
		return 1;
	}
	if (a->sub == SUB_DEFECTS && !a->defects.on) {
		*status = aoi_cli_usage_error(prog, "defects needs --on DATASET");
		return 1;
	}
	return 0;
}

static void show_progress(void *ctx, long done, long total)
{
	aoi_progress *p = ctx;

	(void)total;
	aoi_progress_step(p, done - p->done, NULL);
}

static int run(args *a, aoi_error *err)
{
	a->place.root = a->defects.root = a->augment.root = a->root;
	a->job.n = a->n >= 0 ? a->n : default_n[a->sub];
	switch (a->sub) {
	case SUB_BOARD: return aoi_synth_board(&a->job, &a->board, err);
	case SUB_PLACE: return aoi_synth_place(&a->job, &a->place, err);
	case SUB_TEXTURE: return aoi_synth_texture(&a->job, &a->texture, err);
	case SUB_DEFECTS: return aoi_synth_defects(&a->job, &a->defects, err);
	default: return aoi_synth_augment(&a->job, &a->augment, err);
	}
}

int main(int argc, char **argv)
{
	args a;
	aoi_error err;
	aoi_progress progress;
	int status = AOI_EXIT_OK;

	aoi_cli_calm_threads(argv);
	args_init(&a);
	a.sub = argc > 1 ? find_sub(argv[1]) : -1;
	if (argc > 1 && argv[1][0] != '-' && a.sub < 0)
		return aoi_cli_usage_error(prog, "unknown subcommand '%s'", argv[1]);
	if (a.sub >= 0) {
		argc--;
		argv++;
	}
	if (parse(&a, argc, argv, &status) || check_args(&a, argc, argv, &status)) {
		free(a.ids);
		return aoi_cli_close_stdout(prog, status);
	}
	aoi_error_clear(&err);
	aoi_progress_init(&progress, sub_names[a.sub], 0);
	if (!a.quiet) {
		a.job.progress = show_progress;
		a.job.progress_ctx = &progress;
	}
	a.job.records = stdout;
	if (run(&a, &err) < 0)
		status = aoi_cli_fail(prog, &err);
	if (!a.quiet)
		aoi_progress_end(&progress);
	free(a.ids);
	return aoi_cli_close_stdout(prog, status);
}
