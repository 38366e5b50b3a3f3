#ifndef CVIPS_H
#define CVIPS_H

/*
 * Fixed-argument wrappers around libvips' variadic operations, which Swift
 * cannot call. Every function returning int follows libvips: 0 on success,
 * -1 on failure with the reason in the error buffer (cvips_take_error).
 * Output images are new references the caller must g_object_unref.
 */

#include <vips/vips.h>

/* Start libvips once: operation cache off, `threads` worker threads,
 * untrusted loaders (ImageMagick, ...) blocked, warnings captured instead of
 * printed. Returns 0 on success. Safe to call more than once. */
int cvips_init(int threads);

/* The error buffer and the warnings captured since the last load, one per
 * line, then both cleared. The caller frees the result with g_free. */
char *cvips_take_error(void);

/* A source reading the open file `fd` (dup()ed: the caller closes its own);
 * NULL on failure. Free it with cvips_source_free. */
VipsSource *cvips_source_for_descriptor(int fd);
void cvips_source_free(VipsSource *source);

/* Nickname of the loader libvips would pick ("pngload_source",
 * "jpegload_buffer", ...), or NULL when no loader recognises the bytes. */
const char *cvips_loader_for_source(VipsSource *source);
const char *cvips_loader_for_buffer(const void *data, size_t length);

/* Open the header only (pixels decode lazily); decoding fails on any
 * libvips error or warning of the loader, so truncated files are errors. */
int cvips_open_source(VipsSource *source, VipsImage **out);
/* `data` must stay alive until the image has been decoded. */
int cvips_open_buffer(const void *data, size_t length, VipsImage **out);

/* Decode every pixel into memory now, so that load errors surface here:
 * also a tile the loader failed to decode, which libvips only warns about
 * ("error in tile"). A failure of another load running meanwhile would count
 * too: callers serialise loads (VipsImage.load). */
int cvips_decode(VipsImage *in, VipsImage **out);

/* "vips-loader" metadata, or NULL. Owned by the image. */
const char *cvips_loader_name(VipsImage *image);
/* Number of pages (frames) the file has; 1 when unknown. */
int cvips_page_count(VipsImage *image);
/* The per-frame "delay" metadata of an animation (milliseconds); returns the frame count it
   holds (0 if none), writing at most `capacity` values. */
int cvips_frame_delays(VipsImage *image, int *delays, int capacity);

int cvips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space);
int cvips_cast(VipsImage *in, VipsImage **out, VipsBandFormat format);
/* Composite the last band (alpha) onto white; `max_alpha` is 255 or 65535. */
int cvips_flatten_white(VipsImage *in, VipsImage **out, double max_alpha);
int cvips_extract_bands(VipsImage *in, VipsImage **out, int first, int count);
/* Repeat a 1-band image into `bands` identical bands. */
int cvips_replicate_bands(VipsImage *in, VipsImage **out, int bands);

/* Bicubic (Catmull-Rom) resize to exactly width x height, antialiased when
 * shrinking (the kernel widens by 1/scale), edges extended by copy. */
int cvips_resize_exact(VipsImage *in, VipsImage **out, int width, int height);

/* Encoders to a g_malloc'd buffer the caller frees with g_free. */
int cvips_pngsave_buffer(VipsImage *in, void **buf, size_t *length);
int cvips_jpegsave_buffer(VipsImage *in, void **buf, size_t *length, int quality);
int cvips_webpsave_buffer(VipsImage *in, void **buf, size_t *length, int quality, int lossless);
int cvips_tiffsave_buffer(VipsImage *in, void **buf, size_t *length);
int cvips_gifsave_buffer(VipsImage *in, void **buf, size_t *length);

/* Stack `count` frames of equal size vertically and tag the result as an
 * animation: page-height, one delay in milliseconds per frame, endless loop. */
int cvips_animation(VipsImage **frames, int count, int delay_ms, VipsImage **out);

#endif
