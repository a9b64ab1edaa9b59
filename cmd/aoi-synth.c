/* aoi-synth: synthetic training data with labels for free (lib/synth/).
 *
 *   aoi-synth board|place|texture|defects|augment [OPTION]... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "data/loader.h"
#include "synth/synth.h"

static const char *const prog = "aoi-synth";

enum sub { SUB_BOARD, SUB_PLACE, SUB_TEXTURE, SUB_DEFECTS, SUB_AUGMENT, SUB_COUNT };

/* Each subcommand: its name, records made by default, its own options. */
static const struct subcommand {
	const char *name;
	long n;
	const char *options;
} subs[SUB_COUNT] = {
	{ "board", 12, "" },
	{ "place", 2000, "sources draw-sources shift rotate tolerance holdout holdout-ids val fill" },
	{ "texture", 1000, "classes defective labels" },
	{ "defects", 100, "on defects" },
	{ "augment", 1, "augment balance" },
};

static const char usage_text[] =
	"Usage: aoi-synth SUBCOMMAND [OPTION]...\n"
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
	"                       augmentation, undersample at random)\n";

/* Everything the options set, for every subcommand. */
typedef struct args {
	int sub; /* enum sub, -1 before it is known */
	aoi_synth_job job;
	const char *root;
	int quiet;
	long n, seed;
	char *ids; /* --holdout-ids, split in place */
	aoi_synth_board_opts board;
	aoi_synth_place_opts place;
	aoi_synth_texture_opts texture;
	aoi_synth_defects_opts defects;
	aoi_synth_augment_opts augment;
} args;

static int parse_tolerance(void *ctx, const aoi_cli_opt *opt, const char *s, aoi_error *err)
{
	aoi_synth_place_opts *p = &((args *)ctx)->place;
	char buf[64];
	char *comma;

	(void)opt;
	snprintf(buf, sizeof buf, "%s", s);
	comma = strchr(buf, ',');
	if (comma)
		*comma = '\0';
	if (aoi_cli_parse_double("--tolerance", buf, 0, 1e6, &p->tol_px, err) < 0)
		return -1;
	return comma ? aoi_cli_parse_double("--tolerance", comma + 1, 0, 360, &p->tol_deg, err) : 0;
}

static int parse_ids(void *ctx, const aoi_cli_opt *opt, const char *s, aoi_error *err)
{
	args *a = ctx;
	char *save = NULL;

	(void)opt;
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

/* --fill diffuse|template, --labels shape|ellipse */
static int parse_choice(void *ctx, const aoi_cli_opt *opt, const char *s, aoi_error *err)
{
	args *x = ctx;
	const char *a = opt->lo ? "shape" : "diffuse", *b = opt->lo ? "ellipse" : "template";
	int *out = opt->lo ? &x->texture.labels : &x->place.fill_template;

	if (strcmp(s, a) == 0 || strcmp(s, b) == 0) {
		*out = strcmp(s, b) == 0;
		return 0;
	}
	return aoi_error_set(err, AOI_EINVAL, "", 0, "--%s: '%s' is neither %s nor %s", opt->name, s,
			      a, b);
}

static int parse_augment(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	aoi_synth_augment_opts *a = &((args *)ctx)->augment;

	(void)opt;
	aoi_augment_opts_init(&a->aug);
	return aoi_loader_parse_augment(v, &a->aug, err);
}

/* A subcommand's option goes with that subcommand only. */
static int admit(void *ctx, const aoi_cli_opt *opt, aoi_error *err)
{
	const args *a = ctx;

	for (int k = 0; k < SUB_COUNT; k++)
		if (k != a->sub && aoi_cli_opt_in(opt, subs[k].options))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s does not apply to %s",
					     opt->name, a->sub >= 0 ? subs[a->sub].name
								 : "no subcommand");
	return 0;
}

static int parse_options(args *a, int argc, char **argv, int *first)
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_INT('n', "count", &a->n, 0, 100000000),
		AOI_CLI_OPT_SEED('s', &a->seed),
		AOI_CLI_OPT_STR('o', "out", &a->job.out_dir),
		AOI_CLI_OPT_STR(0, "base", &a->job.base),
		AOI_CLI_OPT_SIZE_IN(0, "size", &a->job.width, &a->job.height, 16, 16384),
		AOI_CLI_OPT_ROOT(&a->root),
		AOI_CLI_OPT_FLAG('q', "quiet", &a->quiet),
		AOI_CLI_OPT_HELP_VERSION,
		AOI_CLI_OPT_STR(0, "sources", &a->place.sources),
		AOI_CLI_OPT_INT(0, "draw-sources", &a->place.draw_sources, 1, 10000),
		AOI_CLI_OPT_RANGE(0, "shift", &a->place.shift_lo, &a->place.shift_hi),
		AOI_CLI_OPT_RANGE(0, "rotate", &a->place.rotate_lo, &a->place.rotate_hi),
		AOI_CLI_OPT_CALL(0, "tolerance", parse_tolerance, 0),
		AOI_CLI_OPT_INT(0, "holdout", &a->place.holdout, 0, 100000),
		AOI_CLI_OPT_CALL(0, "holdout-ids", parse_ids, 0),
		AOI_CLI_OPT_REAL(0, "val", &a->place.val, 0, 1),
		AOI_CLI_OPT_CALL(0, "fill", parse_choice, 0),
		AOI_CLI_OPT_INT(0, "classes", &a->texture.classes, 1, 10),
		AOI_CLI_OPT_REAL(0, "defective", &a->texture.defective, 0, 1),
		AOI_CLI_OPT_CALL(0, "labels", parse_choice, 1),
		AOI_CLI_OPT_STR(0, "on", &a->defects.on),
		AOI_CLI_OPT_INT_RANGE(0, "defects", &a->defects.min_defects, &a->defects.max_defects, 1,
				      100),
		AOI_CLI_OPT_CALL(0, "augment", parse_augment, 0),
		AOI_CLI_OPT_INT(0, "balance", &a->augment.balance, 1, 100000000),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = a,
			     .admit = admit, .getopt_says = 1, .then = "bad option" };

	return aoi_cli_parse(&p, argc, argv, first);
}

static void args_init(args *a)
{
	memset(a, 0, sizeof *a);
	a->n = -1;
	a->seed = 1;
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
		if (strcmp(s, subs[k].name) == 0)
			return k;
	return -1;
}

/* Subcommand-specific checks once all options are in. */
static int check_args(args *a, int argc, char **argv, int first)
{
	int positional = argc - first;

	if (a->sub < 0)
		return aoi_cli_usage_error(prog, "missing subcommand (board, place, texture, defects, augment)");
	if (a->sub == SUB_AUGMENT && positional <= 1) {
		a->augment.input = positional ? argv[first] : "-";
		return AOI_CLI_GO;
	}
	if (positional > 0)
		return aoi_cli_usage_error(prog, "unexpected argument '%s'", argv[first]);
	if (a->sub == SUB_PLACE && !a->place.sources == !a->place.draw_sources)
		return aoi_cli_usage_error(prog, "place needs one of --sources FILE and --draw-sources K");
	if (a->sub == SUB_DEFECTS && !a->defects.on)
		return aoi_cli_usage_error(prog, "defects needs --on DATASET");
	return AOI_CLI_GO;
}

static int parse(void *ctx, int argc, char **argv)
{
	args *a = ctx;
	int first, rc;

	args_init(a);
	a->sub = argc > 1 ? find_sub(argv[1]) : -1;
	if (argc > 1 && argv[1][0] != '-' && a->sub < 0)
		return aoi_cli_usage_error(prog, "unknown subcommand '%s'", argv[1]);
	if (a->sub >= 0) {
		argc--;
		argv++;
	}
	if ((rc = parse_options(a, argc, argv, &first)) != AOI_CLI_GO)
		return rc;
	return check_args(a, argc, argv, first);
}

static void show_progress(void *ctx, long done, long total)
{
	aoi_progress *p = ctx;

	(void)total;
	aoi_progress_step(p, done - p->done, NULL);
}

static int run_sub(args *a, aoi_error *err)
{
	switch (a->sub) {
	case SUB_BOARD: return aoi_synth_board(&a->job, &a->board, err);
	case SUB_PLACE: return aoi_synth_place(&a->job, &a->place, err);
	case SUB_TEXTURE: return aoi_synth_texture(&a->job, &a->texture, err);
	case SUB_DEFECTS: return aoi_synth_defects(&a->job, &a->defects, err);
	default: return aoi_synth_augment(&a->job, &a->augment, err);
	}
}

static int run(void *ctx, aoi_error *err)
{
	args *a = ctx;
	aoi_progress progress;

	aoi_progress_init(&progress, subs[a->sub].name, 0);
	if (!a->quiet) /* else never drawn, nor ended */
		a->job.progress = show_progress, a->job.progress_ctx = &progress;
	a->job.records = stdout;
	a->job.n = a->n >= 0 ? a->n : subs[a->sub].n;
	a->job.seed = (uint64_t)a->seed;
	a->place.root = a->defects.root = a->augment.root = a->root;
	int rc = run_sub(a, err);
	aoi_progress_end(&progress);
	return rc;
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	args a = { .ids = NULL };
	int rc = aoi_cli_main(&program, &a, argc, argv);

	free(a.ids);
	return rc;
}
