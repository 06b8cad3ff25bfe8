// Cairo (drawing, PNG pixels and PDF) and Pango (text layout and font fallback through
// fontconfig, shaping through HarfBuzz), loaded at run time with dlopen.
//
// Why dlopen and not a link: the `bertscope` binary (the engine, which also runs on GPU boxes
// that have only the OpenCL driver) must start without these libraries; only drawing PNG and
// PDF figures needs them. No headers are needed to build: the few entry points used are
// declared here, as the public, stable C API documents them (cairo 1.16+, Pango 1.44+); every
// Cairo/Pango object is an opaque pointer.
#ifndef BS_GRAPHICS_H
#define BS_GRAPHICS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// PangoRectangle: in Pango units (1/1024 of a device unit).
typedef struct bs_pango_rectangle {
  int x;
  int y;
  int width;
  int height;
} bs_pango_rectangle;

/// The entry points, filled by bs_graphics_load.
typedef struct bs_graphics {
  // cairo surfaces
  void *_Nonnull (*_Nonnull cairo_image_surface_create)(int format, int width, int height);
  void *_Nonnull (*_Nonnull cairo_image_surface_create_for_data)(unsigned char *_Nonnull data, int format, int width, int height, int stride);
  unsigned char *_Nullable (*_Nonnull cairo_image_surface_get_data)(void *_Nonnull surface);
  int (*_Nonnull cairo_image_surface_get_stride)(void *_Nonnull surface);
  int (*_Nonnull cairo_format_stride_for_width)(int format, int width);
  void *_Nonnull (*_Nonnull cairo_pdf_surface_create)(const char *_Nonnull filename, double width_points, double height_points);
  void (*_Nonnull cairo_pdf_surface_set_metadata)(void *_Nonnull surface, int metadata, const char *_Nonnull utf8);
  void (*_Nonnull cairo_surface_flush)(void *_Nonnull surface);
  void (*_Nonnull cairo_surface_mark_dirty)(void *_Nonnull surface);
  void (*_Nonnull cairo_surface_finish)(void *_Nonnull surface);
  int (*_Nonnull cairo_surface_status)(void *_Nonnull surface);
  void (*_Nonnull cairo_surface_destroy)(void *_Nonnull surface);
  // cairo contexts
  void *_Nonnull (*_Nonnull cairo_create)(void *_Nonnull surface);
  void (*_Nonnull cairo_destroy)(void *_Nonnull cr);
  int (*_Nonnull cairo_status)(void *_Nonnull cr);
  const char *_Nonnull (*_Nonnull cairo_status_to_string)(int status);
  void (*_Nonnull cairo_save)(void *_Nonnull cr);
  void (*_Nonnull cairo_restore)(void *_Nonnull cr);
  void (*_Nonnull cairo_scale)(void *_Nonnull cr, double sx, double sy);
  void (*_Nonnull cairo_translate)(void *_Nonnull cr, double tx, double ty);
  void (*_Nonnull cairo_rotate)(void *_Nonnull cr, double angle);
  void (*_Nonnull cairo_user_to_device)(void *_Nonnull cr, double *_Nonnull x, double *_Nonnull y);
  void (*_Nonnull cairo_device_to_user)(void *_Nonnull cr, double *_Nonnull x, double *_Nonnull y);
  void (*_Nonnull cairo_set_source_rgb)(void *_Nonnull cr, double red, double green, double blue);
  void (*_Nonnull cairo_set_source_surface)(void *_Nonnull cr, void *_Nonnull surface, double x, double y);
  void *_Nonnull (*_Nonnull cairo_get_source)(void *_Nonnull cr);
  void (*_Nonnull cairo_pattern_set_filter)(void *_Nonnull pattern, int filter);
  void (*_Nonnull cairo_set_antialias)(void *_Nonnull cr, int antialias);
  void (*_Nonnull cairo_set_line_width)(void *_Nonnull cr, double width);
  void (*_Nonnull cairo_set_line_join)(void *_Nonnull cr, int join);
  void (*_Nonnull cairo_set_line_cap)(void *_Nonnull cr, int cap);
  void (*_Nonnull cairo_set_fill_rule)(void *_Nonnull cr, int rule);
  void (*_Nonnull cairo_new_path)(void *_Nonnull cr);
  void (*_Nonnull cairo_rectangle)(void *_Nonnull cr, double x, double y, double width, double height);
  void (*_Nonnull cairo_move_to)(void *_Nonnull cr, double x, double y);
  void (*_Nonnull cairo_line_to)(void *_Nonnull cr, double x, double y);
  void (*_Nonnull cairo_close_path)(void *_Nonnull cr);
  void (*_Nonnull cairo_arc)(void *_Nonnull cr, double xc, double yc, double radius, double angle1, double angle2);
  void (*_Nonnull cairo_fill_preserve)(void *_Nonnull cr);
  void (*_Nonnull cairo_fill)(void *_Nonnull cr);
  void (*_Nonnull cairo_stroke)(void *_Nonnull cr);
  void (*_Nonnull cairo_paint)(void *_Nonnull cr);
  // cairo font options
  void *_Nonnull (*_Nonnull cairo_font_options_create)(void);
  void (*_Nonnull cairo_font_options_set_hint_metrics)(void *_Nonnull options, int hint_metrics);
  void (*_Nonnull cairo_font_options_set_hint_style)(void *_Nonnull options, int hint_style);
  void (*_Nonnull cairo_font_options_destroy)(void *_Nonnull options);
  // pango + pangocairo
  void *_Nonnull (*_Nonnull pango_cairo_create_layout)(void *_Nonnull cr);
  void (*_Nonnull pango_cairo_show_layout)(void *_Nonnull cr, void *_Nonnull layout);
  void (*_Nonnull pango_cairo_context_set_font_options)(void *_Nonnull context, const void *_Nonnull options);
  void *_Nonnull (*_Nonnull pango_cairo_font_map_get_default)(void);
  void *_Nonnull (*_Nonnull pango_cairo_font_map_new)(void);
  void *_Nonnull (*_Nonnull pango_font_map_create_context)(void *_Nonnull fontmap);
  void *_Nonnull (*_Nonnull pango_layout_new)(void *_Nonnull context);
  void *_Nonnull (*_Nonnull pango_layout_get_context)(void *_Nonnull layout);
  void (*_Nonnull pango_layout_context_changed)(void *_Nonnull layout);
  void (*_Nonnull pango_layout_set_text)(void *_Nonnull layout, const char *_Nonnull text, int length);
  void (*_Nonnull pango_layout_set_font_description)(void *_Nonnull layout, const void *_Nonnull desc);
  void (*_Nonnull pango_layout_get_extents)(void *_Nonnull layout, bs_pango_rectangle *_Nonnull ink, bs_pango_rectangle *_Nonnull logical);
  int (*_Nonnull pango_layout_get_baseline)(void *_Nonnull layout);
  int (*_Nonnull pango_layout_get_unknown_glyphs_count)(void *_Nonnull layout);
  void (*_Nonnull pango_context_set_round_glyph_positions)(void *_Nonnull context, int round);
  void *_Nonnull (*_Nonnull pango_font_description_new)(void);
  void (*_Nonnull pango_font_description_set_family)(void *_Nonnull desc, const char *_Nonnull family);
  void (*_Nonnull pango_font_description_set_absolute_size)(void *_Nonnull desc, double size);
  void (*_Nonnull pango_font_description_set_weight)(void *_Nonnull desc, int weight);
  void (*_Nonnull pango_font_description_free)(void *_Nonnull desc);
  const char *_Nonnull (*_Nonnull pango_version_string)(void);
  const char *_Nonnull (*_Nonnull cairo_version_string)(void);
  void (*_Nonnull g_object_unref)(void *_Nonnull object);
} bs_graphics;

/// Loads the libraries once (thread-safe) and returns the entry points, or NULL with a
/// message naming what is missing in `error` (at most `capacity` bytes, NUL-terminated).
const bs_graphics *_Nullable bs_graphics_load(char *_Nonnull error, size_t capacity);

// Constants of the C API used here (cairo.h, pango-types.h).
#define BS_CAIRO_FORMAT_ARGB32 0
#define BS_CAIRO_FORMAT_RGB24 1
#define BS_CAIRO_ANTIALIAS_DEFAULT 0
#define BS_CAIRO_ANTIALIAS_NONE 1
#define BS_CAIRO_ANTIALIAS_GRAY 2
#define BS_CAIRO_FILTER_NEAREST 3
#define BS_CAIRO_LINE_JOIN_ROUND 1
#define BS_CAIRO_LINE_CAP_ROUND 1
#define BS_CAIRO_FILL_RULE_EVEN_ODD 1
#define BS_CAIRO_HINT_METRICS_OFF 1
#define BS_CAIRO_HINT_STYLE_NONE 1
#define BS_CAIRO_PDF_METADATA_TITLE 0
#define BS_CAIRO_PDF_METADATA_CREATOR 4
#define BS_PANGO_SCALE 1024
#define BS_PANGO_WEIGHT_NORMAL 400
#define BS_PANGO_WEIGHT_BOLD 700


#ifdef __cplusplus
}
#endif

#endif
