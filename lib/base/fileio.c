#include "base/fileio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int aoi_atomic_open(aoi_atomic_file *f, const char *path, aoi_error *err)
{
	f->fp = NULL;
	f->no_sync = 0;
	if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path ||
	    snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld", path, (long)getpid()) >=
		    (int)sizeof f->tmp)
		return aoi_error_set(err, AOI_EINVAL, path, 0, "path too long");
	f->fp = fopen(f->tmp, "wb");
	if (!f->fp)
		return aoi_error_errno(err, path, "cannot create");
	return 0;
}

int aoi_atomic_commit(aoi_atomic_file *f, aoi_error *err)
{
	int bad = 0;

	if (!f->fp)
		return aoi_error_set(err, AOI_EIO, f->path, 0, "file was not open");
	if (fflush(f->fp) != 0 || ferror(f->fp) || (!f->no_sync && fsync(fileno(f->fp)) != 0))
		bad = 1;
	if (fclose(f->fp) != 0)
		bad = 1;
	f->fp = NULL;
	if (bad) {
		aoi_error_errno(err, f->path, "write failed");
		unlink(f->tmp);
		return -1;
	}
	if (rename(f->tmp, f->path) != 0) {
		aoi_error_errno(err, f->path, "cannot rename into place");
		unlink(f->tmp);
		return -1;
	}
	return 0;
}

void aoi_atomic_abort(aoi_atomic_file *f)
{
	if (f->fp) {
		fclose(f->fp);
		f->fp = NULL;
		unlink(f->tmp);
	}
}

int aoi_file_read(const char *path, unsigned char **buf, size_t *len, aoi_error *err)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t cap = 0, n = 0;

	*buf = NULL;
	*len = 0;
	if (!fp)
		return aoi_error_errno(err, path, "cannot open");
	for (;;) {
		if (n + 1 >= cap) {
			size_t ncap = cap ? cap * 2 : 65536;
			unsigned char *p = realloc(data, ncap);
			if (!p) {
				free(data);
				fclose(fp);
				return aoi_error_set(err, AOI_ENOMEM, path, 0, "out of memory");
			}
			data = p;
			cap = ncap;
		}
		size_t got = fread(data + n, 1, cap - n - 1, fp);
		n += got;
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		aoi_error_errno(err, path, "read failed");
		free(data);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	data[n] = '\0';
	*buf = data;
	*len = n;
	return 0;
}

int aoi_mkdir_p(const char *dir, aoi_error *err)
{
	char tmp[4096];
	size_t n = strlen(dir);

	if (n == 0 || n >= sizeof tmp)
		return aoi_error_set(err, AOI_EINVAL, dir, 0, "bad directory name");
	memcpy(tmp, dir, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return aoi_error_errno(err, dir, "cannot create directory");
		*p = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return aoi_error_errno(err, dir, "cannot create directory");
	if (!aoi_path_is_dir(tmp))
		return aoi_error_set(err, AOI_EIO, dir, 0, "not a directory");
	return 0;
}

int aoi_path_join(char *out, size_t size, const char *base, const char *rel)
{
	int n;

	if (rel[0] == '/' || !base || !base[0] || strcmp(base, ".") == 0)
		n = snprintf(out, size, "%s", rel);
	else
		n = snprintf(out, size, "%s/%s", base, rel);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

void aoi_path_dir(char *out, size_t size, const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, size, ".");
	else if (slash == path)
		snprintf(out, size, "/");
	else
		snprintf(out, size, "%.*s", (int)(slash - path), path);
}

void aoi_path_stem(char *out, size_t size, const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (dot && dot != base)
		snprintf(out, size, "%.*s", (int)(dot - base), base);
	else
		snprintf(out, size, "%s", base);
}

int aoi_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

int aoi_path_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
