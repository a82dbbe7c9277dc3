import { describe, expect, it } from 'vitest';
import { allocatorPreparer, prefix } from '../../../test/helpers/dns-fixtures.js';
import {
  AddressAllocator,
  AddressPoolFullError,
  cryptoRandom,
  type AllocatorOptions,
} from './allocator.js';

const V4 = prefix('100.64.0.0/16');
const V6 = prefix('fd62:6f75:6e64::/64');

/** An allocator over V4 (and V6 unless `v6Prefix: null`), nothing taken, random starts. */
const make = (options: Partial<AllocatorOptions> = {}): AddressAllocator =>
  new AddressAllocator({
    v4Prefix: V4,
    v6Prefix: V6,
    random: cryptoRandom,
    isTaken: () => false,
    ...options,
  });

/** Returns the given offsets in turn (modulo the limit), then 0. */
function sequence(...values: bigint[]): (limit: bigint) => bigint {
  let i = 0;
  return (limit) => (values[i++] ?? 0n) % limit;
}

describe('AddressAllocator', () => {
  it('gives each alias a stable IPv4 and IPv6 from a random start, and maps them back', () => {
    const allocator = make({ random: sequence(0x1234n, 0xabcdn, 0x1234n, 0x99n) });
    const db = allocator.assign('DB.corp.');
    expect(db).toEqual({ v4: '100.64.18.52', v6: 'fd62:6f75:6e64::abcd' });
    expect(allocator.assign('db.corp')).toEqual(db);
    // the same random start probes on to the next free address
    expect(allocator.assign('pg.corp')).toEqual({ v4: '100.64.18.53', v6: 'fd62:6f75:6e64::99' });
    expect(allocator.aliasFor('100.64.18.52')).toBe('db.corp');
    expect(allocator.aliasFor('fd62:6f75:6e64:0:0:0:0:99')).toBe('pg.corp');
    expect(allocator.aliasFor('100.64.0.9')).toBeUndefined();
    expect(allocator.aliasFor('not an ip')).toBeUndefined();
  });

  it('owns every address of its prefixes, assigned or not, and none outside', () => {
    const allocator = make();
    for (const ip of ['100.64.0.0', '100.64.0.9', '100.64.255.255', 'fd62:6f75:6e64:0::ffff']) {
      expect(allocator.owns(ip)).toBe(true);
    }
    for (const ip of ['100.65.0.1', '100.63.255.255', '10.0.0.1', 'fd62:6f75:6e65::1', 'x']) {
      expect(allocator.owns(ip)).toBe(false);
    }
    expect(make({ v6Prefix: null }).owns('fd62:6f75:6e64::1')).toBe(false);
    allocator.setV4Prefix(prefix('10.0.0.0/8'));
    expect(allocator.owns('100.64.0.9')).toBe(false);
    expect(allocator.owns('10.1.2.3')).toBe(true);
  });

  it('never hands out the network, broadcast, or taken addresses', () => {
    const taken = new Set(['100.64.0.1', '100.64.0.2', 'fd62:6f75:6e64::1']);
    const allocator = make({ random: sequence(0xffffn, 0n, 0n), isTaken: (ip) => taken.has(ip) });
    // start at the broadcast address: skipped, wraps to the network (skipped), then .1 .2 taken
    expect(allocator.assign('a.corp')).toEqual({ v4: '100.64.0.3', v6: 'fd62:6f75:6e64::2' });
  });

  it('has no IPv6 when IPv6 is off', () => {
    const allocator = make({ v6Prefix: null });
    const got = allocator.assign('a.corp');
    expect(got.v6).toBeUndefined();
    expect(got.v4).toMatch(/^100\.64\.\d+\.\d+$/);
  });

  it('fails with a typed error, without looping, when the prefix is full', () => {
    const small = prefix('10.0.0.0/30'); // 10.0.0.1 and 10.0.0.2 usable
    const allocator = make({ v4Prefix: small, v6Prefix: null });
    allocator.assign('a');
    allocator.assign('b');
    expect(() => allocator.assign('c')).toThrow(AddressPoolFullError);
    expect(() => allocator.assign('c')).toThrow(/no free proxy address is left in 10\.0\.0\.0\/30/);
    const allTaken = make({ v6Prefix: null, isTaken: () => true });
    expect(() => allTaken.assign('a')).toThrow(/already in use on this machine/);
  });

  it('exports its assignments and restores them after a restart, skipping bad entries', () => {
    const first = make();
    const a = first.assign('a.corp');
    const b = first.assign('b.corp');
    const saved = first.export();
    const warnings: unknown[] = [];
    const log = { warn: (obj: unknown) => warnings.push(obj) } as unknown as import('pino').Logger;
    const second = make({
      isTaken: (ip) => ip === b.v4,
      saved: { v4: { ...saved.v4, 'c.corp': '10.1.1.1', 'd.corp': '100.64.0.0' }, v6: saved.v6 },
      log,
    });
    expect(second.assign('a.corp')).toEqual(a);
    expect(second.aliasFor(a.v4)).toBe('a.corp');
    // b's IPv4 is now on the machine: it gets a new one, keeps its IPv6
    const b2 = second.assign('b.corp');
    expect(b2.v4).not.toBe(b.v4);
    expect(b2.v6).toBe(b.v6);
    expect(warnings).toHaveLength(3);
  });

  it('keeps addresses inside a reloaded v4_prefix and drops the others', () => {
    const allocator = make({ v6Prefix: null, random: sequence(5n) });
    expect(allocator.assign('a').v4).toBe('100.64.0.5');
    allocator.setV4Prefix(prefix('100.64.0.0/10'));
    expect(allocator.assign('a').v4).toBe('100.64.0.5');
    allocator.setV4Prefix(prefix('10.0.0.0/8'));
    expect(allocator.aliasFor('100.64.0.5')).toBeUndefined();
    expect(allocator.assign('a').v4).toMatch(/^10\./);
  });

  it('allocatorPreparer answers at once, and throws the typed error when the prefix is full', () => {
    const allocator = make({ v6Prefix: null, isTaken: () => true });
    expect(() => allocatorPreparer(allocator).prepare({ value: 'a' })).toThrow(
      AddressPoolFullError,
    );
    const ok = make({ v6Prefix: null, random: sequence(7n) });
    expect(allocatorPreparer(ok).prepare({ value: 'a' })).toEqual({ v4: '100.64.0.7' });
  });
});
