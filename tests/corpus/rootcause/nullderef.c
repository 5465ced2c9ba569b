/* A lookup that returns NULL for a missing key; the caller uses the
 * result without checking: SIGSEGV in main, the bad pointer from lookup(). */
#include <stdio.h>
#include <string.h>

struct entry { const char *key; const char *value; };
static const struct entry table[] = { { "alpha", "1" }, { "beta", "2" } };

__attribute__((noinline)) static const struct entry *lookup(const char *key)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (!strcmp(table[i].key, key))
			return &table[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct entry *e = lookup(argc > 1 ? argv[1] : "gamma");
	printf("value: %s\n", e->value);
	return 0;
}
