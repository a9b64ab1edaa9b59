/* test_hash: SHA-256 against the FIPS 180-4 / NIST known answers, in one
 * piece and fed byte by byte, and the dataset fingerprint's sensitivity. */
#include <stdlib.h>
#include <unistd.h>

#include "base/hash.h"
#include "check.h"
#include "data/dataset.h"

#define CHECK_HEX(hex, want) CHECK_MSG(strcmp((hex), (want)) == 0, "%s != %s", (hex), (want))

static void check_known_answers(void)
{
	char hex[65];
	static const char *million_a =
		"cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

	aoi_sha256_hex("", 0, hex);
	CHECK_HEX(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	aoi_sha256_hex("abc", 3, hex);
	CHECK_HEX(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	aoi_sha256_hex(two, strlen(two), hex);
	CHECK_HEX(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

	/* a million 'a' in uneven pieces crosses every block boundary case */
	aoi_sha256 s;
	uint8_t d[32];
	char buf[997];
	memset(buf, 'a', sizeof buf);
	aoi_sha256_init(&s);
	for (size_t left = 1000000; left > 0;) {
		size_t n = left < sizeof buf ? left : (left % 7) + 1 + left % 990;
		if (n > left)
			n = left;
		aoi_sha256_update(&s, buf, n);
		left -= n;
	}
	aoi_sha256_final(&s, d);
	aoi_sha256_to_hex(d, hex);
	CHECK_HEX(hex, million_a);

	/* 55, 56 and 64 bytes: the padding edge cases */
	aoi_sha256_hex(buf, 55, hex);
	CHECK_HEX(hex, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	aoi_sha256_hex(buf, 56, hex);
	CHECK_HEX(hex, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	aoi_sha256_hex(buf, 64, hex);
	CHECK_HEX(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

static void check_str64(void)
{
	CHECK(aoi_hash_str64(1, "a") != aoi_hash_str64(2, "a"));
	CHECK(aoi_hash_str64(1, "a") != aoi_hash_str64(1, "b"));
	CHECK(aoi_hash_str64(7, "abc") == aoi_hash_str64(7, "abc"));
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "wb");
	fputs(text, fp);
	fclose(fp);
}

static void check_fingerprint(void)
{
	char dir[] = "/tmp/aoi-test-hash.XXXXXX", path[4200];
	aoi_fingerprint a, b, c;
	aoi_error err;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/x.png", dir);
	write_file(path, "pixels");
	json_t *recs = json_pack("[{s:s, s:s}]", "image", "x.png", "id", "1");
	json_t *swapped = json_pack("[{s:s, s:s}]", "id", "1", "image", "x.png");
	CHECK_INT(aoi_hash_dataset(recs, dir, NULL, &a, &err), 0);
	CHECK_INT(a.records, 1);
	CHECK_INT(a.files, 1);
	CHECK_INT(a.bytes, 6);
	/* key order does not matter (canonical JSON), file bytes do */
	CHECK_INT(aoi_hash_dataset(swapped, dir, NULL, &b, &err), 0);
	CHECK_HEX(a.hex, b.hex);
	write_file(path, "pixelz");
	CHECK_INT(aoi_hash_dataset(recs, dir, NULL, &c, &err), 0);
	CHECK(strcmp(a.hex, c.hex) != 0);
	/* a missing file is an error that names it */
	json_array_append_new(recs, json_pack("{s:s}", "image", "gone.png"));
	CHECK_INT(aoi_hash_dataset(recs, dir, NULL, &c, &err), -1);
	CHECK(strstr(err.where, "gone.png") != NULL);
	CHECK_INT(c.failed, 1);
	json_decref(recs);
	json_decref(swapped);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	check_known_answers();
	check_str64();
	check_fingerprint();
	return check_done();
}
