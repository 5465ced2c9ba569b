/* Corpus program: walks a linked list whose last node points to NULL
 * through a bad link, and dies of SIGSEGV inside the loop, far from the
 * last system call. */
#include <stdio.h>
#include <stdlib.h>

struct node {
	struct node *next;
	long value;
};

int main(int argc, char **argv)
{
	(void)argv;
	int n = 1000 + argc;
	struct node *head = NULL;
	for (int i = 0; i < n; i++) {
		struct node *x = malloc(sizeof *x);
		x->value = i;
		x->next = head;
		head = x;
	}
	printf("built %d nodes\n", n);
	fflush(stdout);
	/* the 700th node's link is broken: the walk reads through NULL+8 */
	struct node *p = head;
	for (int i = 0; i < 700; i++)
		p = p->next;
	p->next = (struct node *)8;
	long sum = 0;
	for (p = head; p; p = p->next)
		sum += p->value;
	printf("sum %ld\n", sum);
	return 0;
}
