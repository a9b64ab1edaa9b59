/* import.c: what the importers share: directory listings, paths, the start
 * of a record. */
#include "formats/import.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fileio.h"
#include "image/image.h"

static int is_image_name(const char *name)
{
	static const char *const ext[] = { ".png", ".jpg", ".jpeg", ".bmp" };
	const char *dot = strrchr(name, '.');

	for (size_t i = 0; dot && i < sizeof ext / sizeof ext[0]; i++)
		if (strcasecmp(dot, ext[i]) == 0)
			return 1;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *sorted_array(char **names, size_t n)
{
	json_t *out = json_array();

	if (n > 1)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(out, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return out;
}

json_t *aoi_import_list_dir(const char *dir, int want_dirs, aoi_error *err)
{
	DIR *d = opendir(dir);
	char **names = NULL, path[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;

	if (!d) {
		aoi_error_errno(err, dir, "cannot open directory");
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (aoi_path_join(path, sizeof path, dir, de->d_name) != 0)
			continue;
		if (want_dirs ? !aoi_path_is_dir(path)
			      : (!is_image_name(de->d_name) || aoi_path_is_dir(path)))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *p);
			if (!p)
				break;
			names = p;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (de) {
		for (size_t i = 0; i < n; i++)
			free(names[i]);
		free(names);
		aoi_error_set(err, AOI_ENOMEM, dir, 0, "out of memory");
		return NULL;
	}
	return sorted_array(names, n);
}

int aoi_import_prefix(const char *dir, int absolute, char *out, size_t size,
		      aoi_error *err)
{
	char abs[PATH_MAX];

	if (!aoi_path_is_dir(dir))
		return aoi_error_set(err, AOI_ENOTFOUND, dir, 0, "not a directory");
	if (absolute && !realpath(dir, abs))
		return aoi_error_errno(err, dir, "cannot resolve");
	if (snprintf(out, size, "%s", absolute ? abs : dir) >= (int)size)
		return aoi_error_set(err, AOI_EINVAL, dir, 0, "path too long");
	/* "dir/" joins as "dir//x": drop trailing slashes (but keep "/") */
	for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
		out[n - 1] = '\0';
	return 0;
}

json_t *aoi_import_record(const char *id, const char *image, aoi_error *err)
{
	int w, h, c;

	if (aoi_image_probe(image, &w, &h, &c, err) != 0)
		return NULL;
	return json_pack("{s:s,s:s,s:i,s:i,s:i}", "id", id, "image", image, "width", w,
			 "height", h, "channels", c);
}

char *aoi_import_next_line(char **cursor)
{
	char *line = *cursor, *end;

	if (!line || !*line)
		return NULL;
	end = strchr(line, '\n');
	*cursor = end ? end + 1 : line + strlen(line);
	if (end)
		*end = '\0';
	else
		end = line + strlen(line);
	if (end > line && end[-1] == '\r')
		end[-1] = '\0';
	return line;
}
