/**
 * Builds the native addons with node-gyp, on Linux only: native/udp-batch (batched UDP for the DNS
 * server) and native/sock-diag (the proxy's peer-uid lookup). Run by `npm ci` (prepare) and
 * `npm run build:native`. A machine without a C compiler still installs: the DNS server then uses
 * Node's dgram and the proxy reads /proc/net/tcp, and this says so. In CI a failed build fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Each addon, with what works instead where it is not built. */
const ADDONS = [
  ['udp-batch', "the DNS server uses Node's dgram, slower under load"],
  ['sock-diag', 'the proxy reads /proc/net/tcp to find who connects, slower'],
] as const;

if (process.platform !== 'linux') {
  console.log(`native addons: not built on ${process.platform} (not used there)`);
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
let failed = false;
for (const [name, otherwise] of ADDONS) {
  const result = spawnSync(command, [...args, 'rebuild', '--loglevel=error', ...dirArgs], {
    cwd: path.join(root, 'native', name),
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.status === 0) {
    console.log(`native/${name}: built`);
    continue;
  }
  failed = true;
  const why =
    result.error?.message ??
    (result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n');
  console.log(`native/${name}: could not build (${otherwise}):\n${why}`);
}
process.exit(failed && process.env.CI === 'true' ? 1 : 0);
