/* aoi-model: model files: what is in them, ONNX in and out, a run on raw
 * tensors. Each command is an entry of `commands` and one call into lib/
 * (model/describe.h, model/onnx.h); this file reads the options and
 * returns the exit code. */
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

typedef struct opts {
	const char *output, *format, *mean, *std, *classes;
	char *names; /* the class names' block */
	int layers;
	aoi_onnx_import_opts imp;
	aoi_onnx_export_opts exp;
	aoi_model_run_opts run;
	char **args;
	int nargs;
	const struct command *cmd;
} opts;

/* A command: its name, what it does, the options it takes (names of the
 * option table), how many files, whether it writes -o FILE. */
typedef struct command {
	const char *name;
	int (*run)(opts *o, aoi_error *err); /* 0; -1 with err; or an exit status */
	const char *takes;
	int nargs;
	int needs_output;
} command;

static int cmd_info(opts *o, aoi_error *err)
{
	json_t *d = aoi_model_describe_file(o->args[0], o->layers, err);
	int rc = 0;

	if (!d)
		return -1;
	if (!strcmp(o->format, "table")) {
		rc = aoi_model_describe_table(stdout, d, err);
	} else {
		json_dumpf(d, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	}
	json_decref(d);
	return rc;
}

static int cmd_import(opts *o, aoi_error *err)
{
	return aoi_onnx_import_file(o->args[0], o->output, &o->imp, err);
}

static int cmd_export(opts *o, aoi_error *err)
{
	return aoi_onnx_export_file(o->args[0], o->output, &o->exp, err);
}

static int cmd_run(opts *o, aoi_error *err)
{
	return aoi_model_run_file(o->args[0], o->args[1], o->output, &o->run, err);
}

/* quantize (issue 19) goes here too */
static const command commands[] = {
	{ "info", cmd_info, "layers format", 1, 0 },
	{ "import", cmd_import, "output size mean std task classes", 1, 1 },
	{ "export", cmd_export, "output opset", 1, 1 },
	{ "run", cmd_run, "output threads exact", 2, 1 },
};

static int set_task(void *ctx, const aoi_cli_opt *opt, const char *v, aoi_error *err)
{
	opts *o = ctx;

	(void)opt;
	if ((o->imp.task = aoi_task_parse(v)) < 0)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0,
				     "--task: segmentation, classification or keypoints");
	return 0;
}

static int misplaced(void *ctx, const aoi_cli_opt *opt, const char *arg, aoi_error *err)
{
	(void)ctx, (void)arg;
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "--%s goes before the command", opt->name);
}

/* The options the command takes; --help and --version go before it. */
static int admit(void *ctx, const aoi_cli_opt *opt, aoi_error *err)
{
	const command *c = ((const opts *)ctx)->cmd;
	char name[64];

	if (opt->call == misplaced || aoi_cli_opt_in(opt, c->takes))
		return 0;
	return aoi_error_set(err, AOI_EINVAL, NULL, 0, "'%s' does not take %s", c->name,
			     aoi_cli_opt_name(opt, name, sizeof name));
}

static int parse_options(opts *o, int argc, char **argv, int *first)
{
	const aoi_cli_opt table[] = {
		AOI_CLI_OPT_STR('o', "output", &o->output),
		AOI_CLI_OPT_FLAG(0, "layers", &o->layers),
		AOI_CLI_OPT_STR('f', "format", &o->format),
		AOI_CLI_OPT_INPUT_SIZE(&o->imp.input_w, &o->imp.input_h),
		AOI_CLI_OPT_STR(0, "mean", &o->mean),
		AOI_CLI_OPT_STR(0, "std", &o->std),
		AOI_CLI_OPT_CALL(0, "task", set_task, 0),
		AOI_CLI_OPT_STR(0, "classes", &o->classes),
		AOI_CLI_OPT_INT(0, "opset", &o->exp.opset, 11, 17),
		AOI_CLI_OPT_THREADS(&o->run.threads),
		AOI_CLI_OPT_FLAG(0, "exact", &o->run.exact),
		AOI_CLI_OPT_ACTION('h', "help", misplaced),
		AOI_CLI_OPT_ACTION('V', "version", misplaced),
		AOI_CLI_OPT_END,
	};
	aoi_cli_parser p = { .prog = prog, .usage = usage_text, .opts = table, .ctx = o,
			     .admit = admit, .context = o->cmd->name };

	return aoi_cli_parse(&p, argc, argv, first);
}

/* COMMAND [OPTION]... FILE... */
static int parse(void *ctx, int argc, char **argv)
{
	opts *o = ctx;
	const command *c;
	const void *cmd;
	aoi_error err;
	int first, rc = aoi_cli_command(prog, usage_text, argc, argv, commands,
					sizeof commands / sizeof commands[0], sizeof commands[0], &cmd);

	if (rc != AOI_CLI_GO)
		return rc;
	o->cmd = c = cmd;
	if ((rc = parse_options(o, argc - 1, argv + 1, &first)) != AOI_CLI_GO)
		return rc;
	o->args = argv + 1 + first;
	o->nargs = argc - 1 - first;
	if (o->nargs != c->nargs)
		return aoi_cli_usage_error(prog, "'%s' takes %d file%s, not %d", c->name, c->nargs,
					   c->nargs > 1 ? "s" : "", o->nargs);
	if (c->needs_output && !o->output)
		return aoi_cli_usage_error(prog, "'%s' needs -o FILE", c->name);
	if (strcmp(o->format, "json") && strcmp(o->format, "table"))
		return aoi_cli_usage_error(prog, "--format: expected json or table");
	if (aoi_onnx_import_opts_lists(&o->imp, o->mean, o->std, o->classes, &o->names, &err) < 0)
		return aoi_cli_usage_error(prog, "%s", err.msg);
	return AOI_CLI_GO;
}

static int run(void *ctx, aoi_error *err)
{
	opts *o = ctx;

	return o->cmd->run(o, err);
}

int main(int argc, char **argv)
{
	const aoi_cli_prog program = { prog, parse, run };
	opts o = { .format = "json" };

	int rc;

	aoi_onnx_import_opts_init(&o.imp);
	rc = aoi_cli_main(&program, &o, argc, argv);
	free(o.names);
	return rc;
}
