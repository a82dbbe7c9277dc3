/**
 * `client-agent sessions read|cancel` against `client-agent dev` in process: a transparent
 * session (DNS answer, connection to the proxy address) and a `connect` session, read with their
 * states, connections and bytes; canceled at the worker, or through the controller when the
 * worker is gone; nobody else's to read or cancel.
 */
import { Resolver } from 'node:dns/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { asNobody, NOBODY } from '../control/as-nobody.js';
import { DEFAULT_HALF_CLOSE_MS } from '../../src/proxy/index.js';
import { ECHO, echo, startConnectBed, type ConnectBed } from '../helpers/connect-bed.js';

let bed: ConnectBed;
beforeEach(async () => {
  bed = await startConnectBed();
});
afterEach(async () => {
  await bed.close();
});

const isRoot = process.getuid?.() === 0 && process.platform === 'linux';

/** A transparent session: the alias resolved by the agent's DNS, one echo through its proxy. */
async function transparentSession(): Promise<{ id: string; address: string }> {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([bed.dev.agent.dnsAddresses[0] ?? '']);
  const [address = ''] = await resolver.resolve4(ECHO.alias);
  expect(await echo(bed.echoClientPort, 'transparent', address)).toBe('transparent');
  const [item] = bed.dev.agent.api.sessions(bed.dev.uid);
  return { id: item?.session_authorization.session_id ?? '', address };
}

describe('client-agent sessions read|cancel', () => {
  it('reads a transparent session, cancels it at the worker, and the next connection gets a new one', async () => {
    const { id, address } = await transparentSession();
    // The worker notes the connection's bytes when it closes: the agent ends it once the reply
    // has been silent for a moment after the client's FIN (a WebSocket cannot half-close), on
    // the bed's clock.
    await expect
      .poll(
        () => {
          bed.clock.advance(DEFAULT_HALF_CLOSE_MS);
          return bed.dev.devserver.sessions.get(id)?.connections[0]?.closedReason;
        },
        { timeout: 5_000 },
      )
      .toBe('closed by end-user');
    const read = await bed.cli(['sessions', 'read', id]);
    expect(read.err).toBe('');
    expect(read.code).toBe(0);
    expect(read.out).toMatch(/^Session information:$/m);
    expect(read.out).toMatch(new RegExp(`^ {2}ID: +${id}$`, 'm'));
    expect(read.out).toMatch(/^ {2}Alias: +echo\.test$/m);
    expect(read.out).toMatch(/^ {2}Status: +active$/m);
    expect(read.out).toMatch(/^ {2}Connections: +1$/m);
    expect(read.out).toMatch(/^ {2}Bytes Up\/Down: +11B\/11B$/m);
    expect(read.out).toMatch(/^ {4}active +\S+ +-$/m);
    expect(read.out).toMatch(/ 11B +11B +closed by end-user$/m);

    const canceled = await bed.cli(['sessions', 'cancel', '-id', id, '-format=json']);
    expect(canceled.code).toBe(0);
    const item = (JSON.parse(canceled.out) as { item: Record<string, unknown> }).item;
    expect(item).toMatchObject({ id, alias: ECHO.alias, canceled: 'worker' });
    expect(['canceling', 'terminated']).toContain(item.status);

    const after = await bed.cli(['sessions', 'read', id, '--json']);
    expect(JSON.parse(after.out)).toMatchObject({
      status_code: 200,
      item: { status: 'terminated', termination_reason: 'canceled' },
    });
    expect(bed.dev.agent.api.sessions(bed.dev.uid)).toEqual([]);
    expect(await echo(bed.echoClientPort, 'renewed', address)).toBe('renewed');
    const [renewed] = bed.dev.agent.api.sessions(bed.dev.uid);
    expect(renewed?.session_authorization.session_id).not.toBe(id);
  });

  it('cancels a connect session through the controller when the worker cannot be reached', async () => {
    const cmd = bed.start(['connect', ECHO.alias, '-listen-port', '0']);
    const [, id = ''] = await cmd.until(/^ {2}Session ID: +(s_\w+)$/m);
    expect((await bed.cli(['sessions', 'read', id])).out).toMatch(/^ {2}Status: +pending$/m);
    await bed.dev.devserver.worker.close();
    const canceled = await bed.cli(['sessions', 'cancel', id]);
    expect(canceled.code).toBe(0);
    expect(canceled.out).toContain(
      `Session ${id} canceled (through the controller); it is terminated.`,
    );
    expect(canceled.out).toMatch(/^ {2}Termination Reason: +canceled$/m);
    expect(canceled.out).toMatch(/^ {4}terminated +\S+ +-$/m);
    // Cancelling again is no error; the command's own cancel on Ctrl-C finds it over too.
    const again = await bed.cli(['sessions', 'cancel', id]);
    expect(again.out).toContain('had already ended');
    cmd.signals.emit('SIGINT');
    const { code, err } = await cmd.done;
    expect(err).toBe('');
    expect(code).toBe(0);
  });

  it('shows no session that the agent did not authorize for the caller', async () => {
    const other = await bed.authorizeAtController(ECHO.id);
    const read = await bed.cli(['sessions', 'read', other.id]);
    expect(read.code).toBe(1);
    expect(read.out).toBe('');
    expect(read.err).toContain(`no agent-managed session ${other.id} is yours`);
    const cancel = await bed.cli(['sessions', 'cancel', 's_0000000000']);
    expect(cancel.code).toBe(1);
    expect(bed.dev.devserver.sessions.get(other.id)?.status).toBe('pending');
    const usage = await bed.cli(['sessions', 'read']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('give the session id');
  });

  it.skipIf(!isRoot)(
    'is the caller’s only: another OS user can neither read, cancel nor connect',
    async () => {
      const { id } = await transparentSession();
      const [read, cancel, authorize] = await asNobody(bed.dev.control.port, [
        ['GET', `/v1/sessions/${id}`],
        ['POST', `/v1/sessions/${id}:cancel`, '{}'],
        ['POST', `/v1/targets/${ECHO.alias}:authorize-session`, '{}'],
      ]);
      expect(read?.[0]).toBe(404);
      expect(cancel?.[0]).toBe(404);
      expect(authorize).toEqual([
        401,
        { kind: 'Unauthenticated', message: `OS user ${NOBODY} has no Boundary token` },
      ]);
      expect(bed.dev.devserver.sessions.get(id)?.status).toBe('active');
    },
  );
});
if (!isRoot) console.log('sessions.test: the other-user case needs root on Linux (uid 65534)');
