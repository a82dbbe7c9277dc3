/**
 * Another OS user's DNS query never creates a session on a token holder's account, for real: as
 * root, the agent holds a token for uid 65534 (nobody) only; root (this process) looks the alias
 * up, and the stand-in controller sees no session, yet uid 65534's connection to the answer
 * works (it authorizes that user's own session). Uid 65534's own lookup does warm its session. The
 * agent finds each asker from the kernel (sock_diag), the stand-in runs on loopback.
 */
import { execFile } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerClient } from '../../src/boundary/index.js';
import { Agent } from '../../src/daemon/index.js';
import { startDevserver, type Devserver } from '../../src/devserver/index.js';
import { ManualClock } from '../../src/lib/index.js';
import { LinuxPeerCredentials, loadSockDiag } from '../../src/platform/index.js';
import { testAgentConfig } from '../helpers/agent-config.js';
import { silentLog } from '../helpers/standin.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ALIAS = 'echo.boundary.dev';
const NOBODY = 65534;
/** The data file's second user, whose token the agent holds for nobody. */
const HOLDER = 'u_0987654321';
const ECHO = 'ttcp_echo000001';

const skip =
  process.platform !== 'linux' || process.getuid?.() !== 0
    ? 'it needs root on Linux to run a child as uid 65534'
    : loadSockDiag() === undefined && process.env.CI !== 'true'
      ? 'native/sock-diag is not built (the UDP asker lookup needs it)'
      : undefined;
if (skip !== undefined) console.log(`warm-other-user.test: skipped, ${skip}`);

/** Runs in the child (as nobody): resolve the alias (or take the address given), then echo. */
const CHILD = `
const dns = require('node:dns/promises');
const net = require('node:net');
const [server, alias, given] = process.argv.slice(1);
(async () => {
  let address = given;
  if (address === '') {
    const resolver = new dns.Resolver({ timeout: 3000, tries: 1 });
    resolver.setServers([server]);
    [address] = await resolver.resolve4(alias);
  }
  const echoed = await new Promise((resolve, reject) => {
    const s = net.connect(7777, address, () => s.write('ping'));
    s.once('data', (c) => { resolve(String(c)); s.destroy(); });
    s.once('error', reject);
  });
  process.stdout.write(JSON.stringify({ address, echoed }));
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

function asNobody(server: string, address = ''): Promise<{ address: string; echoed: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, server, ALIAS, address],
      { uid: NOBODY, gid: NOBODY, cwd: '/', timeout: 10_000, env: {} },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as { address: string; echoed: string });
      },
    );
  });
}

describe.skipIf(skip !== undefined)('a DNS query from another OS user', () => {
  let dir: string;
  let devserver: Devserver;
  let agent: Agent;

  /** The agent with nobody's token; `read` on the echo target for its user when asked. */
  async function start(read: boolean): Promise<void> {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-warm-'));
    const data = JSON.parse(
      await fs.readFile(path.join(ROOT, 'config/devserver.json'), 'utf8'),
    ) as { users: { id: string; grants: { target: string; actions: string[] }[] }[] };
    for (const grant of data.users.find((u) => u.id === HOLDER)?.grants ?? []) {
      if (grant.target === ECHO)
        grant.actions = read ? ['read', 'authorize-session'] : ['authorize-session'];
    }
    await fs.writeFile(path.join(dir, 'data.json'), JSON.stringify(data));
    const clock = new ManualClock(Date.now());
    devserver = await startDevserver({
      dataFile: path.join(dir, 'data.json'),
      host: '127.0.0.1',
      port: 0,
      workerPort: 0,
      clock,
      log: silentLog,
    });
    agent = new Agent({
      config: await testAgentConfig(dir, '127.103.0.0/16'),
      profile: { name: 'dev', dnsAddresses: ['127.0.0.1'], dnsPort: 0, systemUpstreams: [] },
      clock,
      log: silentLog,
      peers: new LinuxPeerCredentials(),
      version: '0.1.0',
    });
    await agent.start();
    const client = new ControllerClient({ address: devserver.controller.address });
    const { token } = await client.authenticate(
      devserver.directory.authMethodId,
      'user',
      'password',
    );
    await client.close();
    await agent.api.addToken(NOBODY, devserver.controller.address, token);
    await agent.cache.idle();
  }

  afterEach(async () => {
    await agent.close();
    await devserver.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const sessionsOf = () => devserver.sessions.all().map((s) => s.userId);
  const resolveAsRoot = () => {
    const resolver = new Resolver({ timeout: 3_000, tries: 1 });
    resolver.setServers([agent.dnsAddresses[0] ?? '']);
    return resolver.resolve4(ALIAS);
  };

  beforeEach(() => {
    expect(process.getuid?.()).toBe(0);
  });

  it('root looks up nobody’s alias: no session on nobody’s account; nobody connects and it works', async () => {
    await start(true);
    const [address] = await resolveAsRoot();
    expect(address).toMatch(/^127\.103\./);
    expect(sessionsOf()).toEqual([]);
    // root may not use the answer: the connection is checked against its own user
    const { echoed } = await asNobody(agent.dnsAddresses[0] ?? '', address);
    expect(echoed).toBe('ping');
    expect(sessionsOf()).toEqual([HOLDER]);
  });

  it('without a read grant root’s lookup is not answered and makes no session; nobody’s own lookup warms nobody’s session', async () => {
    await start(false);
    await expect(resolveAsRoot()).rejects.toThrow();
    expect(sessionsOf()).toEqual([]);
    expect(agent.api.status(NOBODY).errors.join('\n')).toContain(
      'reading its target ttcp_echo000001 failed',
    );
    const { address, echoed } = await asNobody(agent.dnsAddresses[0] ?? '');
    expect(address).toMatch(/^127\.103\./);
    expect(echoed).toBe('ping');
    expect(sessionsOf()).toEqual([HOLDER]);
  });
});
