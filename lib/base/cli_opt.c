/* cli_opt.c: option tables (cli.h) into getopt_long, values into place. */
#include "base/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* Long-only options get ids above every char getopt can return. */
enum { FIRST_ID = 256 };

static int takes_value(const aoi_cli_opt *o)
{
	switch (o->kind) {
	case AOI_CLI_STR: case AOI_CLI_INT: case AOI_CLI_LONG: case AOI_CLI_REAL:
	case AOI_CLI_SIZE: case AOI_CLI_RANGE: case AOI_CLI_INT_RANGE:
		return 1;
	case AOI_CLI_CALL:
		return o->has_arg;
	default:
		return 0;
	}
}

static int id_of(const aoi_cli_opt *opts, int i)
{
	return opts[i].key ? opts[i].key : FIRST_ID + i;
}

/* getopt_long's long table and option string; NULL when out of memory. */
static struct option *make_tables(const aoi_cli_parser *p, char **shorts)
{
	int n = 0, k = 0;

	while (p->opts[n].kind != AOI_CLI_END)
		n++;
	struct option *lo = calloc((size_t)n + 1, sizeof *lo);
	char *s = malloc(2 * (size_t)n + 2);
	if (!lo || !s) {
		free(lo), free(s);
		return NULL;
	}
	int m = 0;
	if (!p->getopt_says)
		s[m++] = ':'; /* a missing value returns ':', not '?' */
	for (int i = 0; i < n; i++) {
		const aoi_cli_opt *o = &p->opts[i];
		if (o->name)
			lo[k++] = (struct option){ o->name, takes_value(o) ? required_argument
									  : no_argument,
						   NULL, id_of(p->opts, i) };
		if (o->key) {
			s[m++] = (char)o->key;
			if (takes_value(o))
				s[m++] = ':';
		}
	}
	s[m] = '\0';
	*shorts = s;
	return lo;
}

const char *aoi_cli_opt_name(const aoi_cli_opt *opt, char *buf, size_t size)
{
	if (opt->name)
		snprintf(buf, size, "--%s", opt->name);
	else
		snprintf(buf, size, "-%c", opt->key);
	return buf;
}

int aoi_cli_opt_in(const aoi_cli_opt *opt, const char *names)
{
	char letter[2] = { (char)opt->key, '\0' };
	const char *name = opt->name ? opt->name : letter;
	size_t len = strlen(name);

	for (const char *p = names; (p = strstr(p, name)) != NULL; p += len)
		if ((p == names || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return 1;
	return 0;
}

static int store_size(const aoi_cli_opt *o, const char *name, const char *arg, aoi_error *err)
{
	int *w = o->out, *h = o->out2;

	if (aoi_cli_parse_size(name, arg, w, h, err) < 0)
		return -1;
	if (o->hi && (*w < o->lo || *h < o->lo || *w > o->hi || *h > o->hi))
		return aoi_error_set(err, AOI_EINVAL, "", 0, "%s: from %ldx%ld to %ldx%ld", name,
				     o->lo, o->lo, o->hi, o->hi);
	return 0;
}

static int store_int_range(const aoi_cli_opt *o, const char *name, const char *arg,
			   aoi_error *err)
{
	double l, h;

	if (aoi_cli_parse_range(name, arg, &l, &h, err) < 0)
		return -1;
	if (l < o->lo || h > o->hi || l != (int)l || h != (int)h)
		return aoi_error_set(err, AOI_EINVAL, "", 0,
				     "%s: want LO:HI with %ld <= LO <= HI <= %ld", name, o->lo, o->hi);
	*(int *)o->out = (int)l;
	*(int *)o->out2 = (int)h;
	return 0;
}

/* One option's value into place: 0, -1 with err, or AOI_CLI_DONE. */
static int store(const aoi_cli_parser *p, const aoi_cli_opt *o, const char *arg,
		 aoi_error *err)
{
	char name[80];
	long v;

	aoi_cli_opt_name(o, name, sizeof name);
	switch (o->kind) {
	case AOI_CLI_FLAG: *(int *)o->out = (int)o->lo; return 0;
	case AOI_CLI_STR: *(const char **)o->out = arg; return 0;
	case AOI_CLI_INT:
		if (aoi_cli_parse_int(name, arg, o->lo, o->hi, &v, err) < 0)
			return -1;
		*(int *)o->out = (int)v;
		return 0;
	case AOI_CLI_LONG: return aoi_cli_parse_int(name, arg, o->lo, o->hi, o->out, err);
	case AOI_CLI_REAL: return aoi_cli_parse_double(name, arg, o->dlo, o->dhi, o->out, err);
	case AOI_CLI_SIZE: return store_size(o, name, arg, err);
	case AOI_CLI_RANGE: return aoi_cli_parse_range(name, arg, o->out, o->out2, err);
	case AOI_CLI_INT_RANGE: return store_int_range(o, name, arg, err);
	case AOI_CLI_CALL: return o->call(p->ctx, o, arg, err);
	default: return aoi_error_set(err, AOI_EINVAL, NULL, 0, "%s: not an option", name);
	}
}

/* getopt's '?' (unknown) and ':' (no value): the usage error. */
static int bad_option(const aoi_cli_parser *p, int c, const char *word)
{
	if (p->getopt_says) /* getopt has printed its message */
		return p->then ? aoi_cli_usage_error(p->prog, "%s", p->then) : AOI_EXIT_USAGE;
	if (p->context)
		return aoi_cli_usage_error(p->prog, c == ':' ? "'%s': option '%s' needs a value"
							     : "'%s': unknown option '%s'",
					   p->context, word);
	return aoi_cli_usage_error(p->prog, c == ':' ? "option '%s' needs a value"
						     : "unknown option '%s'", word);
}

/* The entry of getopt's answer c. */
static const aoi_cli_opt *find(const aoi_cli_opt *opts, int c)
{
	for (int i = 0; opts[i].kind != AOI_CLI_END; i++)
		if (id_of(opts, i) == c)
			return &opts[i];
	return NULL;
}

/* One option getopt found: AOI_CLI_GO or an exit status. */
static int one(const aoi_cli_parser *p, const aoi_cli_opt *o, const char *arg)
{
	aoi_error err;
	int rc;

	aoi_error_clear(&err);
	if (o->kind == AOI_CLI_HELP) {
		fputs(p->usage, stdout);
		return AOI_EXIT_OK;
	}
	if (o->kind == AOI_CLI_VERSION) {
		aoi_cli_version(p->prog);
		return AOI_EXIT_OK;
	}
	if (p->admit && p->admit(p->ctx, o, &err) < 0)
		return aoi_cli_usage_error(p->prog, "%s", err.msg);
	rc = store(p, o, arg, &err);
	if (rc < 0)
		return aoi_cli_usage_error(p->prog, "%s", err.msg);
	return rc == AOI_CLI_DONE ? AOI_EXIT_OK : AOI_CLI_GO;
}

int aoi_cli_parse(const aoi_cli_parser *p, int argc, char **argv, int *first)
{
	char *shorts = NULL;
	struct option *lo = make_tables(p, &shorts);
	int c, rc = AOI_CLI_GO;

	if (!lo)
		return aoi_cli_failf(p->prog, "out of memory");
	optind = 1;
	opterr = p->getopt_says;
	while (rc == AOI_CLI_GO && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		const aoi_cli_opt *o = c == '?' || c == ':' ? NULL : find(p->opts, c);
		rc = o ? one(p, o, optarg) : bad_option(p, c, argv[optind - 1]);
	}
	free(lo);
	free(shorts);
	*first = optind;
	if (rc == AOI_CLI_GO && p->too_many && argc - optind > p->max_operands)
		rc = aoi_cli_usage_error(p->prog, p->too_many, argv[optind + p->max_operands]);
	return rc;
}

int aoi_cli_parse_dataset(const aoi_cli_parser *p, int argc, char **argv,
			  const char **dataset)
{
	aoi_cli_parser one = *p;
	int first, rc;

	one.too_many = "one dataset at most";
	one.max_operands = 1;
	rc = aoi_cli_parse(&one, argc, argv, &first);
	*dataset = first < argc ? argv[first] : NULL;
	return rc;
}

int aoi_cli_command(const char *prog, const char *usage, int argc, char **argv,
		    const void *table, size_t count, size_t size, const void **cmd)
{
	*cmd = NULL;
	if (argc < 2)
		return aoi_cli_usage_error(prog, "missing command");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return AOI_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		aoi_cli_version(prog);
		return AOI_EXIT_OK;
	}
	for (size_t i = 0; i < count; i++) {
		const void *entry = (const char *)table + i * size;
		if (strcmp(argv[1], *(const char *const *)entry) == 0) {
			*cmd = entry;
			return AOI_CLI_GO;
		}
	}
	return aoi_cli_usage_error(prog, argv[1][0] == '-' ? "unknown option '%s'"
							   : "unknown command '%s'", argv[1]);
}
