import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentError } from './errors.js';
import { createLogger, scrubTokens, type AgentLogger } from './logger.js';

const TOKEN = 'at_Ab3dE5gH7j_s1Ls5AbHmLuvXySZ9Kp3R4wJ8Q';

describe('createLogger', () => {
  let dir: string;
  let logger: AgentLogger | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-log-'));
  });
  afterEach(async () => {
    await logger?.close();
    logger = undefined;
    await fs.rm(dir, { recursive: true, force: true });
  });

  const lines = async (file: string): Promise<Record<string, unknown>[]> =>
    (await fs.readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  it('writes JSON lines to a file in a directory it creates, at the configured level', async () => {
    const file = path.join(dir, 'nested', 'agent.log');
    logger = createLogger({ level: 'info', file, toStdout: false });
    logger.log.debug('not written');
    logger.log.child({ component: 'dns' }).info({ port: 53 }, 'DNS server started.');
    await logger.close();
    logger = undefined;
    const [line, ...rest] = await lines(file);
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'info',
      component: 'dns',
      port: 53,
      msg: 'DNS server started.',
    });
    expect(typeof line?.time).toBe('string');
    // Readable by its owner only.
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
  });

  it('never writes tokens, passwords, keys or credentials to the file', async () => {
    const file = path.join(dir, 'agent.log');
    logger = createLogger({ level: 'trace', file, toStdout: false });
    logger.log.info({ token: TOKEN, user: 'alice' }, 'token added');
    logger.log.info({ body: { password: 'hunter22', login_name: 'alice' } }, 'login');
    logger.log.info({ session: { authorization_token: '2Vh8abc', private_key: 'k3y' } }, 'session');
    logger.log.info({ req: { headers: { authorization: `Bearer ${TOKEN}` } } }, 'request');
    logger.log.info(
      { item: { credentials: [{ secret: { decoded: { password: 'p' } } }] } },
      'creds',
    );
    logger.log.warn(`the controller refused ${TOKEN}`);
    await logger.close();
    logger = undefined;
    const text = await fs.readFile(file, 'utf8');
    for (const secret of [
      TOKEN,
      's1Ls5AbHmLuvXySZ9Kp3R4wJ8Q',
      'hunter22',
      '2Vh8abc',
      'k3y',
      '"p"',
    ]) {
      expect(text).not.toContain(secret);
    }
    const parsed = await lines(file);
    expect(parsed[0]).toMatchObject({ token: '[REDACTED]', user: 'alice' });
    expect(parsed[1]).toMatchObject({ body: { password: '[REDACTED]', login_name: 'alice' } });
    expect(parsed[5]?.msg).toBe('the controller refused at_Ab3dE5gH7j_[REDACTED]');
  });

  it('writes to stdout too when asked', async () => {
    const stdout = new PassThrough();
    const chunks: string[] = [];
    stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
    logger = createLogger({ level: 'warn', file: null, toStdout: true, stdout });
    logger.log.info('quiet');
    logger.log.warn({ password: 'x' }, 'loud');
    await new Promise((r) => setImmediate(r));
    const out = chunks.join('');
    expect(out).toContain('"msg":"loud"');
    expect(out).toContain('"password":"[REDACTED]"');
    expect(out).not.toContain('quiet');
  });

  it('reopen() starts a new file after the old one was moved away (log rotation)', async () => {
    const file = path.join(dir, 'agent.log');
    logger = createLogger({ level: 'info', file, toStdout: false });
    logger.log.info('before rotation');
    logger.flush();
    await fs.rename(file, `${file}.1`);
    logger.reopen();
    logger.log.info('after rotation');
    await logger.close();
    logger = undefined;
    expect((await lines(`${file}.1`)).map((l) => l.msg)).toEqual(['before rotation']);
    expect((await lines(file)).map((l) => l.msg)).toEqual(['after rotation']);
  });

  it('fails at once, saying what to do, when the file cannot be written', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    await fs.writeFile(blocker, '');
    let error: unknown;
    try {
      createLogger({ level: 'info', file: path.join(blocker, 'x.log'), toStdout: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AgentError);
    const agentError = error as AgentError;
    expect(agentError.code).toBe('log.unwritable');
    expect(agentError.message).toContain(`cannot write the log file ${blocker}/x.log`);
    expect(agentError.hint).toContain('Set log_file');
  });
});

describe('scrubTokens', () => {
  it('keeps the public token id and drops the secret part', () => {
    expect(scrubTokens(`token=${TOKEN}.`)).toBe('token=at_Ab3dE5gH7j_[REDACTED].');
    expect(scrubTokens('at_short_s1abc and hello')).toBe('at_short_s1abc and hello');
  });
});

describe('AgentLogger.configure', () => {
  it('changes the level of the root and of children made before, moves the file, toggles stdout', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-log-'));
    const first = path.join(dir, 'a.log');
    const second = path.join(dir, 'b.log');
    const stdout = new PassThrough();
    const out: string[] = [];
    stdout.on('data', (c: Buffer) => out.push(c.toString()));
    const logger = createLogger({ level: 'info', file: first, toStdout: false, stdout });
    const child = logger.log.child({ component: 'dns' });
    child.debug('hidden');
    logger.configure({ level: 'debug', file: second, toStdout: true });
    child.debug('shown after reload');
    logger.log.child({ component: 'late' }).debug('late child too');
    await logger.close();
    expect(await fs.readFile(first, 'utf8')).toBe('');
    const moved = await fs.readFile(second, 'utf8');
    expect(moved).toContain('shown after reload');
    expect(moved).toContain('late child too');
    expect(out.join('')).toContain('shown after reload');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
