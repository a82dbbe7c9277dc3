/**
 * The file system as the platform code sees it: absolute paths (`/etc/resolv.conf`) resolved under
 * a root, `/` in production. Tests point the root at a directory of their own; a path can also be
 * redirected alone (`/etc/resolv.conf` → `/etc/netns/NS/resolv.conf` for a network namespace).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

export interface PlatformFs {
  /** The real path an absolute platform path maps to (for messages and fs.watch). */
  resolve(file: string): string;
  readFile(file: string): Promise<string>;
  /**
   * The file's bytes as latin1 text (one character per byte), or undefined when it does not
   * exist: whatever the file holds, written back with writeInPlace it is the same bytes, which a
   * UTF-8 decode would not give for bytes that are not UTF-8.
   */
  readIfExists(file: string): Promise<string | undefined>;
  /**
   * Replaces the content in place with `text` as latin1 (as readIfExists reads): open, truncate,
   * write, the same inode. A rename would fail on a bind-mounted file (`ip netns exec`,
   * containers) and would break a watcher's handle.
   */
  writeInPlace(file: string, text: string): Promise<void>;
  /** Writes a new file (creating its directory), e.g. a unit file. */
  writeFile(file: string, text: string, mode?: number): Promise<void>;
  /** Creates a directory and its parents. */
  mkdir(dir: string): Promise<void>;
  /** Removes a file; a missing one is fine. */
  remove(file: string): Promise<void>;
  /** The target of a symbolic link, or undefined when `file` is not one. */
  readLink(file: string): Promise<string | undefined>;
}

export interface RootFsOptions {
  /** Prepended to every absolute path; default `/`. */
  readonly root?: string;
  /** Single files mapped elsewhere, by their absolute platform path. */
  readonly redirects?: Readonly<Record<string, string>>;
}

export function rootFs(options: RootFsOptions = {}): PlatformFs {
  const root = options.root ?? '/';
  const redirects = options.redirects ?? {};
  const resolve = (file: string): string => {
    if (!path.isAbsolute(file)) throw new Error(`platform paths are absolute, not "${file}"`);
    return redirects[file] ?? path.join(root, file);
  };
  return {
    resolve,
    readFile: (file) => fs.readFile(resolve(file), 'utf8'),
    async readIfExists(file) {
      try {
        return await fs.readFile(resolve(file), 'latin1');
      } catch (error) {
        if (isCode(error, 'ENOENT')) return undefined;
        throw error;
      }
    },
    async writeInPlace(file, text) {
      // 'r+' keeps the inode and fails when the file is missing; truncate after opening.
      const handle = await fs.open(resolve(file), 'r+');
      try {
        await handle.truncate(0);
        await handle.write(text, 0, 'latin1');
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    async writeFile(file, text, mode = 0o644) {
      const real = resolve(file);
      await fs.mkdir(path.dirname(real), { recursive: true });
      await fs.writeFile(real, text, { mode });
    },
    async mkdir(dir) {
      await fs.mkdir(resolve(dir), { recursive: true });
    },
    async remove(file) {
      await fs.rm(resolve(file), { force: true });
    },
    async readLink(file) {
      try {
        return await fs.readlink(resolve(file));
      } catch (error) {
        if (isCode(error, 'EINVAL') || isCode(error, 'ENOENT')) return undefined;
        throw error;
      }
    },
  };
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}
