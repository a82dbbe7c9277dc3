/**
 * Secrets stay in memory: a whole session through the agent, logging at `trace` (login and
 * add-token through the real CLI, DNS, a proxied connection through the stand-in worker, the
 * sessions listing, pause and resume), then the log and every file the agent wrote are searched
 * for the actual secret values: passwords, tokens, the session's authorization token, private key
 * and tofu token, and the brokered credential. The files are the owner's only (0600); `sessions`
 * shows the credential to its owner and nothing to another OS user.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeAuthorizationToken,
  ControllerClient,
  ed25519KeyFromGo,
} from '../../src/boundary/index.js';
import { startDev, type DevRun } from '../../src/daemon/index.js';
import { systemClock, createLogger, type AgentLogger } from '../../src/lib/index.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
const LOGIN_PASSWORD = 'Login-Pw-7c1e9a2b';
const BROKERED_PASSWORD = 'Brokered-Pw-4d8f0e3a';
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let dir: string;
let logger: AgentLogger;
let run: DevRun;
let stopped = false;
/** Every secret value seen during the run. */
const secrets = new Map<string, string>();

function remember(what: string, value: string | undefined): void {
  if (value !== undefined && value.length >= 8) secrets.set(value, what);
}

function cli(
  args: string[],
  options: { env?: Record<string, string>; uid?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '-client-agent-port', String(run.control.port)],
      {
        cwd: ROOT,
        timeout: 15_000,
        env: { PATH: process.env.PATH ?? '', ...options.env },
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.uid }),
      },
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

/** Every file under `root`, with its text and mode. */
async function filesUnder(root: string): Promise<{ file: string; text: string; mode: number }[]> {
  const out: { file: string; text: string; mode: number }[] = [];
  for (const entry of await fs.readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    out.push({
      file,
      text: await fs.readFile(file, 'latin1'),
      mode: (await fs.stat(file)).mode & 0o777,
    });
  }
  return out;
}

/** A token, and its secret part alone (what follows `at_<id>_`). */
function rememberToken(what: string, token: string | undefined): void {
  remember(what, token);
  remember(`${what} (secret part)`, token?.split('_')[2]);
}

function leaks(text: string): string[] {
  return [...secrets].filter(([value]) => text.includes(value)).map(([, what]) => what);
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ca-secrets-'));
  const data = JSON.parse(await fs.readFile(path.join(ROOT, 'config/devserver.json'), 'utf8')) as {
    users: { password: string }[];
    targets: { demo?: string; credentials?: unknown }[];
  };
  for (const user of data.users) user.password = LOGIN_PASSWORD;
  for (const target of data.targets) {
    if (target.demo === 'echo')
      target.credentials = { username: 'app', password: BROKERED_PASSWORD };
  }
  await fs.writeFile(path.join(dir, 'data.json'), JSON.stringify(data));
  const stateDir = path.join(dir, 'state');
  logger = createLogger({ level: 'trace', file: path.join(stateDir, 'dev.log'), toStdout: false });
  run = await startDev({
    dataFile: path.join(dir, 'data.json'),
    controllerPort: 0,
    workerPort: 0,
    dnsPort: 0,
    controlPort: 0,
    upstreams: [{ address: '127.0.0.1', port: 9, family: 4 }],
    logLevel: 'trace',
    stateDir,
    login: { name: 'admin', password: LOGIN_PASSWORD },
    clock: systemClock,
    log: logger.log,
    version: '0.0.0-test',
  });
  remember('the login password', LOGIN_PASSWORD);
  remember('the brokered password', BROKERED_PASSWORD);
  rememberToken('the demo token', run.agent.cache.tokenFor(run.uid)?.token);
}, 30_000);

async function stop(): Promise<void> {
  if (stopped) return;
  stopped = true;
  await run.close();
  await logger.close();
}

afterAll(async () => {
  await stop();
  await fs.rm(dir, { recursive: true, force: true });
});

describe.runIf(process.platform === 'linux')('secrets through a whole session', () => {
  it('never reach the log or the files, at trace level', async () => {
    const controller = run.devserver.controller.address;
    // login through the CLI: the password goes to the controller, the token to the agent.
    const login = await cli(
      [
        'login',
        '-addr',
        controller,
        '-auth-method-id',
        run.devserver.directory.authMethodId,
        '-login-name',
        'admin',
      ],
      { env: { BOUNDARY_AUTHENTICATE_PASSWORD_PASSWORD: LOGIN_PASSWORD } },
    );
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    rememberToken('the token from login', run.agent.cache.tokenFor(run.uid)?.token);
    // add-token with a token of our own.
    const client = new ControllerClient({ address: controller });
    const own = await client.authenticate(
      run.devserver.directory.authMethodId,
      'admin',
      LOGIN_PASSWORD,
    );
    await client.close();
    rememberToken('the added token', own.token);
    const added = await cli(['add-token', '-addr', controller], {
      env: { BOUNDARY_TOKEN: own.token },
    });
    expect(added.code).toBe(0);
    expect(run.agent.cache.tokenFor(run.uid)?.token).toBe(own.token);
    await run.agent.cache.idle();

    // DNS, then a proxied connection through the stand-in worker.
    const resolver = new Resolver({ timeout: 3_000, tries: 1 });
    resolver.setServers([run.agent.dnsAddresses[0] ?? '']);
    const [address] = await resolver.resolve4('echo.boundary.dev');
    const echoed = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(7777, address ?? '', () => socket.write('secret-free bytes'));
      socket.once('data', (c: Buffer) => {
        resolve(c.toString());
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(echoed).toBe('secret-free bytes');
    const [session] = run.agent.sessionManager.list(run.uid);
    if (session === undefined) throw new Error('no session');
    const sad = decodeAuthorizationToken(session.authorization.authorization_token);
    remember('the authorization token', session.authorization.authorization_token);
    remember('the tofu token', session.tofu);
    remember('the private key (hex)', Buffer.from(sad.privateKey).toString('hex'));
    remember('the private key (base64)', Buffer.from(sad.privateKey).toString('base64'));
    const pem = ed25519KeyFromGo(sad.privateKey).export({ format: 'pem', type: 'pkcs8' });
    remember('the private key (PEM)', pem.toString().split('\n')[1]);
    const raw = session.authorization.credentials?.[0]?.secret?.raw;
    remember('the raw brokered secret', typeof raw === 'string' ? raw : undefined);
    expect(secrets.size).toBeGreaterThanOrEqual(14);

    // The owner sees the brokered credential; the authorization token (its private key) is not sent.
    const mine = await cli(['sessions', '-format=json', '--show-credentials']);
    expect(mine.code).toBe(0);
    expect(mine.stdout).toContain(BROKERED_PASSWORD);
    expect(mine.stdout).not.toContain(session.authorization.authorization_token);
    const masked = await cli(['sessions']);
    expect(masked.stdout).toContain('echo.boundary.dev');
    expect(masked.stdout).not.toContain(BROKERED_PASSWORD);
    if (isRoot) {
      // Another OS user sees none of it.
      const theirs = await cli(['sessions', '-format=json', '--show-credentials'], {
        uid: NOBODY,
      });
      expect(theirs.code).toBe(0);
      expect(JSON.parse(theirs.stdout)).toEqual({ status_code: 200, items: [] });
    }
    const states = path.join(dir, 'state');
    const whileRunning = await filesUnder(states);
    expect(whileRunning.map((f) => path.basename(f.file)).sort()).toEqual([
      'dev-state.json',
      'dev.log',
    ]);
    for (const step of [['pause'], ['resume'], ['status', '-format=json']]) {
      expect((await cli(step)).code).toBe(0);
    }
    await stop();

    const afterwards = await filesUnder(states);
    const log = afterwards.find((f) => f.file.endsWith('dev.log'))?.text ?? '';
    // The log did see every step of the session.
    for (const seen of [
      'Session authorized.',
      'Relaying a connection.',
      '"path":"/v1/tokens"',
      '"path":"/v1/sessions"',
      'Agent paused.',
      'Resume requested.',
    ]) {
      expect(log).toContain(seen);
    }
    for (const file of [...whileRunning, ...afterwards]) {
      expect(leaks(file.text), file.file).toEqual([]);
      expect(file.mode.toString(8), file.file).toBe('600');
    }
    expect(afterwards.map((f) => path.basename(f.file)).sort()).toEqual([
      'dev-operational-state.json',
      'dev.log',
    ]);
  }, 60_000);
});
