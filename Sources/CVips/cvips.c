#include "cvips.h"

#include <pthread.h>
#include <string.h>

/* libvips reports some load failures (a zero width in a PNG header, for one)
 * only as warnings on stderr and leaves its error buffer empty. We keep the
 * distinct warnings since the last load started, so errors can name the
 * reason, and print nothing: a command line tool must own its stderr. */
/* A pthread mutex, not a GMutex: glib builds GMutex on raw futex calls that
 * ThreadSanitizer cannot see, so under TSan every warning written by a
 * libvips worker and read by the loading thread was reported as a race. */
static pthread_mutex_t warning_lock = PTHREAD_MUTEX_INITIALIZER;
static GString *warnings = NULL;
enum { WARNINGS_MAX = 1024 };

/* Tiles a loader failed to decode. libvips 8.14 reports such a failure only
 * as the warning "error in tile X x Y" and the copy into memory succeeds,
 * with black where the pixels were missing: libpng's "Not enough image data"
 * under fail_on=error, for one (a PNG whose IDAT is empty or cut short).
 * Counted apart from the text, which any cvips_take_error clears. */
static gint tile_errors = 0;

static void capture_warning(const gchar *domain, GLogLevelFlags level,
                            const gchar *message, gpointer user_data) {
    (void) domain; (void) level; (void) user_data;
    if (g_str_has_prefix(message, "error in tile"))
        g_atomic_int_inc(&tile_errors);
    pthread_mutex_lock(&warning_lock);
    if (!warnings)
        warnings = g_string_new(NULL);
    if (warnings->len < WARNINGS_MAX && !strstr(warnings->str, message)) {
        g_string_append(warnings, message);
        g_string_append_c(warnings, '\n');
    }
    pthread_mutex_unlock(&warning_lock);
}

static void clear_warning(void) {
    pthread_mutex_lock(&warning_lock);
    if (warnings)
        g_string_truncate(warnings, 0);
    pthread_mutex_unlock(&warning_lock);
}

int cvips_init(int threads) {
    static gsize done = 0;
    static int result = 0;
    if (g_once_init_enter(&done)) {
        result = VIPS_INIT("singan");
        if (result == 0) {
            /* The cache would hand back stale results for operations on
             * images whose memory was reused. */
            vips_cache_set_max(0);
            vips_concurrency_set(threads > 0 ? threads : 1);
            vips_block_untrusted_set(TRUE);
            g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE,
                              capture_warning, NULL);
        }
        g_once_init_leave(&done, 1);
    }
    return result;
}

char *cvips_take_error(void) {
    char *errors = vips_error_buffer_copy();
    pthread_mutex_lock(&warning_lock);
    char *joined = g_strconcat(errors ? errors : "", "\n",
                               warnings ? warnings->str : "", NULL);
    if (warnings)
        g_string_truncate(warnings, 0);
    pthread_mutex_unlock(&warning_lock);
    g_free(errors);
    return joined;
}

static const char *nickname_of(const char *type_name) {
    if (!type_name)
        return NULL;
    GType type = g_type_from_name(type_name);
    return type ? vips_nickname_find(type) : NULL;
}

/* Files are read through a VipsSource on a descriptor the caller opened and
 * checked (a regular file, within the byte limit): vips_image_new_from_file
 * would take "[...]" in a file name for load options, and would open the path
 * again, following whatever it has become since. The source dup()s `fd`. */
VipsSource *cvips_source_for_descriptor(int fd) {
    clear_warning();
    return vips_source_new_from_descriptor(fd);
}

const char *cvips_loader_for_source(VipsSource *source) {
    clear_warning();
    return nickname_of(vips_foreign_find_load_source(source));
}

void cvips_source_free(VipsSource *source) {
    g_object_unref(source);
}

const char *cvips_loader_for_buffer(const void *data, size_t length) {
    clear_warning();
    return nickname_of(vips_foreign_find_load_buffer(data, length));
}

int cvips_open_source(VipsSource *source, VipsImage **out) {
    clear_warning();
    *out = vips_image_new_from_source(source, "", "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    return *out ? 0 : -1;
}

int cvips_open_buffer(const void *data, size_t length, VipsImage **out) {
    clear_warning();
    *out = vips_image_new_from_buffer(data, length, "", "fail_on", VIPS_FAIL_ON_ERROR, NULL);
    return *out ? 0 : -1;
}

int cvips_decode(VipsImage *in, VipsImage **out) {
    int before = g_atomic_int_get(&tile_errors);
    *out = vips_image_copy_memory(in);
    if (*out && g_atomic_int_get(&tile_errors) != before) {
        g_object_unref(*out);
        *out = NULL;
        vips_error("decode", "%s", "some pixels could not be decoded");
    }
    return *out ? 0 : -1;
}

const char *cvips_loader_name(VipsImage *image) {
    const char *name = NULL;
    if (vips_image_get_typeof(image, "vips-loader") &&
        vips_image_get_string(image, "vips-loader", &name) == 0)
        return name;
    vips_error_clear();
    return NULL;
}

int cvips_page_count(VipsImage *image) {
    return vips_image_get_n_pages(image);
}

int cvips_frame_delays(VipsImage *image, int *delays, int capacity) {
    int *array = NULL, n = 0;
    if (!vips_image_get_typeof(image, "delay") || vips_image_get_array_int(image, "delay", &array, &n))
        return 0;
    for (int i = 0; i < n && i < capacity; i++)
        delays[i] = array[i];
    return n;
}

int cvips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}

int cvips_cast(VipsImage *in, VipsImage **out, VipsBandFormat format) {
    return vips_cast(in, out, format, NULL);
}

int cvips_flatten_white(VipsImage *in, VipsImage **out, double max_alpha) {
    double white[4] = {max_alpha, max_alpha, max_alpha, max_alpha};
    int colour_bands = in->Bands - 1;
    if (colour_bands < 1 || colour_bands > 4) {
        vips_error("cvips_flatten_white", "expected 2 to 5 bands, got %d", in->Bands);
        return -1;
    }
    VipsArrayDouble *background = vips_array_double_new(white, colour_bands);
    int result = vips_flatten(in, out, "background", background, "max_alpha", max_alpha, NULL);
    vips_area_unref(VIPS_AREA(background));
    return result;
}

int cvips_extract_bands(VipsImage *in, VipsImage **out, int first, int count) {
    return vips_extract_band(in, out, first, "n", count, NULL);
}

int cvips_replicate_bands(VipsImage *in, VipsImage **out, int bands) {
    VipsImage *copies[8];
    if (bands < 1 || bands > 8) {
        vips_error("cvips_replicate_bands", "cannot make %d bands", bands);
        return -1;
    }
    for (int i = 0; i < bands; i++)
        copies[i] = in;
    return vips_bandjoin(copies, out, bands, NULL);
}

int cvips_resize_exact(VipsImage *in, VipsImage **out, int width, int height) {
    if (width < 1 || height < 1) {
        vips_error("cvips_resize_exact", "bad target size %d x %d", width, height);
        return -1;
    }
    double hscale = (double) width / in->Xsize;
    double vscale = (double) height / in->Ysize;
    VipsImage *resized;
    /* gap 0: no box pre-shrink, so every factor uses the true cubic kernel. */
    if (vips_resize(in, &resized, hscale, "vscale", vscale,
                    "kernel", VIPS_KERNEL_CUBIC, "gap", 0.0, NULL))
        return -1;
    if (resized->Xsize == width && resized->Ysize == height) {
        *out = resized;
        return 0;
    }
    /* libvips rounds the output size itself; a one-pixel miss is fixed by
     * cropping or by repeating the edge. */
    int result = vips_embed(resized, out, 0, 0, width, height,
                            "extend", VIPS_EXTEND_COPY, NULL);
    g_object_unref(resized);
    return result;
}

int cvips_pngsave_buffer(VipsImage *in, void **buf, size_t *length) {
    return vips_pngsave_buffer(in, buf, length, NULL);
}

int cvips_jpegsave_buffer(VipsImage *in, void **buf, size_t *length, int quality) {
    return vips_jpegsave_buffer(in, buf, length, "Q", quality, NULL);
}

int cvips_webpsave_buffer(VipsImage *in, void **buf, size_t *length, int quality, int lossless) {
    return vips_webpsave_buffer(in, buf, length, "Q", quality, "lossless", lossless ? TRUE : FALSE, NULL);
}

int cvips_tiffsave_buffer(VipsImage *in, void **buf, size_t *length) {
    return vips_tiffsave_buffer(in, buf, length, NULL);
}

int cvips_gifsave_buffer(VipsImage *in, void **buf, size_t *length) {
    /* Quantisation effort 4 of 10: about 2.8 times faster than the default 7
     * on a 100-frame 248x186 animation, for a file within 1% of the size. */
    return vips_gifsave_buffer(in, buf, length, "effort", 4, NULL);
}

int cvips_animation(VipsImage **frames, int count, int delay_ms, VipsImage **out) {
    if (count < 1) {
        vips_error("cvips_animation", "no frames");
        return -1;
    }
    int page_height = frames[0]->Ysize;
    for (int i = 1; i < count; i++) {
        if (frames[i]->Xsize != frames[0]->Xsize || frames[i]->Ysize != page_height ||
            frames[i]->Bands != frames[0]->Bands) {
            vips_error("cvips_animation", "frame %d is %dx%d with %d bands, frame 0 is %dx%d with %d bands",
                       i, frames[i]->Xsize, frames[i]->Ysize, frames[i]->Bands,
                       frames[0]->Xsize, page_height, frames[0]->Bands);
            return -1;
        }
    }
    VipsImage *joined;
    if (vips_arrayjoin(frames, &joined, count, "across", 1, NULL))
        return -1;
    /* A private copy, so the metadata set below never touches shared images. */
    if (vips_copy(joined, out, NULL)) {
        g_object_unref(joined);
        return -1;
    }
    g_object_unref(joined);
    int *delays = g_new(int, count);
    for (int i = 0; i < count; i++)
        delays[i] = delay_ms;
    vips_image_set_int(*out, "page-height", page_height);
    vips_image_set_array_int(*out, "delay", delays, count);
    vips_image_set_int(*out, "loop", 0);
    g_free(delays);
    return 0;
}
