/**
 * Whose session a DNS query warms (AliasReadiness), against the stand-in controller and the real
 * session manager and listeners; the asker (who sent the query) is given, as queryAsker would
 * find it. Only a token holder's own query authorizes a session; anyone else's reads the target
 * for its port and leaves the session to the connection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  SharedAddressAllocator,
  AliasReadiness,
  TargetUnreadableError,
} from '../../src/proxy/index.js';
import {
  ALIAS,
  echoThrough,
  PROXY_IP,
  startProxyBed,
  UID,
  type ProxyBed,
} from '../helpers/proxy-bed.js';
import { silentLog } from '../helpers/standin.js';

const TARGET = 'ttcp_echo000001';
const USER = 'u_alice00001';
/** Where a query came from: the asker below stands in for the OS lookup. */
const ORIGIN = {
  transport: 'udp',
  client: { address: '127.0.0.1', port: 40000 },
  server: { address: '127.0.0.1', port: 53 },
} as const;

let bed: ProxyBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

/** The bed's proxy service whose queries all come from `asker`; counts the asker lookups. */
async function start(
  asker: number | undefined,
): Promise<{ proxy: AliasReadiness; asked: number[] }> {
  bed = await startProxyBed({ quiet: true });
  const { authorizer } = bed;
  const asked: number[] = [];
  const proxy = new AliasReadiness({
    allocator: new SharedAddressAllocator(PROXY_IP),
    sessions: bed.sessions,
    listeners: bed.listeners,
    asker: () => {
      asked.push(asker ?? -1);
      return Promise.resolve(asker);
    },
    readTarget: (uid, id, signal) => authorizer.readTarget(uid, id, signal),
    log: silentLog,
  });
  return { proxy, asked };
}

function theBed(): ProxyBed {
  if (bed === undefined) throw new Error('no bed');
  return bed;
}

function entry() {
  const found = bed?.cache.snapshot().lookup(ALIAS);
  if (found === undefined) throw new Error('alias not cached');
  return found;
}

describe('whose session a DNS query warms', () => {
  it('the token holder asking: their own session is authorized before the answer', async () => {
    const { proxy, asked } = await start(UID);
    await proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000));
    expect(bed?.store.all().map((s) => s.userId)).toEqual([USER]);
    // ready now: later answers come from memory, without asking the OS who asked
    expect(proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000))).toEqual({ v4: PROXY_IP });
    expect(asked).toEqual([UID]);
    const port = bed?.echo.address().port ?? 0;
    expect(String(await echoThrough(await theBed().connect(port), Buffer.from('warm')))).toBe(
      'warm',
    );
    expect(bed?.store.all()).toHaveLength(1);
  });

  for (const [who, asker] of [
    ['another OS user', UID + 1],
    ['an asker that cannot be told (a local forwarder)', undefined],
  ] as const) {
    it(`${who} asking: no session; the target is read for the port and the holder's connection authorizes`, async () => {
      const { proxy } = await start(asker);
      bed?.directory.grant(USER, TARGET, ['read']);
      await proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000));
      expect(bed?.store.all()).toEqual([]);
      // the listener is on the target's port (no default_client_port): the holder connects
      const port = bed?.echo.address().port ?? 0;
      expect(String(await echoThrough(await theBed().connect(port), Buffer.from('cold')))).toBe(
        'cold',
      );
      expect(bed?.store.all().map((s) => s.userId)).toEqual([USER]);
    });
  }

  it('a holder who may list targets but not read them: the port comes from the listing, no session', async () => {
    const { proxy } = await start(undefined);
    const user = bed?.directory.users.get(USER);
    if (user === undefined) throw new Error('no user');
    user.canListTargets = true;
    await proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000));
    expect(bed?.store.all()).toEqual([]);
    const port = bed?.echo.address().port ?? 0;
    expect(String(await echoThrough(await theBed().connect(port), Buffer.from('list')))).toBe(
      'list',
    );
    expect(bed?.store.all().map((s) => s.userId)).toEqual([USER]);
  });

  it('the target read refused: the preparation fails with what to grant, and still no session', async () => {
    const { proxy } = await start(undefined);
    // the bed's user has authorize-session only
    const failed = await Promise.resolve(
      proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000)),
    ).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(TargetUnreadableError);
    expect((failed as TargetUnreadableError).message).toContain(`reading its target ${TARGET}`);
    expect((failed as TargetUnreadableError).hint).toContain('"read"');
    expect(bed?.store.all()).toEqual([]);
    expect(bed?.listeners.list()).toEqual([]);
  });

  it('the default_client_port of the read target is the listening port, as for an authorization', async () => {
    const { proxy } = await start(undefined);
    bed?.directory.grant(USER, TARGET, ['read']);
    const target = bed?.directory.targets.get(TARGET);
    if (target === undefined) throw new Error('no target');
    target.defaultClientPort = 0;
    const read = await bed?.authorizer.readTarget(UID, TARGET, AbortSignal.timeout(5_000));
    expect(read?.attributes).toEqual({ default_port: bed?.echo.address().port });
    target.defaultClientPort = 15999;
    const again = await bed?.authorizer.readTarget(UID, TARGET, AbortSignal.timeout(5_000));
    expect(again?.attributes?.default_client_port).toBe(15999);
    await proxy.prepare(entry(), ORIGIN, AbortSignal.timeout(5_000));
    expect(bed?.store.all()).toEqual([]);
    const socket = await theBed().connect(15999);
    socket.destroy();
  });
});
