/* fileio.h: files written whole or not at all, whole-file reads, paths.
 *
 * An output file is written to "PATH.tmp.PID" beside its final name and
 * renamed over it on commit, so that a reader never sees half a file and a
 * failure leaves nothing behind. */
#ifndef AOI_FILEIO_H
#define AOI_FILEIO_H

#include <stdio.h>

#include "base/error.h"

typedef struct aoi_atomic_file {
	FILE *fp;        /* write here */
	char path[4096];
	char tmp[4096];
	/* Set after open to skip the fsync: for the many small files of a cache
	 * (the report's thumbnails), where the rename is still atomic for
	 * readers and a crash costs only a remake. */
	int no_sync;
} aoi_atomic_file;

int aoi_atomic_open(aoi_atomic_file *f, const char *path, aoi_error *err);
/* Flush, fsync, close and rename into place; on failure the temporary file
 * is removed. */
int aoi_atomic_commit(aoi_atomic_file *f, aoi_error *err);
/* Close and remove the temporary file; safe to call after a commit. */
void aoi_atomic_abort(aoi_atomic_file *f);

/* Read a whole file into a malloc'd buffer (NUL-terminated, the NUL not
 * counted in *len). The caller frees *buf. */
int aoi_file_read(const char *path, unsigned char **buf, size_t *len, aoi_error *err);

/* mkdir -p */
int aoi_mkdir_p(const char *dir, aoi_error *err);

/* base + "/" + rel unless rel is absolute or base is NULL/""; 0, or -1 when
 * the result does not fit. */
int aoi_path_join(char *out, size_t size, const char *base, const char *rel);

/* The directory part of path ("." when it has none) into out. */
void aoi_path_dir(char *out, size_t size, const char *path);

/* The file name without directory and without its last extension. */
void aoi_path_stem(char *out, size_t size, const char *path);

int aoi_path_exists(const char *path);
int aoi_path_is_dir(const char *path);

#endif
