import { describe, expect, it } from 'vitest';
import { ApiError, forbidden, internalError, invalidArgument, notFound } from './api-error.js';

describe('ApiError', () => {
  it('is sent as the controller error JSON: kind, op, message, then details', () => {
    const err = new ApiError(400, 'invalid list token', 'list token was expired', {
      op: 'listtoken.Validate',
      requestFields: [{ name: 'list_token', description: 'Expired.' }],
    });
    expect(err.status).toBe(400);
    expect(JSON.stringify(err.body)).toBe(
      '{"kind":"invalid list token","op":"listtoken.Validate","message":"list token was expired",' +
        '"details":{"request_fields":[{"name":"list_token","description":"Expired."}]}}',
    );
  });

  it('leaves out op and details when there are none', () => {
    expect(JSON.stringify(forbidden().body)).toBe(
      '{"kind":"PermissionDenied","message":"Forbidden."}',
    );
    expect(invalidArgument('Bad.').body).toEqual({ kind: 'InvalidArgument', message: 'Bad.' });
    expect(invalidArgument('Bad.', [{ name: 'a', description: 'b' }]).body.details).toEqual({
      request_fields: [{ name: 'a', description: 'b' }],
    });
  });

  it('has the usual answers with their statuses', () => {
    expect(
      [forbidden(), notFound('Not Found'), invalidArgument('x'), internalError()].map((e) => [
        e.status,
        e.kind,
      ]),
    ).toEqual([
      [403, 'PermissionDenied'],
      [404, 'NotFound'],
      [400, 'InvalidArgument'],
      [500, 'Internal'],
    ]);
    expect(internalError().message).toBe('Internal error.');
  });

  it('passes on a controller answer with the kind it had', () => {
    const relayed = ApiError.relay(418, 'SomethingNew', 'I am a teapot.');
    expect([relayed.status, relayed.kind, relayed.message]).toEqual([
      418,
      'SomethingNew',
      'I am a teapot.',
    ]);
  });
});
