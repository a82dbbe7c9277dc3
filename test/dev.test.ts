/**
 * `client-agent dev` as a user starts it (the built bin in a child process): its DNS answers the
 * echo alias, bytes echo through the proxy and the stand-in worker, and Ctrl-C (SIGINT) stops it
 * cleanly, leaving no state file. Upstreams are a loopback port where nothing answers.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { which } from './helpers/dns-dnsmasq.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
let dir: string;
const hasNc = which('nc') !== undefined;
if (!hasNc)
  console.log('nc is not installed (Debian: netcat-openbsd): the Quick start nc line is not run');
const hasDig = (() => {
  try {
    execFileSync('dig', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    console.log(
      "dig is not installed (Debian: bind9-dnsutils): checking the demo with Node's resolver only",
    );
    return false;
  }
})();

function runBin(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, timeout: 15_000 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          stdout,
          stderr,
        });
      },
    );
  });
}

beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run "npm run build" (npm test does it)`);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-dev-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('client-agent dev', () => {
  it('answers the echo alias, relays bytes through the proxy, and stops cleanly on SIGINT', async () => {
    const args = [
      'dev',
      '--state-dir',
      dir,
      '--controller-port',
      '0',
      '--worker-port',
      '0',
      '--dns-port',
      '0',
      '--control-port',
      '0',
      '--upstream',
      '127.0.0.1:9',
    ];
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    try {
      const dnsPort = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`not started: ${stderr}`));
        }, 15_000);
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
          const m = /DNS: 127\.0\.0\.1:(\d+)/.exec(stderr);
          if (m?.[1] !== undefined && stderr.includes('Stop with Ctrl-C.')) {
            clearTimeout(timer);
            resolve(Number(m[1]));
          }
        });
        child.once('exit', (code) => {
          reject(new Error(`exited ${String(code)}: ${stderr}`));
        });
      });
      expect(stderr).toContain('echo.boundary.dev (port 7777)');
      const resolver = new Resolver({ timeout: 3_000, tries: 1 });
      resolver.setServers([`127.0.0.1:${dnsPort}`]);
      const [address] = await resolver.resolve4('echo.boundary.dev');
      if (hasDig) {
        // The real dig, as the README's Quick start says.
        const dig = execFileSync(
          'dig',
          ['+short', '@127.0.0.1', '-p', String(dnsPort), 'echo.boundary.dev'],
          {
            encoding: 'utf8',
            timeout: 10_000,
          },
        ).trim();
        expect(dig).toBe(address);
      }
      expect(address).toMatch(/^127\.100\./);
      const echoed = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(7777, address ?? '', () => socket.write('hello from the test'));
        socket.once('data', (c: Buffer) => {
          resolve(c.toString());
          socket.destroy();
        });
        socket.once('error', reject);
      });
      expect(echoed).toBe('hello from the test');
      if (hasNc) {
        // The Quick start's line: nc ends its side after "hello" and still gets the echo back.
        const nc = execFileSync('nc', ['-q', '1', address ?? '', '7777'], {
          input: 'hello\n',
          encoding: 'utf8',
          timeout: 10_000,
        });
        expect(nc).toBe('hello\n');
      }
      const controlPort = /Control API: http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)?.[1] ?? '';
      const status = await runBin(['status', '-format=json', '-client-agent-port', controlPort]);
      expect(status.code).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({
        status_code: 200,
        item: { status: 'running', version: expect.any(String) as string },
      });
      const sessions = await runBin(['sessions', '--json', '-client-agent-port', controlPort]);
      expect(JSON.parse(sessions.stdout)).toMatchObject({
        status_code: 200,
        items: [{ alias: 'echo.boundary.dev' }],
      });
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      expect(await exit).toBe(0);
      expect(stderr).toContain('client-agent dev stopped.');
      expect(existsSync(path.join(dir, 'dev-state.json'))).toBe(false);
      const log = await fs.readFile(path.join(dir, 'dev.log'), 'utf8');
      expect(log).toContain('Session authorized.');
      expect(log).not.toMatch(/at_[0-9A-Za-z]{10}_s1/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
