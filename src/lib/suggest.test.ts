import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './suggest.js';

describe('closest', () => {
  const keys = ['alias_refresh_interval', 'dns_request_timeout', 'log_level', 'log_file'];

  it.each([
    ['alias_refresh_intervl', 'alias_refresh_interval'],
    ['dns_request_timout', 'dns_request_timeout'],
    ['log_levle', 'log_level'],
    ['LOG_FILE', 'log_file'],
  ])('suggests %s → %s', (input, expected) => {
    expect(closest(input, keys)).toBe(expected);
  });

  it('suggests nothing for an unrelated word', () => {
    expect(closest('colour', keys)).toBeUndefined();
  });

  it('counts a transposition as one edit', () => {
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
