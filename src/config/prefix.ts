/** The address ranges proxy IPs are taken from: an IPv4 CIDR (`v4_prefix`) and a ULA (`v6_prefix`). */
import { Address4, Address6 } from 'ip-address';

export interface IpPrefix {
  /** The canonical CIDR text, e.g. `100.64.0.0/10` or `fd62:6f75:6e64::/64`. */
  readonly cidr: string;
  /** The network address, e.g. `100.64.0.0`. */
  readonly network: string;
  readonly length: number;
}

export const V4_LENGTHS = { min: 8, max: 16 } as const;
export const V6_LENGTHS = { min: 48, max: 64 } as const;

/** A network prefix, or a sentence saying what is wrong with it. */
export function parseV4Prefix(text: string): IpPrefix | string {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text.trim());
  if (match === null || !Address4.isValid(text.trim())) {
    return 'must be an IPv4 network in CIDR form, like "100.64.0.0/10"';
  }
  const length = Number(match[2]);
  if (length < V4_LENGTHS.min || length > V4_LENGTHS.max) {
    return `prefix length must be between /${V4_LENGTHS.min} and /${V4_LENGTHS.max}`;
  }
  const address = new Address4(text.trim());
  const network = address.startAddress().address;
  if (network !== address.addressMinusSuffix) {
    return `has host bits set; the network is "${network}/${length}"`;
  }
  const first = Number(network.split('.')[0]);
  if (first === 0 || first >= 224) {
    return 'must not be in 0.0.0.0/8 or 224.0.0.0/3 (multicast and reserved)';
  }
  return { cidr: `${network}/${length}`, network, length };
}

export function parseV6Prefix(text: string): IpPrefix | string {
  const value = text.trim();
  if (!/^[0-9a-f:]+\/\d{1,3}$/i.test(value) || !Address6.isValid(value)) {
    return 'must be an IPv6 network in CIDR form, like "fd62:6f75:6e64::/64"';
  }
  const address = new Address6(value);
  const length = address.subnetMask;
  if (length < V6_LENGTHS.min || length > V6_LENGTHS.max) {
    return `prefix length must be between /${V6_LENGTHS.min} and /${V6_LENGTHS.max}`;
  }
  if (!address.isInSubnet(new Address6('fc00::/7'))) {
    return 'must be a unique local (ULA) network inside fc00::/7, like "fd62:6f75:6e64::/64"';
  }
  const network = address.startAddress().correctForm();
  if (network !== address.correctForm()) {
    return `has host bits set; the network is "${network}/${length}"`;
  }
  return { cidr: `${network}/${length}`, network, length };
}
