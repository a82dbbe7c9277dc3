import { describe, expect, it } from 'vitest';
import { normalizeControllerAddress } from './controller-address.js';

describe('normalizeControllerAddress', () => {
  it('makes the spellings Boundary treats as one controller the same string', () => {
    for (const spelling of [
      'https://h',
      'https://h/',
      'https://h/v1',
      'https://h/v1/',
      'https://h//',
      'https://H',
      'https://h:443',
      'https://h/v1/auth-methods',
      'https://h?x=1#frag',
      ' https://h ',
    ]) {
      expect(normalizeControllerAddress(spelling), spelling).toBe('https://h');
    }
  });

  it('keeps a base path, cutting from its last v1/ as setAddr does', () => {
    expect(normalizeControllerAddress('https://h/myinstall/v1')).toBe('https://h/myinstall');
    expect(normalizeControllerAddress('https://h/myinstall/v1/')).toBe('https://h/myinstall');
    expect(normalizeControllerAddress('https://h/myinstall/')).toBe('https://h/myinstall');
    expect(normalizeControllerAddress('https://h/a/v1/b/v1/c')).toBe('https://h/a/v1/b');
    expect(normalizeControllerAddress('http://127.0.0.1:9200/v1/')).toBe('http://127.0.0.1:9200');
    expect(normalizeControllerAddress('http://[::1]:9200/')).toBe('http://[::1]:9200');
  });

  it('keeps what makes controllers differ: scheme, host, port, path', () => {
    const distinct = [
      'http://h',
      'https://h',
      'https://h:8443',
      'https://other',
      'https://h/base',
    ].map(normalizeControllerAddress);
    expect(new Set(distinct).size).toBe(distinct.length);
  });

  it('rejects what is not an http(s) URL, naming it', () => {
    for (const bad of ['boundary.corp', 'ftp://h', '', 'https://']) {
      expect(() => normalizeControllerAddress(bad), bad).toThrow(
        expect.objectContaining({ code: 'boundary.address' }) as Error,
      );
    }
  });
});
