/**
 * One line per end-to-end check as it ends: `ok   <check> (1.2 s)` or `FAIL <check>: <reason>`.
 * The run's closing `tests: N passed, N failed, N skipped` line comes from the summary reporter.
 */
import type { Reporter, SerializedError, TestCase, TestModule } from 'vitest/node';

export default class CheckReporter implements Reporter {
  onTestCaseResult(test: TestCase): void {
    const result = test.result();
    const seconds = ((test.diagnostic()?.duration ?? 0) / 1000).toFixed(1);
    if (result.state === 'passed') {
      process.stdout.write(`ok   ${test.name} (${seconds} s)\n`);
    } else if (result.state === 'failed') {
      const reason = (result.errors[0]?.message ?? 'failed').split('\n')[0] ?? 'failed';
      process.stdout.write(`FAIL ${test.name}: ${reason}\n`);
    } else {
      process.stdout.write(`skip ${test.name}\n`);
    }
  }

  /** Failures outside a check: the bed's setup or teardown, errors nobody awaited. */
  onTestRunEnd(modules: readonly TestModule[], unhandledErrors: readonly SerializedError[]): void {
    const errors = [
      ...modules.flatMap((m) => [
        ...m.errors(),
        ...[...m.children.allSuites()].flatMap((suite) => suite.errors()),
      ]),
      ...unhandledErrors,
    ];
    for (const error of errors) {
      process.stdout.write(`FAIL (outside a check): ${error.message.split('\n')[0] ?? ''}\n`);
    }
  }
}
