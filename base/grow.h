/* Growth of dynamic arrays: the one helper every part uses instead of a
 * hand-written doubling loop.  Internal to the library (base part). */
#ifndef STRAND_BASE_GROW_H
#define STRAND_BASE_GROW_H

#include <stdbool.h>
#include <stddef.h>

/* Make room for `need` more elements of `size` bytes in the array *p that
 * holds `len` of *cap allocated: on success *cap >= len + need (doubling,
 * at least `min_cap`), *p may have moved, and its first `len` elements are
 * kept.  False on allocation failure or when the size would overflow;
 * then *p and *cap are unchanged (still valid, still owned by the caller).
 * Preconditions: len <= *cap, size > 0. */
bool strand_grow(void **p, size_t *cap, size_t len, size_t need, size_t size,
		 size_t min_cap);

/* STRAND_GROW(arr, cap, len, need): strand_grow for a typed array `arr`
 * (any T *) with a size_t capacity `cap`; evaluates to the bool. */
#define STRAND_GROW(arr, cap, len, need) \
	strand_grow((void **)&(arr), &(cap), (len), (need), sizeof *(arr), 8)

#endif /* STRAND_BASE_GROW_H */
