import { describe, expect, it } from 'vitest';
import {
  decodeClientHandshake,
  decodeHandshakeResult,
  encodeClientHandshake,
  encodeHandshakeResult,
  HandshakeCommand,
} from './worker-protocol.js';

const hex = (bytes: Uint8Array) =>
  Buffer.from(bytes)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
const TOFU = 'abcdefghij0123456789';

describe('ClientHandshake (worker.proxy.v1)', () => {
  it('writes tofu_token as field 10 and command as field 20', () => {
    const bytes = encodeClientHandshake({
      tofuToken: TOFU,
      command: HandshakeCommand.sessionCancel,
    });
    // 0x52 = (10 << 3) | 2, length 20; 0xa0 0x01 = (20 << 3) | 0 as a varint; value 1
    expect(hex(bytes)).toBe(`52 14 ${hex(Buffer.from(TOFU))} a0 01 01`);
  });

  it('leaves out the default command (connect)', () => {
    const bytes = encodeClientHandshake({ tofuToken: TOFU, command: HandshakeCommand.unspecified });
    expect(bytes.length).toBe(22);
  });

  it('round-trips, keeps unknown commands and skips unknown fields', () => {
    for (const message of [
      { tofuToken: TOFU, command: 0 },
      { tofuToken: TOFU, command: 1 },
      { tofuToken: '', command: 7 },
    ]) {
      expect(decodeClientHandshake(encodeClientHandshake(message))).toEqual(message);
    }
    const extra = Buffer.concat([
      Buffer.from(encodeClientHandshake({ tofuToken: TOFU, command: 1 })),
      Buffer.from([0xf8, 0x3e, 0x07]), // field 999, varint 7
    ]);
    expect(decodeClientHandshake(extra)).toEqual({ tofuToken: TOFU, command: 1 });
  });

  it.each([
    ['a truncated length', Buffer.from([0x52, 0x14, 0x61])],
    ['a wrong wire type for tofu_token', Buffer.from([0x50, 0x01])],
    ['a wrong wire type for command', Buffer.from([0xa2, 0x01, 0x00])],
    ['an unterminated varint', Buffer.from([0xa0, 0x01, 0xff, 0xff])],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['a tofu token that is not UTF-8', Buffer.from([0x52, 0x02, 0xc3, 0x28])],
    ['text', Buffer.from('GET / HTTP/1.1\r\n')],
  ])('rejects %s', (_what, bytes) => {
    expect(() => decodeClientHandshake(bytes)).toThrow(
      expect.objectContaining({ code: 'worker.protocol' }) as unknown,
    );
  });
});

describe('HandshakeResult (worker.proxy.v1)', () => {
  it('writes expiration 10 (Timestamp), connection_limit 20, connections_left 30', () => {
    const bytes = encodeHandshakeResult({
      expiration: new Date(150_250), // 150 s + 250 ms
      connectionLimit: 3,
      connectionsLeft: 2,
    });
    // 52 len=8 { 08 seconds=150 (96 01), 10 nanos=250000000 (80 e5 9a 77) }, a0 01 03, f0 01 02
    expect(hex(bytes)).toBe('52 08 08 96 01 10 80 e5 9a 77 a0 01 03 f0 01 02');
  });

  it('writes −1 (unlimited) as the 10-byte varint of a negative int32', () => {
    const bytes = encodeHandshakeResult({
      expiration: undefined,
      connectionLimit: -1,
      connectionsLeft: -1,
    });
    const minusOne = 'ff ff ff ff ff ff ff ff ff 01';
    expect(hex(bytes)).toBe(`a0 01 ${minusOne} f0 01 ${minusOne}`);
  });

  it('round-trips', () => {
    for (const message of [
      {
        expiration: new Date('2026-03-01T18:00:00.500Z'),
        connectionLimit: -1,
        connectionsLeft: -1,
      },
      { expiration: new Date('2026-03-01T18:00:00Z'), connectionLimit: 1, connectionsLeft: 0 },
      { expiration: undefined, connectionLimit: 0, connectionsLeft: 0 },
    ]) {
      expect(decodeHandshakeResult(encodeHandshakeResult(message))).toEqual(message);
    }
  });

  it.each([
    ['a truncated timestamp', Buffer.from([0x52, 0x05, 0x08, 0x96])],
    ['a timestamp that is not a message', Buffer.from([0x50, 0x01])],
    ['a timestamp with a wrong wire type inside', Buffer.from([0x52, 0x02, 0x0a, 0x00])],
    ['connection_limit as bytes', Buffer.from([0xa2, 0x01, 0x01, 0x00])],
    ['random bytes', Buffer.from('this is not a handshake result at all')],
  ])('rejects %s', (_what, bytes) => {
    expect(() => decodeHandshakeResult(bytes)).toThrow(/not a valid HandshakeResult/);
  });
});
