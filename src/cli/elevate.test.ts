import { describe, expect, it } from 'vitest';
import { elevatedCommand, elevation, type ElevationFacts } from './elevate.js';

const base: ElevationFacts = {
  isRoot: false,
  stdinIsTTY: true,
  platform: 'linux',
  env: { DISPLAY: ':0' },
  exists: (file) => file === '/usr/bin/pkexec',
};

describe('elevation', () => {
  it('goes on as root, whatever else', () => {
    expect(elevation({ ...base, isRoot: true, stdinIsTTY: false })).toBe('run');
  });

  it('offers the OS dialog at a terminal: always on macOS, on Linux with pkexec or kdesudo and a display', () => {
    expect(elevation(base)).toBe('offer');
    expect(elevation({ ...base, env: { WAYLAND_DISPLAY: 'wayland-0' } })).toBe('offer');
    expect(elevation({ ...base, platform: 'darwin', env: {}, exists: () => false })).toBe('offer');
  });

  it('says to use sudo without a terminal, without a graphical session, without a helper, elsewhere', () => {
    expect(elevation({ ...base, stdinIsTTY: false })).toBe('refuse');
    expect(elevation({ ...base, env: {} })).toBe('refuse');
    expect(elevation({ ...base, env: { DISPLAY: '' } })).toBe('refuse');
    expect(elevation({ ...base, exists: () => false })).toBe('refuse');
    expect(elevation({ ...base, platform: 'freebsd' })).toBe('refuse');
  });
});

describe('elevatedCommand', () => {
  it('re-runs the same node, script and arguments, quoted for the shell', () => {
    expect(
      elevatedCommand('/usr/bin/node', [
        '/opt/client agent/bin.js',
        'install',
        '--config',
        "/etc/it's.hcl",
      ]),
    ).toBe(`/usr/bin/node '/opt/client agent/bin.js' install --config '/etc/it'\\''s.hcl'`);
  });
});
