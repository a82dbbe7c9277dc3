/**
 * The macOS fallback of `client-agent dev` (no root: 127.0.0.1 is the only loopback address),
 * run here with the same option: every alias answers 127.0.0.1, each alias is served on its own
 * default client port, and the echo target answers through the proxy at 127.0.0.1:7777.
 */
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_DATA_FILE } from '../../src/cli/index.js';
import { startDev, type DevRun } from '../../src/daemon/index.js';
import { systemClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials } from '../../src/platform/index.js';
import { silentLog } from '../helpers/standin.js';

let dir: string;
let run: DevRun | undefined;

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-dev-shared-'));
});
afterEach(async () => {
  await run?.close();
  run = undefined;
  await fs.rm(dir, { recursive: true, force: true });
});

function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    socket.once('data', (c: Buffer) => {
      resolve(c.toString());
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe.runIf(process.platform === 'linux')(
  'client-agent dev with one shared proxy address',
  () => {
    it('answers 127.0.0.1 for every alias and relays the echo alias on its own port', async () => {
      run = await startDev({
        dataFile: DEFAULT_DATA_FILE,
        controllerPort: 0,
        workerPort: 0,
        dnsPort: 0,
        controlPort: 0,
        upstreams: [{ address: '127.0.0.1', port: 9, family: 4 }],
        logLevel: 'error',
        stateDir: dir,
        clock: systemClock,
        log: silentLog,
        version: '0.0.0-test',
        proxyAddresses: 'shared',
        peers: new LinuxPeerCredentials(),
      });
      const resolver = new Resolver({ timeout: 3_000, tries: 1 });
      resolver.setServers([run.agent.dnsAddresses[0] ?? '']);
      expect(await resolver.resolve4('echo.boundary.dev')).toEqual(['127.0.0.1']);
      await expect(resolver.resolve6('echo.boundary.dev')).rejects.toThrow();
      expect(await echo(7777, 'shared')).toBe('shared');
      expect(run.agent.api.details(run.uid).listeners).toEqual([
        { address: '127.0.0.1', port: 7777, alias: 'echo.boundary.dev' },
      ]);
    });
  },
);
