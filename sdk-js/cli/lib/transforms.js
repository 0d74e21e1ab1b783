// Build-time rewrites of the esbuild bundle, before swc lowers it, for what
// Duktape 2.7 cannot run but has an exact ES5 equivalent: RegExp literals
// with the `s` (dotAll) flag, and `__proto__: value` in object literals
// (Annex B).  Edits come from swc's syntax tree (lib/checks.js parses it), so
// text in strings, comments and templates is never touched.  No edit adds or
// removes a line: the bundle's source map stays valid once the columns of the
// edited lines are shifted (mapThrough).

// The object-literal helpers, inserted once before the bundle's first
// statement when a literal needs them.  ES5, so swc leaves them alone.
//
// `{ a, __proto__: p, b }` becomes `__edged_proto({ a, __edged_proto__: p, b })`:
// every value is evaluated where it stands, and the prototype is set once the
// literal is complete (object literals define their properties, so no setter
// of the prototype could have observed the difference).  A value that is not
// an object or null is ignored, as the spec has it.
//
// Duktape ignores a Proxy in the prototype chain (an inherited lookup never
// reaches its traps), which is how itty-router builds its routers:
// `{ __proto__: new Proxy(t, h), ... }`.  For that exact shape, the Proxy's
// target and handler are kept (`__edged_proxy_parts`), and the object comes
// back wrapped in a Proxy whose get/set/has traps do for the missing keys what
// the engine would: call the prototype's traps with the object as receiver.
export const HELPER_NAMES = ['__edged_proto', '__edged_proxy_parts'];
const PROTO_KEY = '__edged_proto__';
const HELPERS = [
  'function __edged_proxy_parts(P, t, h) {',
  '  if (!(this instanceof __edged_proxy_parts)) return new __edged_proxy_parts(P, t, h);',
  '  this.proxy = new P(t, h); this.P = P; this.target = t; this.handler = h;',
  '}',
  'function __edged_proto(o) {',
  `  var p = o.${PROTO_KEY}, parts = null, hasOwn = Object.prototype.hasOwnProperty, t, h;`,
  `  delete o.${PROTO_KEY};`,
  '  if (p !== null && typeof p === "object" && Object.getPrototypeOf(p) === __edged_proxy_parts.prototype) {',
  '    parts = p; p = p.proxy;',
  '  }',
  '  if (p === null || typeof p === "object" || typeof p === "function") Object.setPrototypeOf(o, p);',
  '  if (parts === null || parts.P !== Proxy) return o;',
  '  t = parts.target; h = parts.handler;',
  '  return new Proxy(o, {',
  '    get: function (o, k, r) {',
  '      if (hasOwn.call(o, k)) return Reflect.get(o, k, r);',
  '      return typeof h.get === "function" ? h.get(t, k, r) : Reflect.get(t, k, r);',
  '    },',
  '    set: function (o, k, v, r) {',
  '      if (hasOwn.call(o, k)) return Reflect.set(o, k, v, r);',
  '      return typeof h.set === "function" ? !!h.set(t, k, v, r) : Reflect.set(t, k, v, r);',
  '    },',
  '    has: function (o, k) {',
  '      return hasOwn.call(o, k) || (typeof h.has === "function" ? !!h.has(t, k) : k in t);',
  '    }',
  '  });',
  '}',
].map((line) => line.trim()).join(' ');

// True when a RegExp literal with these flags is rewritten without `s`: the
// `u`/`v` flags are refused anyway (lib/checks.js).
export function rewritesDotAll(flags) {
  return flags.includes('s') && !/[uv]/.test(flags);
}

// `pattern` with every `.` that is not escaped and not in a class replaced by
// `[^]`, which matches any character as `.` does with the `s` flag.
export function dotAllPattern(pattern) {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
    } else if (inClass) {
      if (c === ']') inClass = false;
      out += c;
    } else if (c === '[') {
      inClass = true;
      out += c;
    } else {
      out += c === '.' ? '[^]' : c;
    }
  }
  return out;
}

// True for a property of an object literal that sets its prototype:
// `__proto__: v` or `"__proto__": v`; not `["__proto__"]: v`, `__proto__`
// (shorthand) or `__proto__() {}`.
export function isProtoSetter(prop) {
  if (prop.type !== 'KeyValueProperty') return false;
  const k = prop.key;
  return (k.type === 'Identifier' || k.type === 'StringLiteral') && k.value === '__proto__';
}

function isProxyConstruction(node) {
  return node.type === 'NewExpression' && node.callee.type === 'Identifier' &&
    node.callee.value === 'Proxy' && Array.isArray(node.arguments) && node.arguments.length === 2 &&
    node.arguments.every((a) => !a.spread);
}

function collect(node, found) {
  if (Array.isArray(node)) {
    for (const child of node) collect(child, found);
  } else if (node !== null && typeof node === 'object') {
    if (node.type === 'RegExpLiteral' && rewritesDotAll(node.flags)) found.push(node);
    if (node.type === 'ObjectExpression' && node.properties.some(isProtoSetter)) found.push(node);
    for (const key in node) {
      const child = node[key];
      if (child !== null && typeof child === 'object') collect(child, found);
    }
  }
}

function isDirective(stmt) {
  return stmt.type === 'ExpressionStatement' && stmt.expression.type === 'StringLiteral';
}

// The edits of a parsed bundle ({ code, ast, offset(spanPosition) -> string
// index }, from checks.parseBundle): [{ start, end, text }] in string indices.
export function bundleEdits(parsed) {
  const { code, ast, offset } = parsed;
  if (!offset) return [];
  const nodes = [];
  collect(ast, nodes);
  const edits = [];
  let helpers = false;
  for (const node of nodes) {
    const start = offset(node.span.start);
    const end = offset(node.span.end);
    if (node.type === 'RegExpLiteral') {
      if (code.slice(start, end) !== `/${node.pattern}/${node.flags}`) continue;
      edits.push({ start, end, text: `/${dotAllPattern(node.pattern)}/${node.flags.replace('s', '')}` });
      continue;
    }
    if (code[start] !== '{' || code[end - 1] !== '}') continue;
    const prop = node.properties.find(isProtoSetter);
    edits.push({ start, end: start, text: '__edged_proto(' });
    edits.push({ start: offset(prop.key.span.start), end: offset(prop.key.span.end), text: PROTO_KEY });
    const v = prop.value;
    if (isProxyConstruction(v)) {
      // `new Proxy(a, b)` -> `__edged_proxy_parts(Proxy, a, b)`: only the
      // text before the callee and between the callee and its arguments.
      const vStart = offset(v.span.start);
      const cStart = offset(v.callee.span.start);
      const cEnd = offset(v.callee.span.end);
      const aStart = offset(v.arguments[0].expression.span.start);
      const open = code.indexOf('(', cEnd);
      if (/^new\s+$/.test(code.slice(vStart, cStart)) && open !== -1 && open < aStart &&
          /^\s*\(\s*$/.test(code.slice(cEnd, aStart))) {
        edits.push({ start: vStart, end: cStart, text: '__edged_proxy_parts(' });
        edits.push({ start: cEnd, end: open + 1, text: ', ' });
      }
    }
    edits.push({ start: end, end, text: ')' });
    helpers = true;
  }
  if (helpers) {
    const first = ast.body.find((s) => !isDirective(s));
    const at = first ? offset(first.span.start) : code.length;
    edits.push({ start: at, end: at, text: `${HELPERS} ` });
  }
  return edits;
}

// Applies `edits` to `code`; edits never overlap, and ones at the same place
// stay in their order.
export function applyEdits(code, edits) {
  const sorted = edits.map((e, i) => ({ ...e, i })).sort((a, b) => b.start - a.start || b.i - a.i);
  let out = code;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/* --- source maps ------------------------------------------------------------------ */

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

function decodeMappings(mappings) {
  const prev = [0, 0, 0, 0, 0];
  return mappings.split(';').map((line) => {
    prev[0] = 0;
    const segments = [];
    for (const text of line.split(',')) {
      if (text === '') continue;
      const fields = [];
      let value = 0;
      let shift = 0;
      for (const c of text) {
        const digit = B64_VALUE.get(c);
        if (digit === undefined) throw new Error(`invalid source map segment '${text}'`);
        value += (digit & 31) * 2 ** shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value % 2 ? -Math.floor(value / 2) : value / 2);
          value = 0;
          shift = 0;
        }
      }
      segments.push(fields.map((f, i) => (prev[i] += f)));
    }
    return segments;
  });
}

function encodeValue(n) {
  let v = n < 0 ? -n * 2 + 1 : n * 2;
  let out = '';
  do {
    let digit = v % 32;
    v = Math.floor(v / 32);
    if (v > 0) digit += 32;
    out += B64[digit];
  } while (v > 0);
  return out;
}

function encodeMappings(lines) {
  const prev = [0, 0, 0, 0, 0];
  return lines.map((segments) => {
    prev[0] = 0;
    return segments.map((s) => s.map((f, i) => {
      const d = f - prev[i];
      prev[i] = f;
      return encodeValue(d);
    }).join('')).join(',');
  }).join(';');
}

// Line starts (string indices) of `code`.
function lineStarts(code) {
  const starts = [0];
  for (let i = code.indexOf('\n'); i !== -1; i = code.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

function lineOf(starts, index) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// New generated column of a mapping at `column` on a line with `edits`
// (sorted by start, columns on that line): mappings after an edit move by its
// change of length, mappings inside a replaced span go to its start.
function shiftColumn(column, edits) {
  let delta = 0;
  for (const e of edits) {
    if (column < e.start || (column === e.start && e.end > e.start)) break;
    if (column < e.end) return e.start + delta;
    delta += e.text.length - (e.end - e.start);
  }
  return column + delta;
}

// The source map `map` (parsed JSON, generated positions in `code`) made to
// describe `applyEdits(code, edits)` instead.  Edits hold no line break.
export function mapThrough(map, code, edits) {
  if (edits.length === 0) return map;
  const starts = lineStarts(code);
  const byLine = new Map();
  for (const e of edits) {
    const line = lineOf(starts, e.start);
    const col = { start: e.start - starts[line], end: e.end - starts[line], text: e.text };
    if (!byLine.has(line)) byLine.set(line, []);
    byLine.get(line).push(col);
  }
  const lines = decodeMappings(map.mappings || '');
  for (const [line, list] of byLine) {
    if (!lines[line]) continue;
    list.sort((a, b) => a.start - b.start);
    for (const s of lines[line]) s[0] = shiftColumn(s[0], list);
    lines[line].sort((a, b) => a[0] - b[0]);
  }
  return { ...map, mappings: encodeMappings(lines) };
}

// Rewrites a parsed bundle: { code, map (parsed JSON), edits }.  `map` is the
// bundle's source map, adjusted to the rewritten code.
export function transformBundle(parsed, map) {
  const edits = bundleEdits(parsed);
  if (edits.length === 0) return { code: parsed.code, map, edits };
  return { code: applyEdits(parsed.code, edits), map: mapThrough(map, parsed.code, edits), edits };
}
