import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['60s', 60_000],
    ['1m', 60_000],
    ['1m30s', 90_000],
    ['2h', 7_200_000],
    ['1h15m30s', 4_530_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['.5s', 500],
    ['1500us', 2],
    ['2000000ns', 2],
    ['250µs', 0],
    ['0s', 0],
    [' 45s ', 45_000],
    ['60', 60_000],
    ['2.5', 2_500],
    [90, 90_000],
    [0.25, 250],
  ] as const)('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each([
    ['', 'empty'],
    ['1d', 'days are not a Go unit'],
    ['5 m', 'space inside'],
    ['-5s', 'negative'],
    ['m5', 'unit first'],
    ['1h-5m', 'negative part'],
    ['1.2.3s', 'two points'],
    ['fast', 'a word'],
    [-3, 'a negative number'],
    [Number.NaN, 'NaN'],
    [true, 'a boolean'],
    [['60s'], 'a list'],
    [null, 'null'],
  ] as [unknown, string][])('rejects %j (%s)', (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it.each([
    [300, '300ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [300_000, '5m0s'],
    [3_600_000, '1h0m0s'],
    [5_430_000, '1h30m30s'],
  ])('%d ms is %s, and parses back', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
    expect(parseDuration(text)).toBe(ms);
  });
});
