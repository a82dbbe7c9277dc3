import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**', 'dist/**'],
    // CI prints a line as each file starts, and the first lines of each failure.
    reporters: [
      process.env.CI ? './test/helpers/ci-reporter.ts' : 'default',
      './test/helpers/summary-reporter.ts',
    ],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    teardownTimeout: 20_000,
  },
});
