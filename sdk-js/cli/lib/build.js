// `edgectl build`: bundles a Worker with esbuild, lowers it to ES5 with swc
// (spec mode) with one source map chained through both steps, and checks that
// edged's engine (Duktape 2.7) compiles the result.  Every problem is reported
// at the original file and line.
import esbuild from 'esbuild';
import swc from '@swc/core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { builtinsPlugin } from './builtins.js';
import { parseBundle, scanBundle } from './checks.js';
import { SourceMap, lineTable, lineTableStatement } from './sourcemap.js';
import { duktapeCheck, findJsc } from './tools.js';
import { transformBundle } from './transforms.js';

// A build that failed; `diagnostics` are { file, line, message }.
export class BuildError extends Error {
  constructor(diagnostics) {
    const lines = [...new Set(diagnostics.map(formatDiagnostic))];
    super(lines.join('\n'));
    this.diagnostics = diagnostics;
  }
}

export function formatDiagnostic(d) {
  if (!d.file) return d.message;
  return d.line ? `${d.file}:${d.line}: ${d.message}` : `${d.file}: ${d.message}`;
}

// esbuild's words for what edged cannot run, in edged's words.
function esbuildMessage(text) {
  if (/^Top-level await/.test(text)) {
    return 'top-level await is not supported by edged (a Worker is bundled into a classic script)';
  }
  return text;
}

function displayPath(file) {
  const rel = path.relative(process.cwd(), file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

// Source lines of the original files, from the map's sourcesContent.
function originalLine(map, mapBase, source, line) {
  const i = map.sources.indexOf(source);
  const content = map.sourcesContent && map.sourcesContent[i];
  if (typeof content === 'string') return content.split('\n')[line - 1] || '';
  try {
    return fs.readFileSync(path.resolve(mapBase, source), 'utf8').split('\n')[line - 1] || '';
  } catch {
    return '';
  }
}

function duktapeMessage(message, sourceLine) {
  if (/invalid regexp group/.test(message) && /\(\?<[=!]/.test(sourceLine)) {
    return "RegExp lookbehind is not supported by edged's JavaScript engine";
  }
  return `edged's JavaScript engine cannot compile this: ${message}`;
}

function esbuildDiagnostic(e) {
  return {
    file: e.location ? displayPath(path.resolve(e.location.file)) : null,
    line: e.location ? e.location.line : 0,
    message: esbuildMessage(e.text),
  };
}

// Duktape's verdict on line `failure.line` of the output, at its original place.
function duktapeError(failure, mapJson, outDir, out) {
  const at = new SourceMap(mapJson).lookup(failure.line);
  if (!at) {
    return new BuildError([{ file: displayPath(out), line: failure.line, message: duktapeMessage(failure.message, '') }]);
  }
  return new BuildError([{
    file: displayPath(path.resolve(outDir, at.source)),
    line: at.line,
    message: duktapeMessage(failure.message, originalLine(mapJson, outDir, at.source, at.line)),
  }]);
}

async function bundle(entry, outfile) {
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      write: false,
      format: 'iife',
      globalName: '__worker',
      platform: 'neutral',
      target: 'esnext',
      mainFields: ['browser', 'module', 'main'],
      conditions: ['worker', 'browser'],
      sourcemap: 'external',
      sourcesContent: true,
      metafile: true,
      logLevel: 'silent',
      plugins: [builtinsPlugin],
    });
    const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
    const map = result.outputFiles.find((f) => f.path.endsWith('.map'));
    return { code: js.text, map: map.text, metafile: result.metafile, warnings: result.warnings.map(esbuildDiagnostic) };
  } catch (err) {
    if (!Array.isArray(err.errors)) throw err;
    throw new BuildError(err.errors.map(esbuildDiagnostic));
  }
}

// Builds `entry` (a path).  Options: outfile (written when given; else a
// temporary file is used for the check), sourcemap (write OUTFILE.map),
// check (run the Duktape check; default true), lineTable (append the line
// table the runtime maps error stacks with; default true).  Returns { code,
// map (JSON text), inputs (absolute paths of the bundled files), warnings,
// checked }.
export async function build(entry, { outfile, sourcemap = false, check = true, lineTable: withLineTable = true } = {}) {
  const tmp = outfile ? null : fs.mkdtempSync(path.join(os.tmpdir(), 'edgectl-'));
  const out = path.resolve(outfile || path.join(tmp, 'worker.js'));
  const outDir = path.dirname(out);
  try {
    const bundled = await bundle(path.resolve(entry), out);
    const bundledMap = new SourceMap(JSON.parse(bundled.map));
    const where = (line, column) => {
      const at = line ? bundledMap.lookup(line, column) : null;
      return at ? { file: displayPath(path.resolve(outDir, at.source)), line: at.line }
        : { file: displayPath(out), line };
    };

    const warnings = [...bundled.warnings];
    const fatal = [];
    const parsed = parseBundle(bundled.code);
    for (const p of scanBundle(parsed)) {
      const d = { ...where(p.line, p.column), message: p.message };
      (p.fatal ? fatal : warnings).push(d);
    }
    if (fatal.length > 0) throw new BuildError(fatal);

    // Rewrites of what Duktape lacks but ES5 can say (lib/transforms.js); the
    // edits keep every line, and the map follows their columns.
    const rewritten = transformBundle(parsed, JSON.parse(bundled.map));
    const lowered = swc.transformSync(rewritten.code, {
      filename: path.basename(out),
      isModule: false,
      sourceMaps: true,
      inputSourceMap: JSON.stringify(rewritten.map),
      jsc: {
        parser: { syntax: 'ecmascript' },
        target: 'es5',
        loose: false,
        externalHelpers: false,
      },
    });
    const mapJson = JSON.parse(lowered.map);
    mapJson.file = path.basename(out);
    let code = lowered.code;
    // The line table goes last (before the sourceMappingURL comment), on a line
    // of its own: every line above keeps its number, and the map stays right.
    if (withLineTable) {
      const table = lineTable(mapJson, (s) => displayPath(path.resolve(outDir, s)).split(path.sep).join('/'));
      code = `${code.replace(/\n?$/, '\n')}${lineTableStatement(table)}\n`;
    }
    if (sourcemap && outfile) code += `\n//# sourceMappingURL=${path.basename(out)}.map\n`;
    // Written under a temporary name, and renamed once it passed the check:
    // a failed build leaves no output that could be uploaded by mistake.
    const pending = `${out}.${process.pid}.tmp`;
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(pending, code);

    let checked = false;
    try {
      if (check) {
        const jsc = findJsc();
        if (jsc) {
          const failure = duktapeCheck(jsc, pending);
          if (failure) throw duktapeError(failure, mapJson, outDir, out);
          checked = true;
        } else {
          warnings.push({ message: 'edged-jsc not found (set EDGED_JSC): the output was not checked with Duktape' });
        }
      }
      fs.renameSync(pending, out);
    } catch (err) {
      fs.rmSync(pending, { force: true });
      throw err;
    }
    if (sourcemap && outfile) fs.writeFileSync(`${out}.map`, JSON.stringify(mapJson));

    const inputs = Object.keys(bundled.metafile.inputs)
      .filter((p) => !p.includes(':'))
      .map((p) => path.resolve(p));
    return { code, map: JSON.stringify(mapJson), outfile: out, outDir, inputs, warnings, checked };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
