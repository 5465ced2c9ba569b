/* Growth of dynamic arrays: see base/grow.h. */
#include "base/grow.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

bool strand_grow(void **p, size_t *cap, size_t len, size_t need, size_t size,
		 size_t min_cap)
{
	assert(p && cap && size > 0 && len <= *cap);
	if (*cap - len >= need)
		return true;
	size_t max = SIZE_MAX / size;
	if (need > max - len)
		return false;
	size_t want = len + need;
	size_t nc = *cap ? *cap : (min_cap ? min_cap : 1);
	while (nc < want)
		nc = nc > max / 2 ? max : nc * 2;
	void *q = realloc(*p, nc * size);
	if (!q)
		return false;
	*p = q;
	*cap = nc;
	return true;
}
