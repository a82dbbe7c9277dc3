/**
 * `client-agent connect` as a user runs it: the built bin in a child process, against the agent
 * and stand-in of `client-agent dev` in this process. A real SIGTERM ends it with exit 0 and the
 * session canceled. `npm test` builds dist/ first (pretest).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECHO, echo, startConnectBed, type ConnectBed } from '../helpers/connect-bed.js';

const BIN = path.resolve(import.meta.dirname, '../../dist/cli/bin.js');

let bed: ConnectBed;
beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run "npm run build" (npm test does it)`);
  bed = await startConnectBed();
});
afterAll(async () => {
  await bed.close();
});

describe('client-agent connect (built)', () => {
  it('relays until SIGTERM, then cancels the session and exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'connect', ECHO.alias, '-listen-port', '0'], {
      env: { ...process.env, BOUNDARY_CLIENT_AGENT_LISTENING_PORT: String(bed.dev.control.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      await expect.poll(() => /Session ID: +(s_\w+)/.exec(out), { timeout: 10_000 }).toBeTruthy();
      const port = Number(/Port: +(\d+)/.exec(out)?.[1]);
      const id = /Session ID: +(s_\w+)/.exec(out)?.[1] ?? '';
      expect(await echo(port, 'from a child')).toBe('from a child');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(err).toBe('');
      expect(out).toMatch(/Reason: +Received shutdown signal/);
      expect(bed.dev.devserver.sessions.get(id)).toMatchObject({
        status: 'terminated',
        terminationReason: 'canceled',
      });
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
