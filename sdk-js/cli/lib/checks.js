// What surely fails on edged's engine (Duktape 2.7), found in the bundled code
// before it is lowered: BigInt literals, RegExp literals with lookbehind or the
// `u`/`v` flags (a parse error for the whole script, or a throw when
// evaluated).  The code is parsed with swc, so text in strings, comments and
// templates never matches.  Top-level await is refused by esbuild (build.js).
import swc from '@swc/core';

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

function collect(node, found) {
  if (Array.isArray(node)) {
    for (const child of node) collect(child, found);
  } else if (node !== null && typeof node === 'object') {
    if (node.type === 'RegExpLiteral' || node.type === 'BigIntLiteral') found.push(node);
    for (const key in node) {
      const child = node[key];
      if (child !== null && typeof child === 'object') collect(child, found);
    }
  }
}

// swc numbers spans in bytes from a base of its own (1 in the pinned
// version); the base is the one that puts every literal on its first byte.
function spanBase(bytes, nodes) {
  const first = (n) => (n.type === 'RegExpLiteral' ? 0x2f : n.raw.charCodeAt(0));
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

// Problems in `code` (the esbuild bundle): [{ fatal, message, line, column }]
// with the position in `code`, or line 0 when it cannot be told.
export function scanBundle(code) {
  const ast = swc.parseSync(code, { syntax: 'ecmascript', target: 'esnext' });
  const literals = [];
  collect(ast, literals);
  const bytes = Buffer.from(code, 'utf8');
  const base = spanBase(bytes, literals);
  const starts = base === null ? null : lineStarts(bytes);
  const problems = [];
  for (const lit of literals) {
    const found = lit.type === 'BigIntLiteral' ? [BIGINT] : regexpProblems(lit.pattern, lit.flags);
    for (const p of found) {
      const at = base === null ? { line: 0, column: 0 } : position(bytes, starts, lit.span.start - base);
      problems.push({ ...p, ...at });
    }
  }
  return problems;
}
