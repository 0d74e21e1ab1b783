// Reading a source map (v3) back: which original file and line a line of the
// built script came from.  Only what edgectl's error messages need.

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_VALUE = new Map([...B64].map((c, i) => [c, i]));

// Decodes one segment's base64 VLQ fields ("AAgBC" -> [0, 0, 16, 1]).
function decodeSegment(text) {
  const fields = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = B64_VALUE.get(c);
    if (digit === undefined) throw new Error(`invalid source map segment '${text}'`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      fields.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return fields;
}

export class SourceMap {
  // `map` is the parsed JSON of a v3 source map; `base` the directory its
  // `sources` are relative to.
  constructor(map, base = '') {
    this.sources = (map.sources || []).map((s) => (map.sourceRoot ? map.sourceRoot + s : s));
    this.base = base;
    this.lines = [];
    let source = 0;
    let origLine = 0;
    let origColumn = 0;
    for (const line of (map.mappings || '').split(';')) {
      const segments = [];
      let column = 0;
      for (const text of line.split(',')) {
        if (text === '') continue;
        const f = decodeSegment(text);
        column += f[0];
        if (f.length >= 4) {
          source += f[1];
          origLine += f[2];
          origColumn += f[3];
          segments.push({ column, source, line: origLine, originalColumn: origColumn });
        }
      }
      this.lines.push(segments);
    }
  }

  // The original position of 1-based `line` (and 0-based `column` when known)
  // of the generated script: { source, line (1-based), column } or null.
  // Without a column, the line's first mapped segment stands for it.
  lookup(line, column) {
    const segments = this.lines[line - 1];
    if (!segments || segments.length === 0) return null;
    let hit = segments[0];
    if (column !== undefined) {
      for (const s of segments) if (s.column <= column) hit = s;
    }
    return { source: this.sources[hit.source], line: hit.line + 1, column: hit.originalColumn };
  }
}

// The compact line table `edgectl build` appends to its output, read by the
// runtime (sdk-js/runtime/10-console.js) to show errors at their original
// place.  For each line of the built script, the original source and line of
// its first mapping, as one token per line, joined with ',':
//   ''      the line has no mapping;
//   'S:L'   source index S (in `sources`), original line L (1-based);
//   'N'     the source of the previous mapped line, its original line + N
//           (N a signed decimal: '1', '0', '-3');
// and a token repeated k times in a row is written once as 'TOKEN*k'.
// Trailing unmapped lines are left out.  `sourceName` turns a map source into
// the name shown.  Returns { sources, lines }.
export function lineTable(map, sourceName = (s) => s) {
  const sm = new SourceMap(map);
  const sources = sm.sources.map((s) => sourceName(s));
  const tokens = [];
  let prevSource = -1;
  let prevLine = 0;
  for (let i = 0; i < sm.lines.length; i++) {
    const first = sm.lines[i][0];
    if (!first) {
      tokens.push('');
      continue;
    }
    const line = first.line + 1;
    tokens.push(first.source === prevSource ? String(line - prevLine) : `${first.source}:${line}`);
    prevSource = first.source;
    prevLine = line;
  }
  while (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
  const runs = [];
  for (let i = 0; i < tokens.length;) {
    let k = 1;
    while (i + k < tokens.length && tokens[i + k] === tokens[i]) k++;
    runs.push(k > 1 ? `${tokens[i]}*${k}` : tokens[i]);
    i += k;
  }
  return { sources, lines: runs.join(',') };
}

// The line table as the statement appended to the built script (one line;
// JSON is JavaScript once U+2028/U+2029 are escaped).
export function lineTableStatement(table) {
  const json = JSON.stringify({ sources: table.sources, lines: table.lines })
    .replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  return `var __edged_lines = ${json};`;
}
