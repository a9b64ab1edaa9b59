/* aoi-model: model files: what is in them, ONNX in and out, a run on raw
 * tensors. The work is in lib/ (model/describe.h, model/onnx.h); this file
 * reads options and returns the exit code. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "model/describe.h"
#include "model/onnx.h"

static const char *const prog = "aoi-model";

static const char usage_text[] =
	"Usage: aoi-model COMMAND [OPTION]... FILE\n"
	"Model files (man aoi-model.5) and ONNX files. Wherever a MODEL is read, an\n"
	"ONNX file will do as well (recognised by its content).\n"
	"\n"
	"Commands:\n"
	"  info MODEL [--layers] [--format json|table]\n"
	"                       architecture, input and normalisation, classes,\n"
	"                       parameters, provenance; --layers: one row a node\n"
	"                       (default: json)\n"
	"  import FILE.onnx -o MODEL [--size WxH] [--mean M,...] [--std S,...]\n"
	"         [--task TASK] [--classes A,B,...]\n"
	"                       an ONNX graph as a model file (default: the file's\n"
	"                       input size; mean 0 and std 1, or what the file's\n"
	"                       metadata says; the task from the output's shape)\n"
	"  export MODEL -o FILE.onnx [--opset N]\n"
	"                       the model as ONNX, opset 11 to 17 (default: 13)\n"
	"  run MODEL INPUT -o OUTPUT [--threads N] [--exact]\n"
	"                       the network on raw float32 N x C x H x W tensors at\n"
	"                       its input size; its raw output to OUTPUT\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE    the file to write (whole or not at all)\n"
	"      --layers         info: the nodes too\n"
	"  -f, --format FMT     info: json or table (default: json)\n"
	"      --size WxH       import: the input size, when the file leaves it open\n"
	"      --mean LIST      import: per-channel mean of the input normalisation\n"
	"      --std LIST       import: per-channel std (ImageNet's: --mean\n"
	"                       0.485,0.456,0.406 --std 0.229,0.224,0.225)\n"
	"      --task TASK      import: segmentation, classification or keypoints\n"
	"      --classes LIST   import: class names in output order\n"
	"      --opset N        export: ONNX opset (default: 13)\n"
	"  -j, --threads N      run: threads (default: 0, all cores)\n"
	"      --exact          run: sum every convolution directly (no Winograd)\n"
	"  -h, --help           show this help and exit\n"
	"  -V, --version        show the version and exit\n";

enum opt_id {
	O_LAYERS = 256, O_SIZE, O_MEAN, O_STD, O_TASK, O_CLASSES, O_OPSET, O_EXACT,
	O_OUTPUT = 'o', O_FORMAT = 'f', O_THREADS = 'j', O_HELP = 'h', O_VERSION = 'V'
};

static const struct option long_options[] = {
	{ "output", required_argument, NULL, O_OUTPUT },
	{ "layers", no_argument, NULL, O_LAYERS },
	{ "format", required_argument, NULL, O_FORMAT },
	{ "size", required_argument, NULL, O_SIZE },
	{ "mean", required_argument, NULL, O_MEAN },
	{ "std", required_argument, NULL, O_STD },
	{ "task", required_argument, NULL, O_TASK },
	{ "classes", required_argument, NULL, O_CLASSES },
	{ "opset", required_argument, NULL, O_OPSET },
	{ "threads", required_argument, NULL, O_THREADS },
	{ "exact", no_argument, NULL, O_EXACT },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

typedef struct opts {
	const char *output, *format, *classes;
	int layers;
	aoi_onnx_import_opts imp;
	aoi_onnx_export_opts exp;
	aoi_model_run_opts run;
	char **args;
	int nargs;
} opts;

typedef struct command {
	const char *name;
	int (*run)(opts *o);
	const char *allowed; /* long option names it takes */
	int nargs;
	int needs_output;
} command;

/* ---- the commands ---- */

static int cmd_info(opts *o)
{
	aoi_error err;
	json_t *d = aoi_model_describe_file(o->args[0], o->layers, &err);
	int rc = 0;

	if (!d)
		return aoi_cli_fail(prog, &err);
	if (!strcmp(o->format, "table")) {
		rc = aoi_model_describe_table(stdout, d, &err);
	} else {
		json_dumpf(d, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(d);
	return rc < 0 ? aoi_cli_fail(prog, &err) : AOI_EXIT_OK;
}

/* "a,b,c" into names (pointers into a copy of s, freed by the caller). */
static int split_names(const char *s, char **copy, const char **names, int max)
{
	int n = 0;

	if (!(*copy = strdup(s)))
		return -1;
	for (char *p = strtok(*copy, ","); p && n < max; p = strtok(NULL, ","))
		names[n++] = p;
	return n;
}

static int cmd_import(opts *o)
{
	aoi_error err;
	const char *names[4096];
	char *copy = NULL;
	int rc;

	if (o->classes) {
		o->imp.nclasses = split_names(o->classes, &copy, names, 4096);
		if (o->imp.nclasses < 1)
			return aoi_cli_usage_error(prog, "--classes: want names A,B,...");
		o->imp.classes = names;
	}
	rc = aoi_onnx_import_file(o->args[0], o->output, &o->imp, &err);
	free(copy);
	return rc < 0 ? aoi_cli_fail(prog, &err) : AOI_EXIT_OK;
}

static int cmd_export(opts *o)
{
	aoi_error err;

	if (aoi_onnx_export_file(o->args[0], o->output, &o->exp, &err) < 0)
		return aoi_cli_fail(prog, &err);
	return AOI_EXIT_OK;
}

static int cmd_run(opts *o)
{
	aoi_error err;

	if (aoi_model_run_file(o->args[0], o->args[1], o->output, &o->run, &err) < 0)
		return aoi_cli_fail(prog, &err);
	return AOI_EXIT_OK;
}

/* quantize (issue 19) goes here too */
static const command commands[] = {
	{ "info", cmd_info, "layers format", 1, 0 },
	{ "import", cmd_import, "output size mean std task classes", 1, 1 },
	{ "export", cmd_export, "output opset", 1, 1 },
	{ "run", cmd_run, "output threads exact", 2, 1 },
};

/* ---- options ---- */

static int takes(const command *c, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = c->allowed; (p = strstr(p, name)) != NULL; p += len)
		if ((p == c->allowed || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return 1;
	return 0;
}

static int parse_floats(const char *opt, const char *s, float *v, int *n, aoi_error *err)
{
	char *end;

	*n = 0;
	while (*s && *n < AOI_MODEL_MAX_CHANNELS) {
		v[(*n)++] = strtof(s, &end);
		if (end == s || (*end && *end != ','))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s: want numbers A,B,...", opt);
		s = *end ? end + 1 : end;
	}
	return *s ? aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s: too many values", opt) : 0;
}

/* One option's value into o; 0, or -1 with err set. */
static int set_option(opts *o, int id, const char *v, aoi_error *err)
{
	long n;

	switch (id) {
	case O_OUTPUT: o->output = v; return 0;
	case O_LAYERS: o->layers = 1; return 0;
	case O_FORMAT:
		if (strcmp(v, "json") && strcmp(v, "table"))
			return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--format: json or table");
		o->format = v;
		return 0;
	case O_SIZE: return aoi_cli_parse_size("--size", v, &o->imp.input_w, &o->imp.input_h, err);
	case O_MEAN: return parse_floats("--mean", v, o->imp.mean, &o->imp.nmean, err);
	case O_STD: return parse_floats("--std", v, o->imp.std, &o->imp.nstd, err);
	case O_TASK:
		if ((o->imp.task = aoi_task_parse(v)) < 0)
			return aoi_error_set(err, AOI_EINVAL, NULL, 0,
					     "--task: segmentation, classification or keypoints");
		return 0;
	case O_CLASSES: o->classes = v; return 0;
	case O_OPSET:
		if (aoi_cli_parse_int("--opset", v, 11, 17, &n, err) < 0)
			return -1;
		o->exp.opset = (int)n;
		return 0;
	case O_THREADS:
		if (aoi_cli_parse_int("--threads", v, 0, 1024, &n, err) < 0)
			return -1;
		o->run.threads = (int)n;
		return 0;
	case O_EXACT: o->run.exact = 1; return 0;
	default: return aoi_error_set(err, AOI_EINVAL, NULL, 0, "unknown option");
	}
}

static const char *long_name(int id)
{
	for (const struct option *p = long_options; p->name; p++)
		if (p->val == id)
			return p->name;
	return "?";
}

static int parse(const command *c, int argc, char **argv, opts *o)
{
	aoi_error err;
	int id;

	optind = 1;
	while ((id = getopt_long(argc, argv, "o:f:j:", long_options, NULL)) != -1) {
		if (id == '?')
			return aoi_cli_usage_error(prog, "%s: bad option", c->name);
		if (id == O_HELP || id == O_VERSION || !takes(c, long_name(id)))
			return aoi_cli_usage_error(prog, "%s takes no --%s", c->name, long_name(id));
		if (set_option(o, id, optarg, &err) < 0)
			return aoi_cli_usage_error(prog, "%s", err.msg);
	}
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs != c->nargs)
		return aoi_cli_usage_error(prog, "%s takes %d file%s, not %d", c->name, c->nargs,
					   c->nargs > 1 ? "s" : "", o->nargs);
	if (c->needs_output && !o->output)
		return aoi_cli_usage_error(prog, "%s needs -o FILE", c->name);
	return AOI_EXIT_OK;
}

int main(int argc, char **argv)
{
	opts o = { .format = "json" };
	int rc;

	aoi_cli_calm_threads(argv);
	aoi_onnx_import_opts_init(&o.imp);
	if (argc < 2)
		return aoi_cli_usage_error(prog, "missing command");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		aoi_cli_version(prog);
		return aoi_cli_close_stdout(prog, AOI_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(argv[1], commands[i].name)) {
			rc = parse(&commands[i], argc - 1, argv + 1, &o);
			if (rc == AOI_EXIT_OK)
				rc = commands[i].run(&o);
			return aoi_cli_close_stdout(prog, rc);
		}
	if (argv[1][0] == '-')
		return aoi_cli_usage_error(prog, "unknown option '%s'", argv[1]);
	return aoi_cli_usage_error(prog, "unknown command '%s'", argv[1]);
}
