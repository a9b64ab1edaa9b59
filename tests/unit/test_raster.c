/* test_raster.c: shapes by pixel centres; connected components (counts,
 * boxes, centroids, majority labels, 8-connectivity) and their speed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "data/raster.h"

static aoi_mask make(int w, int h)
{
	aoi_mask m;
	aoi_error err;

	aoi_mask_alloc(&m, w, h, &err);
	return m;
}

static void clear(aoi_mask *m)
{
	memset(m->data, 0, (size_t)m->width * m->height);
}

static void test_box(void)
{
	aoi_mask m = make(10, 8);

	aoi_raster_box(&m, 2, 3, 5, 7, 4);
	CHECK_INT(aoi_mask_count(&m, 4), 3 * 4);
	CHECK_INT(m.data[3 * 10 + 2], 4);
	CHECK_INT(m.data[6 * 10 + 4], 4);
	CHECK_INT(m.data[7 * 10 + 4], 0);
	CHECK_INT(m.data[3 * 10 + 5], 0);
	/* Fractional edges: centres 1.5 and 2.5 are inside [1.4, 2.6). */
	clear(&m);
	aoi_raster_box(&m, 1.4, 0, 2.6, 1, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 2);
	/* Clipped at the borders, and inverted or empty boxes draw nothing. */
	clear(&m);
	aoi_raster_box(&m, -5, -5, 100, 100, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 80);
	clear(&m);
	aoi_raster_box(&m, 5, 5, 2, 2, 1);
	aoi_raster_box(&m, 3, 3, 3.4, 9, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 0);
	aoi_mask_release(&m);
}

static void test_polygon(void)
{
	aoi_mask m = make(20, 20);
	double square[] = {2, 2, 8, 2, 8, 6, 2, 6};
	double tri[] = {0, 0, 10, 0, 0, 10};
	/* A square with a square hole, as one self-overlapping path: the
	 * even-odd rule leaves the hole empty. */
	double frame[] = {0, 0, 10, 0, 10, 10, 0, 10, 0, 0,
			  3, 3, 7, 3, 7, 7, 3, 7, 3, 3};

	aoi_raster_polygon(&m, square, 4, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 6 * 4);
	clear(&m);
	/* x + y < 10 at centres: pixels with x + y + 1 < 10, i.e. x + y <= 8. */
	aoi_raster_polygon(&m, tri, 3, 2);
	CHECK_INT(aoi_mask_count(&m, 2), 45);
	CHECK_INT(m.data[0 * 20 + 8], 2);
	CHECK_INT(m.data[0 * 20 + 9], 0);
	clear(&m);
	aoi_raster_polygon(&m, frame, 10, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 100 - 16);
	CHECK_INT(m.data[5 * 20 + 5], 0);
	CHECK_INT(m.data[1 * 20 + 1], 1);
	/* Many vertices (heap buffer): a 100-gon close to a disc of radius 8. */
	double ring[200];
	for (int i = 0; i < 100; i++) {
		ring[2 * i] = 10 + 8 * cos(i * 2 * M_PI / 100);
		ring[2 * i + 1] = 10 + 8 * sin(i * 2 * M_PI / 100);
	}
	clear(&m);
	aoi_raster_polygon(&m, ring, 100, 1);
	CHECK_NEAR(aoi_mask_count(&m, 1), M_PI * 64, 8);
	aoi_mask_release(&m);
}

static void test_ellipse_line(void)
{
	aoi_mask m = make(40, 40);
	long a, b;

	aoi_raster_ellipse(&m, 20, 20, 12, 4, 0, 1);
	a = aoi_mask_count(&m, 1);
	CHECK_NEAR(a, M_PI * 48, 8);
	CHECK_INT(m.data[20 * 40 + 30], 1);  /* along x */
	CHECK_INT(m.data[27 * 40 + 20], 0);  /* across */
	clear(&m);
	aoi_raster_ellipse(&m, 20, 20, 12, 4, M_PI / 2, 1);
	b = aoi_mask_count(&m, 1);
	CHECK_NEAR(a, b, 2); /* a quarter turn is the transpose */
	CHECK_INT(m.data[30 * 40 + 20], 1);
	CHECK_INT(m.data[20 * 40 + 30], 0);
	clear(&m);
	aoi_raster_ellipse(&m, 20, 20, 0, 4, 0, 1);
	CHECK_INT(aoi_mask_count(&m, 1), 0);

	/* A horizontal line 3 wide: 3 rows of 20 plus round caps (68 pixel
	 * centres within 1.5 of the segment). */
	clear(&m);
	aoi_raster_line(&m, 10, 20.5, 30, 20.5, 3, 5);
	CHECK_INT(m.data[19 * 40 + 15], 5);
	CHECK_INT(m.data[21 * 40 + 15], 5);
	CHECK_INT(m.data[18 * 40 + 15], 0);
	CHECK_INT(m.data[22 * 40 + 15], 0);
	CHECK_INT(aoi_mask_count(&m, 5), 68);
	/* Diagonal: the pixel centres near the line only. */
	clear(&m);
	aoi_raster_line(&m, 0, 0, 40, 40, 1, 1);
	CHECK_INT(m.data[10 * 40 + 10], 1);
	CHECK_INT(m.data[10 * 40 + 12], 0);
	aoi_mask_release(&m);
}

static void test_components(void)
{
	aoi_mask m = make(12, 10);
	aoi_component *c;
	aoi_error err;
	int n;

	/* A: 3x2 box of class 1 with one class-2 pixel touching diagonally.
	 * B: 2x2 box of class 2 far away. C: one pixel of class 3 at the
	 * bottom-right corner. */
	aoi_raster_box(&m, 1, 1, 4, 3, 1);
	m.data[3 * 12 + 4] = 2; /* diagonal neighbour of (3,2) */
	aoi_raster_box(&m, 8, 0, 10, 2, 2);
	m.data[9 * 12 + 11] = 3;
	n = aoi_components(&m, -1, &c, &err);
	CHECK_INT(n, 3);
	if (n == 3) {
		/* Raster order of first pixels: B (row 0), A (row 1), C. */
		CHECK_INT(c[0].x1, 8);
		CHECK_INT(c[0].x2, 10);
		CHECK_INT(c[0].y2, 2);
		CHECK_INT(c[0].area, 4);
		CHECK_INT(c[0].label, 2);
		CHECK_NEAR(c[0].cx, 9.0, 1e-9);
		CHECK_INT(c[1].x1, 1);
		CHECK_INT(c[1].y1, 1);
		CHECK_INT(c[1].x2, 5);
		CHECK_INT(c[1].y2, 4);
		CHECK_INT(c[1].area, 7);
		CHECK_INT(c[1].label, 1); /* 6 of class 1 beat 1 of class 2 */
		CHECK_NEAR(c[1].cx, (1.5 + 2.5 + 3.5) * 2 / 7 + 4.5 / 7, 1e-9);
		CHECK_INT(c[2].area, 1);
		CHECK_INT(c[2].x2, 12);
		CHECK_INT(c[2].y2, 10);
		CHECK_INT(c[2].label, 3);
	}
	/* The same components as a label image: B is 1, A 2, C 3. */
	int lab[120];
	CHECK_INT(aoi_components_label(&m, -1, lab, &err), 3);
	CHECK_INT(lab[8], 1);
	CHECK_INT(lab[1 * 12 + 1], 2);
	CHECK_INT(lab[3 * 12 + 4], 2);
	CHECK_INT(lab[9 * 12 + 11], 3);
	CHECK_INT(lab[0], 0);
	long areas[4] = {0};
	for (int i = 0; i < 120; i++)
		areas[lab[i]]++;
	CHECK_INT(areas[1], 4);
	CHECK_INT(areas[2], 7);
	CHECK_INT(areas[3], 1);
	free(c);
	/* Only class 2: the diagonal pixel alone and B. */
	n = aoi_components(&m, 2, &c, &err);
	CHECK_INT(n, 2);
	free(c);
	clear(&m);
	n = aoi_components(&m, -1, &c, &err);
	CHECK_INT(n, 0);
	free(c);
	aoi_mask_release(&m);
}

/* A U shape and a spiral-like comb join late: union-find must merge the
 * branches (a single-pass labeller would split them). */
static void test_components_merge(void)
{
	aoi_mask m = make(9, 6);
	aoi_component *c;
	aoi_error err;

	aoi_raster_box(&m, 0, 0, 1, 6, 1);
	aoi_raster_box(&m, 2, 0, 3, 6, 1);
	aoi_raster_box(&m, 4, 0, 5, 6, 1);
	aoi_raster_box(&m, 6, 0, 7, 6, 2);
	aoi_raster_box(&m, 8, 0, 9, 6, 2);
	aoi_raster_box(&m, 0, 5, 9, 6, 2);
	int n = aoi_components(&m, -1, &c, &err);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_INT(c[0].area, 5 * 5 + 9);
		CHECK_INT(c[0].label, 2); /* 19 of class 2, 15 of class 1 */
		CHECK_INT(c[0].x2 - c[0].x1, 9);
	}
	free(c);
	aoi_mask_release(&m);
}

static void test_components_speed(void)
{
	aoi_mask m = make(640, 640);
	aoi_component *c;
	aoi_error err;
	unsigned s = 1;
	struct timespec t0, t1;

	/* Noise with 30% density: many small components, the worst case. */
	for (int i = 0; i < 640 * 640; i++) {
		s = s * 1103515245u + 12345u;
		m.data[i] = (s >> 16) % 10 < 3 ? 1 + (s >> 20) % 3 : 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int n = aoi_components(&m, -1, &c, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	long total = 0;
	for (int i = 0; i < n; i++)
		total += c[i].area;
	CHECK(n > 1000);
	CHECK_INT(total, aoi_mask_count(&m, -1));
	/* Loose bound: this build runs under sanitizers. */
	CHECK_MSG(ms < 500, "%.1f ms", ms);
	printf("components: 640x640 noise, %d components in %.2f ms\n", n, ms);
	free(c);
	/* Typical: a few defects. */
	memset(m.data, 0, 640 * 640);
	for (int i = 0; i < 12; i++)
		aoi_raster_ellipse(&m, 50 + 45 * i, 40 + 47 * i, 20, 6, i, (uint8_t)(1 + i % 6));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = aoi_components(&m, -1, &c, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	CHECK_INT(n, 12);
	CHECK_MSG(ms < 200, "%.1f ms", ms);
	printf("components: 640x640, 12 ellipses in %.2f ms\n", ms);
	free(c);
	aoi_mask_release(&m);
}

int main(void)
{
	test_box();
	test_polygon();
	test_ellipse_line();
	test_components();
	test_components_merge();
	test_components_speed();
	return check_done();
}
