/**
 * The CI log, short enough to read whole: a line as each test file starts (so a file that never
 * ends is the last one named), what the tests print, and each failure's first lines.
 */
import path from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

type UserConsoleLog = Parameters<NonNullable<Reporter['onUserConsoleLog']>>[0];

const ROOT = path.resolve(import.meta.dirname, '../..');
const name = (module: TestModule): string => path.relative(ROOT, module.moduleId);

export default class CiReporter implements Reporter {
  onTestModuleStart(module: TestModule): void {
    process.stdout.write(`start ${name(module)}\n`);
  }

  onTestModuleEnd(module: TestModule): void {
    const failed = [...module.children.allTests()].filter((t) => t.result().state === 'failed');
    if (failed.length === 0 && module.state() !== 'failed') return;
    process.stdout.write(`FAIL  ${name(module)}\n`);
    for (const error of module.errors()) process.stdout.write(`  ${firstLines(error.message)}\n`);
    for (const test of failed) {
      const error = test.result().errors?.[0];
      process.stdout.write(`  ✗ ${test.fullName}\n    ${firstLines(error?.message ?? '')}\n`);
    }
  }

  onUserConsoleLog(log: UserConsoleLog): void {
    process.stdout.write(log.content.endsWith('\n') ? log.content : `${log.content}\n`);
  }
}

function firstLines(text: string): string {
  return text.split('\n').slice(0, 6).join('\n    ');
}
