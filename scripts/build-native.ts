/**
 * Builds native/udp-batch (batched UDP for the DNS server) with node-gyp, on Linux only. Run by
 * `npm ci` (prepare) and `npm run build:native`. A machine without a C compiler still installs:
 * the DNS server then uses Node's dgram, and this says so. In CI a failed build fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux') {
  console.log(`native/udp-batch: not built on ${process.platform} (the DNS server uses dgram)`);
  process.exit(0);
}
// node-gyp: the one npm provides to scripts, else one on PATH
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
// Node's own headers when they sit beside it (Debian: /usr/include/node), so no download is needed
const nodeDir = path.resolve(path.dirname(process.execPath), '..');
const dirArgs =
  process.env.npm_config_nodedir === undefined &&
  existsSync(path.join(nodeDir, 'include', 'node', 'node_api.h'))
    ? [`--nodedir=${nodeDir}`]
    : [];
const result = spawnSync(command, [...args, 'rebuild', '--loglevel=error', ...dirArgs], {
  cwd: path.join(root, 'native', 'udp-batch'),
  stdio: ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
});
if (result.status !== 0) {
  const why =
    result.error?.message ??
    (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
  console.log(
    `native/udp-batch: could not build (the DNS server uses Node's dgram, slower under load):\n${why}`,
  );
  process.exit(process.env.CI === 'true' ? 1 : 0);
}
console.log('native/udp-batch: built');
