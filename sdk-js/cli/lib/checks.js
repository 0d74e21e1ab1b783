// What surely fails on edged's engine (Duktape 2.7), found in the bundled code
// before it is lowered: BigInt literals, RegExp literals with lookbehind or the
// `u`/`v` flags (a parse error for the whole script, or a throw when
// evaluated).  The code is parsed with swc, so text in strings, comments and
// templates never matches; the same parse feeds lib/transforms.js, which
// rewrites the `s` flag away.  Top-level await is refused by esbuild (build.js).
import swc from '@swc/core';

import { rewritesDotAll } from './transforms.js';

// True when a RegExp pattern holds a lookbehind group outside a class.
export function hasLookbehind(pattern) {
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
    } else if (c === '[') {
      inClass = true;
    } else if (c === '(' && pattern[i + 1] === '?' && pattern[i + 2] === '<' &&
        (pattern[i + 3] === '=' || pattern[i + 3] === '!')) {
      return true;
    }
  }
  return false;
}

// The problems of one RegExp literal: [{ fatal, message }].
export function regexpProblems(pattern, flags) {
  const problems = [];
  if (hasLookbehind(pattern)) {
    problems.push({ fatal: true, message: "RegExp lookbehind is not supported by edged's JavaScript engine" });
  }
  for (const flag of ['u', 'v']) {
    if (flags.includes(flag)) {
      problems.push({ fatal: true, message: `RegExp flag '${flag}' is not supported by edged's JavaScript engine` });
    }
  }
  for (const flag of ['s', 'y']) {
    if (flags.includes(flag)) {
      problems.push({
        fatal: false,
        message: `RegExp flag '${flag}' is not supported by edged's JavaScript engine: the expression throws when it is evaluated`,
      });
    }
  }
  return problems;
}

// Literals, and object literals (only to tell the span base).
function collect(node, found, objects) {
  if (Array.isArray(node)) {
    for (const child of node) collect(child, found, objects);
  } else if (node !== null && typeof node === 'object') {
    if (node.type === 'RegExpLiteral' || node.type === 'BigIntLiteral') found.push(node);
    if (node.type === 'ObjectExpression') objects.push(node);
    for (const key in node) {
      const child = node[key];
      if (child !== null && typeof child === 'object') collect(child, found, objects);
    }
  }
}

// swc numbers spans in bytes from a base of its own (1 in the pinned
// version); the base is the one that puts every literal on its first byte.
function spanBase(bytes, nodes) {
  const first = (n) => {
    if (n.type === 'RegExpLiteral') return 0x2f;
    if (n.type === 'ObjectExpression') return 0x7b;
    return n.raw.charCodeAt(0);
  };
  for (const base of [1, 0]) {
    if (nodes.every((n) => bytes[n.span.start - base] === first(n))) return base;
  }
  return null;
}

const BIGINT = { fatal: true, message: "BigInt literals are not supported by edged's JavaScript engine" };

// Byte offsets where each line starts.
function lineStarts(bytes) {
  const starts = [0];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 0x0a) starts.push(i + 1);
  return starts;
}

// 1-based line and 0-based UTF-16 column of byte `offset`.
function position(bytes, starts, offset) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: bytes.subarray(starts[lo], offset).toString('utf8').length };
}

// String index in `code` of every byte offset of its UTF-8 form.
function byteToIndex(code, bytes) {
  if (bytes.length === code.length) return (offset) => offset;
  const index = new Uint32Array(bytes.length + 1);
  let b = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code.charCodeAt(i);
    const pair = c >= 0xd800 && c < 0xdc00 && (code.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    for (let k = 0; k < n; k++) index[b + k] = i;
    b += n;
    if (n === 4) i++;
  }
  index[bytes.length] = code.length;
  return (offset) => index[offset];
}

// Parses the esbuild bundle once for the checks and the rewrites:
// { code, ast, literals, offset(span position) -> string index, or null
// when swc's span base cannot be told }.
export function parseBundle(code) {
  const ast = swc.parseSync(code, { syntax: 'ecmascript', target: 'esnext' });
  const literals = [];
  const objects = [];
  collect(ast, literals, objects);
  const bytes = Buffer.from(code, 'utf8');
  const base = spanBase(bytes, [...literals, ...objects]);
  const toIndex = byteToIndex(code, bytes);
  return {
    code,
    ast,
    literals,
    bytes,
    base,
    offset: base === null ? null : (pos) => toIndex(pos - base),
  };
}

// Problems in `code` (the esbuild bundle, or parseBundle's result):
// [{ fatal, message, line, column }] with the position in `code`, or line 0
// when it cannot be told.  The `s` flag is no problem where lib/transforms.js
// rewrites it.
export function scanBundle(code) {
  const { literals, bytes, base } = typeof code === 'string' ? parseBundle(code) : code;
  const starts = base === null ? null : lineStarts(bytes);
  const problems = [];
  for (const lit of literals) {
    let found = lit.type === 'BigIntLiteral' ? [BIGINT] : regexpProblems(lit.pattern, lit.flags);
    if (lit.type === 'RegExpLiteral' && base !== null && rewritesDotAll(lit.flags)) {
      found = found.filter((p) => !p.message.startsWith("RegExp flag 's'"));
    }
    for (const p of found) {
      const at = base === null ? { line: 0, column: 0 } : position(bytes, starts, lit.span.start - base);
      problems.push({ ...p, ...at });
    }
  }
  return problems;
}
