/* Unbounded recursion on a cyclic structure: stack overflow (SIGSEGV). */
#include <stdio.h>

struct node { struct node *next; int v; };

__attribute__((noinline)) static long depth(const struct node *n)
{
	volatile char pad[64];
	pad[0] = (char)n->v;
	return n ? 1 + depth(n->next) + pad[0] : 0;
}

int main(void)
{
	struct node a, b;
	a.next = &b; a.v = 1;
	b.next = &a; b.v = 2; /* a cycle */
	printf("%ld\n", depth(&a));
	return 0;
}
