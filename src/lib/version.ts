/** The package version, read once from package.json (the same path from src/ and dist/). */
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  const raw: unknown = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  );
  const version = (raw as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}
