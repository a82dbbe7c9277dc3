/** Shared by the platform unit tests: a silent logger, a temporary root, prefixes. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';

export const silentLog = pino({ level: 'silent' });

export const V4 = { cidr: '100.64.0.0/10', network: '100.64.0.0', length: 10 } as const;
export const V6 = { cidr: 'fd62:6f75:6e64::/64', network: 'fd62:6f75:6e64::', length: 64 } as const;

/** A temporary directory used as the platform's `/`, with the files given (path → text). */
export function tempRoot(files: Record<string, string> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-platform-unit-'));
  for (const [file, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  return root;
}
