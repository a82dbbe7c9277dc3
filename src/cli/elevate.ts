/**
 * Commands that need root (`install`, `uninstall`, `daemon`) run by another user: when a person
 * is at a terminal and the OS can show an administrator password dialog (macOS always; Linux
 * with pkexec or kdesudo and a graphical session), offer to run the same command elevated with
 * @vscode/sudo-prompt; otherwise, or when declined, say to re-run it with sudo.
 */
import fs from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { AgentError } from '../lib/index.js';
import type { CliIo } from './io.js';

export type Elevation =
  /** Already root: go on. */
  | 'run'
  /** Ask whether to re-run elevated through the OS dialog. */
  | 'offer'
  /** Say to re-run with sudo. */
  | 'refuse';

export interface ElevationFacts {
  readonly isRoot: boolean;
  readonly stdinIsTTY: boolean;
  readonly platform: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly exists: (file: string) => boolean;
}

/** The helpers sudo-prompt runs on Linux, in the order it looks for them. */
export const LINUX_ELEVATORS = ['/usr/bin/kdesudo', '/usr/bin/pkexec'];

export function elevation(facts: ElevationFacts): Elevation {
  if (facts.isRoot) return 'run';
  if (!facts.stdinIsTTY) return 'refuse';
  if (facts.platform === 'darwin') return 'offer';
  if (facts.platform !== 'linux') return 'refuse';
  // pkexec and kdesudo need a graphical session for their dialog (no terminal is attached).
  const graphical = (facts.env.DISPLAY ?? '') !== '' || (facts.env.WAYLAND_DISPLAY ?? '') !== '';
  return graphical && LINUX_ELEVATORS.some((f) => facts.exists(f)) ? 'offer' : 'refuse';
}

/** What `sudo-prompt` runs: this node and script with the same arguments, quoted for sh. */
export function elevatedCommand(execPath: string, argv: readonly string[]): string {
  return [execPath, ...argv].map(shellQuote).join(' ');
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Returns when the command may go on as it is (root); otherwise runs it elevated when the
 * user agrees and returns false, or throws the "needs root" error with the sudo hint.
 */
export async function ensureRoot(
  io: CliIo,
  notRoot: AgentError,
  argv: readonly string[] = process.argv.slice(1),
): Promise<boolean> {
  const choice = elevation({
    isRoot: process.getuid?.() === 0,
    stdinIsTTY: io.stdin?.isTTY === true,
    platform: io.platform,
    env: io.env,
    exists: (file) => fs.existsSync(file),
  });
  if (choice === 'run') return true;
  if (choice === 'refuse' || io.stdin === undefined) throw notRoot;
  const rl = createInterface({ input: io.stdin, output: io.stderr, terminal: true });
  let answer: string;
  try {
    answer = await rl.question(
      `${notRoot.message}.\nRun it as root now (the system asks for an administrator password)? [y/N] `,
    );
  } finally {
    rl.close();
  }
  if (!/^y(es)?$/i.test(answer.trim())) throw notRoot;
  const { exec } = await import('@vscode/sudo-prompt');
  await new Promise<void>((resolve, reject) => {
    exec(
      elevatedCommand(process.execPath, argv),
      { name: 'client-agent' },
      (error, stdout, stderr) => {
        if (stdout !== undefined) io.stdout.write(stdout);
        if (stderr !== undefined) io.stderr.write(stderr);
        if (error === undefined) {
          resolve();
          return;
        }
        reject(
          new AgentError('elevation.failed', `running it as root failed: ${error.message}`, {
            hint: notRoot.hint,
            cause: error,
          }),
        );
      },
    );
  });
  return false;
}
