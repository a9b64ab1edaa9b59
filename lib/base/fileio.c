#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A name no other writer can hold: pid, then random bits, so that two
 * processes or two threads writing one path never share a temporary file. */
static int atomic_tmp_name(aoi_atomic_file *f)
{
	uint64_t r = 0;
	struct timespec ts;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)gettid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)f;
	}
	int n = snprintf(f->tmp, sizeof f->tmp, "%s.tmp.%ld.%016llx", f->path, (long)getpid(),
			 (unsigned long long)r);
	return n < 0 || (size_t)n >= sizeof f->tmp ? -1 : 0;
}

/* Create the temporary file: O_EXCL and O_NOFOLLOW, so that a file or a
 * symlink planted under the name is never written through; another name is
 * tried when one is taken. */
static int atomic_create(aoi_atomic_file *f, aoi_error *err)
{
	for (int tries = 0; tries < 100; tries++) {
		if (atomic_tmp_name(f) < 0)
			return aoi_error_set(err, AOI_EINVAL, f->path, 0, "path too long");
		int fd = open(f->tmp, O_CREAT | O_EXCL | O_NOFOLLOW | O_WRONLY | O_CLOEXEC, 0666);
		if (fd < 0 && errno == EEXIST)
			continue;
		if (fd < 0)
			return aoi_error_errno(err, f->path, "cannot create");
		f->fp = fdopen(fd, "wb");
		if (!f->fp) {
			aoi_error_errno(err, f->path, "cannot create");
			close(fd);
			unlink(f->tmp);
			return -1;
		}
		return 0;
	}
	return aoi_error_set(err, AOI_EIO, f->path, 0, "cannot create: no free temporary name");
}

int aoi_atomic_open(aoi_atomic_file *f, const char *path, aoi_error *err)
{
	struct stat st;

	f->fp = NULL;
	f->no_sync = 0;
	f->direct = 0;
	f->tmp[0] = '\0';
	if (snprintf(f->path, sizeof f->path, "%s", path) >= (int)sizeof f->path)
		return aoi_error_set(err, AOI_EINVAL, path, 0, "path too long");
	/* A device or a FIFO (-o /dev/null, -o /dev/stdout) is written to
	 * directly: replacing it with a regular file would destroy it. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		f->fp = fopen(path, "wb");
		if (!f->fp)
			return aoi_error_errno(err, path, "cannot open");
		f->direct = 1;
		return 0;
	}
	return atomic_create(f, err);
}

/* The rename is durable only once the directory holding it is on disk. */
static int sync_dir_of(const char *path, aoi_error *err)
{
	char dir[4096];
	int fd, rc = 0;

	aoi_path_dir(dir, sizeof dir, path);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 && errno == EACCES)
		return 0; /* a write-only directory cannot be opened to sync */
	if (fd < 0)
		return aoi_error_errno(err, path, "cannot sync directory");
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = aoi_error_errno(err, path, "cannot sync directory");
	close(fd);
	return rc;
}

int aoi_atomic_commit(aoi_atomic_file *f, aoi_error *err)
{
	int bad = 0;

	if (!f->fp)
		return aoi_error_set(err, AOI_EIO, f->path, 0, "file was not open");
	if (fflush(f->fp) != 0 || ferror(f->fp))
		bad = 1;
	/* devices and FIFOs may not support fsync (EINVAL): nothing to keep */
	else if (!f->no_sync && fsync(fileno(f->fp)) != 0 &&
		 !(f->direct && (errno == EINVAL || errno == EROFS)))
		bad = 1;
	if (fclose(f->fp) != 0)
		bad = 1;
	f->fp = NULL;
	if (bad) {
		aoi_error_errno(err, f->path, "write failed");
		if (!f->direct)
			unlink(f->tmp);
		return -1;
	}
	if (f->direct)
		return 0;
	if (rename(f->tmp, f->path) != 0) {
		aoi_error_errno(err, f->path, "cannot rename into place");
		unlink(f->tmp);
		return -1;
	}
	return f->no_sync ? 0 : sync_dir_of(f->path, err);
}

void aoi_atomic_abort(aoi_atomic_file *f)
{
	if (f->fp) {
		fclose(f->fp);
		f->fp = NULL;
		if (!f->direct)
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
