/* assets.c: the report page's HTML, CSS and JavaScript, kept as ordinary
 * files in lib/report/assets/ and built into the program with the
 * assembler's .incbin, so that an installed program needs no data
 * directory. The Makefile rebuilds this file when an asset changes. */
#include "report/report.h"

#include <string.h>

/* name: a label at the start, one at the end, then a NUL so that the text
 * can also be read as a C string. */
#define AOI_ASSET(sym, file)                                                 \
	".balign 8\n" #sym "_start:\n"                                        \
	".incbin \"lib/report/assets/" file "\"\n" #sym "_end:\n"             \
	".byte 0\n"

__asm__(".section .rodata\n"
	AOI_ASSET(aoi_asset_html, "index.html")
	AOI_ASSET(aoi_asset_css, "report.css")
	AOI_ASSET(aoi_asset_js, "report.js")
	".previous\n");

extern const unsigned char aoi_asset_html_start[], aoi_asset_html_end[];
extern const unsigned char aoi_asset_css_start[], aoi_asset_css_end[];
extern const unsigned char aoi_asset_js_start[], aoi_asset_js_end[];

int aoi_report_asset_get(int i, aoi_report_asset *out)
{
	switch (i) {
	case 0:
		*out = (aoi_report_asset){ "index.html", aoi_asset_html_start,
					   (size_t)(aoi_asset_html_end - aoi_asset_html_start) };
		return 0;
	case 1:
		*out = (aoi_report_asset){ "report.css", aoi_asset_css_start,
					   (size_t)(aoi_asset_css_end - aoi_asset_css_start) };
		return 0;
	case 2:
		*out = (aoi_report_asset){ "report.js", aoi_asset_js_start,
					   (size_t)(aoi_asset_js_end - aoi_asset_js_start) };
		return 0;
	}
	memset(out, 0, sizeof *out);
	return -1;
}
