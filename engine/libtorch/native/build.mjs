#!/usr/bin/env node
// Builds the libtorch addon with node-gyp. `--if-available` (used by `npm install`) skips quietly when no libtorch
// is found, so that users of the cpu or tfjs-node backends can still install.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { findLibtorch } from './find-libtorch.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ifAvailable = process.argv.includes('--if-available');

let libtorch;
try {
  libtorch = findLibtorch();
} catch (e) {
  console.error(`sqakd: ${e.message}`);
  process.exit(1);
}
if (!libtorch) {
  const how = 'install libtorch (Debian/Ubuntu: `sudo apt-get install libtorch-dev`) or set LIBTORCH to a libtorch ' +
    'folder (a standalone libtorch, or the torch/ folder of a PyTorch installation), then run `npm run build:native`';
  if (ifAvailable) {
    console.warn(`sqakd: libtorch not found, the native backend was not built; ${how}`);
    process.exit(0);
  }
  console.error(`sqakd: libtorch not found; ${how}`);
  process.exit(1);
}
console.log(`sqakd: building the libtorch addon against ${libtorch.origin} at ${libtorch.prefix}` +
  `${libtorch.cuda ? ' (CUDA)' : ''}`);

// node-gyp downloads Node's headers unless told where they are; machines without network access have them
// beside the node binary (or npm passes npm_config_nodedir).
const args = ['rebuild', '--release', '-j', 'max'];
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const nodeGyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
const result = spawnSync(process.execPath, [nodeGyp, ...args], { cwd: here, stdio: 'inherit' });
if (result.status !== 0) {
  console.error('sqakd: building the libtorch addon failed (see the compiler output above)');
  process.exit(result.status ?? 1);
}
console.log(`sqakd: built ${join(here, 'build', 'Release', 'sqakd_libtorch.node')}`);
