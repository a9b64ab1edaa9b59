/* test_fileio.c: aoi_atomic_open/commit against what a hostile or unusual
 * file system holds: a symlink planted under the temporary name, two writers
 * of one path, a device or a FIFO as the target, and nothing left behind. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "base/fileio.h"
#include "check.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char buf[8][512];
	static int k;
	char *p = buf[k++ % 8];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	return p;
}

static void write_text(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	if (fp) {
		fputs(text, fp);
		fclose(fp);
	}
}

static const char *read_text(const char *path, char *buf, size_t size)
{
	FILE *fp = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (fp) {
		n = fread(buf, 1, size - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	return buf;
}

/* Files in tmpdir whose name starts with prefix. */
static int count_files(const char *prefix)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
	if (d)
		closedir(d);
	return n;
}

/* The temporary name aoi used to write (PATH.tmp.PID) holds a symlink to a
 * victim: the victim must stay as it was. */
static void test_planted_symlink(void)
{
	aoi_atomic_file f;
	aoi_error err;
	char old[600], buf[64];

	write_text(tmp_path("victim"), "precious\n");
	snprintf(old, sizeof old, "%s.tmp.%ld", tmp_path("out.json"), (long)getpid());
	CHECK(symlink(tmp_path("victim"), old) == 0);
	CHECK(aoi_atomic_open(&f, tmp_path("out.json"), &err) == 0);
	CHECK(strcmp(f.tmp, old) != 0);
	fputs("{}\n", f.fp);
	CHECK(aoi_atomic_commit(&f, &err) == 0);
	CHECK_STR(read_text(tmp_path("victim"), buf, sizeof buf), "precious\n");
	CHECK_STR(read_text(tmp_path("out.json"), buf, sizeof buf), "{}\n");
	unlink(old);
}

/* Two writers of one path (two threads, or one program writing a file
 * twice) get two temporary files; the last commit wins, whole. */
static void test_two_writers(void)
{
	aoi_atomic_file a, b;
	aoi_error err;
	char buf[64];

	CHECK(aoi_atomic_open(&a, tmp_path("two"), &err) == 0);
	CHECK(aoi_atomic_open(&b, tmp_path("two"), &err) == 0);
	CHECK(strcmp(a.tmp, b.tmp) != 0);
	fputs("first\n", a.fp);
	fputs("second\n", b.fp);
	CHECK(aoi_atomic_commit(&a, &err) == 0);
	CHECK_STR(read_text(tmp_path("two"), buf, sizeof buf), "first\n");
	CHECK(aoi_atomic_commit(&b, &err) == 0);
	CHECK_STR(read_text(tmp_path("two"), buf, sizeof buf), "second\n");
	CHECK_INT(count_files("two."), 0);
}

/* A device stays a device: written to, not replaced by a regular file. As
 * root a null device of our own is made in tmpdir, so that a broken build
 * cannot replace the system's /dev/null. */
static void test_device_target(void)
{
	const char *dev = tmp_path("null");
	aoi_atomic_file f;
	aoi_error err;
	struct stat st;

	if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) != 0)
		dev = "/dev/null";
	CHECK(aoi_atomic_open(&f, dev, &err) == 0);
	if (f.fp)
		fputs("nothing\n", f.fp);
	CHECK(aoi_atomic_commit(&f, &err) == 0);
	CHECK(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
	CHECK_INT(count_files("null.tmp"), 0);
}

/* A FIFO gets the bytes and stays a FIFO. */
static void test_fifo_target(void)
{
	const char *fifo = tmp_path("fifo");
	aoi_atomic_file f;
	aoi_error err;
	struct stat st;
	char buf[64] = {0};
	int rd;

	CHECK(mkfifo(fifo, 0600) == 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK); /* a reader, so opening does not block */
	CHECK(rd >= 0);
	CHECK(aoi_atomic_open(&f, fifo, &err) == 0);
	if (f.fp)
		fputs("through\n", f.fp);
	CHECK(aoi_atomic_commit(&f, &err) == 0);
	CHECK(read(rd, buf, sizeof buf - 1) == 8);
	CHECK(strcmp(buf, "through\n") == 0);
	CHECK(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
	close(rd);
}

/* Abort and every failure leave no file behind; an existing file survives an
 * abort untouched. */
static void test_nothing_left(void)
{
	aoi_atomic_file f;
	aoi_error err;
	char buf[64];

	write_text(tmp_path("kept"), "old\n");
	CHECK(aoi_atomic_open(&f, tmp_path("kept"), &err) == 0);
	fputs("new\n", f.fp);
	aoi_atomic_abort(&f);
	aoi_atomic_abort(&f); /* twice is harmless */
	CHECK_STR(read_text(tmp_path("kept"), buf, sizeof buf), "old\n");
	CHECK_INT(count_files("kept."), 0);

	CHECK(aoi_atomic_open(&f, tmp_path("no/such/dir/x"), &err) == -1);
	CHECK(strstr(err.msg, "cannot create") != NULL);

	/* a directory as the target: the rename fails, the temporary goes */
	CHECK(mkdir(tmp_path("adir"), 0700) == 0);
	CHECK(aoi_atomic_open(&f, tmp_path("adir"), &err) == 0);
	CHECK(aoi_atomic_commit(&f, &err) == -1);
	CHECK(strstr(err.msg, "rename") != NULL);
	CHECK_INT(count_files("adir."), 0);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_fileio.XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_planted_symlink();
	test_two_writers();
	test_device_target();
	test_fifo_target();
	test_nothing_left();
	check_remove_dir(tmpdir);
	return check_done();
}
