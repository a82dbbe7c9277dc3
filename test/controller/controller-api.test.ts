/**
 * The stand-in controller through the real client over HTTP on loopback: the shapes, statuses
 * and error bodies of Boundary's API (`internal/daemon/controller/handlers/` in Boundary).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeAuthorizationToken, ControllerError } from '../../src/boundary/index.js';
import { ALICE, BOB, DB, login, startStandIn, WEB, type StandIn } from '../helpers/standin.js';
import { rejection } from '../helpers/rejection.js';

let s: StandIn;
beforeEach(async () => {
  s = await startStandIn();
});
afterEach(async () => {
  await s.close();
});

async function raw(
  path: string,
  init: { method?: string; token?: string; body?: unknown; auth?: string } = {},
) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token !== undefined) headers.authorization = init.auth ?? `Bearer ${init.token}`;
  const res = await fetch(`${s.controller.address}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const failure = (p: Promise<unknown>) => rejection(p, ControllerError);

describe('authentication', () => {
  it('logs in with a password and mints Boundary-shaped ids and tokens', async () => {
    const token = await s.client.authenticate(
      s.directory.authMethodId,
      ALICE.login,
      ALICE.password,
    );
    expect(token.id).toMatch(/^at_[0-9A-Za-z]{10}$/);
    expect(token.token).toMatch(new RegExp(`^${token.id}_s1[1-9A-HJ-NP-Za-km-z]+$`));
    expect(token.user_id).toBe(ALICE.id);
    expect(token.auth_method_id).toBe(s.directory.authMethodId);
    expect(Date.parse(token.expiration_time ?? '')).toBe(s.clock.now() + 7 * 24 * 3600 * 1000);
  });

  it('answers a bad password with 401 Unauthenticated', async () => {
    const r = await raw(`/v1/auth-methods/${s.directory.authMethodId}:authenticate`, {
      method: 'POST',
      body: { command: 'login', attributes: { login_name: 'alice', password: 'wrong' } },
    });
    expect(r).toEqual({
      status: 401,
      body: { kind: 'Unauthenticated', message: 'Unable to authenticate.' },
    });
  });

  it('reads its own token (bare object, no secret) with any case of "Bearer"', async () => {
    const token = await login(s, ALICE);
    const id = token.split('_').slice(0, 2).join('_');
    const r = await raw(`/v1/auth-tokens/${id}`, { token, auth: `bEaReR ${token}` });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, user_id: ALICE.id, scope_id: 'global' });
    expect(r.body).not.toHaveProperty('token');
    expect(r.body).not.toHaveProperty('item');
    expect((await s.client.readAuthToken(token)).user_id).toBe(ALICE.id);
  });

  it('treats an unknown, malformed or expired token as anonymous: 401', async () => {
    const token = await login(s, ALICE);
    const id = token.split('_').slice(0, 2).join('_');
    for (const bad of ['at_1234567890_s1abc', 'garbage', `${token}_extra`]) {
      expect((await raw(`/v1/auth-tokens/${id}`, { token: bad })).body).toEqual({
        kind: 'Unauthenticated',
        message: 'Unauthenticated, or invalid token.',
      });
    }
    s.clock.advance(7 * 24 * 3600 * 1000);
    const err = await failure(s.client.readAuthToken(token));
    expect(err).toMatchObject({ code: 'controller.api', status: 401, kind: 'Unauthenticated' });
    expect(err.hint).toMatch(/log in again/);
  });
});

describe('alias administration', () => {
  it('creates an alias that the next listing shows and authorize-session accepts, then deletes it', async () => {
    const token = await login(s, ALICE);
    const created = await raw('/v1/aliases', {
      method: 'POST',
      token,
      body: { scope_id: 'global', type: 'target', value: 'New.Corp', destination_id: WEB },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      scope_id: 'global',
      type: 'target',
      value: 'new.corp',
      destination_id: WEB,
      version: 1,
    });
    const id = String(created.body.id);
    expect(id).toMatch(/^alt_/);
    const listed = await s.client.listResolvableAliases(token, ALICE.id, {});
    expect(listed.items.map((a) => a.value)).toContain('new.corp');
    expect((await s.client.authorizeSession(token, 'new.corp')).target_id).toBe(WEB);

    const del = await fetch(`${s.controller.address}/v1/aliases/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe('');
    expect((await raw(`/v1/aliases/${id}`, { method: 'DELETE', token })).status).toBe(404);
  });

  it('refuses users without manage_aliases (403), anonymous callers (401) and bad values (400)', async () => {
    const body = { scope_id: 'global', type: 'target', value: 'x.corp', destination_id: WEB };
    expect((await raw('/v1/aliases', { method: 'POST', body })).status).toBe(401);
    const bob = await login(s, BOB);
    expect((await raw('/v1/aliases', { method: 'POST', token: bob, body })).status).toBe(403);
    const alice = await login(s, ALICE);
    for (const bad of [
      { ...body, value: 'under_score.corp' },
      { ...body, value: 'db.corp' },
      { ...body, destination_id: 'ttcp_nope000000' },
      { ...body, type: 'ssh' },
    ]) {
      const r = await raw('/v1/aliases', { method: 'POST', token: alice, body: bad });
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({ kind: 'InvalidArgument' });
    }
  });
});

describe('authorize-session', () => {
  it('by target id: a bare SessionAuthorization whose token decodes to the session', async () => {
    const token = await login(s, ALICE);
    const auth = await s.client.authorizeSession(token, DB);
    expect(auth).not.toHaveProperty('item');
    expect(auth).toMatchObject({
      target_id: DB,
      user_id: ALICE.id,
      host_id: DB,
      type: 'tcp',
      connection_limit: 2,
      endpoint: 'tcp://127.0.0.1:5432',
      endpoint_port: 5432,
    });
    expect(auth.session_id).toMatch(/^s_[0-9A-Za-z]{10}$/);
    expect(auth).not.toHaveProperty('worker_info');
    const sad = decodeAuthorizationToken(auth.authorization_token);
    expect(sad).toMatchObject({
      sessionId: auth.session_id,
      targetId: DB,
      connectionLimit: 2,
      endpointPort: 5432,
      defaultClientPort: 15432,
      endpoint: 'tcp://127.0.0.1:5432',
      workerInfo: [{ address: '127.0.0.1:9202' }],
    });
    expect(sad.expiration?.toISOString()).toBe(auth.expiration);
    expect(s.sessions.get(auth.session_id)?.status).toBe('pending');
  });

  it('brokers credentials with raw, decoded and credential', async () => {
    const auth = await s.client.authorizeSession(await login(s, ALICE), DB);
    const cred = auth.credentials?.[0];
    expect(cred?.credential_source).toMatchObject({
      type: 'static',
      credential_type: 'username_password',
    });
    expect(cred?.secret?.decoded).toEqual({ username: 'app', password: 's3cr3t' });
    expect(JSON.parse(Buffer.from(cred?.secret?.raw ?? '', 'base64').toString())).toEqual({
      username: 'app',
      password: 's3cr3t',
    });
    expect(cred?.credential).toEqual({ username: 'app', password: 's3cr3t' });
  });

  it('by alias value, case-insensitively', async () => {
    const auth = await s.client.authorizeSession(await login(s, ALICE), 'DB.Corp');
    expect(auth.target_id).toBe(DB);
  });

  it('answers an unknown alias and an unknown target with the same opaque 404', async () => {
    const token = await login(s, ALICE);
    for (const target of ['nope.corp', 'ttcp_0000000000']) {
      const r = await raw(`/v1/targets/${target}:authorize-session`, {
        method: 'POST',
        token,
        body: {},
      });
      expect(r).toEqual({
        status: 404,
        body: { kind: 'NotFound', message: 'Resource not found.' },
      });
    }
  });

  it('answers 403 PermissionDenied without the grant, and 401 without a token', async () => {
    const bob = await login(s, BOB);
    const err = await failure(s.client.authorizeSession(bob, 'db.corp'));
    expect(err).toMatchObject({ status: 403, kind: 'PermissionDenied' });
    expect(err.message).toContain('403 PermissionDenied: Forbidden.');
    expect(
      (await raw(`/v1/targets/${WEB}:authorize-session`, { method: 'POST', body: {} })).status,
    ).toBe(401);
  });

  it('rejects a host id the target does not have, naming the field', async () => {
    const err = await failure(
      s.client.authorizeSession(await login(s, ALICE), DB, { hostId: 'hst_0000000000' }),
    );
    expect(err).toMatchObject({ status: 400, kind: 'InvalidArgument' });
    expect(err.requestFields).toEqual([
      { name: 'host_id', description: 'The requested host id is not available.' },
    ]);
  });
});

describe('targets', () => {
  it('lists a user’s targets with their ports for the list action only, filtered by id', async () => {
    const alice = await login(s, ALICE);
    // without the list action: refused, as Boundary refuses a listing without it
    expect(await failure(s.client.findTarget(alice, DB))).toMatchObject({ status: 403 });
    const user = s.directory.users.get(ALICE.id);
    if (user === undefined) throw new Error('no alice');
    user.canListTargets = true;
    const found = await s.client.findTarget(alice, DB);
    expect(found).toMatchObject({
      id: DB,
      attributes: { default_port: 5432, default_client_port: 15432 },
    });
    // a target without any grant of hers is not listed
    expect(await s.client.findTarget(alice, 'ttcp_nobody0001')).toBeUndefined();
    const listed = await raw(`/v1/targets?scope_id=global&recursive=true`, { token: alice });
    expect(listed.body).toMatchObject({ response_type: 'complete' });
    expect((listed.body.items as { id: string }[]).map((t) => t.id)).toContain(DB);
    const odd = await raw(`/v1/targets?filter=${encodeURIComponent('"/item/name" == "db"')}`, {
      token: alice,
    });
    expect(odd.status).toBe(400);
  });
});

describe('sessions', () => {
  it('reads a session and cancels it with its version', async () => {
    const token = await login(s, ALICE);
    const auth = await s.client.authorizeSession(token, DB);
    const session = await s.client.readSession(token, auth.session_id);
    expect(session).toMatchObject({
      id: auth.session_id,
      status: 'pending',
      version: 1,
      type: 'tcp',
      user_id: ALICE.id,
    });
    expect(session.states?.[0]).toMatchObject({ status: 'pending' });
    const canceled = await s.client.cancelSession(token, auth.session_id, session.version ?? 0);
    expect(canceled.status).toBe('terminated');
    expect(canceled.termination_reason).toBe('canceled');
    expect(canceled.states?.map((st) => st.status)).toEqual(['terminated', 'canceling', 'pending']);
  });

  it('requires the version to cancel (400 naming the field)', async () => {
    const token = await login(s, ALICE);
    const auth = await s.client.authorizeSession(token, DB);
    const r = await raw(`/v1/sessions/${auth.session_id}:cancel`, {
      method: 'POST',
      token,
      body: {},
    });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({
      kind: 'InvalidArgument',
      details: { request_fields: [{ name: 'version' }] },
    });
  });

  it("refuses another user's session with 403, and expires sessions as `timed out`", async () => {
    const token = await login(s, ALICE);
    const auth = await s.client.authorizeSession(token, WEB);
    expect((await failure(s.client.readSession(await login(s, BOB), auth.session_id))).status).toBe(
      403,
    );
    s.clock.advance(8 * 3600 * 1000 + 1);
    const session = await s.client.readSession(token, auth.session_id);
    expect(session).toMatchObject({ status: 'terminated', termination_reason: 'timed out' });
  });
});

describe('misbehaving controllers', () => {
  it('an unknown route is a 404 with an error body', async () => {
    expect(await raw('/v1/nothing-here')).toEqual({
      status: 404,
      body: { kind: 'NotFound', message: 'Not Found' },
    });
  });

  it('a known path with a method it does not have is the same 404', async () => {
    const token = await login(s, ALICE);
    for (const [method, path] of [
      ['DELETE', '/v1/sessions'],
      ['POST', `/v1/users/${ALICE.id}:list-resolvable-aliases`],
      ['GET', `/v1/targets/${DB}:authorize-session`],
    ] as const) {
      expect(await raw(path, { method, token })).toEqual({
        status: 404,
        body: { kind: 'NotFound', message: 'Not Found' },
      });
    }
  });

  it('decodes path parameters, and answers 400 for one that is not URL encoding', async () => {
    const token = await login(s, ALICE);
    expect(
      (await raw('/v1/targets/db%2Ecorp:authorize-session', { method: 'POST', token, body: {} }))
        .status,
    ).toBe(200);
    expect(await raw('/v1/sessions/s_%E0%A4%A', { token })).toEqual({
      status: 400,
      body: {
        kind: 'InvalidArgument',
        message: 'The path /v1/sessions/s_%E0%A4%A is not valid URL encoding.',
      },
    });
  });

  it('sends the invalid list token answer with its op, as Boundary does', async () => {
    const token = await login(s, ALICE);
    expect(
      await raw(`/v1/users/${ALICE.id}:list-resolvable-aliases?list_token=garbage`, { token }),
    ).toEqual({
      status: 400,
      body: {
        kind: 'invalid list token',
        op: 'listtoken.Validate',
        message: 'list token was invalid',
      },
    });
  });
});
