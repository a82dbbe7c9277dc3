/** The JSON `ip -j` prints for routes, addresses and links: only the fields the agent reads. */

export interface IpRoute {
  readonly dst: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly metric?: number;
}

export interface IpAddrInfo {
  readonly family: string;
  readonly local: string;
  readonly prefixlen: number;
}

export interface IpLink {
  readonly ifname: string;
  /** UP, LOWER_UP, ... */
  readonly flags?: readonly string[];
  readonly addr_info?: readonly IpAddrInfo[];
}

function parseArray(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const value: unknown = JSON.parse(trimmed);
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null;
}

export function parseRoutes(text: string): IpRoute[] {
  return parseArray(text).flatMap((r) => {
    if (!isObject(r) || typeof r.dst !== 'string') return [];
    return [
      {
        dst: r.dst,
        ...(typeof r.dev === 'string' ? { dev: r.dev } : {}),
        ...(typeof r.gateway === 'string' ? { gateway: r.gateway } : {}),
        ...(typeof r.metric === 'number' ? { metric: r.metric } : {}),
      },
    ];
  });
}

export function parseLinks(text: string): IpLink[] {
  return parseArray(text).flatMap((l) => {
    if (!isObject(l) || typeof l.ifname !== 'string') return [];
    const info = Array.isArray(l.addr_info) ? (l.addr_info as unknown[]) : [];
    return [
      {
        ifname: l.ifname,
        ...(Array.isArray(l.flags)
          ? { flags: (l.flags as unknown[]).filter((f): f is string => typeof f === 'string') }
          : {}),
        addr_info: info.flatMap((a) =>
          isObject(a) &&
          typeof a.family === 'string' &&
          typeof a.local === 'string' &&
          typeof a.prefixlen === 'number'
            ? [{ family: a.family, local: a.local, prefixlen: a.prefixlen }]
            : [],
        ),
      },
    ];
  });
}
