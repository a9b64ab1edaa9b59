/* train_val.c: the validation pass of the training loop (train.h) and its
 * numbers: loss, mean IoU and pixel F1, accuracy, centre error, and for
 * segmentation the image-level average precision and ROC area.
 *
 * Segmentation validates whole images: each record is cut into input-sized
 * windows (one when resized, tiles when cropping, aoi_loader_windows), its
 * pixels counted once, and its image score is the highest of its windows:
 * the decision head's probability when the net has one, else the highest
 * defect probability of a pixel. */
#include "train/train_impl.h"
#include "train/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WINDOWS 4096

static void metrics_reset(aoi_val_metrics *m)
{
	if (m->confusion)
		memset(m->confusion, 0, (size_t)m->k * m->k * sizeof(long long));
	m->loss = 0;
	m->batches = 0;
	m->correct = m->total = 0;
	m->centre_err = 0;
	for (int i = 0; i < m->nimages; i++)
		m->score[i] = 0;
	m->image_ap = m->image_auroc = m->threshold = -1;
}

/* The windows of every validation record (segmentation). */
static int val_windows(aoi_trainer *t, aoi_error *err)
{
	int n = aoi_loader_count(t->val), cap = 0, k = 0;
	aoi_window *w = malloc(MAX_WINDOWS * sizeof(*w));
	if (!w)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (int i = 0; i < n && k >= 0; i++) {
		if ((k = aoi_loader_windows(t->val, i, w, MAX_WINDOWS, err)) < 0)
			break;
		if (t->nwin + k > cap) {
			cap = 2 * (t->nwin + k);
			aoi_window *p = realloc(t->win, (size_t)cap * sizeof(*p));
			if (!p) {
				k = aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
				break;
			}
			t->win = p;
		}
		memcpy(t->win + t->nwin, w, (size_t)k * sizeof(*w));
		t->nwin += k;
	}
	free(w);
	return k < 0 ? -1 : 0;
}

int aoi_train_val_alloc(aoi_trainer *t, aoi_error *err)
{
	aoi_val_metrics *m = &t->m;
	aoi_shape s = t->out;
	m->k = s.c == 1 ? 2 : s.c;
	m->image_ap = m->image_auroc = m->threshold = -1;
	if (t->o.task != AOI_TASK_SEGMENTATION)
		return 0;
	m->confusion = calloc((size_t)m->k * m->k, sizeof(long long));
	if (!m->confusion)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	if (!t->val)
		return 0;
	m->nimages = aoi_loader_count(t->val);
	m->score = calloc((size_t)m->nimages + 1, sizeof(double));
	m->truth = calloc((size_t)m->nimages + 1, sizeof(int));
	if (!m->score || !m->truth)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	for (int i = 0; i < m->nimages; i++)
		m->truth[i] = aoi_loader_defective(t->val, i);
	return val_windows(t, err);
}

void aoi_train_val_free(aoi_trainer *t)
{
	free(t->m.confusion);
	free(t->m.score);
	free(t->m.truth);
	free(t->win);
}

static int argmax(const float *v, size_t stride, int k)
{
	int best = 0;
	for (int c = 1; c < k; c++)
		if (v[c * stride] > v[best * stride])
			best = c;
	return best;
}

/* The probability that pixel p (of a plane of `plane`) is a defect. */
static double defect_prob(const float *o, size_t plane, size_t p, int c)
{
	if (c == 1)
		return 1.0 / (1.0 + exp(-o[p]));
	double mx = o[p], sum = 0;
	for (int k = 1; k < c; k++)
		if (o[k * plane + p] > mx)
			mx = o[k * plane + p];
	for (int k = 0; k < c; k++)
		sum += exp(o[k * plane + p] - mx);
	return 1.0 - exp(o[p] - mx) / sum;
}

/* Pixels of each window's own part into the confusion matrix; the
 * window's score (the decision's probability dec, else its highest defect
 * probability) into its record's. */
static void add_segmentation(aoi_val_metrics *m, const aoi_batch *b, const float *out,
			     const float *dec, aoi_shape s, const aoi_window *w, int rows)
{
	size_t plane = (size_t)s.h * s.w;
	for (int r = 0; r < rows; r++) {
		const float *o = out + (size_t)r * s.c * plane;
		const int *truth = b->mask + (size_t)r * plane;
		const int *own = w[r].own;
		double top = 0;
		for (int y = own[1]; y < own[3]; y++)
			for (int x = own[0]; x < own[2]; x++) {
				size_t p = (size_t)y * s.w + x;
				double q = defect_prob(o, plane, p, s.c);
				top = q > top ? q : top;
				if (truth[p] < 0)
					continue;
				int pred = s.c == 1 ? o[p] > 0 : argmax(o + p, plane, s.c);
				int tr = truth[p] < m->k ? truth[p] : m->k - 1;
				m->confusion[(size_t)tr * m->k + pred]++;
			}
		if (dec)
			top = 1.0 / (1.0 + exp(-(double)dec[r]));
		if (top > m->score[w[r].index])
			m->score[w[r].index] = top;
	}
}

static void add_classification(aoi_val_metrics *m, const aoi_batch *b, const float *out,
			       aoi_shape s, int rows)
{
	size_t per = (size_t)s.c * s.h * s.w;
	for (int r = 0; r < rows; r++) {
		int pred = per == 1 ? out[r] > 0 : argmax(out + r * per, 1, (int)per);
		m->correct += pred == b->label[r];
		m->total++;
	}
}

/* Distance between predicted and true centres, in original pixels. */
static void add_keypoints(aoi_val_metrics *m, const aoi_batch *b, const float *out,
			  aoi_shape s, int rows)
{
	int per = s.c * s.h * s.w, np = per / 2;
	for (int r = 0; r < rows; r++) {
		const float *o = out + (size_t)r * per, *tr = b->points + (size_t)r * per;
		const float *sc = b->scale + 4 * r;
		double dx = 0, dy = 0;
		for (int i = 0; i < np; i++) {
			dx += (o[2 * i] - tr[2 * i]) * b->w * sc[0];
			dy += (o[2 * i + 1] - tr[2 * i + 1]) * b->h * sc[1];
		}
		m->centre_err += hypot(dx / np, dy / np);
		m->total++;
	}
}

/* The sums of every process's share of the validation set, on each; the
 * image scores by their maximum. */
static int merge_metrics(aoi_trainer *t, aoi_error *err)
{
	aoi_val_metrics *m = &t->m;
	size_t kk = m->confusion ? (size_t)m->k * m->k : 0;
	if (aoi_dist_size(t->o.dist) == 1)
		return 0;
	double *v = malloc((5 + kk) * sizeof(double));
	if (!v)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	double head[5] = { m->loss, (double)m->batches, (double)m->correct,
			   (double)m->total, m->centre_err };
	memcpy(v, head, sizeof(head));
	for (size_t i = 0; i < kk; i++)
		v[5 + i] = (double)m->confusion[i];
	int rc = aoi_dist_allreduce_double(t->o.dist, v, 5 + kk, AOI_DIST_SUM, err);
	m->loss = v[0];
	m->batches = (long)v[1];
	m->correct = (long)v[2];
	m->total = (long)v[3];
	m->centre_err = v[4];
	for (size_t i = 0; i < kk; i++)
		m->confusion[i] = (long long)v[5 + i];
	free(v);
	if (rc == 0 && m->nimages > 0)
		rc = aoi_dist_allreduce_double(t->o.dist, m->score, (size_t)m->nimages,
					       AOI_DIST_MAX, err);
	return rc;
}

/* One batch of validation rows (windows w for segmentation, else samples
 * from `first`) through the net into the numbers. */
static int val_batch(aoi_trainer *t, const aoi_window *w, int first, int rows, int epoch,
		     aoi_error *err)
{
	aoi_val_metrics *m = &t->m;
	int idx[rows];
	for (int r = 0; r < rows; r++)
		idx[r] = first + r;
	int rc = w ? aoi_loader_fill_windows(t->val, &t->batch, w, rows, err)
		   : aoi_loader_fill(t->val, &t->batch, idx, rows, epoch, 0, err);
	if (rc < 0)
		return -1;
	const float *out = aoi_net_forward(t->net, t->batch.x, 0, NULL, err);
	if (!out)
		return -1;
	double loss = aoi_train_batch_loss(t, out, rows, NULL, err);
	if (loss < 0)
		return -1;
	if (t->decision) /* both, unweighted: comparable between epochs */
		loss += aoi_train_decision_loss(t, rows, NULL);
	m->loss += loss * rows;
	m->batches += rows;
	if (t->o.task == AOI_TASK_SEGMENTATION)
		add_segmentation(m, &t->batch, out,
				 t->decision ? aoi_net_output_at(t->net, 1) : NULL, t->out, w,
				 rows);
	else if (t->o.task == AOI_TASK_CLASSIFICATION)
		add_classification(m, &t->batch, out, t->out, rows);
	else
		add_keypoints(m, &t->batch, out, t->out, rows);
	return 0;
}

int aoi_train_validate(aoi_trainer *t, int epoch, aoi_error *err)
{
	aoi_val_metrics *m = &t->m;
	int seg = t->o.task == AOI_TASK_SEGMENTATION;
	int n = seg ? t->nwin : aoi_loader_count(t->val), b = t->rows;
	int size = aoi_dist_size(t->o.dist), rank = aoi_dist_rank(t->o.dist);
	metrics_reset(m);
	for (int i = rank * b; i < n; i += size * b) { /* every size-th batch */
		int rows = n - i < b ? n - i : b;
		if (val_batch(t, seg ? t->win + i : NULL, i, rows, epoch, err) < 0)
			return -1;
		if (aoi_train_stopped(t))
			return -2;
	}
	if (merge_metrics(t, err) < 0)
		return -1;
	m->loss /= m->batches ? (double)m->batches : 1.0;
	if (seg && aoi_score_summary(m->score, m->truth, m->nimages, &m->image_ap,
				     &m->image_auroc, &m->threshold) < 0)
		return aoi_error_set(err, AOI_ENOMEM, "", 0, "out of memory");
	return 0;
}

/* Mean IoU over the classes that occur (in truth or prediction). */
static double mean_iou(const aoi_val_metrics *m)
{
	double sum = 0;
	int count = 0;
	for (int c = 0; c < m->k; c++) {
		long long tp = m->confusion[(size_t)c * m->k + c], fp = 0, fn = 0;
		for (int o = 0; o < m->k; o++)
			if (o != c) {
				fp += m->confusion[(size_t)o * m->k + c];
				fn += m->confusion[(size_t)c * m->k + o];
			}
		if (tp + fp + fn > 0) {
			sum += (double)tp / (double)(tp + fp + fn);
			count++;
		}
	}
	return count ? sum / count : 0;
}

static double class_f1(const aoi_val_metrics *m, int c)
{
	long long tp = m->confusion[(size_t)c * m->k + c], fp = 0, fn = 0;
	for (int o = 0; o < m->k; o++)
		if (o != c) {
			fp += m->confusion[(size_t)o * m->k + c];
			fn += m->confusion[(size_t)c * m->k + o];
		}
	return tp ? 2.0 * tp / (double)(2 * tp + fp + fn) : 0;
}

static double round4(double v)
{
	return round(v * 1e4) / 1e4;
}

void aoi_train_val_json(const aoi_trainer *t, json_t *line)
{
	const aoi_val_metrics *m = &t->m;
	if (t->o.task == AOI_TASK_CLASSIFICATION) {
		json_object_set_new(line, "accuracy",
				    json_real(round4(m->total ? (double)m->correct / m->total : 0)));
		return;
	}
	if (t->o.task == AOI_TASK_KEYPOINTS) {
		json_object_set_new(line, "centre_mae",
				    json_real(round4(m->total ? m->centre_err / m->total : 0)));
		return;
	}
	json_object_set_new(line, "miou", json_real(round4(mean_iou(m))));
	const aoi_classes *cls = t->o.classes;
	json_t *f1 = json_object();
	for (int c = 1; c < m->k; c++) {
		char num[32];
		snprintf(num, sizeof(num), "%d", c);
		const char *name = cls && c <= cls->n ? cls->names[c - 1] : num;
		json_object_set_new(f1, name, json_real(round4(class_f1(m, c))));
	}
	json_object_set_new(line, "f1", f1);
	if (m->image_ap >= 0) {
		json_object_set_new(line, "image_ap", json_real(round4(m->image_ap)));
		json_object_set_new(line, "image_auroc", json_real(round4(m->image_auroc)));
	}
}

const char *aoi_train_val_metric_name(const aoi_trainer *t)
{
	return t->o.task == AOI_TASK_SEGMENTATION     ? "miou"
	       : t->o.task == AOI_TASK_CLASSIFICATION ? "accuracy"
						      : "centre_mae";
}

double aoi_train_val_metric(const aoi_trainer *t)
{
	const aoi_val_metrics *m = &t->m;
	if (t->o.task == AOI_TASK_SEGMENTATION)
		return mean_iou(m);
	if (t->o.task == AOI_TASK_CLASSIFICATION)
		return m->total ? (double)m->correct / m->total : 0;
	return m->total ? m->centre_err / m->total : 0;
}
