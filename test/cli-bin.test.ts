/**
 * The installed command, as a user runs it: the built bin in a child process, real exit codes,
 * real stdout and stderr. `npm test` builds dist/ first (pretest).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeAuthorizationToken,
  ControllerClient,
  newTofuToken,
  WorkerDialer,
} from '../src/boundary/index.js';
import { systemClock } from '../src/lib/index.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function runBin(args: string[], cwd = ROOT): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd, timeout: 15_000, env: { ...process.env, BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '' } },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dir: string;
beforeAll(async () => {
  if (!existsSync(BIN))
    throw new Error(`${BIN} is missing: run "npm run build" (npm test does it)`);
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-bin-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('client-agent (built)', () => {
  it('validates the example config and prints the effective config, exit 0', async () => {
    const r = await runBin(['config', 'validate', '--config', 'config/client-agent.example.hcl']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('client-agent.example.hcl is valid');
    expect(r.stdout).toMatch(/^dns_request_timeout += "5m0s"/m);
  });

  it('prints file:line:col for a broken file and exits 1, without a stack trace', async () => {
    const file = path.join(dir, 'broken.hcl');
    await fs.writeFile(file, '# agent\nalias_refresh_interval = "60s" log_level = "info"\n');
    const r = await runBin(['config', 'validate', '--config', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^error: ${file}:2:32: Missing newline after argument`));
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('exits 2 with a suggestion for an unknown command', async () => {
    const r = await runBin(['sesions']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Did you mean sessions?');
  });

  it('diag ALIAS exits 1 when the agent is not running, naming the failed step', async () => {
    const r = await runBin(['diag', 'db.corp', '-client-agent-port', '9', '-format=json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      kind: string;
      ok: boolean;
      steps: { id: string; status: string }[];
    };
    expect(report).toMatchObject({ kind: 'alias', ok: false });
    expect(report.steps[0]).toMatchObject({ id: 'agent', status: 'fail' });
  });
});

describe('client-agent devserver (built)', () => {
  it('serves the stand-in controller and worker until SIGTERM: login, authorize, echo through the worker', async () => {
    const data = JSON.parse(
      await fs.readFile(path.join(ROOT, 'config/devserver.json'), 'utf8'),
    ) as {
      targets: { port: number; demo?: string }[];
    };
    for (const t of data.targets) if (t.demo === 'echo') t.port = 0;
    const dataFile = path.join(dir, 'devserver.json');
    await fs.writeFile(dataFile, JSON.stringify(data));
    const child = spawn(
      process.execPath,
      [BIN, 'devserver', '--port', '0', '--worker-port', '0', '--data', dataFile],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no address in: ${stderr}`));
      }, 10_000);
      child.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
        const m = /controller listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m?.[1] !== undefined && stderr.includes('Stop with Ctrl-C.')) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
    });
    const client = new ControllerClient({ address });
    try {
      const { token } = await client.authenticate('ampw_1234567890', 'admin', 'password');
      const auth = await client.authorizeSession(token, 'echo.boundary.dev');
      const sad = decodeAuthorizationToken(auth.authorization_token);
      const dialer = new WorkerDialer({ clock: systemClock, log: pino({ level: 'silent' }) });
      const stream = await dialer.open(sad, newTofuToken(), AbortSignal.timeout(5_000));
      const echoed = new Promise<string>((resolve) =>
        stream.once('data', (c: Buffer) => {
          resolve(c.toString());
        }),
      );
      stream.write('hello through the stand-in worker');
      expect(await echoed).toBe('hello through the stand-in worker');
      stream.destroy();
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exit).toBe(0);
      expect(stdout).toContain('Served a controller request.');
      expect(stdout).not.toContain(token);
    } finally {
      await client.close();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('fails clearly on a broken data file', async () => {
    const file = path.join(dir, 'data.json');
    await fs.writeFile(
      file,
      JSON.stringify({
        users: [{ login_name: 'x', password: 'y', grants: [{ target: 'ttcp_0000000000' }] }],
        targets: [],
        aliases: [],
      }),
    );
    const r = await runBin(['devserver', '--data', file, '--port', '0', '--worker-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('users[0].grants[0].target: no target "ttcp_0000000000"');
  });
});

describe('root-only commands (built)', () => {
  it('install --dry-run shows the unit and the commands without changing anything', async () => {
    const r = await runBin(['install', '--dry-run']);
    expect(r.code).toBe(0);
    if (process.platform === 'linux') {
      expect(r.stdout).toContain('Would write /etc/systemd/system/client-agent.service, then run:');
      expect(r.stdout).toContain('systemctl enable --now client-agent.service');
    }
  });

  it.skipIf(process.getuid?.() !== 0)(
    'daemon and install say they need root when run by another user',
    async () => {
      for (const args of [['daemon'], ['install']]) {
        const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [BIN, ...args], {
            cwd: '/',
            uid: 65534,
            gid: 65534,
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.once('exit', (code) => {
            resolve({ code, stderr });
          });
        });
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/needs root/);
        expect(r.stderr).toContain('hint: ');
      }
    },
  );
});
