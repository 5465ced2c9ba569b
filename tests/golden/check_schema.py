#!/usr/bin/env python3
"""Validate a JSON document against the subset of JSON Schema (draft-07)
that docs/report-schema.json uses: type, properties, required,
additionalProperties (boolean), items, enum, pattern, minimum, and $ref to
#/definitions/NAME.  No network, no third-party packages.

    check_schema.py SCHEMA DOCUMENT   -> exit 0, or 1 with one line per error
"""
import json
import re
import sys

TYPES = {
    'object': dict, 'array': list, 'string': str, 'boolean': bool,
    'null': type(None),
}


def type_ok(v, t):
    if t == 'integer':
        return isinstance(v, int) and not isinstance(v, bool)
    if t == 'number':
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    return isinstance(v, TYPES[t])


def check(schema, root, v, path, errs):
    if '$ref' in schema:
        ref = schema['$ref']
        if not ref.startswith('#/definitions/'):
            errs.append('%s: unsupported $ref %s' % (path, ref))
            return
        schema = root['definitions'][ref[len('#/definitions/'):]]
    known = {'$schema', '$id', 'title', 'description', 'type', 'properties', 'required',
             'additionalProperties', 'items', 'enum', 'pattern', 'minimum', 'definitions'}
    for k in schema:
        if k not in known:
            errs.append('%s: schema keyword %s not supported by this checker' % (path, k))
    t = schema.get('type')
    if t and not type_ok(v, t):
        errs.append('%s: expected %s, got %s' % (path, t, type(v).__name__))
        return
    if 'enum' in schema and v not in schema['enum']:
        errs.append('%s: %r not in %r' % (path, v, schema['enum']))
    if 'pattern' in schema and isinstance(v, str) and not re.search(schema['pattern'], v):
        errs.append('%s: %r does not match %s' % (path, v, schema['pattern']))
    if 'minimum' in schema and isinstance(v, (int, float)) and v < schema['minimum']:
        errs.append('%s: %r < minimum %r' % (path, v, schema['minimum']))
    if isinstance(v, dict):
        props = schema.get('properties', {})
        for r in schema.get('required', []):
            if r not in v:
                errs.append('%s: missing required %s' % (path, r))
        for k, x in v.items():
            if k in props:
                check(props[k], root, x, path + '.' + k, errs)
            elif schema.get('additionalProperties', True) is False:
                errs.append('%s: unexpected property %s' % (path, k))
    if isinstance(v, list) and 'items' in schema:
        for i, x in enumerate(v):
            check(schema['items'], root, x, '%s[%d]' % (path, i), errs)


def main():
    if len(sys.argv) != 3:
        print('usage: check_schema.py SCHEMA DOCUMENT', file=sys.stderr)
        return 2
    schema = json.load(open(sys.argv[1]))
    doc = json.load(open(sys.argv[2]))
    errs = []
    check(schema, schema, doc, '$', errs)
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == '__main__':
    sys.exit(main())
