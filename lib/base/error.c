#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void aoi_error_clear(aoi_error *err)
{
	if (!err)
		return;
	err->code = AOI_OK;
	err->where[0] = '\0';
	err->line = 0;
	err->msg[0] = '\0';
}

int aoi_error_set(aoi_error *err, int code, const char *where, long line,
		  const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -1;
	err->code = code;
	snprintf(err->where, sizeof err->where, "%s", where ? where : "");
	err->line = line;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

void aoi_error_locate(aoi_error *err, const char *where, long line)
{
	if (!err)
		return;
	if (where)
		snprintf(err->where, sizeof err->where, "%s", where);
	err->line = line;
}

const char *aoi_error_text(const aoi_error *err, char *buf, size_t size)
{
	if (err->where[0] && err->line > 0)
		snprintf(buf, size, "(at %s:%ld): %s", err->where, err->line, err->msg);
	else if (err->where[0])
		snprintf(buf, size, "(at %s): %s", err->where, err->msg);
	else
		snprintf(buf, size, "%s", err->msg);
	return buf;
}

int aoi_error_errno(aoi_error *err, const char *path, const char *what)
{
	int saved = errno;

	return aoi_error_set(err, saved == ENOENT ? AOI_ENOTFOUND : AOI_EIO, path,
			     0, "%s: %s", what, strerror(saved));
}
