import { describe, expect, it } from 'vitest';
import { ApiError } from './api-error.js';
import { route, RouteTable } from './http-routes.js';

const table = new RouteTable<string, string>([
  route('GET', '/v1/sessions', (ctx) => `list ${ctx}`),
  route('GET', '/v1/sessions/{id}', (ctx, { id }) => `read ${id} ${ctx}`),
  route('POST', '/v1/sessions/{id}:cancel', (_ctx, { id }) => `cancel ${id}`),
  route('DELETE', '/v1/sessions/{id}', (_ctx, { id }) => `delete ${id}`),
  route('GET', '/v1/users/{user}/keys/{key}', (_ctx, p) => `${p.user}/${p.key}`),
]);

function call(method: string, path: string): string | undefined {
  const found = table.find(method, path);
  return found?.route?.handle('ctx', found.params);
}

describe('RouteTable', () => {
  it('finds the route by method and path and names its parameters', () => {
    expect(call('GET', '/v1/sessions')).toBe('list ctx');
    expect(call('GET', '/v1/sessions/s_1')).toBe('read s_1 ctx');
    expect(call('POST', '/v1/sessions/s_1:cancel')).toBe('cancel s_1');
    expect(call('DELETE', '/v1/sessions/s_1')).toBe('delete s_1');
    expect(call('GET', '/v1/users/u_1/keys/k.2')).toBe('u_1/k.2');
  });

  it('takes one segment without / or : as a parameter, and the whole path only', () => {
    expect(table.find('GET', '/v1/sessions/a/b')).toBeUndefined();
    expect(table.find('GET', '/v1/sessions/a:b')).toBeUndefined();
    expect(table.find('GET', '/v1/sessions/')).toBeUndefined();
    expect(table.find('GET', '/v1/sessionsX')).toBeUndefined();
    expect(table.find('POST', '/v1/sessions/s_1:cancelled')).toBeUndefined();
    expect(table.find('GET', '/x/v1/sessions')).toBeUndefined();
  });

  it('reads the pattern literally apart from its parameters', () => {
    const dotted = new RouteTable<null, boolean>([route('GET', '/a.b', () => true)]);
    expect(dotted.find('GET', '/a.b')).toBeDefined();
    expect(dotted.find('GET', '/aXb')).toBeUndefined();
  });

  it('names the methods a known path has when the method is not one of them', () => {
    expect(table.find('PUT', '/v1/sessions/s_1')).toEqual({
      route: undefined,
      allowed: ['GET', 'DELETE'],
    });
    expect(table.find('GET', '/v1/sessions/s_1:cancel')).toEqual({
      route: undefined,
      allowed: ['POST'],
    });
  });

  it('decodes parameters after matching, so an encoded / or : stays in its parameter', () => {
    expect(call('GET', '/v1/sessions/db%2Ecorp')).toBe('read db.corp ctx');
    expect(call('GET', '/v1/sessions/a%2Fb')).toBe('read a/b ctx');
    expect(call('GET', '/v1/sessions/a%3Acancel')).toBe('read a:cancel ctx');
  });

  it('answers a 400 for a parameter that is not valid URL encoding, whatever the method', () => {
    for (const method of ['GET', 'PUT']) {
      let error: unknown;
      try {
        table.find(method, '/v1/sessions/%E0%A4%A');
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).status).toBe(400);
      expect((error as ApiError).body).toEqual({
        kind: 'InvalidArgument',
        message: 'The path /v1/sessions/%E0%A4%A is not valid URL encoding.',
      });
    }
  });
});
