import { describe, expect, it } from 'vitest';
import { AgentError, asError, ERROR_CODES, UsageError } from './errors.js';

describe('ERROR_CODES', () => {
  it('lists each code once, each as `area.what` in lower case (or `usage`)', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^(usage|[a-z]+\.[a-z_]+)$/);
  });

  it('is what an error carries as its code', () => {
    expect(new AgentError('dns.upstream', 'no upstream answered').code).toBe('dns.upstream');
    expect(new UsageError('unknown flag').code).toBe('usage');
  });
});

describe('asError', () => {
  it('keeps an Error and wraps anything else', () => {
    const error = new Error('boom');
    expect(asError(error)).toBe(error);
    expect(asError('boom')).toMatchObject({ message: 'boom' });
    expect(asError(undefined)).toBeInstanceOf(Error);
  });
});
