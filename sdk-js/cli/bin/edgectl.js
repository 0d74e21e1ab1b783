#!/usr/bin/env node
// edgectl: build, deploy and run Workers-style scripts on edged.
import { parseArgs } from 'node:util';

import { BuildError, build, formatDiagnostic } from '../lib/build.js';
import { ConfigError } from '../lib/config.js';
import { ApiError } from '../lib/api.js';

// Node 18 calls its fetch experimental, on every run of deploy: not news to a user.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (/Fetch API is an experimental/.test(String(warning))) return;
  emitWarning(warning, ...rest);
};

const USAGE = `usage: edgectl build ENTRY -o OUT [--sourcemap] [--no-line-table]
       edgectl deploy [--config wrangler.toml|wrangler.json]
       edgectl dev [ENTRY | --config wrangler.toml]

environment: EDGED_API (default http://127.0.0.1:8081), EDGED_TOKEN,
             EDGED_ACCOUNT, EDGED_BIN, EDGED_JSC`;

function printWarnings(warnings) {
  for (const w of warnings) console.error(`warning: ${formatDiagnostic(w)}`);
}

async function cmdBuild(args) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      sourcemap: { type: 'boolean', default: false },
      // Node < 22.4 has no --no-X negation in parseArgs: an explicit option.
      'no-line-table': { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1 || !values.out) throw new UsageError();
  const result = await build(positionals[0], {
    outfile: values.out,
    sourcemap: values.sourcemap,
    lineTable: !values['no-line-table'],
  });
  printWarnings(result.warnings);
  console.log(`built ${values.out} (${Buffer.byteLength(result.code)} bytes)`);
}

async function cmdDeploy(args) {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' } },
  });
  const { deploy } = await import('../lib/deploy.js');
  const result = await deploy({ config: values.config, log: (m) => console.error(m) });
  printWarnings(result.warnings);
  console.log(`deployed ${result.name} version ${result.versionId}`);
}

async function cmdDev(args) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' } },
  });
  if (positionals.length > 1 || (positionals.length === 1 && values.config)) throw new UsageError();
  const { dev } = await import('../lib/dev.js');
  await dev({ entry: positionals[0], config: values.config });
}

class UsageError extends Error {}

const COMMANDS = { build: cmdBuild, deploy: cmdDeploy, dev: cmdDev };

async function main(argv) {
  const [command, ...args] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    console.error(USAGE);
    return 2;
  }
  try {
    await run(args);
    return 0;
  } catch (err) {
    if (err instanceof UsageError || (err && err.code && String(err.code).startsWith('ERR_PARSE_ARGS'))) {
      if (!(err instanceof UsageError)) console.error(`edgectl: ${err.message}`);
      console.error(USAGE);
      return 2;
    }
    if (err instanceof BuildError || err instanceof ConfigError || err instanceof ApiError) {
      console.error(err.message);
      return 1;
    }
    console.error(`edgectl: ${err && err.stack ? err.stack : err}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
