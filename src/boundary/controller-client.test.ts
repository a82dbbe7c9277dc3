/** The controller client against controllers that misbehave, on real loopback sockets. */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { packageVersion } from '../lib/index.js';
import { createSessionCertificate } from '../devserver/index.js';
import { ControllerClient, PlainHttpError, sendsInClear, tokenId } from './controller-client.js';
import { ed25519KeyFromGo } from './session-credentials.js';
import { ControllerError } from './errors.js';
import { rejection } from '../../test/helpers/rejection.js';

const TOKEN = 'at_1234567890_s1abcdef';
let server: http.Server | undefined;
let client: ControllerClient | undefined;

async function serve(handler: http.RequestListener): Promise<string> {
  server = http.createServer(handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An HTTPS server on loopback with a fresh self-signed certificate for 127.0.0.1; its PEM. */
async function serveTls(handler: http.RequestListener): Promise<{ address: string; pem: string }> {
  const now = Date.now();
  const made = createSessionCertificate({
    sessionId: 'controller.test',
    workerHosts: ['127.0.0.1'],
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_000),
  });
  const pem = new X509Certificate(made.certificate).toString();
  const key = ed25519KeyFromGo(made.privateKey).export({ format: 'pem', type: 'pkcs8' });
  server = https.createServer({ cert: pem, key }, handler);
  await new Promise<void>((r) => server?.listen(0, '127.0.0.1', r));
  return { address: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, pem };
}

const failure = (p: Promise<unknown>) => rejection(p, ControllerError);

afterEach(async () => {
  await client?.close();
  client = undefined;
  server?.closeAllConnections();
  const closing = server;
  if (closing !== undefined) await new Promise((r) => closing.close(r));
  server = undefined;
});

describe('ControllerClient', () => {
  it('sends the bearer token and JSON, and reads a bare object', async () => {
    let seen: http.IncomingHttpHeaders = {};
    const address = await serve((req, res) => {
      seen = req.headers;
      res.end(JSON.stringify({ id: 'at_1234567890', user_id: 'u_1' }));
    });
    client = new ControllerClient({ address: `${address}/` });
    expect(await client.readAuthToken(TOKEN)).toEqual({ id: 'at_1234567890', user_id: 'u_1' });
    expect(seen.authorization).toBe(`Bearer ${TOKEN}`);
    expect(seen['user-agent']).toBe(`client-agent/${packageVersion()}`);
    expect(client.address).toBe(address);
  });

  it('turns an error body into a ControllerError with status, kind and request fields', async () => {
    const address = await serve((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'InvalidArgument',
          message: 'Error in provided request.',
          details: { request_fields: [{ name: 'host_id', description: 'bad' }] },
        }),
      );
    });
    client = new ControllerClient({ address });
    const err = await failure(client.authorizeSession(TOKEN, 'db.corp', { hostId: 'hst_1' }));
    expect(err).toMatchObject({
      code: 'controller.api',
      status: 400,
      kind: 'InvalidArgument',
      requestFields: [{ name: 'host_id', description: 'bad' }],
    });
    expect(err.message).toBe(
      `POST /v1/targets/db.corp:authorize-session on ${address} failed: 400 InvalidArgument: Error in provided request. host_id: bad`,
    );
    expect(err.message).not.toContain(TOKEN);
  });

  it('a 5xx is a transient ControllerError', async () => {
    const address = await serve((_req, res) => {
      res.writeHead(500);
      res.end('{"kind":"Internal","message":"boom"}');
    });
    client = new ControllerClient({ address });
    const err = await failure(client.readAuthToken(TOKEN));
    expect(err).toMatchObject({ status: 500, kind: 'Internal' });
    expect(err.transient).toBe(true);
  });

  it('an answer that is not JSON is a bad_response error', async () => {
    const address = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    client = new ControllerClient({ address });
    const err = await failure(client.readAuthToken(TOKEN));
    expect(err.code).toBe('controller.bad_response');
    expect(err.message).toContain('not JSON');
  });

  it('a controller that hangs gives a timeout error within the timeout', async () => {
    const address = await serve(() => {
      /* never answers */
    });
    client = new ControllerClient({ address, timeoutMs: 300 });
    const started = Date.now();
    const err = await failure(client.readAuthToken(TOKEN));
    expect(err.code).toBe('controller.timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it("the caller's abort ends a request at once, as aborted", async () => {
    const address = await serve(() => {
      /* never answers */
    });
    client = new ControllerClient({ address, timeoutMs: 10_000 });
    const abort = new AbortController();
    const pending = client.readAuthToken(TOKEN, abort.signal);
    setTimeout(() => {
      abort.abort();
    }, 50);
    expect((await failure(pending)).code).toBe('controller.aborted');
  });

  it('a closed port is an unreachable error with a hint', async () => {
    const address = await serve(() => undefined);
    server?.close();
    client = new ControllerClient({ address });
    const err = await failure(client.readAuthToken(TOKEN));
    expect(err.code).toBe('controller.unreachable');
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.transient).toBe(true);
  });

  it('a delta page without a list token is a bad_response, not a loop', async () => {
    const address = await serve((_req, res) => res.end('{"response_type":"delta","items":[]}'));
    client = new ControllerClient({ address });
    expect((await failure(client.listResolvableAliases(TOKEN, 'u_1'))).code).toBe(
      'controller.bad_response',
    );
  });

  it('refuses addresses that are not http(s) URLs, and tokens that are not Boundary tokens', () => {
    expect(() => new ControllerClient({ address: 'boundary.corp' })).toThrow(
      /not a controller address/,
    );
    expect(() => new ControllerClient({ address: 'ftp://boundary.corp' })).toThrow(
      /not an http or https URL/,
    );
    expect(tokenId('at_Ab3dE5gH7j_s1xyz')).toBe('at_Ab3dE5gH7j');
    expect(() => tokenId('at_Ab3dE5gH7j')).toThrow(/not a Boundary auth token/);
  });
});

describe('ControllerClient and transport security', () => {
  const answer: http.RequestListener = (_req, res) => {
    res.end(JSON.stringify({ id: 'at_1234567890' }));
  };

  it('verifies the controller certificate by default; a CA file or the insecure switch accept a private one', async () => {
    const { address, pem } = await serveTls(answer);
    client = new ControllerClient({ address, timeoutMs: 5_000 });
    const refused = await failure(client.readAuthToken(TOKEN));
    expect(refused.code).toBe('controller.unreachable');
    expect(refused.hint).toMatch(/not trusted/);
    await client.close();

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-tls-'));
    try {
      fs.writeFileSync(path.join(dir, 'ca.pem'), pem);
      client = new ControllerClient({ address, caFile: path.join(dir, 'ca.pem') });
      expect(await client.readAuthToken(TOKEN)).toEqual({ id: 'at_1234567890' });
      await client.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    client = new ControllerClient({ address, insecure: true });
    expect(await client.readAuthToken(TOKEN)).toEqual({ id: 'at_1234567890' });
  });

  it('refuses plain HTTP to anything but loopback unless allowed, before sending anything', () => {
    for (const address of ['http://192.0.2.1:9200', 'http://boundary.corp', 'http://[fd00::1]']) {
      expect(sendsInClear(address)).toBe(true);
      expect(() => new ControllerClient({ address })).toThrow(PlainHttpError);
      expect(() => new ControllerClient({ address, allowPlainHttp: true })).not.toThrow();
    }
    for (const address of [
      'http://127.0.0.1:9200',
      'http://127.8.9.1',
      'http://localhost:9200',
      'http://[::1]:9200',
      'https://boundary.corp',
    ]) {
      expect(sendsInClear(address)).toBe(false);
      expect(() => new ControllerClient({ address })).not.toThrow();
    }
  });
});
