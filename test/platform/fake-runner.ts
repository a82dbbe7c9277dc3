/** A CommandRunner that records every command line and answers from rules: tests assert exact sequences. */
import {
  commandFailed,
  type CommandResult,
  type CommandRunner,
  type RunOptions,
  formatCommand,
} from '../../src/platform/index.js';

type Answer =
  string | { readonly stdout?: string; readonly fail?: { exitCode: number; stderr: string } };

export class FakeRunner implements CommandRunner {
  /** Every command run, as one line (`ip addr add 100.64.0.1/32 dev eth0`). */
  readonly calls: string[] = [];
  /** The run options of each call, in the same order (user, group, environment). */
  readonly options: RunOptions[] = [];
  readonly #rules: { match: string | RegExp; answer: Answer | ((line: string) => Answer) }[] = [];

  /** Answers a command (exact line or pattern): its stdout, or a failure. Later rules win. */
  on(match: string | RegExp, answer: Answer | ((line: string) => Answer)): this {
    this.#rules.unshift({ match, answer });
    return this;
  }

  /** Makes `match` fail with `exitCode` and `stderr`. */
  fail(match: string | RegExp, stderr = 'failed', exitCode = 1): this {
    return this.on(match, { fail: { exitCode, stderr } });
  }

  run(cmd: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const line = formatCommand(cmd, args);
    this.calls.push(line);
    this.options.push(options);
    const rule = this.#rules.find((r) =>
      typeof r.match === 'string' ? r.match === line : r.match.test(line),
    );
    const raw = rule === undefined ? '' : rule.answer;
    const answer = typeof raw === 'function' ? raw(line) : raw;
    const result = typeof answer === 'string' ? { stdout: answer } : answer;
    if (result.fail !== undefined) {
      if (options.okExitCodes?.includes(result.fail.exitCode) === true) {
        return Promise.resolve({
          stdout: result.stdout ?? '',
          stderr: result.fail.stderr,
          exitCode: result.fail.exitCode,
        });
      }
      return Promise.reject(commandFailed(line, result.fail.exitCode, result.fail.stderr));
    }
    return Promise.resolve({ stdout: result.stdout ?? '', stderr: '', exitCode: 0 });
  }

  /** The calls so far, then forgets them. */
  take(): string[] {
    this.options.splice(0);
    return this.calls.splice(0);
  }
}
