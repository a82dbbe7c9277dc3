/**
 * A client's binary WebSocket data frame (RFC 6455 §5.2): FIN, opcode 2, the payload masked with
 * a fresh random key. ws masks byte by byte in JavaScript unless its optional native addon is
 * installed, which makes masking the largest cost of relaying bytes from the agent; this masks
 * four bytes at a time, into a buffer laid out so that the payload starts 4-byte aligned.
 */
import { randomFillSync } from 'node:crypto';

/** Frame bytes before the payload: 2, the extended length (0, 2 or 8), the 4-byte key. */
function headerBytes(length: number): number {
  return length < 126 ? 6 : length < 0x10000 ? 8 : 14;
}

export function maskedBinaryFrame(
  payload: Uint8Array,
  random: (key: Uint8Array) => void = (key) => {
    randomFillSync(key);
  },
): Buffer {
  const length = payload.length;
  const header = headerBytes(length);
  // Padding in front, so that the payload's offset in the ArrayBuffer is a multiple of 4.
  const pad = (4 - (header % 4)) % 4;
  const memory = new ArrayBuffer(pad + header + length);
  const frame = Buffer.from(memory, pad, header + length);
  frame[0] = 0x82;
  if (length < 126) {
    frame[1] = 0x80 | length;
  } else if (length < 0x10000) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  // The key in its own aligned word, so that its 32-bit view matches the payload's byte order.
  const key = new Uint8Array(4);
  random(key);
  frame.set(key, header - 4);
  frame.set(payload, header);
  const words = length >>> 2;
  const keyWord = new Int32Array(key.buffer)[0] ?? 0;
  const view = new Int32Array(memory, pad + header, words);
  for (let i = 0; i < words; i++) view[i] = (view[i] ?? 0) ^ keyWord;
  for (let i = words << 2; i < length; i++) {
    frame[header + i] = (frame[header + i] ?? 0) ^ (key[i & 3] ?? 0);
  }
  return frame;
}
