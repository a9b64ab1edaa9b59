/* infer_stage.c: aoi-infer in pipeline stages (see infer_stage.h); the
 * stream format is in man/aoi-model.5 (STAGE STREAM): all integers and
 * tensor values little-endian, 4-byte values.
 *
 *   header  "AOISTAGE", u32 version 1, 32-byte model digest, u32 cut (the
 *           first node of the stage reading it), u32 batch, u32 flags (bit
 *           0: --flips), u32 tensors,
 *           per tensor u32 node, kind (0 float32 output, 1 int32 max-pool
 *           indices), c, h, w
 *   chunk   "CHNK", u32 records; per record: u32 failed, i32 original
 *           width, height, plane width, height, tiled, i64 line, str
 *           input name, [failed: i32 code, str where, i64 line, str
 *           message], str record (JSON); u32 jobs; per job i32 record,
 *           x0, y0, flip
 *   batch   "BTCH", u32 rows, then per tensor rows x c x h x w values
 *   end     "END!"
 *
 * str is a u32 length and that many bytes. A chunk's batches follow it:
 * jobs in order, `batch` rows each, the last one short. */
#include "infer/infer_stage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "infer/infer_impl.h"

#define STAGE_MAGIC "AOISTAGE"
#define STAGE_VERSION 1u
#define STAGE_MAX_STR (1u << 30)

static const char tag_chunk[4] = { 'C', 'H', 'N', 'K' }, tag_batch[4] = { 'B', 'T', 'C', 'H' },
		  tag_end[4] = { 'E', 'N', 'D', '!' };

/* A record as it travels: its JSON text, not the parsed object, so that
 * middle stages pass it on untouched. */
typedef struct stage_item {
	char *json;
	char *where;
	long line;
	int failed;
	aoi_error err;
	int orig_w, orig_h, pw, ph, tiles;
} stage_item;

struct aoi_infer_stage {
	aoi_infer *inf;
	int first, end, nnodes;
	uint8_t digest[32];
	aoi_live_tensor in[AOI_NET_MAX_LIVE], out[AOI_NET_MAX_LIVE];
	int nin, nout;
	const char *in_name;
	stage_item *items;
	int nitems, items_cap;
	aoi_infer_item *recv;  /* last stage: the chunk handed to the caller */
	int nrecv;
};

/* ---- bytes ---- */

static int host_le(void)
{
	const uint16_t one = 1;
	return *(const uint8_t *)&one == 1;
}

static void put_u32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	fwrite(b, 1, 4, f);
}

static void put_i64(FILE *f, int64_t v)
{
	put_u32(f, (uint32_t)((uint64_t)v & 0xffffffffu));
	put_u32(f, (uint32_t)((uint64_t)v >> 32));
}

static void put_str(FILE *f, const char *s)
{
	size_t n = s ? strlen(s) : 0;
	put_u32(f, (uint32_t)n);
	fwrite(s, 1, n, f);
}

/* n 4-byte values */
static void put_words(FILE *f, const void *p, size_t n)
{
	if (host_le()) {
		fwrite(p, 4, n, f);
		return;
	}
	const uint32_t *w = p;
	for (size_t i = 0; i < n; i++)
		put_u32(f, w[i]);
}

static int flushed(FILE *f, aoi_error *err)
{
	if (fflush(f) != 0 || ferror(f))
		return aoi_error_errno(err, "standard output", "writing the stage stream");
	return 0;
}

static int truncated(const aoi_infer_stage *st, aoi_error *err)
{
	return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
			     "the stage stream is truncated (did the stage before fail?)");
}

static int get_bytes(const aoi_infer_stage *st, FILE *f, void *p, size_t n, aoi_error *err)
{
	if (n && fread(p, 1, n, f) != n)
		return truncated(st, err);
	return 0;
}

static int get_u32(const aoi_infer_stage *st, FILE *f, uint32_t *v, aoi_error *err)
{
	uint8_t b[4];
	if (get_bytes(st, f, b, 4, err) < 0)
		return -1;
	*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return 0;
}

static int get_i32(const aoi_infer_stage *st, FILE *f, int *v, aoi_error *err)
{
	uint32_t u;
	if (get_u32(st, f, &u, err) < 0)
		return -1;
	*v = (int)(int32_t)u;
	return 0;
}

static int get_i64(const aoi_infer_stage *st, FILE *f, long *v, aoi_error *err)
{
	uint32_t lo, hi;
	if (get_u32(st, f, &lo, err) < 0 || get_u32(st, f, &hi, err) < 0)
		return -1;
	*v = (long)(int64_t)((uint64_t)hi << 32 | lo);
	return 0;
}

/* A string into a new NUL-terminated buffer. */
static int get_str(const aoi_infer_stage *st, FILE *f, char **out, aoi_error *err)
{
	uint32_t n;
	*out = NULL;
	if (get_u32(st, f, &n, err) < 0)
		return -1;
	if (n > STAGE_MAX_STR)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream is corrupt (a %u-byte string)", n);
	char *s = malloc((size_t)n + 1);
	if (!s)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	if (get_bytes(st, f, s, n, err) < 0) {
		free(s);
		return -1;
	}
	s[n] = 0;
	*out = s;
	return 0;
}

/* Into a buffer of `size` bytes: strings that must fit. */
static int get_str_into(const aoi_infer_stage *st, FILE *f, char *buf, size_t size,
			aoi_error *err)
{
	char *s;
	if (get_str(st, f, &s, err) < 0)
		return -1;
	snprintf(buf, size, "%s", s);
	free(s);
	return 0;
}

static int get_words(const aoi_infer_stage *st, FILE *f, void *p, size_t n, aoi_error *err)
{
	if (get_bytes(st, f, p, 4 * n, err) < 0)
		return -1;
	if (!host_le()) {
		uint8_t *b = p;
		for (size_t i = 0; i < n; i++, b += 4) {
			uint8_t t = b[0];
			b[0] = b[3], b[3] = t, t = b[1], b[1] = b[2], b[2] = t;
		}
	}
	return 0;
}

/* ---- the stage ---- */

int aoi_infer_stage_nodes(const aoi_net *net, int k, int n, int *first, int *end,
			  aoi_error *err)
{
	if (n < 1 || k < 1 || k > n)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "stage %d/%d: want 1 <= K <= N", k,
				     n);
	int *bounds = malloc(sizeof(int) * ((size_t)n + 1));
	if (!bounds)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	int rc = aoi_net_stage_bounds(net, n, NULL, bounds, NULL, err);
	if (rc == 0) {
		*first = bounds[k - 1];
		*end = bounds[k];
	}
	free(bounds);
	return rc;
}

/* The model as this stage runs it: fused parameters and statistics, the
 * planned input and output shapes. */
static void model_digest(aoi_net *net, uint8_t digest[32])
{
	aoi_sha256 h;
	size_t ns;
	const float *state = aoi_net_state(net, &ns);
	aoi_shape in = aoi_net_input_shape(net), out = aoi_net_output_shape(net);
	int32_t dims[9] = { aoi_net_node_count(net), in.c, in.h, in.w, out.c, out.h, out.w,
			    (int32_t)aoi_net_param_count(net), (int32_t)ns };

	aoi_sha256_init(&h);
	aoi_sha256_update(&h, dims, sizeof dims);
	aoi_sha256_update(&h, aoi_net_params(net), sizeof(float) * aoi_net_param_count(net));
	if (ns)
		aoi_sha256_update(&h, state, sizeof(float) * ns);
	aoi_sha256_final(&h, digest);
}

aoi_infer_stage *aoi_infer_stage_new(aoi_infer *inf, int first, int end, aoi_error *err)
{
	aoi_net *net = inf->net;
	int nn = aoi_net_node_count(net);
	if (inf->anomaly) {
		aoi_error_set(err, AOI_EINVAL, inf->m.name, 0,
			      "an anomaly model (%s) runs in one process: pipeline stages would "
			      "have to carry its feature maps; run it without --stage or --nodes",
			      aoi_anomaly_method_name(aoi_anomaly_method_of(inf->anomaly)));
		return NULL;
	}
	if (aoi_infer_models(inf) > 1) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "pipeline stages run one model, not an ensemble");
		return NULL;
	}
	if (first < 0 || end > nn || first >= end) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0, "nodes %d-%d: the net has nodes 0-%d", first,
			      end - 1, nn - 1);
		return NULL;
	}
	int bad = first > 0 && !aoi_net_cut_valid(net, first) ? first
		  : end < nn && !aoi_net_cut_valid(net, end) ? end : 0;
	if (bad) {
		aoi_error_set(err, AOI_EINVAL, NULL, 0,
			      "no cut between nodes %d and %d: node %d is fused into the "
			      "convolution before it", bad - 1, bad, bad);
		return NULL;
	}
	aoi_infer_stage *st = calloc(1, sizeof(*st));
	if (!st) {
		aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		return NULL;
	}
	st->inf = inf;
	st->first = first;
	st->end = end;
	st->nnodes = nn;
	st->in_name = "standard input";
	model_digest(net, st->digest);
	if ((first > 0 && (st->nin = aoi_net_cut_live(net, first, st->in, AOI_NET_MAX_LIVE, err)) < 0) ||
	    (end < nn && (st->nout = aoi_net_cut_live(net, end, st->out, AOI_NET_MAX_LIVE, err)) < 0)) {
		free(st);
		return NULL;
	}
	return st;
}

static void release_items(aoi_infer_stage *st)
{
	for (int i = 0; i < st->nitems; i++) {
		free(st->items[i].json);
		free(st->items[i].where);
	}
	st->nitems = 0;
	for (int i = 0; i < st->nrecv; i++)
		json_decref(st->recv[i].rec);
	st->nrecv = 0;
}

void aoi_infer_stage_free(aoi_infer_stage *st)
{
	if (!st)
		return;
	release_items(st);
	free(st->items);
	free(st->recv);
	free(st);
}

int aoi_infer_stage_first(const aoi_infer_stage *st)
{
	return st->first == 0;
}

int aoi_infer_stage_last(const aoi_infer_stage *st)
{
	return st->end == st->nnodes;
}

/* ---- header ---- */

static void write_header(const aoi_infer_stage *st, FILE *out)
{
	fwrite(STAGE_MAGIC, 1, 8, out);
	put_u32(out, STAGE_VERSION);
	fwrite(st->digest, 1, 32, out);
	put_u32(out, (uint32_t)st->end);
	put_u32(out, (uint32_t)st->inf->o.batch);
	put_u32(out, st->inf->o.flips ? 1u : 0u);
	put_u32(out, (uint32_t)st->nout);
	for (int i = 0; i < st->nout; i++) {
		const aoi_live_tensor *t = &st->out[i];
		uint32_t v[5] = { (uint32_t)t->node, (uint32_t)t->indices, (uint32_t)t->shape.c,
				  (uint32_t)t->shape.h, (uint32_t)t->shape.w };
		for (int k = 0; k < 5; k++)
			put_u32(out, v[k]);
	}
}

static int read_tensors(aoi_infer_stage *st, FILE *in, aoi_error *err)
{
	uint32_t n;
	if (get_u32(st, in, &n, err) < 0)
		return -1;
	int bad = n != (uint32_t)st->nin;
	for (uint32_t i = 0; i < n && !bad; i++) {
		const aoi_live_tensor *t = &st->in[i];
		uint32_t v[5];
		for (int k = 0; k < 5; k++)
			if (get_u32(st, in, &v[k], err) < 0)
				return -1;
		bad = v[0] != (uint32_t)t->node || v[1] != (uint32_t)t->indices ||
		      v[2] != (uint32_t)t->shape.c || v[3] != (uint32_t)t->shape.h ||
		      v[4] != (uint32_t)t->shape.w;
	}
	if (bad)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream carries other tensors than this stage "
				     "reads at node %d", st->first);
	return 0;
}

static int read_header(aoi_infer_stage *st, FILE *in, aoi_error *err)
{
	char magic[8];
	uint8_t digest[32];
	uint32_t version, cut, batch, flags;
	if (fread(magic, 1, 8, in) != 8 || memcmp(magic, STAGE_MAGIC, 8))
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "not an aoi-infer stage stream (want the output of "
				     "aoi-infer --stage K/N with K < N)");
	if (get_u32(st, in, &version, err) < 0 || get_bytes(st, in, digest, 32, err) < 0 ||
	    get_u32(st, in, &cut, err) < 0 || get_u32(st, in, &batch, err) < 0 ||
	    get_u32(st, in, &flags, err) < 0)
		return -1;
	if (version != STAGE_VERSION)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "stage stream version %u; this aoi-infer reads version %u",
				     version, STAGE_VERSION);
	if (memcmp(digest, st->digest, 32))
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream comes from another model (or --size)");
	if (cut != (uint32_t)st->first)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream ends before node %u; this stage starts "
				     "at node %d (same --stage N in every stage?)", cut, st->first);
	if (batch != (uint32_t)st->inf->o.batch)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream has batches of %u; this stage --batch %d",
				     batch, st->inf->o.batch);
	if (flags > 1)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream is corrupt (flags %u)", flags);
	/* the first stage's --flips: its jobs carry the flips, the last
	 * stage averages them */
	st->inf->o.flips = (int)(flags & 1);
	return read_tensors(st, in, err);
}

int aoi_infer_stage_begin(aoi_infer_stage *st, FILE *in, const char *in_name, FILE *out,
			  aoi_error *err)
{
	if (in_name)
		st->in_name = in_name;
	if (!aoi_infer_stage_first(st) && read_header(st, in, err) < 0)
		return -1;
	if (aoi_infer_stage_last(st))
		return 0;
	write_header(st, out);
	return flushed(out, err);
}

/* ---- chunks ---- */

static int grow_items(aoi_infer_stage *st, int n, aoi_error *err)
{
	if (n <= st->items_cap)
		return 0;
	stage_item *s = realloc(st->items, (size_t)n * sizeof(*s));
	aoi_infer_item *r = s ? realloc(st->recv, (size_t)n * sizeof(*r)) : NULL;
	if (s)
		st->items = s;
	if (r)
		st->recv = r;
	if (!s || !r)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	st->items_cap = n;
	return 0;
}

static void write_chunk(const aoi_infer_stage *st, FILE *out)
{
	const aoi_infer *inf = st->inf;
	fwrite(tag_chunk, 1, 4, out);
	put_u32(out, (uint32_t)st->nitems);
	for (int i = 0; i < st->nitems; i++) {
		const stage_item *it = &st->items[i];
		int32_t v[5] = { it->orig_w, it->orig_h, it->pw, it->ph, it->tiles };
		put_u32(out, (uint32_t)it->failed);
		for (int k = 0; k < 5; k++)
			put_u32(out, (uint32_t)v[k]);
		put_i64(out, it->line);
		put_str(out, it->where);
		if (it->failed) {
			put_u32(out, (uint32_t)it->err.code);
			put_str(out, it->err.where);
			put_i64(out, it->err.line);
			put_str(out, it->err.msg);
		}
		put_str(out, it->json);
	}
	put_u32(out, (uint32_t)inf->njobs);
	for (int j = 0; j < inf->njobs; j++) {
		put_u32(out, (uint32_t)inf->jobs[j].item);
		put_u32(out, (uint32_t)inf->jobs[j].x0);
		put_u32(out, (uint32_t)inf->jobs[j].y0);
		put_u32(out, (uint32_t)inf->jobs[j].flip);
	}
}

static int read_item(aoi_infer_stage *st, FILE *in, stage_item *it, aoi_error *err)
{
	uint32_t failed;
	int *v[5] = { &it->orig_w, &it->orig_h, &it->pw, &it->ph, &it->tiles };
	memset(it, 0, sizeof(*it));
	if (get_u32(st, in, &failed, err) < 0)
		return -1;
	it->failed = failed != 0;
	for (int k = 0; k < 5; k++)
		if (get_i32(st, in, v[k], err) < 0)
			return -1;
	if (get_i64(st, in, &it->line, err) < 0 || get_str(st, in, &it->where, err) < 0)
		return -1;
	if (it->failed && (get_i32(st, in, &it->err.code, err) < 0 ||
			   get_str_into(st, in, it->err.where, sizeof(it->err.where), err) < 0 ||
			   get_i64(st, in, &it->err.line, err) < 0 ||
			   get_str_into(st, in, it->err.msg, sizeof(it->err.msg), err) < 0))
		return -1;
	if (get_str(st, in, &it->json, err) < 0)
		return -1;
	long most = 1L << 20; /* sides of an image: anything larger is corruption */
	for (int k = 0; k < 4 && !it->failed; k++)
		if (*v[k] < 1 || *v[k] > most)
			return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
					     "the stage stream is corrupt (image size %d)", *v[k]);
	return 0;
}

/* A chunk's records and jobs; 0 at the end marker. */
static int read_chunk(aoi_infer_stage *st, FILE *in, aoi_error *err)
{
	char tag[4];
	uint32_t n, njobs;
	aoi_infer *inf = st->inf;
	release_items(st);
	size_t got = fread(tag, 1, 4, in);
	if (got == 4 && !memcmp(tag, tag_end, 4))
		return 0;
	if (got != 4)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream ends without its end marker (did the "
				     "stage before fail?)");
	if (memcmp(tag, tag_chunk, 4))
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream is corrupt (no chunk where one should be)");
	if (get_u32(st, in, &n, err) < 0)
		return -1;
	if (n > (uint32_t)inf->o.batch)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream is corrupt (a chunk of %u records)", n);
	if (grow_items(st, (int)n, err) < 0)
		return -1;
	for (uint32_t i = 0; i < n; i++) {
		int rc = read_item(st, in, &st->items[i], err);
		st->nitems = (int)i + 1; /* what read_item allocated is released */
		if (rc < 0)
			return -1;
	}
	if (get_u32(st, in, &njobs, err) < 0)
		return -1;
	inf->njobs = 0;
	for (uint32_t j = 0; j < njobs; j++) {
		int v[4];
		for (int k = 0; k < 4; k++)
			if (get_i32(st, in, &v[k], err) < 0)
				return -1;
		const stage_item *it = v[0] >= 0 && v[0] < (int)n ? &st->items[v[0]] : NULL;
		if (!it || it->failed || v[1] < 0 || v[1] >= it->pw || v[2] < 0 || v[2] >= it->ph ||
		    v[3] < 0 || v[3] > (inf->o.flips ? 3 : 0))
			return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
					     "the stage stream is corrupt (a job at %d,%d of record "
					     "%d)", v[1], v[2], v[0]);
		if (aoi_infer_add_job(inf, v[0], v[1], v[2], err) < 0)
			return -1;
		inf->jobs[inf->njobs - 1].flip = v[3];
	}
	return 1;
}

/* ---- batches ---- */

static void write_batch(const aoi_infer_stage *st, int m, FILE *out)
{
	fwrite(tag_batch, 1, 4, out);
	put_u32(out, (uint32_t)m);
	for (int i = 0; i < st->nout; i++)
		put_words(out, aoi_net_live_data(st->inf->net, &st->out[i]), (size_t)m * st->out[i].per_row);
}

static int read_batch(aoi_infer_stage *st, FILE *in, int m, aoi_error *err)
{
	char tag[4];
	uint32_t rows;
	if (get_bytes(st, in, tag, 4, err) < 0 || get_u32(st, in, &rows, err) < 0)
		return -1;
	if (memcmp(tag, tag_batch, 4) || rows != (uint32_t)m)
		return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
				     "the stage stream is corrupt (a batch of %d rows expected)", m);
	for (int i = 0; i < st->nin; i++)
		if (get_words(st, in, aoi_net_live_data(st->inf->net, &st->in[i]),
			      (size_t)m * st->in[i].per_row, err) < 0)
			return -1;
	return 0;
}

/* Every batch of the chunk's jobs through this stage's nodes: inputs made
 * (first stage) or read, outputs written on or turned into predictions
 * (last stage). */
static int run_batches(aoi_infer_stage *st, FILE *in, FILE *out, aoi_error *err)
{
	aoi_infer *inf = st->inf;
	int b = inf->o.batch;
	for (int j0 = 0; j0 < inf->njobs; j0 += b) {
		int m = inf->njobs - j0 < b ? inf->njobs - j0 : b;
		if (st->first == 0)
			aoi_infer_fill_batch(inf, j0, m);
		else if (read_batch(st, in, m, err) < 0)
			return -1;
		const float *y = aoi_net_forward_range(inf->net, inf->x, st->first, st->end, err);
		if (!y)
			return -1;
		if (aoi_infer_stage_last(st))
			aoi_infer_store_batch(inf, j0, m, y);
		else
			write_batch(st, m, out);
		if (out && flushed(out, err) < 0)
			return -1;
	}
	return 0;
}

/* ---- the three kinds of stage ---- */

static char *dup_str(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	char *d = malloc(n + 1);
	if (d) {
		if (n)
			memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

int aoi_infer_stage_send(aoi_infer_stage *st, aoi_infer_item *items, int n, FILE *out,
			 aoi_error *err)
{
	aoi_infer *inf = st->inf;
	release_items(st);
	if (n <= 0)
		return 0;
	if (n > inf->o.batch)
		return aoi_error_set(err, AOI_EINVAL, NULL, 0, "a chunk of %d records: %d at most",
				     n, inf->o.batch);
	if (grow_items(st, n, err) < 0 || aoi_infer_prepare(inf, items, n, err) < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		const slot *s = &inf->slots[i];
		stage_item *it = &st->items[i];
		memset(it, 0, sizeof(*it));
		st->nitems = i + 1;
		it->json = json_dumps(items[i].rec, JSON_COMPACT);
		it->where = dup_str(items[i].where);
		if (!it->json || !it->where)
			return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
		it->line = items[i].line;
		it->failed = items[i].failed;
		it->err = items[i].err;
		if (!it->failed) {
			it->orig_w = s->orig_w, it->orig_h = s->orig_h;
			it->pw = s->pw, it->ph = s->ph, it->tiles = s->tiles;
		}
	}
	write_chunk(st, out);
	if (run_batches(st, NULL, out, err) < 0)
		return -1;
	return flushed(out, err);
}

int aoi_infer_stage_relay(aoi_infer_stage *st, FILE *in, FILE *out, aoi_error *err)
{
	int rc = read_chunk(st, in, err);
	if (rc <= 0)
		return rc < 0 ? -1 : aoi_infer_stage_end(st, out, err);
	write_chunk(st, out);
	if (run_batches(st, in, out, err) < 0)
		return -1;
	return flushed(out, err) < 0 ? -1 : 1;
}

/* The last stage's items and slots from the chunk read. */
static int to_items(aoi_infer_stage *st, aoi_error *err)
{
	aoi_infer *inf = st->inf;
	if (aoi_infer_slots(inf, st->nitems, err) < 0)
		return -1;
	for (int i = 0; i < st->nitems; i++) {
		stage_item *it = &st->items[i];
		aoi_infer_item *r = &st->recv[i];
		json_error_t jerr;
		memset(r, 0, sizeof(*r));
		r->rec = json_loads(it->json, JSON_REJECT_DUPLICATES, &jerr);
		st->nrecv = i + 1;
		if (!json_is_object(r->rec))
			return aoi_error_set(err, AOI_EFORMAT, st->in_name, 0,
					     "the stage stream is corrupt (record %d is not JSON)", i);
		r->base = ".";
		r->where = it->where;
		r->line = it->line;
		r->failed = it->failed;
		r->err = it->err;
		if (it->failed)
			continue;
		slot *s = &inf->slots[i];
		s->orig_w = it->orig_w, s->orig_h = it->orig_h;
		s->pw = it->pw, s->ph = it->ph, s->tiles = it->tiles;
		if (aoi_infer_size_planes(inf, s, err) < 0)
			return -1;
	}
	return 0;
}

int aoi_infer_stage_receive(aoi_infer_stage *st, FILE *in, aoi_infer_item **items, int *n,
			    aoi_error *err)
{
	*items = NULL;
	*n = 0;
	int rc = read_chunk(st, in, err);
	if (rc <= 0)
		return rc;
	if (to_items(st, err) < 0 || run_batches(st, in, NULL, err) < 0)
		return -1;
	aoi_infer_finish(st->inf, st->recv, st->nrecv);
	*items = st->recv;
	*n = st->nrecv;
	return 1;
}

int aoi_infer_stage_end(aoi_infer_stage *st, FILE *out, aoi_error *err)
{
	(void)st;
	fwrite(tag_end, 1, 4, out);
	return flushed(out, err);
}
