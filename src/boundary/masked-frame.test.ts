import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { maskedBinaryFrame } from './masked-frame.js';

/** The frame's fields and its payload unmasked, byte by byte as a server does. */
function decode(frame: Buffer) {
  const len7 = (frame[1] ?? 0) & 0x7f;
  const header = len7 < 126 ? 6 : len7 === 126 ? 8 : 14;
  const length =
    len7 < 126
      ? len7
      : len7 === 126
        ? frame.readUInt16BE(2)
        : frame.readUInt32BE(2) * 0x1_0000_0000 + frame.readUInt32BE(6);
  const key = frame.subarray(header - 4, header);
  const payload = Buffer.from(frame.subarray(header));
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] ?? 0) ^ (key[i & 3] ?? 0);
  return { first: frame[0], masked: ((frame[1] ?? 0) & 0x80) !== 0, length, key, payload };
}

describe('maskedBinaryFrame', () => {
  it.each([0, 1, 3, 4, 5, 125, 126, 127, 4097, 32768, 65535, 65536, 70001])(
    'frames %i bytes: FIN binary, masked, the right length, the payload back after unmasking',
    (n) => {
      // A view at an odd offset, as socket reads may hand over.
      const payload = randomBytes(n + 1).subarray(1);
      const frame = decodeOf(payload);
      expect(frame.first).toBe(0x82);
      expect(frame.masked).toBe(true);
      expect(frame.length).toBe(n);
      expect(frame.payload.equals(payload)).toBe(true);
    },
  );

  it('uses a fresh key from the random source for every frame', () => {
    let next = 0;
    const keys = [Buffer.from([1, 2, 3, 4]), Buffer.from([0xff, 0, 0x80, 7])];
    const random = (key: Uint8Array) => {
      key.set(keys[next++] ?? []);
    };
    const payload = Buffer.from('same bytes, twice');
    const a = decode(maskedBinaryFrame(payload, random));
    const b = decode(maskedBinaryFrame(payload, random));
    expect(a.key).toEqual(keys[0]);
    expect(b.key).toEqual(keys[1]);
    expect(a.payload.toString()).toBe('same bytes, twice');
    expect(b.payload.toString()).toBe('same bytes, twice');
  });
});

function decodeOf(payload: Buffer) {
  return decode(maskedBinaryFrame(payload));
}
