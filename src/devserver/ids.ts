/** Boundary-shaped identifiers: a prefix and 10 base62 characters (`at_Ab3dE5gH7j`). */
import { randomInt } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function base62(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += BASE62.charAt(randomInt(BASE62.length));
  return out;
}

export function newId(prefix: string): string {
  return `${prefix}_${base62(10)}`;
}
