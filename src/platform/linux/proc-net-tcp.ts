/**
 * The socket tables of `/proc/net/tcp` and `/proc/net/tcp6`: local and remote address, state and
 * owner uid per socket. Addresses are hex, each 32-bit word in host (little-endian) byte order.
 */
import net from 'node:net';
import { canonicalIp } from '../../lib/index.js';

export interface ProcTcpRow {
  readonly local: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string; readonly port: number };
  readonly uid: number;
}

export function parseProcNetTcp(text: string): ProcTcpRow[] {
  const rows: ProcTcpRow[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const local = parseEndpoint(fields[1] ?? '');
    const remote = parseEndpoint(fields[2] ?? '');
    const uid = Number(fields[7]);
    if (local === undefined || remote === undefined || !Number.isInteger(uid)) continue;
    rows.push({ local, remote, uid });
  }
  return rows;
}

function parseEndpoint(text: string): { address: string; port: number } | undefined {
  const [hex, portHex] = text.split(':');
  if (hex === undefined || portHex === undefined || !/^[0-9A-Fa-f]+$/.test(hex + portHex))
    return undefined;
  const port = parseInt(portHex, 16);
  if (hex.length === 8) return { address: wordsToBytes(hex).join('.'), port };
  if (hex.length === 32) {
    const bytes = wordsToBytes(hex);
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2)
      groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
    return { address: canonicalIp(groups.join(':')), port };
  }
  return undefined;
}

/** Each 8-hex-digit word is a little-endian u32: its bytes in network order are reversed. */
function wordsToBytes(hex: string): number[] {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(word.slice(b, b + 2), 16));
  }
  return bytes;
}

/**
 * How the kernel prints one connection's endpoints in a row of `tcp` (`family` 4) or `tcp6`
 * (`family` 6), space before and after: ` LLLLLLLL:PPPP RRRRRRRR:PPPP `, upper-case hex,
 * each 32-bit address word little-endian (`%08X:%04X`). In `tcp6` an IPv4 address is v4-mapped
 * (`::ffff:a.b.c.d`). Undefined when the endpoints cannot appear in that table.
 */
export function procRowKey(
  local: { readonly address: string; readonly port: number },
  remote: { readonly address: string; readonly port: number },
  family: 4 | 6,
): string | undefined {
  const l = addressBytes(canonicalIp(local.address), family);
  const r = addressBytes(canonicalIp(remote.address), family);
  if (l === undefined || r === undefined) return undefined;
  if (!validPort(local.port) || !validPort(remote.port)) return undefined;
  return ` ${kernelHex(l)}:${portHex(local.port)} ${kernelHex(r)}:${portHex(remote.port)} `;
}

/**
 * The uid in what follows a row's endpoints (`st tx:rx tr:when retrnsmt uid …`), or undefined
 * when the row is cut short or garbled.
 */
export function uidAfterEndpoints(rest: string): number | undefined {
  const fields = rest.trim().split(/\s+/, 6);
  if (fields.length < 6) return undefined;
  const uid = Number(fields[4]);
  return Number.isInteger(uid) && uid >= 0 ? uid : undefined;
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port <= 0xffff;
}

function portHex(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/** Network-order bytes printed as the kernel does: per 4-byte word, bytes reversed. */
function kernelHex(bytes: readonly number[]): string {
  let hex = '';
  for (let w = 0; w < bytes.length; w += 4) {
    for (let b = w + 3; b >= w; b--)
      hex += (bytes[b] ?? 0).toString(16).toUpperCase().padStart(2, '0');
  }
  return hex;
}

/**
 * An address's bytes in network order as a socket of `family` holds it (IPv4 in an IPv6 socket
 * v4-mapped); undefined when it cannot be one.
 */
export function endpointBytes(address: string, family: 4 | 6): number[] | undefined {
  return addressBytes(canonicalIp(address), family);
}

/** A canonical address as the table of `family` stores it, in network byte order. */
function addressBytes(address: string, family: 4 | 6): number[] | undefined {
  if (net.isIPv4(address)) {
    const v4 = address.split('.').map(Number);
    return family === 4 ? v4 : [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4];
  }
  if (family === 4 || !net.isIPv6(address)) return undefined;
  return ipv6Bytes(address);
}

/** The 16 bytes of a valid IPv6 address (`::` compressed, maybe with a dotted IPv4 tail). */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1] !== undefined) {
    tail.push(...dotted[1].split('.').map(Number));
    text = `${text.slice(0, dotted.index)}0:0`;
  }
  const [head = '', rest] = text.split('::');
  const words = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const before = words(head);
  const after = rest === undefined ? [] : words(rest);
  const zeros = rest === undefined ? 0 : 8 - before.length - after.length;
  const all = [...before, ...new Array<number>(zeros).fill(0), ...after];
  if (all.length !== 8 || all.some((w) => !Number.isInteger(w))) return undefined;
  const bytes = all.flatMap((w) => [w >> 8, w & 255]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}
