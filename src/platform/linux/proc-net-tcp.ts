/**
 * The socket tables of `/proc/net/tcp` and `/proc/net/tcp6`: local and remote address, state and
 * owner uid per socket. Addresses are hex, each 32-bit word in host (little-endian) byte order.
 */
import net from 'node:net';

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
 * One spelling per address, so that Node's and the kernel's forms compare equal: IPv4-mapped
 * IPv6 (`::ffff:1.2.3.4`) becomes plain IPv4, IPv6 is compressed and lower case.
 */
export function canonicalIp(address: string): string {
  const lower = address.toLowerCase();
  if (!net.isIPv6(lower)) return lower;
  const v6 = new net.SocketAddress({ address: lower, family: 'ipv6' }).address;
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (hex === null) return v6;
  const hi = parseInt(hex[1] ?? '0', 16);
  const lo = parseInt(hex[2] ?? '0', 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}
