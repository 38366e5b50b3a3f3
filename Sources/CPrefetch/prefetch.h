#ifndef SINGAN_PREFETCH_H
#define SINGAN_PREFETCH_H

/// Hints that the cache line holding `address` will soon be read. Never faults, so the address may
/// lie past the end of a buffer. Swift has no spelling for the prefetch instruction.
static inline void prefetch_for_read(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Hints that the cache line holding `address` will soon be written.
static inline void prefetch_for_write(const void *address) { __builtin_prefetch(address, 1, 3); }

#endif
