/**
 * `client-agent connect` in-process against `client-agent dev` (stand-in controller and worker,
 * echo targets, the agent with its control API): by alias, target id and authorization token;
 * the default port and its fallback; the ends of a session (Ctrl-C, connection limit, expiry);
 * `-exec` with a real client.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_HALF_CLOSE_MS } from '../../src/proxy/index.js';
import { advanceUntil } from '../helpers/advance-clock.js';
import { ECHO, echo, LIMITED, startConnectBed, type ConnectBed } from '../helpers/connect-bed.js';

let bed: ConnectBed;
beforeEach(async () => {
  bed = await startConnectBed();
});
afterEach(async () => {
  await bed.close();
});

const hasNc = (() => {
  try {
    execFileSync('nc', ['-h'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // netcat-openbsd prints its usage and exits 0; others exit 1 but exist.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();
if (!hasNc) console.log('connect.test: nc is not installed; -exec runs a node client instead');

function storeSession(id: string) {
  const session = bed.dev.devserver.sessions.get(id);
  if (session === undefined) throw new Error(`the stand-in has no session ${id}`);
  return session;
}

describe('client-agent connect', () => {
  it('connects by alias on the target’s default client port, relays, and cancels on Ctrl-C', async () => {
    const cmd = bed.start(['connect', ECHO.alias]);
    const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
    const [, id = ''] = await cmd.until(/^ {2}Session ID: +(s_\w+)$/m);
    expect(Number(port)).toBe(bed.echoClientPort);
    expect(cmd.io.out()).toMatch(/^Proxy listening information:$/m);
    expect(cmd.io.out()).toMatch(/^ {2}Address: +127\.0\.0\.1$/m);
    expect(cmd.io.out()).toMatch(/^ {2}Connection Limit: +-1$/m);
    expect(cmd.io.out()).toMatch(/^ {2}Protocol: +tcp$/m);
    expect(await echo(Number(port), 'hello')).toBe('hello');
    expect(await echo(Number(port), 'again')).toBe('again');
    await cmd.until(/Connections Left: +-1/);
    cmd.signals.emit('SIGINT');
    const result = await cmd.done;
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/Termination information:\n {2}Reason: +Received shutdown signal/);
    const session = storeSession(id);
    expect(session.status).toBe('terminated');
    expect(session.terminationReason).toBe('canceled');
    expect(session.connections).toHaveLength(2);
    // An agent-managed session: the agent lets it go when it is canceled.
    const read = await bed.cli(['sessions', 'read', id, '-format=json']);
    expect(JSON.parse(read.out)).toMatchObject({ item: { id, alias: ECHO.alias } });
  });

  it('connects by target id with -format=json and -listen-port 0, and ends on SIGTERM', async () => {
    const cmd = bed.start(['connect', '-target-id', ECHO.id, '-listen-port', '0', '-format=json']);
    await cmd.until(/"session_id"/);
    const info = JSON.parse(cmd.io.out().split('\n')[0] ?? '') as Record<string, unknown>;
    expect(Object.keys(info).sort()).toEqual([
      'address',
      'connection_limit',
      'expiration',
      'port',
      'protocol',
      'session_id',
    ]);
    expect(info).toMatchObject({ address: '127.0.0.1', protocol: 'tcp', connection_limit: -1 });
    expect(info.port).not.toBe(bed.echoClientPort);
    expect(await echo(info.port as number, 'json')).toBe('json');
    await cmd.until(/"connections_left"/);
    cmd.signals.emit('SIGTERM');
    const { code, out } = await cmd.done;
    expect(code).toBe(0);
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    expect(lines.slice(1)).toEqual([
      { connections_left: -1 },
      { termination_reason: 'Received shutdown signal' },
    ]);
    expect(storeSession(info.session_id as string).terminationReason).toBe('canceled');
  });

  it('listens on a free port when the default client port is taken', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(bed.echoClientPort, '127.0.0.1', resolve));
    try {
      const cmd = bed.start(['connect', '-alias', ECHO.alias]);
      const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
      expect(Number(port)).not.toBe(bed.echoClientPort);
      expect(await echo(Number(port), 'moved')).toBe('moved');
      cmd.signals.emit('SIGINT');
      expect((await cmd.done).code).toBe(0);
    } finally {
      holder.close();
    }
  });

  it('uses an authorization token as given, on the command line or as JSON on stdin', async () => {
    const first = await bed.authorizeAtController(ECHO.id);
    const cmd = bed.start(['connect', '-authz-token', first.token, '-listen-port', '0']);
    const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
    expect(cmd.io.out()).toContain(first.id);
    expect(await echo(Number(port), 'token')).toBe('token');
    cmd.signals.emit('SIGINT');
    expect((await cmd.done).code).toBe(0);
    // Not agent-managed: canceled at the worker by the command itself.
    expect(storeSession(first.id).terminationReason).toBe('canceled');

    const second = await bed.authorizeAtController(ECHO.alias);
    const piped = bed.start(['connect', '-authz-token', '-', '-listen-port', '0'], {
      stdin: second.json,
    });
    const [, port2] = await piped.until(/^ {2}Port: +(\d+)$/m);
    expect(await echo(Number(port2), 'piped')).toBe('piped');
    piped.signals.emit('SIGINT');
    expect((await piped.done).code).toBe(0);
    expect(storeSession(second.id).status).toBe('terminated');
  });

  it('ends by itself when the connection limit is used up', async () => {
    const cmd = bed.start(['connect', LIMITED.alias, '-listen-port', '0']);
    const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
    const [, id = ''] = await cmd.until(/^ {2}Session ID: +(s_\w+)$/m);
    expect(cmd.io.out()).toMatch(/^ {2}Connection Limit: +1$/m);
    expect(await echo(Number(port), 'only')).toBe('only');
    // The relay ends the worker side after the half-close time, on the bed's clock.
    const { code, out } = await advanceUntil(bed.clock, cmd.done, DEFAULT_HALF_CLOSE_MS);
    expect(code).toBe(0);
    expect(out).toMatch(/Connections Left: +0/);
    expect(out).toMatch(/Reason: +No connections left in session/);
    await expect(echo(Number(port), 'more')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    // The worker notes the closed connection on its own time.
    await expect.poll(() => storeSession(id).terminationReason).toBe('connection limit');
  });

  it('ends by itself when the session expires, closing its connections', async () => {
    const cmd = bed.start(['connect', ECHO.alias, '-listen-port', '0']);
    const [, port] = await cmd.until(/^ {2}Port: +(\d+)$/m);
    const [, id = ''] = await cmd.until(/^ {2}Session ID: +(s_\w+)$/m);
    const client = net.connect(Number(port), '127.0.0.1');
    const closed = new Promise((resolve) => client.once('close', resolve));
    client.on('error', () => undefined);
    await cmd.until(/Connections Left: +-1/);
    bed.clock.advance(3_601_000);
    const { code, out } = await cmd.done;
    expect(code).toBe(0);
    expect(out).toMatch(/Reason: +Session has expired/);
    await closed;
    expect(storeSession(id).terminationReason).toBe('timed out');
  });

  // A WebSocket has no half-close: a client that shuts its side down at once (nc at the end of
  // its input) ends the whole connection, as with Boundary; so nc's input stays open a while.
  it('-exec runs a real client with {{boundary.ip}} and {{boundary.port}}, exits with its status and ends the session', async () => {
    const args = hasNc
      ? [
          'sh',
          '--',
          '-c',
          '(printf through-nc; sleep 2) | nc -q 0 "$0" "$1"; exit 3',
          '{{boundary.ip}}',
          '{{ boundary.port }}',
        ]
      : [
          process.execPath,
          '--',
          '-e',
          `const s=require('net').connect(+process.argv[2],process.argv[1],()=>s.write('through-node'));s.on('data',(d)=>{process.stdout.write(d);s.destroy()});s.on('close',()=>process.exit(3))`,
          '{{boundary.ip}}',
          '{{ boundary.port }}',
        ];
    const [program = '', ...rest] = args;
    const cmd = bed.start(['connect', ECHO.alias, '-listen-port', '0', '-exec', program, ...rest]);
    const { code, out, err } = await advanceUntil(bed.clock, cmd.done, DEFAULT_HALF_CLOSE_MS);
    expect(err).toBe('');
    expect(code).toBe(3);
    expect(out).toContain(hasNc ? 'through-nc' : 'through-node');
    expect(out).not.toContain('Connection information');
    const id = /Session ID: +(s_\w+)/.exec(out)?.[1] ?? '';
    expect(storeSession(id)).toMatchObject({ status: 'terminated', terminationReason: 'canceled' });
  });
});
