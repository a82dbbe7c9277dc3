/**
 * The text of a taken-over /etc/resolv.conf: a marked block with our nameservers first, then the
 * original with its own nameserver lines commented out by a prefix. The original can be recovered
 * byte for byte from the file alone (a sweep after a crash with no state file).
 */

export const MARKER = '# client-agent: managed';
export const END_MARKER = '# client-agent: end';
export const WAS = '#client-agent-was: ';

export function renderTakeover(original: string, servers: readonly string[]): string {
  const header = [
    `${MARKER}; the previous file is restored when the agent stops or pauses.`,
    ...servers.map((s) => `nameserver ${s}`),
    END_MARKER,
  ];
  const body = original
    .split('\n')
    .map((line) => (/^\s*nameserver\b/.test(line) ? `${WAS}${line}` : line));
  return [...header, ...body].join('\n');
}

export function isTakenOver(text: string): boolean {
  return text.startsWith(MARKER);
}

/** The original text inside a taken-over file (the file itself when it is not one). */
export function stripTakeover(text: string): string {
  if (!isTakenOver(text)) return text;
  const lines = text.split('\n');
  const end = lines.indexOf(END_MARKER);
  if (end < 0) return lines.filter((l) => !l.startsWith(MARKER)).join('\n');
  return lines
    .slice(end + 1)
    .map((line) => (line.startsWith(WAS) ? line.slice(WAS.length) : line))
    .join('\n');
}
