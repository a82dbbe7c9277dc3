import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempRoot } from '../../test/platform/platform-fixtures.js';
import { rootFs } from './root-fs.js';

describe('rootFs', () => {
  it('maps absolute paths under its root, and single files elsewhere', async () => {
    const root = tempRoot({ '/etc/hosts': 'h', '/elsewhere/resolv': 'r' });
    const files = rootFs({
      root,
      redirects: { '/etc/resolv.conf': path.join(root, 'elsewhere/resolv') },
    });
    expect(await files.readFile('/etc/hosts')).toBe('h');
    expect(await files.readFile('/etc/resolv.conf')).toBe('r');
    expect(await files.readIfExists('/etc/none')).toBeUndefined();
    expect(() => files.resolve('etc/hosts')).toThrow(/absolute/);
  });

  it('rewrites a file in place: same inode, shorter content truncated', async () => {
    const root = tempRoot({ '/etc/resolv.conf': 'a long original text\n' });
    const files = rootFs({ root });
    const before = fs.statSync(path.join(root, 'etc/resolv.conf')).ino;
    await files.writeInPlace('/etc/resolv.conf', 'short');
    expect(fs.readFileSync(path.join(root, 'etc/resolv.conf'), 'utf8')).toBe('short');
    expect(fs.statSync(path.join(root, 'etc/resolv.conf')).ino).toBe(before);
  });

  it('reads symbolic links, writes and removes files', async () => {
    const root = tempRoot();
    fs.mkdirSync(path.join(root, 'etc'));
    fs.symlinkSync('../run/systemd/resolve/stub-resolv.conf', path.join(root, 'etc/resolv.conf'));
    const files = rootFs({ root });
    expect(await files.readLink('/etc/resolv.conf')).toBe(
      '../run/systemd/resolve/stub-resolv.conf',
    );
    await files.writeFile('/a/b/c.txt', 'x');
    expect(await files.readLink('/a/b/c.txt')).toBeUndefined();
    await files.remove('/a/b/c.txt');
    await files.remove('/a/b/c.txt');
    expect(await files.readIfExists('/a/b/c.txt')).toBeUndefined();
  });
});
