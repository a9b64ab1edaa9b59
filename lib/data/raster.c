/* raster.c: shapes into masks by pixel centres, and 8-connected components
 * back out (two-pass labelling with an iterative union-find). */
#include "data/raster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* First pixel index whose centre (i + 0.5) is >= t, clamped to [0, n]. */
static int first_centre_at_or_after(double t, int n)
{
	double i = ceil(t - 0.5);

	if (!(i > 0)) /* also NaN */
		return 0;
	return i > n ? n : (int)i;
}

void aoi_raster_box(aoi_mask *m, double x1, double y1, double x2, double y2,
		    uint8_t value)
{
	int xs = first_centre_at_or_after(x1, m->width);
	int xe = first_centre_at_or_after(x2, m->width);
	int ys = first_centre_at_or_after(y1, m->height);
	int ye = first_centre_at_or_after(y2, m->height);

	for (int y = ys; y < ye; y++)
		memset(m->data + (size_t)y * m->width + xs, value,
		       xe > xs ? (size_t)(xe - xs) : 0);
}

/* Crossings of the horizontal line y = yc with the polygon's edges
 * (half-open in y so that a vertex on the line counts once). */
static int polygon_crossings(const double *xy, int n, double yc, double *xs)
{
	int k = 0;

	for (int i = 0, j = n - 1; i < n; j = i++) {
		double xi = xy[2 * i], yi = xy[2 * i + 1];
		double xj = xy[2 * j], yj = xy[2 * j + 1];

		if ((yi <= yc) != (yj <= yc))
			xs[k++] = xi + (yc - yi) * (xj - xi) / (yj - yi);
	}
	return k;
}

static void sort_doubles(double *a, int n)
{
	for (int i = 1; i < n; i++) { /* n is small: insertion sort */
		double v = a[i];
		int j = i - 1;

		for (; j >= 0 && a[j] > v; j--)
			a[j + 1] = a[j];
		a[j + 1] = v;
	}
}

/* Even-odd span filling of one row, from sorted crossings. */
static void fill_row_spans(aoi_mask *m, int y, const double *xs, int k, uint8_t value)
{
	uint8_t *row = m->data + (size_t)y * m->width;

	for (int i = 0; i + 1 < k; i += 2) {
		int a = first_centre_at_or_after(xs[i], m->width);
		int b = first_centre_at_or_after(xs[i + 1], m->width);

		if (b > a)
			memset(row + a, value, (size_t)(b - a));
	}
}

void aoi_raster_polygon(aoi_mask *m, const double *xy, int n, uint8_t value)
{
	double stack[64], *xs = stack;
	double ymin, ymax;

	if (n < 3)
		return;
	if (n > 64 && !(xs = malloc((size_t)n * sizeof *xs)))
		return; /* the interface has no error path; draw nothing */
	ymin = ymax = xy[1];
	for (int i = 1; i < n; i++) {
		ymin = fmin(ymin, xy[2 * i + 1]);
		ymax = fmax(ymax, xy[2 * i + 1]);
	}
	int y0 = first_centre_at_or_after(ymin, m->height);
	int y1 = first_centre_at_or_after(ymax, m->height);
	for (int y = y0; y < y1; y++) {
		int k = polygon_crossings(xy, n, y + 0.5, xs);

		sort_doubles(xs, k);
		fill_row_spans(m, y, xs, k, value);
	}
	if (xs != stack)
		free(xs);
}

void aoi_raster_ellipse(aoi_mask *m, double cx, double cy, double rx, double ry,
			double angle, uint8_t value)
{
	double c = cos(angle), s = sin(angle);
	double ex, ey;

	if (!(rx > 0) || !(ry > 0))
		return;
	/* Half extents of the rotated ellipse's bounding box. */
	ex = sqrt(rx * rx * c * c + ry * ry * s * s);
	ey = sqrt(rx * rx * s * s + ry * ry * c * c);
	int x0 = first_centre_at_or_after(cx - ex, m->width);
	int x1 = first_centre_at_or_after(cx + ex + 1e-9, m->width);
	int y0 = first_centre_at_or_after(cy - ey, m->height);
	int y1 = first_centre_at_or_after(cy + ey + 1e-9, m->height);
	for (int y = y0; y < y1; y++) {
		uint8_t *row = m->data + (size_t)y * m->width;
		double dy = y + 0.5 - cy;

		for (int x = x0; x < x1; x++) {
			double dx = x + 0.5 - cx;
			double u = (dx * c + dy * s) / rx, v = (-dx * s + dy * c) / ry;

			if (u * u + v * v <= 1.0)
				row[x] = value;
		}
	}
}

/* Squared distance from (px, py) to the segment a-b. */
static double segment_dist2(double px, double py, double ax, double ay, double bx,
			    double by)
{
	double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
	double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;

	t = t < 0 ? 0 : t > 1 ? 1 : t;
	dx = ax + t * dx - px;
	dy = ay + t * dy - py;
	return dx * dx + dy * dy;
}

void aoi_raster_line(aoi_mask *m, double x0, double y0, double x1, double y1,
		     double width, uint8_t value)
{
	double r = width / 2, r2 = r * r;

	if (!(width > 0))
		return;
	/* Round caps: every pixel centre within width/2 of the segment. */
	int xs = first_centre_at_or_after(fmin(x0, x1) - r, m->width);
	int xe = first_centre_at_or_after(fmax(x0, x1) + r + 1e-9, m->width);
	int ys = first_centre_at_or_after(fmin(y0, y1) - r, m->height);
	int ye = first_centre_at_or_after(fmax(y0, y1) + r + 1e-9, m->height);
	for (int y = ys; y < ye; y++) {
		uint8_t *row = m->data + (size_t)y * m->width;

		for (int x = xs; x < xe; x++)
			if (segment_dist2(x + 0.5, y + 0.5, x0, y0, x1, y1) <= r2)
				row[x] = value;
	}
}

/* ---- connected components ---- */

static int uf_find(int *parent, int i)
{
	int root = i;

	while (parent[root] != root)
		root = parent[root];
	while (parent[i] != root) { /* path compression, iteratively */
		int next = parent[i];

		parent[i] = root;
		i = next;
	}
	return root;
}

static void uf_union(int *parent, int a, int b)
{
	a = uf_find(parent, a);
	b = uf_find(parent, b);
	/* The smaller label is the root, so roots come in raster order. */
	if (a < b)
		parent[b] = a;
	else if (b < a)
		parent[a] = b;
}

static int fg(const uint8_t *p, int value)
{
	return value > 0 ? *p == value : *p != 0;
}

/* First pass: provisional labels (1-based) joined with the already
 * labelled neighbours W, NW, N, NE. Returns the number of labels. */
static int label_pass(const aoi_mask *m, int value, int *lab, int *parent)
{
	int w = m->width, next = 1;

	for (int y = 0; y < m->height; y++) {
		const uint8_t *row = m->data + (size_t)y * w;
		int *l = lab + (size_t)y * w, *up = y ? l - w : NULL;

		for (int x = 0; x < w; x++) {
			int best = 0;

			l[x] = 0;
			if (!fg(row + x, value))
				continue;
			int nb[4] = {x > 0 ? l[x - 1] : 0, up && x > 0 ? up[x - 1] : 0,
				     up ? up[x] : 0, up && x + 1 < w ? up[x + 1] : 0};
			for (int k = 0; k < 4; k++) {
				if (!nb[k])
					continue;
				if (!best)
					best = nb[k];
				else
					uf_union(parent, best, nb[k]);
			}
			if (!best) {
				parent[next] = next;
				best = next++;
			}
			l[x] = best;
		}
	}
	return next - 1;
}

/* Accumulate bbox, area, centroid sums into comps; `id` maps a label to
 * its component index. The label is the class of the first pixel until
 * a second class shows up (`mixed`). */
static void measure(const aoi_mask *m, const int *lab, const int *id,
		    aoi_component *comps, double *sx, double *sy, uint8_t *mixed)
{
	for (int y = 0; y < m->height; y++)
		for (int x = 0; x < m->width; x++) {
			size_t i = (size_t)y * m->width + x;

			if (!lab[i])
				continue;
			int c = id[lab[i]];
			aoi_component *p = &comps[c];
			if (!p->area) {
				p->x1 = p->x2 = x;
				p->y1 = p->y2 = y;
				p->label = m->data[i];
			}
			p->x1 = x < p->x1 ? x : p->x1;
			p->x2 = x > p->x2 ? x : p->x2;
			p->y2 = y;
			p->area++;
			sx[c] += x + 0.5;
			sy[c] += y + 0.5;
			if (m->data[i] != p->label)
				mixed[c] = 1;
		}
}

/* Majority class of the components that hold more than one class (rare:
 * touching defects of different kinds); ties go to the lower class. */
static int majority_labels(const aoi_mask *m, const int *lab, const int *id,
			   aoi_component *comps, int n, const uint8_t *mixed)
{
	int *slot = malloc((size_t)n * sizeof *slot), nmixed = 0, nb = 1;
	size_t npix = (size_t)m->width * m->height;
	long *hist;

	if (!slot)
		return -1;
	for (int c = 0; c < n; c++)
		slot[c] = mixed[c] ? nmixed++ : -1;
	/* Histograms only as wide as the classes present. */
	for (size_t i = 0; nmixed && i < npix; i++)
		nb = m->data[i] >= nb ? m->data[i] + 1 : nb;
	hist = nmixed ? calloc((size_t)nmixed * nb, sizeof *hist) : NULL;
	if (nmixed && !hist) {
		free(slot);
		return -1;
	}
	for (size_t i = 0; nmixed && i < npix; i++)
		if (lab[i] && slot[id[lab[i]]] >= 0)
			hist[(size_t)slot[id[lab[i]]] * nb + m->data[i]]++;
	for (int c = 0; c < n; c++) {
		if (slot[c] < 0)
			continue;
		const long *h = hist + (size_t)slot[c] * nb;
		int best = 1;
		for (int v = 2; v < nb; v++)
			if (h[v] > h[best])
				best = v;
		comps[c].label = best;
	}
	free(hist);
	free(slot);
	return 0;
}

/* Number the roots 0..n-1 in raster order and map every provisional label
 * to its component: a link always points to a smaller label, so the
 * label's parent is already mapped when the label is reached. */
static int number_labels(const int *parent, int nlab, int *id)
{
	int n = 0;

	for (int l = 1; l <= nlab; l++)
		id[l] = parent[l] == l ? n++ : id[parent[l]];
	return n;
}

/* Centroids from the sums; boxes made exclusive. */
static void finish(aoi_component *comps, int n, const double *sx, const double *sy)
{
	for (int c = 0; c < n; c++) {
		comps[c].cx = sx[c] / comps[c].area;
		comps[c].cy = sy[c] / comps[c].area;
		comps[c].x2++;
		comps[c].y2++;
	}
}

int aoi_components(const aoi_mask *m, int value, aoi_component **comps,
		   aoi_error *err)
{
	size_t npix = (size_t)m->width * m->height;
	/* A new label needs a background pixel on its left: at most
	 * ceil(w / 2) per row. */
	size_t maxlab = (size_t)(m->width / 2 + 1) * m->height + 2;
	int *lab = malloc(npix * sizeof *lab), *parent = malloc(maxlab * sizeof *parent);
	int *id = malloc(maxlab * sizeof *id), n = 0;
	double *sums = NULL;
	uint8_t *mixed = NULL;

	*comps = NULL;
	if (lab && parent && id) {
		n = number_labels(parent, label_pass(m, value, lab, parent), id);
		*comps = calloc(n ? (size_t)n : 1, sizeof **comps);
		sums = calloc(2 * (size_t)(n ? n : 1), sizeof *sums);
		mixed = calloc(n ? (size_t)n : 1, 1);
	}
	if (*comps && sums && mixed) {
		measure(m, lab, id, *comps, sums, sums + n, mixed);
		if (majority_labels(m, lab, id, *comps, n, mixed) < 0)
			n = -1;
		else
			finish(*comps, n, sums, sums + n);
	} else
		n = -1;
	free(lab);
	free(parent);
	free(id);
	free(sums);
	free(mixed);
	if (n < 0) {
		free(*comps);
		*comps = NULL;
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	}
	return n;
}

int aoi_components_label(const aoi_mask *m, int value, int *labels, aoi_error *err)
{
	size_t npix = (size_t)m->width * m->height;
	size_t maxlab = (size_t)(m->width / 2 + 1) * m->height + 2;
	int *parent = malloc(maxlab * sizeof *parent), *id = malloc(maxlab * sizeof *id);
	int n = -1;

	if (parent && id) {
		n = number_labels(parent, label_pass(m, value, labels, parent), id);
		for (size_t i = 0; i < npix; i++)
			labels[i] = labels[i] ? id[labels[i]] + 1 : 0;
	}
	free(parent);
	free(id);
	if (n < 0)
		return aoi_error_set(err, AOI_ENOMEM, NULL, 0, "out of memory");
	return n;
}
