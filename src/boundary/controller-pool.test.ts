import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { PlainHttpError } from './controller-client.js';
import { ControllerPool } from './controller-pool.js';

const pool = new ControllerPool({
  caFile: undefined,
  insecure: false,
  log: pino({ level: 'silent' }),
});
afterEach(() => pool.close());

describe('ControllerPool', () => {
  it('gives one client per controller address', () => {
    const a = pool.client('https://boundary.example.com');
    expect(pool.client('https://boundary.example.com')).toBe(a);
    expect(pool.client('https://other.example.com')).not.toBe(a);
  });

  it('lets a token go over plain HTTP only to loopback, or where its owner allowed it', () => {
    expect(() => {
      pool.admit(1000, 'https://boundary.example.com', false);
    }).not.toThrow();
    expect(() => {
      pool.admit(1000, 'http://127.0.0.1:9200', false);
    }).not.toThrow();
    expect(() => {
      pool.admit(1000, 'http://boundary.example.com', false);
    }).toThrow(PlainHttpError);
    expect(() => {
      pool.admit(1000, 'http://boundary.example.com', true);
    }).not.toThrow();
  });

  it("knows the controller's own host name, whatever its case or trailing dot", () => {
    expect(
      pool.isControllerName('Boundary.Example.com.', 'https://boundary.example.com:9200'),
    ).toBe(true);
    expect(pool.isControllerName('db.example.com', 'https://boundary.example.com')).toBe(false);
    expect(pool.isControllerName('boundary.example.com', undefined)).toBe(false);
  });
});
