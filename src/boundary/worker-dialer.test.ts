import { describe, expect, it } from 'vitest';
import { newTofuToken } from './worker-dialer.js';

describe('newTofuToken', () => {
  it('is 20 base62 characters, fresh each time', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newTofuToken()));
    expect(tokens.size).toBe(50);
    for (const token of tokens) expect(token).toMatch(/^[0-9A-Za-z]{20}$/);
  });

  it('skips the bytes that would bias the alphabet', () => {
    let call = 0;
    const random = (n: number) => {
      call++;
      // First batch: only bytes ≥ 248 (unusable); then 0, 61, 62, 247 → '0', 'z', '0', 'z'.
      return call === 1
        ? new Uint8Array(n).fill(250)
        : Uint8Array.from({ length: n }, (_, i) => [0, 61, 62, 247][i % 4] ?? 0);
    };
    expect(newTofuToken(random)).toBe('0z0z0z0z0z0z0z0z0z0z');
    expect(call).toBe(2);
  });

  it('fails rather than loop forever on a broken random source', () => {
    expect(() => newTofuToken((n) => new Uint8Array(n).fill(255))).toThrow(/no usable bytes/);
  });
});
