/*
 * Expressions of the query language: a recursive-descent evaluator.
 *
 *   expr    := or
 *   or      := xor ('|' xor)*
 *   xor     := and ('^' and)*
 *   and     := shift ('&' shift)*
 *   shift   := add (('<<' | '>>') add)*
 *   add     := mul (('+' | '-') mul)*
 *   mul     := unary (('*' | '/' | '%') unary)*
 *   unary   := ('-' | '~' | '+') unary | primary
 *   primary := NUMBER | NAME | '@' REG | '(' expr ')' | '[' expr ']'
 *
 * NUMBER: 0x1f (hex), 31 (decimal), 0n31 (decimal, WinDbg style).
 * NAME: a register if the target knows one by that name, else a symbol
 * ("module!symbol", "symbol", C++ "A::B" included).  '@' forces a
 * register.  [expr] reads a pointer-sized little-endian value.
 * Arithmetic is modulo 2^64; division by zero is an error.
 */
#include <ctype.h>
#include <string.h>

#include "query/query_int.h"

struct parser {
	const struct qexpr_env *env;
	const char *s;   /* whole expression */
	size_t i;        /* current offset in s */
	strand_error *err;
	int depth;       /* nesting, bounded so input cannot exhaust the stack */
};

#define EXPR_MAX_DEPTH 64

static strand_status fail(struct parser *p, const char *what)
{
	return strand_error_set(p->err, STRAND_ERR_INVALID,
				"cannot evaluate '%s': %s at column %zu", p->s,
				what, p->i + 1);
}

static void skip(struct parser *p)
{
	while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
		p->i++;
}

static bool name_start(int c)
{
	return isalpha(c) || c == '_' || c == '$' || c == '?' || c == '.';
}

static bool name_char(int c)
{
	return isalnum(c) || c == '_' || c == '$' || c == '?' || c == '.' ||
	       c == '!' || c == ':' || c == '@' || c == '`';
}

static strand_status parse_expr(struct parser *p, uint64_t *v);

static strand_status parse_number(struct parser *p, uint64_t *v)
{
	const char *s = p->s + p->i;
	unsigned base = 10;
	size_t n = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		n = 2;
	} else if (s[0] == '0' && s[1] == 'n') {
		n = 2;
	}
	uint64_t acc = 0;
	size_t digits = 0;
	for (;; n++) {
		int c = s[n];
		unsigned d;
		if (c == '`' && digits) /* WinDbg digit separator: 7c90`e4f4 */
			continue;
		if (isdigit(c))
			d = (unsigned)(c - '0');
		else if (base == 16 && isxdigit(c))
			d = (unsigned)(tolower(c) - 'a' + 10);
		else
			break;
		if (d >= base)
			break;
		if (acc > (UINT64_MAX - d) / base) {
			p->i += n;
			return fail(p, "number too large");
		}
		acc = acc * base + d;
		digits++;
	}
	if (!digits) {
		p->i += n;
		return fail(p, "expected digits");
	}
	if (name_char((unsigned char)s[n])) {
		p->i += n;
		return fail(p, base == 10 ? "bad decimal number (hex needs 0x)"
					  : "bad hex number");
	}
	p->i += n;
	*v = acc;
	return STRAND_OK;
}

static strand_status parse_name(struct parser *p, uint64_t *v)
{
	bool force_reg = p->s[p->i] == '@';
	if (force_reg)
		p->i++;
	size_t start = p->i;
	if (!name_start((unsigned char)p->s[p->i]))
		return fail(p, "expected a name");
	while (name_char((unsigned char)p->s[p->i]))
		p->i++;
	char name[256];
	size_t len = p->i - start;
	if (len >= sizeof name)
		return fail(p, "name too long");
	memcpy(name, p->s + start, len);
	name[len] = '\0';

	const struct qexpr_env *e = p->env;
	if (!strchr(name, '!') && e->reg && e->reg(e->ud, name, v) == STRAND_OK)
		return STRAND_OK;
	if (force_reg)
		return strand_error_set(p->err, STRAND_ERR_INVALID,
					"cannot evaluate '%s': unknown register '%s'",
					p->s, name);
	if (e->sym && e->sym(e->ud, name, v) == STRAND_OK)
		return STRAND_OK;
	return strand_error_set(p->err, STRAND_ERR_INVALID,
				"cannot evaluate '%s': unknown register or symbol '%s'",
				p->s, name);
}

static strand_status parse_primary(struct parser *p, uint64_t *v)
{
	strand_status st;
	skip(p);
	int c = (unsigned char)p->s[p->i];
	if (c == '(' || c == '[') {
		size_t open_at = p->i;
		p->i++;
		if ((st = parse_expr(p, v)) < 0)
			return st;
		skip(p);
		char want = c == '(' ? ')' : ']';
		if (p->s[p->i] != want) {
			return fail(p, want == ')' ? "expected ')'" : "expected ']'");
		}
		p->i++;
		if (c == '[') {
			uint8_t b[8] = { 0 };
			unsigned n = p->env->ptr_size == 4 ? 4 : 8;
			if (!p->env->read || !p->env->read(p->env->ud, *v, b, n))
				return strand_error_set(p->err, STRAND_ERR_INVALID,
							"cannot evaluate '%s': memory at 0x%llx (column %zu) is not mapped",
							p->s, (unsigned long long)*v, open_at + 1);
			uint64_t r = 0;
			for (unsigned k = 0; k < n; k++)
				r |= (uint64_t)b[k] << (8 * k);
			*v = r;
		}
		return STRAND_OK;
	}
	if (isdigit(c))
		return parse_number(p, v);
	if (c == '@' || name_start(c))
		return parse_name(p, v);
	if (c == '\0')
		return fail(p, "expected a value");
	return fail(p, "unexpected character");
}

static strand_status parse_unary(struct parser *p, uint64_t *v)
{
	strand_status st;
	skip(p);
	char c = p->s[p->i];
	if (c == '!' && p->s[p->i + 1] != '=') {
		if (++p->depth > EXPR_MAX_DEPTH)
			return fail(p, "expression nested too deeply");
		p->i++;
		st = parse_unary(p, v);
		p->depth--;
		if (st < 0)
			return st;
		*v = !*v;
		return STRAND_OK;
	}
	if (c == '-' || c == '~' || c == '+') {
		if (++p->depth > EXPR_MAX_DEPTH)
			return fail(p, "expression nested too deeply");
		p->i++;
		st = parse_unary(p, v);
		p->depth--;
		if (st < 0)
			return st;
		if (c == '-')
			*v = (uint64_t)0 - *v;
		else if (c == '~')
			*v = ~*v;
		return STRAND_OK;
	}
	return parse_primary(p, v);
}

/* Binary operators by precedence level, lowest first. */
static const char *const levels[][4] = {
	{ "||", NULL, NULL, NULL },
	{ "&&", NULL, NULL, NULL },
	{ "|", NULL, NULL, NULL },
	{ "^", NULL, NULL, NULL },
	{ "&", NULL, NULL, NULL },
	{ "==", "!=", NULL, NULL },
	{ "<=", ">=", "<", ">" },
	{ "<<", ">>", NULL, NULL },
	{ "+", "-", NULL, NULL },
	{ "*", "/", "%", NULL },
};
#define NLEVELS (sizeof levels / sizeof levels[0])

static const char *match_op(struct parser *p, unsigned level)
{
	skip(p);
	const char *s = p->s + p->i;
	for (unsigned k = 0; k < 4 && levels[level][k]; k++) {
		const char *op = levels[level][k];
		size_t n = strlen(op);
		if (strncmp(s, op, n) != 0)
			continue;
		/* '&' is not the start of '&&', '<' not of '<<' or '<=' */
		if (n == 1 && (op[0] == '&' || op[0] == '|' || op[0] == '<' || op[0] == '>') &&
		    (s[1] == op[0] || s[1] == '='))
			continue;
		return op;
	}
	return NULL;
}

static strand_status parse_level(struct parser *p, unsigned level, uint64_t *v)
{
	if (level == NLEVELS)
		return parse_unary(p, v);
	strand_status st = parse_level(p, level + 1, v);
	if (st < 0)
		return st;
	const char *op;
	while ((op = match_op(p, level))) {
		size_t at = p->i;
		p->i += strlen(op);
		uint64_t r;
		if ((st = parse_level(p, level + 1, &r)) < 0)
			return st;
		/* comparisons and logic: 1 or 0, unsigned */
		if (!strcmp(op, "||") || !strcmp(op, "&&") || !strcmp(op, "==") ||
		    !strcmp(op, "!=") || !strcmp(op, "<=") || !strcmp(op, ">=") ||
		    ((op[0] == '<' || op[0] == '>') && !op[1])) {
			uint64_t l = *v;
			*v = !strcmp(op, "||") ? (l || r) : !strcmp(op, "&&") ? (l && r)
			     : !strcmp(op, "==") ? l == r : !strcmp(op, "!=") ? l != r
			     : !strcmp(op, "<=") ? l <= r : !strcmp(op, ">=") ? l >= r
			     : op[0] == '<' ? l < r : l > r;
			continue;
		}
		switch (op[0]) {
		case '|': *v |= r; break;
		case '^': *v ^= r; break;
		case '&': *v &= r; break;
		case '<': *v = r >= 64 ? 0 : *v << r; break;
		case '>': *v = r >= 64 ? 0 : *v >> r; break;
		case '+': *v += r; break;
		case '-': *v -= r; break;
		case '*': *v *= r; break;
		case '/':
		case '%':
			if (r == 0) {
				p->i = at;
				return fail(p, "division by zero");
			}
			*v = op[0] == '/' ? *v / r : *v % r;
			break;
		}
	}
	return STRAND_OK;
}

static strand_status parse_expr(struct parser *p, uint64_t *v)
{
	if (++p->depth > EXPR_MAX_DEPTH)
		return fail(p, "expression nested too deeply");
	strand_status st = parse_level(p, 0, v);
	p->depth--;
	return st;
}

strand_status qexpr_eval(const struct qexpr_env *env, const char *s,
			 uint64_t *out, strand_error *err)
{
	struct parser p = { .env = env, .s = s, .i = 0, .err = err };
	uint64_t v = 0;
	strand_status st = parse_expr(&p, &v);
	if (st < 0)
		return st;
	skip(&p);
	if (p.s[p.i] != '\0')
		return fail(&p, p.s[p.i] == ')' || p.s[p.i] == ']'
				      ? "unbalanced bracket"
				      : "unexpected text after the expression");
	*out = v;
	return STRAND_OK;
}
