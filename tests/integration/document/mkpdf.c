/*
 * cvq-mkpdf: the sample documents of the tests and the demo, drawn with
 * cairo's PDF surface (a well-kept PDF producer; no PDF is written by
 * hand). `cvq-mkpdf OUT.pdf [PAGES] [NAME1] [NAME2]` makes an "acte de
 * mariage" of PAGES pages (default 1).
 */
#include <cairo-pdf.h>
#include <cairo.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: cvq-mkpdf OUT.pdf [PAGES] [NAME1] [NAME2]\n");
		return 2;
	}
	int pages = argc > 2 ? atoi(argv[2]) : 1;
	const char *a = argc > 3 ? argv[3] : "Marie Dupont";
	const char *b = argc > 4 ? argv[4] : "Jean Martin";
	if (pages < 1 || pages > 10000) {
		fprintf(stderr, "cvq-mkpdf: pages must be 1-10000\n");
		return 2;
	}
	cairo_surface_t *s = cairo_pdf_surface_create(argv[1], 595, 842);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		fprintf(stderr, "cvq-mkpdf: %s\n", cairo_status_to_string(cairo_surface_status(s)));
		return 1;
	}
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Acte de mariage");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "Ville d'Alençon — état civil");
	cairo_t *cr = cairo_create(s);
	for (int p = 0; p < pages; p++) {
		cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
		cairo_set_font_size(cr, 20);
		cairo_move_to(cr, 60, 90);
		cairo_show_text(cr, "Ville d'Alençon — Acte de mariage");
		cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
		cairo_set_font_size(cr, 13);
		char line[512];
		snprintf(line, sizeof line, "Le 28 novembre 2026 ont été unis par le mariage :");
		cairo_move_to(cr, 60, 150);
		cairo_show_text(cr, line);
		cairo_move_to(cr, 80, 180);
		cairo_show_text(cr, a);
		cairo_move_to(cr, 80, 205);
		cairo_show_text(cr, b);
		cairo_move_to(cr, 60, 250);
		cairo_show_text(cr, "Extrait délivré par l'officier de l'état civil, registre n° 2026-0117.");
		snprintf(line, sizeof line, "Page %d / %d", p + 1, pages);
		cairo_move_to(cr, 60, 800);
		cairo_show_text(cr, line);
		cairo_show_page(cr);
	}
	cairo_destroy(cr);
	cairo_surface_finish(s);
	int rc = cairo_surface_status(s) == CAIRO_STATUS_SUCCESS ? 0 : 1;
	cairo_surface_destroy(s);
	return rc;
}
