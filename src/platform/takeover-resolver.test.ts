import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLog, tempRoot } from '../../test/platform/platform-fixtures.js';
import { ManualClock } from '../lib/index.js';
import { DirectResolvConfBackend } from './linux/direct-backend.js';
import { EMPTY } from './platform.js';
import { ChangeRecord, type PlatformState, type ResolverState } from './platform-state.js';
import { recoverWith } from './recover.js';
import { rootFs } from './root-fs.js';
import { TakeoverResolver, toUpstreams, type ResolverBackend } from './takeover-resolver.js';

// Odd on purpose: CRLF, a tab, a comment, no final newline; all of it must come back.
const ORIGINAL = 'search lan\r\n# from DHCP\t\nnameserver 192.168.1.1\noptions ndots:2';
const CONFIG = { interface: 'eth0', servers: ['100.64.0.1'] };

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});

interface Faults {
  /** write() changes the file, then fails (a take-over that fails half-way). */
  failWrite?: boolean;
  failRestore?: boolean;
}

/**
 * A take-over of a temporary root's /etc/resolv.conf through the real resolv.conf backend; the
 * state is persisted as JSON on every change (as the daemon does), and `faults` makes steps fail.
 */
function setup(original: string = ORIGINAL, faults: Faults = {}) {
  const root = tempRoot({ '/etc/resolv.conf': original });
  roots.push(root);
  const file = path.join(root, 'etc/resolv.conf');
  const clock = new ManualClock();
  const real = new DirectResolvConfBackend({ fs: rootFs({ root }), clock, watchIntervalMs: 1_000 });
  const backend: ResolverBackend = {
    kind: real.kind,
    snapshot: (c) => real.snapshot(c),
    write: async (c, o) => {
      await real.write(c, o);
      if (faults.failWrite === true) throw new Error('write failed half-way');
    },
    restore: (o) => {
      if (faults.failRestore === true) return Promise.reject(new Error('restore failed'));
      return real.restore(o);
    },
    current: () => real.current(),
    watch: (c, o, replace, warn) => real.watch(c, o, replace, warn),
  };
  /** The persisted state file, and the resolv.conf text at each moment it was written. */
  const saved: { state: string; fileThen: string }[] = [];
  const changes = new ChangeRecord({
    onChange: (s) => {
      saved.push({ state: JSON.stringify(s), fileThen: fs.readFileSync(file, 'latin1') });
    },
  });
  const resolver = new TakeoverResolver({
    select: () => Promise.resolve(backend),
    backendFor: () => backend,
    changes,
    log: silentLog,
  });
  const lastSaved = (): PlatformState => JSON.parse(saved.at(-1)?.state ?? 'null') as PlatformState;
  return { root, file, clock, real, resolver, changes, saved, lastSaved };
}

const read = (file: string): Buffer => fs.readFileSync(file);

/** The next start's recovery from `previous`, with the real resolv.conf backend on t's root. */
function recoverFrom(t: { readonly real: DirectResolvConfBackend }, previous: PlatformState) {
  return recoverWith({
    previous,
    backendFor: () => t.real,
    removeAddress: () => Promise.resolve(),
    sweep: () => Promise.resolve(undefined),
    log: silentLog,
  });
}

describe('TakeoverResolver: take over and give back', () => {
  it('records the original, and has it saved, before it changes anything', async () => {
    const t = setup();
    await t.resolver.apply(CONFIG);
    expect(t.saved).toHaveLength(1);
    expect(t.saved[0]?.fileThen).toBe(ORIGINAL);
    expect(t.lastSaved().resolver).toMatchObject({
      kind: 'resolv-conf',
      original: ORIGINAL,
      upstreams: ['192.168.1.1'],
    });
    expect(fs.readFileSync(t.file, 'utf8')).toMatch(/^nameserver 100\.64\.0\.1$/m);
    t.resolver.close();
  });

  it('gives back the original byte for byte and clears the record', async () => {
    const t = setup();
    const before = read(t.file);
    await t.resolver.apply(CONFIG);
    await t.resolver.apply(EMPTY);
    expect(read(t.file)).toEqual(before);
    expect(t.changes.state.resolver).toBeNull();
    expect(t.lastSaved().resolver).toBeNull();
  });

  it('gives back bytes that are not UTF-8 unchanged', async () => {
    const t = setup();
    const before = Buffer.concat([
      Buffer.from('# caf'),
      Buffer.from([0xe9]),
      Buffer.from('\nnameserver 10.0.0.1\n'),
    ]);
    fs.writeFileSync(t.file, before);
    await t.resolver.apply(CONFIG);
    await t.resolver.apply(EMPTY);
    expect(read(t.file)).toEqual(before);
  });

  it('does nothing for a repeated apply; a changed one keeps the first original', async () => {
    const t = setup();
    await t.resolver.apply(CONFIG);
    await t.resolver.apply(CONFIG);
    expect(t.saved).toHaveLength(1);
    await t.resolver.apply({ ...CONFIG, servers: ['100.64.0.2'] });
    expect(fs.readFileSync(t.file, 'utf8')).toMatch(/^nameserver 100\.64\.0\.2$/m);
    expect(t.changes.state.resolver).toMatchObject({ original: ORIGINAL });
    await t.resolver.apply(EMPTY);
    expect(fs.readFileSync(t.file, 'latin1')).toBe(ORIGINAL);
  });

  it('giving back when nothing was taken over changes nothing', async () => {
    const t = setup();
    await t.resolver.apply(EMPTY);
    expect(t.saved).toEqual([]);
    expect(fs.readFileSync(t.file, 'latin1')).toBe(ORIGINAL);
  });

  it('stops watching at give back: a later rewrite by another program is left alone', async () => {
    const t = setup();
    await t.resolver.apply(CONFIG);
    await t.resolver.apply(EMPTY);
    fs.writeFileSync(t.file, 'nameserver 10.9.9.9\n');
    t.clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(fs.readFileSync(t.file, 'utf8')).toBe('nameserver 10.9.9.9\n');
  });
});

describe('TakeoverResolver: failures half-way', () => {
  it('undoes a take-over that fails half-way, clears its record, and throws', async () => {
    const t = setup(ORIGINAL, { failWrite: true });
    await expect(t.resolver.apply(CONFIG)).rejects.toThrow('write failed half-way');
    expect(fs.readFileSync(t.file, 'latin1')).toBe(ORIGINAL);
    expect(t.changes.state.resolver).toBeNull();
    expect(t.lastSaved().resolver).toBeNull();
  });

  it('keeps the record when the undo fails too, so the next start can restore from it', async () => {
    const t = setup(ORIGINAL, { failWrite: true, failRestore: true });
    await expect(t.resolver.apply(CONFIG)).rejects.toThrow('write failed half-way');
    const state = t.lastSaved();
    expect(state.resolver).toMatchObject({ original: ORIGINAL });
    const report = await recoverFrom(t, state);
    expect(report.failed).toEqual([]);
    expect(report.remaining.resolver).toBeNull();
    expect(fs.readFileSync(t.file, 'latin1')).toBe(ORIGINAL);
  });
});

describe('TakeoverResolver: crash recovery', () => {
  it('a run killed while taken over leaves what the next start needs to restore the original exactly', async () => {
    const t = setup();
    const before = read(t.file);
    await t.resolver.apply(CONFIG);
    t.resolver.close(); // killed: no give back
    const state = t.lastSaved();
    const report = await recoverFrom(t, state);
    expect(report.undone).toEqual(['restored the system resolver (resolv-conf)']);
    expect(read(t.file)).toEqual(before);
  });

  it("an older version's record (the original decoded as UTF-8) restores the file's UTF-8 bytes", async () => {
    const utf8 = '# réseau → bureau\nnameserver 192.168.1.1\n';
    const t = setup('nameserver 100.64.0.1\n');
    const report = await recoverFrom(t, {
      version: 1,
      addresses: [],
      resolver: {
        kind: 'resolv-conf',
        path: '/etc/resolv.conf',
        original: utf8,
        upstreams: ['192.168.1.1'],
      },
    });
    expect(report.failed).toEqual([]);
    expect(read(t.file)).toEqual(Buffer.from(utf8, 'utf8'));
  });

  it('a run killed between recording and writing: recovery writes back what was there', async () => {
    const t = setup();
    const recorded: ResolverState = await t.real.snapshot(CONFIG);
    const report = await recoverFrom(t, { version: 1, addresses: [], resolver: recorded });
    expect(report.failed).toEqual([]);
    expect(fs.readFileSync(t.file, 'latin1')).toBe(ORIGINAL);
  });

  it('a new run taking over after a dead one records the dead run’s original, not its take-over', async () => {
    const dead = setup();
    await dead.resolver.apply(CONFIG);
    dead.resolver.close();
    // The next run starts without the state (lost): the marker in the file tells its own text.
    const next = new TakeoverResolver({
      select: () => Promise.resolve(dead.real),
      backendFor: () => dead.real,
      changes: new ChangeRecord(),
      log: silentLog,
    });
    await next.apply(CONFIG);
    await next.apply(EMPTY);
    expect(fs.readFileSync(dead.file, 'latin1')).toBe(ORIGINAL);
  });
});

describe('TakeoverResolver: upstreams', () => {
  it('forwards to the recorded original’s servers while taken over, never to the agent itself', async () => {
    const t = setup('nameserver 192.168.1.1\nnameserver 100.64.0.1\nnameserver 192.168.1.1\n');
    await t.resolver.apply(CONFIG);
    expect(await t.resolver.upstreams(['100.64.0.1'])).toEqual([
      { address: '192.168.1.1', port: 53, family: 4 },
    ]);
    await t.resolver.apply(EMPTY);
    expect(await t.resolver.upstreams(['100.64.0.1'])).toEqual([
      { address: '192.168.1.1', port: 53, family: 4 },
    ]);
    t.resolver.close();
  });

  it('toUpstreams: unique, lower case, no zoned link-local address, none of the agent’s own', () => {
    expect(
      toUpstreams(
        ['FD00::53', 'fd00::53', 'fe80::1%eth0', '10.0.0.1', 'nonsense', '10.0.0.2'],
        ['10.0.0.2'],
      ),
    ).toEqual([
      { address: 'fd00::53', port: 53, family: 6 },
      { address: '10.0.0.1', port: 53, family: 4 },
    ]);
  });
});
