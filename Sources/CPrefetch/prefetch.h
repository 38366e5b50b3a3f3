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

#endif
