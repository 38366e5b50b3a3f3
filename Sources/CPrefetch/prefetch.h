#ifndef SINGAN_PREFETCH_H
#define SINGAN_PREFETCH_H

// SwiftPM does not track this header: after editing it, touch a Swift file of the Engine target,
// or an incremental build keeps the old code (and reports success).

/// Hints that the cache line holding `address` will soon be read. Never faults, so the address may
/// lie past the end of a buffer. Swift has no spelling for the prefetch instruction.
static inline void prefetch_for_read(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Hints that the cache line holding `address` will soon be written.
static inline void prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

/// Tells the core that the caller is in a spin-wait loop (x86 `pause`): the loop then costs less
/// power and does not flood the pipeline with speculative loads of the flag it polls.
static inline void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#if defined(__x86_64__)
typedef float singan_float8 __attribute__((ext_vector_type(8)));
typedef int singan_int8 __attribute__((ext_vector_type(8)));

#include <immintrin.h>

/// row[i] for i < 8 where from <= i < to, zero elsewhere. The other floats are never read (masked
/// loads do not fault), so `row` may point before or past the end of its buffer.
__attribute__((target("avx2"))) static inline singan_float8
singan_masked_load8(const float *row, long from, long to) {
    const singan_int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    singan_int8 inside = (lane >= (int)from) & (lane < (int)to);
    return (singan_float8)_mm256_maskload_ps(row, (__m256i)inside);
}

/// Winograd2x2's column transform of one row of 8 tiles from p[0..<8] ++ p[8..<16] (a, b) and
/// p[2..<10] ++ p[10..<18] (a2, b2): (d0 - d2, d1 + d2, d2 - d1, d1 - d3), with d0, d1 the even
/// and odd columns of p[0..<16] and d2, d3 those of p[2..<18], to out[0..<32], 8 floats each.
/// Lanes hold tiles 0, 1, 4, 5, 2, 3, 6, 7 (TileGeometry.lane(ofTile:)): one vshufps each.
__attribute__((target("avx2"))) static inline void
singan_column_transform(singan_float8 a, singan_float8 b, singan_float8 a2, singan_float8 b2, float *out) {
    singan_float8 d0 = __builtin_shufflevector(a, b, 0, 2, 8, 10, 4, 6, 12, 14);
    singan_float8 d1 = __builtin_shufflevector(a, b, 1, 3, 9, 11, 5, 7, 13, 15);
    singan_float8 d2 = __builtin_shufflevector(a2, b2, 0, 2, 8, 10, 4, 6, 12, 14);
    singan_float8 d3 = __builtin_shufflevector(a2, b2, 1, 3, 9, 11, 5, 7, 13, 15);
    _mm256_storeu_ps(out, (__m256)(d0 - d2));
    _mm256_storeu_ps(out + 8, (__m256)(d1 + d2));
    _mm256_storeu_ps(out + 16, (__m256)(d2 - d1));
    _mm256_storeu_ps(out + 24, (__m256)(d1 - d3));
}

/// `singan_column_transform` of row[0..<18]. The loads are volatile: otherwise the compiler sees
/// that row[0..<16] and row[2..<18] overlap and rebuilds the first two vectors from the last two
/// with a dozen shuffles, blends and scalar loads (perf annotate).
__attribute__((target("avx2"))) static inline void
singan_row_transform(const float *row, float *out) {
    typedef singan_float8 unaligned8 __attribute__((aligned(4)));
    singan_column_transform(*(volatile const unaligned8 *)row, *(volatile const unaligned8 *)(row + 8),
                            *(volatile const unaligned8 *)(row + 2), *(volatile const unaligned8 *)(row + 10),
                            out);
}

/// `singan_column_transform` of a row whose columns outside from..<to read as zeros. Masked loads
/// rather than a copy into a stack buffer: a wide load of floats stored one by one cannot be
/// forwarded from the store buffer and waits for the stores to retire, which was half of the
/// input transform's time at 25 x 34 (perf annotate). The results are stored to out, where
/// whole-vector loads of them are forwarded (or, inlined, kept in registers).
__attribute__((target("avx2"))) static inline void
singan_row_transform_clipped(const float *row, long from, long to, float *out) {
    singan_column_transform(singan_masked_load8(row, from, to), singan_masked_load8(row + 8, from - 8, to - 8),
                            singan_masked_load8(row + 2, from - 2, to - 2),
                            singan_masked_load8(row + 10, from - 10, to - 10), out);
}

/// Winograd2x2's output row of 8 tiles: out[0..<16] interleaves the even columns (`even`, 8
/// floats) and the odd ones (`odd`), both in the lanes of `singan_column_transform`: one
/// vunpcklps and one vunpckhps. The empty asm makes both whole vectors: otherwise the compiler
/// sees that each unpack reads half of their lanes and splits the sums feeding them into 128-bit
/// halves and scalar loads, and the output transform took 1.8 times as long (perf samples).
__attribute__((target("avx2"))) static inline void
singan_interleave_columns(const float *even, const float *odd, float *out) {
    __m256 e = _mm256_loadu_ps(even), o = _mm256_loadu_ps(odd);
    __asm__("" : "+x"(e), "+x"(o));
    _mm256_storeu_ps(out, _mm256_unpacklo_ps(e, o));
    _mm256_storeu_ps(out + 8, _mm256_unpackhi_ps(e, o));
}

/// The 4 x 4 transpose inside each 128-bit half of r0 ..< r3, stored to out[0..<32]: vector m
/// (out[8 m ..< 8 m + 8]) holds element m of each half of r0, r1, r2, r3. 8 in-lane shuffles.
__attribute__((target("avx2"))) static inline void
singan_transpose4_halves(__m256 r0, __m256 r1, __m256 r2, __m256 r3, float *out) {
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpacklo_ps(r2, r3);
    __m256 t2 = _mm256_unpackhi_ps(r0, r1), t3 = _mm256_unpackhi_ps(r2, r3);
    _mm256_storeu_ps(out, _mm256_shuffle_ps(t0, t1, 0x44));
    _mm256_storeu_ps(out + 8, _mm256_shuffle_ps(t0, t1, 0xEE));
    _mm256_storeu_ps(out + 16, _mm256_shuffle_ps(t2, t3, 0x44));
    _mm256_storeu_ps(out + 24, _mm256_shuffle_ps(t2, t3, 0xEE));
}

/// Winograd4x4's columns of one row of 8 tiles from row[0..<32] (a0 ..< a3, 8 floats each) and
/// row[4..<36] (b0 ..< b3): out[8 k + lane] = row[4 t + k] for k < 6, where lanes 0 to 7 hold
/// tiles t = 0, 2, 4, 6, 1, 3, 5, 7 (Winograd4x4.lane(ofTile:)). In that order a 4 x 4 transpose
/// inside each 128-bit half of the a's gives columns 0 to 3, and the first half of the same
/// transpose of the b's columns 4 and 5: 12 in-lane shuffles, no cross-lane permute.
__attribute__((target("avx2"))) static inline void
singan_columns4_of(singan_float8 a0, singan_float8 a1, singan_float8 a2, singan_float8 a3,
                   singan_float8 b0, singan_float8 b1, singan_float8 b2, singan_float8 b3, float *out) {
    singan_transpose4_halves((__m256)a0, (__m256)a1, (__m256)a2, (__m256)a3, out);
    __m256 s0 = _mm256_unpacklo_ps((__m256)b0, (__m256)b1), s1 = _mm256_unpacklo_ps((__m256)b2, (__m256)b3);
    _mm256_storeu_ps(out + 32, _mm256_shuffle_ps(s0, s1, 0x44));
    _mm256_storeu_ps(out + 40, _mm256_shuffle_ps(s0, s1, 0xEE));
}

/// `singan_columns4_of` of row[0..<36]. Volatile loads, as in `singan_row_transform`.
__attribute__((target("avx2"))) static inline void
singan_columns4(const float *row, float *out) {
    typedef singan_float8 unaligned8 __attribute__((aligned(4)));
#define SINGAN_LOAD(offset) (*(volatile const unaligned8 *)(row + (offset)))
    singan_columns4_of(SINGAN_LOAD(0), SINGAN_LOAD(8), SINGAN_LOAD(16), SINGAN_LOAD(24),
                       SINGAN_LOAD(4), SINGAN_LOAD(12), SINGAN_LOAD(20), SINGAN_LOAD(28), out);
#undef SINGAN_LOAD
}

/// The masks of `singan_columns4_masked` for a window whose columns outside from..<to read as
/// zeros: masks[8 v + i] for the v-th of its 8 loads (row offsets 0, 8, 16, 24, 4, 12, 20, 28).
/// Computed once per window: all 6 of its rows share them.
__attribute__((target("avx2"))) static inline void
singan_columns4_masks(long from, long to, int *masks) {
    const int offsets[8] = {0, 8, 16, 24, 4, 12, 20, 28};
    const singan_int8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    for (int v = 0; v < 8; v++) {
        singan_int8 inside = (lane + offsets[v] >= (int)from) & (lane + offsets[v] < (int)to);
        _mm256_storeu_si256((__m256i *)(masks + 8 * v), (__m256i)inside);
    }
}

/// `singan_columns4` of a row whose columns outside a window's from..<to read as zeros, with that
/// window's `singan_columns4_masks`. Masked loads never fault, so `row` may point before or past
/// the end of its plane.
__attribute__((target("avx2"))) static inline void
singan_columns4_masked(const float *row, const int *masks, float *out) {
#define SINGAN_LOAD(v, offset) \
    ((singan_float8)_mm256_maskload_ps(row + (offset), _mm256_loadu_si256((const __m256i *)(masks + 8 * (v)))))
    singan_columns4_of(SINGAN_LOAD(0, 0), SINGAN_LOAD(1, 8), SINGAN_LOAD(2, 16), SINGAN_LOAD(3, 24),
                       SINGAN_LOAD(4, 4), SINGAN_LOAD(5, 12), SINGAN_LOAD(6, 20), SINGAN_LOAD(7, 28), out);
#undef SINGAN_LOAD
}

/// Winograd4x4's output row of 8 tiles: out[0..<32] from the tiles' output columns (k[0..<8] for
/// column 0 up to k[24..<32] for column 3, lanes as in `singan_columns4_of`). The 4 x 4 transpose
/// inside each 128-bit half puts tiles 2m and 2m + 1 in vector m, which are out[8 m ..< 8 m + 8].
/// The empty asm keeps the four inputs whole vectors (see `singan_interleave_columns`).
__attribute__((target("avx2"))) static inline void
singan_rows4(const float *k, float *out) {
    __m256 k0 = _mm256_loadu_ps(k), k1 = _mm256_loadu_ps(k + 8);
    __m256 k2 = _mm256_loadu_ps(k + 16), k3 = _mm256_loadu_ps(k + 24);
    __asm__("" : "+x"(k0), "+x"(k1), "+x"(k2), "+x"(k3));
    singan_transpose4_halves(k0, k1, k2, k3, out);
}

/// out[8 j + k] = rows[k * stride + j] for k < 8, j < 16: eight rows of 16 floats (eight planes'
/// rows, `stride` floats apart) as 16 vectors over the rows. 16 loads and 48 shuffles (the usual
/// unpack, shuffle, permute of each 8 x 8 half), where gathering each vector float by float is
/// 128 loads and as many inserts.
__attribute__((target("avx2"))) static inline void
singan_transpose8x16(const float *rows, long stride, float *out) {
    for (int half = 0; half < 2; half++) {
        const float *p = rows + 8 * half;
        __m256 r0 = _mm256_loadu_ps(p), r1 = _mm256_loadu_ps(p + stride);
        __m256 r2 = _mm256_loadu_ps(p + 2 * stride), r3 = _mm256_loadu_ps(p + 3 * stride);
        __m256 r4 = _mm256_loadu_ps(p + 4 * stride), r5 = _mm256_loadu_ps(p + 5 * stride);
        __m256 r6 = _mm256_loadu_ps(p + 6 * stride), r7 = _mm256_loadu_ps(p + 7 * stride);
        // Pairs of rows interleaved: t0 = r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5], ...
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        // Four rows' column c in the low lane, column c + 4 in the high one.
        __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float *o = out + 64 * half;
        _mm256_storeu_ps(o, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(o + 8, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(o + 16, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(o + 24, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(o + 32, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(o + 40, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(o + 48, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_storeu_ps(o + 56, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
}
#endif

#endif
