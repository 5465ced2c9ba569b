#include "util.h"

int triangle(int n)
{
	return n <= 0 ? 0 : n + triangle(n - 1);
}
