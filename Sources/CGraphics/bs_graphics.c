#include "bs_graphics.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bs_graphics table;
static const bs_graphics *loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

// The sonames of Debian/Ubuntu/Fedora (libpangocairo-1.0-0, libpango-1.0-0, libcairo2, libglib2.0-0).
static const char *const libraries[] = {
    "libcairo.so.2", "libpango-1.0.so.0", "libpangocairo-1.0.so.0", "libgobject-2.0.so.0"};
static void *handles[4];

static void *find(const char *name) {
  for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
    void *p = dlsym(handles[i], name);
    if (p) return p;
  }
  return NULL;
}

static void load(void) {
  // BERTSCOPE_NO_GRAPHICS=1 behaves as a machine without the libraries (tests, and checking
  // what a GPU box without them will do).
  const char *off = getenv("BERTSCOPE_NO_GRAPHICS");
  if (off && *off && strcmp(off, "0") != 0) {
    snprintf(load_error, sizeof load_error, "disabled by BERTSCOPE_NO_GRAPHICS=%s", off);
    return;
  }
  for (size_t i = 0; i < sizeof libraries / sizeof libraries[0]; i++) {
    handles[i] = dlopen(libraries[i], RTLD_NOW | RTLD_LOCAL);
    if (!handles[i]) {
      const char *why = dlerror();
      snprintf(load_error, sizeof load_error, "%s", why ? why : libraries[i]);
      return;
    }
  }
#define BS_LOAD(name)                                                              \
  do {                                                                             \
    *(void **)(&table.name) = find(#name);                                         \
    if (!table.name) {                                                             \
      snprintf(load_error, sizeof load_error, "%s not found in %s, %s, %s, %s", #name, \
               libraries[0], libraries[1], libraries[2], libraries[3]);             \
      return;                                                                      \
    }                                                                              \
  } while (0)
  BS_LOAD(cairo_image_surface_create);
  BS_LOAD(cairo_image_surface_create_for_data);
  BS_LOAD(cairo_image_surface_get_data);
  BS_LOAD(cairo_image_surface_get_stride);
  BS_LOAD(cairo_format_stride_for_width);
  BS_LOAD(cairo_pdf_surface_create);
  BS_LOAD(cairo_pdf_surface_set_metadata);
  BS_LOAD(cairo_surface_flush);
  BS_LOAD(cairo_surface_mark_dirty);
  BS_LOAD(cairo_surface_finish);
  BS_LOAD(cairo_surface_status);
  BS_LOAD(cairo_surface_destroy);
  BS_LOAD(cairo_create);
  BS_LOAD(cairo_destroy);
  BS_LOAD(cairo_status);
  BS_LOAD(cairo_status_to_string);
  BS_LOAD(cairo_save);
  BS_LOAD(cairo_restore);
  BS_LOAD(cairo_scale);
  BS_LOAD(cairo_translate);
  BS_LOAD(cairo_rotate);
  BS_LOAD(cairo_user_to_device);
  BS_LOAD(cairo_device_to_user);
  BS_LOAD(cairo_set_source_rgb);
  BS_LOAD(cairo_set_source_surface);
  BS_LOAD(cairo_get_source);
  BS_LOAD(cairo_pattern_set_filter);
  BS_LOAD(cairo_set_antialias);
  BS_LOAD(cairo_set_line_width);
  BS_LOAD(cairo_set_line_join);
  BS_LOAD(cairo_set_line_cap);
  BS_LOAD(cairo_set_fill_rule);
  BS_LOAD(cairo_new_path);
  BS_LOAD(cairo_rectangle);
  BS_LOAD(cairo_move_to);
  BS_LOAD(cairo_line_to);
  BS_LOAD(cairo_close_path);
  BS_LOAD(cairo_arc);
  BS_LOAD(cairo_fill_preserve);
  BS_LOAD(cairo_fill);
  BS_LOAD(cairo_stroke);
  BS_LOAD(cairo_paint);
  BS_LOAD(cairo_font_options_create);
  BS_LOAD(cairo_font_options_set_hint_metrics);
  BS_LOAD(cairo_font_options_set_hint_style);
  BS_LOAD(cairo_font_options_destroy);
  BS_LOAD(pango_cairo_create_layout);
  BS_LOAD(pango_cairo_show_layout);
  BS_LOAD(pango_cairo_context_set_font_options);
  BS_LOAD(pango_cairo_font_map_get_default);
  BS_LOAD(pango_cairo_font_map_new);
  BS_LOAD(pango_font_map_create_context);
  BS_LOAD(pango_layout_new);
  BS_LOAD(pango_layout_get_context);
  BS_LOAD(pango_layout_context_changed);
  BS_LOAD(pango_layout_set_text);
  BS_LOAD(pango_layout_set_font_description);
  BS_LOAD(pango_layout_get_extents);
  BS_LOAD(pango_layout_get_baseline);
  BS_LOAD(pango_layout_get_unknown_glyphs_count);
  BS_LOAD(pango_context_set_round_glyph_positions);
  BS_LOAD(pango_font_description_new);
  BS_LOAD(pango_font_description_set_family);
  BS_LOAD(pango_font_description_set_absolute_size);
  BS_LOAD(pango_font_description_set_weight);
  BS_LOAD(pango_font_description_free);
  BS_LOAD(pango_version_string);
  BS_LOAD(cairo_version_string);
  BS_LOAD(g_object_unref);
#undef BS_LOAD
  loaded = &table;
}

const bs_graphics *bs_graphics_load(char *error, size_t capacity) {
  pthread_once(&once, load);
  if (!loaded && error && capacity > 0) snprintf(error, capacity, "%s", load_error);
  return loaded;
}
