/**
 * The daemon's two files. The operational state file keeps running/paused across restarts. The
 * state file records what the running daemon set up (today: the alias → proxy address map, so a
 * restart after a crash keeps every alias on its address); it is removed on a clean stop. Neither
 * ever holds a token, key or credential. Writes go to a temporary file renamed into place.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { SavedAddresses } from '../proxy/index.js';

export interface OperationalState {
  readonly status: 'running' | 'paused';
  /** Why it is paused (`user`, or the self-pause sentence). */
  readonly reason?: string;
}

export interface RunState {
  readonly pid: number;
  readonly startedAt: string;
  readonly addresses: SavedAddresses;
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * Writes the file 0600 (owner only) through a new temporary file: one left by a crash is removed
 * first, so the mode is never inherited from an existing file.
 */
export async function writeJson(file: string, value: unknown): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.rm(tmp, { force: true });
  await fs.writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  await fs.rename(tmp, file);
}

export async function removeFile(file: string): Promise<void> {
  await fs.rm(file, { force: true });
}

/** A paused/running value read back defensively: anything unreadable means running. */
export function operationalState(value: unknown): OperationalState {
  const v = value as Partial<OperationalState> | undefined;
  if (v?.status === 'paused')
    return { status: 'paused', reason: typeof v.reason === 'string' ? v.reason : 'user' };
  return { status: 'running' };
}

/** Records the running daemon's alias → address map (the state file). */
export async function writeRunState(
  file: string,
  addresses: SavedAddresses,
  now: number,
): Promise<void> {
  const state: RunState = {
    pid: process.pid,
    startedAt: new Date(now).toISOString(),
    addresses,
  };
  await writeJson(file, state);
}
