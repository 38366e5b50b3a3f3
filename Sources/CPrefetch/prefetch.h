#ifndef SINGAN_PREFETCH_H
#define SINGAN_PREFETCH_H

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

/// Winograd2x2's column transform of one row of an input window whose columns outside
/// from..<to read as zeros: (d0 - d2, d1 + d2, d2 - d1, d1 - d3), with d0, d1 the even and odd
/// columns of row[0..<16] and d2, d3 those of row[2..<18]. Masked loads rather than a copy into
/// a stack buffer: a wide load of floats stored one by one cannot be forwarded from the store
/// buffer and waits for the stores to retire, which was half of the input transform's time at
/// 25 x 34 (perf annotate). The four results go to out[0..<32], 8 floats each, where whole-vector
/// loads of them are forwarded (or, inlined, kept in registers).
__attribute__((target("avx2"))) static inline void
singan_row_transform_clipped(const float *row, long from, long to, float *out) {
    singan_float8 a = singan_masked_load8(row, from, to);
    singan_float8 b = singan_masked_load8(row + 8, from - 8, to - 8);
    singan_float8 a2 = singan_masked_load8(row + 2, from - 2, to - 2);
    singan_float8 b2 = singan_masked_load8(row + 10, from - 10, to - 10);
    singan_float8 d0 = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
    singan_float8 d1 = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
    singan_float8 d2 = __builtin_shufflevector(a2, b2, 0, 2, 4, 6, 8, 10, 12, 14);
    singan_float8 d3 = __builtin_shufflevector(a2, b2, 1, 3, 5, 7, 9, 11, 13, 15);
    _mm256_storeu_ps(out, (__m256)(d0 - d2));
    _mm256_storeu_ps(out + 8, (__m256)(d1 + d2));
    _mm256_storeu_ps(out + 16, (__m256)(d2 - d1));
    _mm256_storeu_ps(out + 24, (__m256)(d1 - d3));
}
#endif

#endif
