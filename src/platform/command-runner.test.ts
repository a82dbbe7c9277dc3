import { describe, expect, it } from 'vitest';
import { rejection } from '../../test/helpers/rejection.js';
import { ExecFileRunner, prefixedRunner } from './command-runner.js';
import { PlatformError } from './errors.js';

describe('ExecFileRunner', () => {
  const runner = new ExecFileRunner();

  it('runs a command without a shell and returns its output', async () => {
    expect(await runner.run('echo', ['a b', '$HOME'])).toEqual({
      stdout: 'a b $HOME\n',
      stderr: '',
      exitCode: 0,
    });
  });

  it('turns a non-zero exit into a PlatformError with the command, status and stderr', async () => {
    const err = await rejection(runner.run('sh', ['-c', 'echo nope >&2; exit 3']), PlatformError);
    expect(err.code).toBe('platform.command_failed');
    expect(err.exitCode).toBe(3);
    expect(err.command).toBe('sh -c "echo nope >&2; exit 3"');
    expect(err.message).toContain('exited with status 3: nope');
    expect(err.hint).toBeDefined();
  });

  it('accepts exit statuses it is told are fine', async () => {
    const result = await runner.run('sh', ['-c', 'exit 1'], { okExitCodes: [1] });
    expect(result.exitCode).toBe(1);
  });

  it('reports a command that cannot start, and one that runs too long', async () => {
    const missing = await rejection(runner.run('no-such-command-xyz', []), PlatformError);
    expect(missing.exitCode).toBeNull();
    expect(missing.message).toContain('could not start');
    const slow = await rejection(runner.run('sleep', ['5'], { timeoutMs: 50 }), PlatformError);
    expect(slow.message).toContain('did not finish');
  });

  it('runs a command in an environment of its own, leaving the daemon’s out', async () => {
    process.env.CAHC_RUNNER_SECRET = 'daemon-only';
    try {
      const { stdout } = await runner.run('sh', ['-c', 'echo "$A|$CAHC_RUNNER_SECRET|$LC_ALL"'], {
        env: { A: 'given' },
      });
      expect(stdout).toBe('given||C\n');
    } finally {
      delete process.env.CAHC_RUNNER_SECRET;
    }
  });

  it.skipIf(process.getuid?.() !== 0)('runs a command as another user (needs root)', async () => {
    const { stdout } = await runner.run('id', ['-u'], { uid: 65534, gid: 65534, env: {} });
    expect(stdout).toBe('65534\n');
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    const pending = runner.run('sleep', ['5'], { signal: controller.signal });
    controller.abort();
    await rejection(pending, PlatformError);
  });

  it('prefixes every command (ip netns exec NS ...)', async () => {
    const prefixed = prefixedRunner(runner, ['env', 'X=1']);
    expect((await prefixed.run('sh', ['-c', 'echo $X'])).stdout).toBe('1\n');
  });
});
