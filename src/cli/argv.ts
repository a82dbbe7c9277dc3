/**
 * Boundary's CLI writes long flags with one dash (`-format=json`, `-target-id ttcp_…`). Commander
 * wants two; this rewrites one-dash words of two or more letters before `--`, so both spellings work.
 */
const ONE_DASH_LONG = /^-([A-Za-z][A-Za-z0-9-]+)(=.*)?$/s;

export function normalizeArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let passthrough = false;
  for (const arg of argv) {
    if (arg === '--') passthrough = true;
    const match = passthrough ? null : ONE_DASH_LONG.exec(arg);
    out.push(match === null ? arg : `--${match[1] ?? ''}${match[2] ?? ''}`);
  }
  return out;
}
