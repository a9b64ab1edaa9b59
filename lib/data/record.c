#include "data/record.h"

#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"

struct aoi_reader {
	FILE *fp;
	int owns_fp;
	char name[4096];
	char base[4096];
	long line;     /* line number of the last line read */
	char *buf;
	size_t cap;
};

aoi_reader *aoi_reader_open(const char *path, const char *root, aoi_error *err)
{
	aoi_reader *r = calloc(1, sizeof *r);

	if (!r) {
		aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
		return NULL;
	}
	if (!path || strcmp(path, "-") == 0) {
		r->fp = stdin;
		snprintf(r->name, sizeof r->name, "<stdin>");
		snprintf(r->base, sizeof r->base, "%s", root ? root : ".");
		return r;
	}
	r->fp = fopen(path, "r");
	if (!r->fp) {
		aoi_error_errno(err, path, "cannot open");
		free(r);
		return NULL;
	}
	r->owns_fp = 1;
	snprintf(r->name, sizeof r->name, "%s", path);
	if (root)
		snprintf(r->base, sizeof r->base, "%s", root);
	else
		aoi_path_dir(r->base, sizeof r->base, path);
	return r;
}

static int is_blank(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return *s == '\0';
}

int aoi_reader_next(aoi_reader *r, json_t **rec, aoi_error *err)
{
	ssize_t n;

	*rec = NULL;
	for (;;) {
		n = getline(&r->buf, &r->cap, r->fp);
		if (n < 0) {
			if (ferror(r->fp))
				return aoi_error_errno(err, r->name, "read failed");
			return 0;
		}
		r->line++;
		if (!is_blank(r->buf))
			break;
	}
	json_error_t jerr;
	json_t *v = json_loadb(r->buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return aoi_error_set(err, AOI_EFORMAT, r->name, r->line,
				     "malformed JSON: %s (column %d)", jerr.text,
				     jerr.column);
	if (!json_is_object(v)) {
		json_decref(v);
		return aoi_error_set(err, AOI_EFORMAT, r->name, r->line,
				     "a record must be a JSON object");
	}
	*rec = v;
	return 1;
}

const char *aoi_reader_name(const aoi_reader *r)
{
	return r->name;
}

long aoi_reader_line(const aoi_reader *r)
{
	return r->line;
}

const char *aoi_reader_base(const aoi_reader *r)
{
	return r->base;
}

void aoi_reader_free(aoi_reader *r)
{
	if (!r)
		return;
	if (r->owns_fp)
		fclose(r->fp);
	free(r->buf);
	free(r);
}

json_t *aoi_dataset_read(const char *path, const char *root, aoi_error *err)
{
	aoi_reader *r = aoi_reader_open(path, root, err);
	json_t *all, *rec;
	int got;

	if (!r)
		return NULL;
	all = json_array();
	while ((got = aoi_reader_next(r, &rec, err)) > 0)
		json_array_append_new(all, rec);
	aoi_reader_free(r);
	if (got < 0) {
		json_decref(all);
		return NULL;
	}
	return all;
}

int aoi_record_write(FILE *fp, const json_t *rec, aoi_error *err)
{
	if (json_dumpf(rec, fp, JSON_COMPACT | JSON_REAL_PRECISION(9)) != 0 ||
	    fputc('\n', fp) == EOF)
		return aoi_error_errno(err, NULL, "write failed");
	return 0;
}

const char *aoi_record_str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

double aoi_record_num(const json_t *rec, const char *key, double fallback)
{
	json_t *v = json_object_get(rec, key);

	return json_is_number(v) ? json_number_value(v) : fallback;
}

int aoi_record_path(const json_t *rec, const char *key, const char *base, char *out,
		    size_t size)
{
	const char *rel = aoi_record_str(rec, key);

	if (!rel || !rel[0])
		return -1;
	return aoi_path_join(out, size, base, rel);
}

void aoi_record_file_name(const char *id, char *out, size_t size)
{
	size_t i = 0;

	for (; id[i] && i + 1 < size; i++) {
		char c = id[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
		out[i] = ok ? c : '_';
	}
	out[i] = '\0';
}
