/**
 * The first two steps of every worker connection (Boundary's `api/proxy/tls.go` and
 * `api/proxy/proxy.go`): mutual TLS 1.3 with the
 * session's own certificate, trying the session's worker addresses in order, then the WebSocket
 * upgrade to `boundary-tcp-proxy-v1` on `/v1/proxy`. Every step honours the AbortSignal and a
 * deadline; failures become WorkerErrors that say which step failed.
 */
import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { parseHostPort } from '../lib/index.js';
import type { SessionAuthorizationData } from './authz-token.js';
import type { SessionCredentials } from './session-credentials.js';
import { step, type StepContext } from './abortable-step.js';
import { WorkerError } from './worker-errors.js';
import {
  DEFAULT_WORKER_PORT,
  MAX_RECEIVED_MESSAGE_BYTES,
  PROXY_ALPN,
  PROXY_PATH,
  PROXY_SUBPROTOCOL,
} from './worker-protocol.js';

export interface ConnectContext extends StepContext {
  readonly log: Logger;
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

/** `host:port`, `[v6]:port`, or a bare host (default port 9202). */
export function splitHostPort(address: string): { host: string; port: number } {
  const { host, port } = parseHostPort(address);
  return { host, port: port === undefined ? DEFAULT_WORKER_PORT : Number(port) };
}

/**
 * Why the worker's certificate is not acceptable for this session, or undefined when it is: it
 * must be the session certificate or be signed by it, name the session id, allow server or
 * client auth, and be valid now.
 */
export function workerCertificateProblem(
  peer: X509Certificate | undefined,
  session: X509Certificate,
  sessionId: string,
  now: number,
): string | undefined {
  if (peer === undefined) return 'it presented no certificate';
  const identical = peer.raw.equals(session.raw);
  if (!identical && !(peer.checkIssued(session) && peer.verify(session.publicKey))) {
    return 'its certificate is not the session certificate and not signed by it';
  }
  if (peer.checkHost(sessionId, { subject: 'never', wildcards: false }) !== sessionId) {
    return `its certificate does not name the session ${sessionId}`;
  }
  const usages = peer.keyUsage as string[] | undefined;
  if (
    usages !== undefined &&
    ![SERVER_AUTH, CLIENT_AUTH, ANY_EKU].some((u) => usages.includes(u))
  ) {
    return 'its certificate is not for TLS authentication';
  }
  for (const cert of identical ? [peer] : [peer, session]) {
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) {
      return `its certificate chain is not valid now (valid ${cert.validFrom} to ${cert.validTo})`;
    }
  }
  return undefined;
}

/**
 * The client side's TLS context for a session: TLS 1.3 with the session certificate and key. One
 * per session serves all its connections (building it parses the key and certificate).
 */
export function clientSecureContext(creds: SessionCredentials): tls.SecureContext {
  return tls.createSecureContext({
    cert: creds.certificatePem,
    key: creds.privateKey.export({ format: 'pem', type: 'pkcs8' }),
    minVersion: 'TLSv1.3',
    ciphers: CLIENT_CIPHER_SUITES,
  });
}

/**
 * TLS 1.3 suites in the order the client prefers them: AES-128-GCM first, as Go's client (and so
 * `boundary connect`) does on hardware with AES instructions; it does less work per byte than
 * OpenSSL's default first choice, AES-256-GCM. The worker may pick any of them.
 */
export const CLIENT_CIPHER_SUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
].join(':');

/**
 * TLS session tickets per worker address, for one Boundary session: a later connection to the
 * same worker resumes (TLS 1.3 PSK with a fresh key exchange) instead of a full handshake. Kept
 * with the session's credentials and dropped with them.
 */
export class TlsTickets {
  readonly #tickets = new Map<string, Buffer>();
  get(address: string): Buffer | undefined {
    return this.#tickets.get(address);
  }
  set(address: string, ticket: Buffer): void {
    this.#tickets.set(address, ticket);
  }
  delete(address: string): void {
    this.#tickets.delete(address);
  }
}

/** TLS to the first worker address that accepts a TCP connection. */
export async function connectTls(
  auth: SessionAuthorizationData,
  creds: SessionCredentials,
  sessionCert: X509Certificate,
  ctx: ConnectContext,
  secureContext: tls.SecureContext = clientSecureContext(creds),
  tickets?: TlsTickets,
): Promise<{ socket: tls.TLSSocket; address: string }> {
  const failures: WorkerError[] = [];
  for (const { address } of auth.workerInfo) {
    try {
      const socket = await tlsToWorker(
        address,
        auth.sessionId,
        secureContext,
        sessionCert,
        ctx,
        tickets,
      );
      return { socket, address };
    } catch (error) {
      if (!(error instanceof WorkerError) || error.kind !== 'unreachable') throw error;
      failures.push(error);
      ctx.log.info({ worker: address, err: error.message }, 'Worker unreachable; trying the next.');
    }
  }
  const last = failures.at(-1);
  if (failures.length <= 1 && last !== undefined) throw last;
  throw new WorkerError('unreachable', failures.map((f) => f.message).join('; '), {
    address: last?.address,
    cause: last,
  });
}

function tlsToWorker(
  address: string,
  sessionId: string,
  secureContext: tls.SecureContext,
  sessionCert: X509Certificate,
  ctx: ConnectContext,
  tickets: TlsTickets | undefined,
): Promise<tls.TLSSocket> {
  const { host, port } = splitHostPort(address);
  let tcpUp = false;
  let socket: tls.TLSSocket | undefined;
  const unreachable = (why: string, cause?: unknown) =>
    new WorkerError('unreachable', `cannot reach the worker at ${address}: ${why}`, {
      address,
      cause,
    });
  const unauthorized = (cause?: unknown) =>
    new WorkerError(
      'unauthorized',
      `session credentials were not accepted, or session is unauthorized (worker ${address})`,
      { address, cause },
    );
  return step<tls.TLSSocket>(
    ctx,
    () =>
      tcpUp
        ? new WorkerError(
            'timeout',
            `the worker at ${address} did not complete the TLS handshake`,
            {
              address,
            },
          )
        : unreachable(`no answer within ${ctx.timeoutMs} ms`),
    () => socket?.destroy(),
    (resolve, reject) => {
      if (!Number.isInteger(port) || port < 1 || port > 65535) {
        reject(new WorkerError('unreachable', `the worker address ${address} has no valid port`));
        return () => undefined;
      }
      const s = tls.connect({
        host,
        port,
        ...(net.isIP(host) === 0 ? { servername: host } : {}),
        secureContext,
        ALPNProtocols: [PROXY_ALPN, sessionId],
        rejectUnauthorized: false,
        ...(tickets?.get(address) === undefined ? {} : { session: tickets.get(address) }),
      });
      socket = s;
      // A ticket is kept only from a connection whose worker passed the certificate check (or
      // resumed such a one): resuming with it proves the worker is that same, checked one, so a
      // resumed connection needs no certificate (and presents none). Each replaces the last.
      let trusted = false;
      let ticket: Buffer | undefined;
      const keepTicket = () => {
        if (trusted && ticket !== undefined) tickets?.set(address, ticket);
      };
      s.on('session', (t: Buffer) => {
        ticket = t;
        keepTicket();
      });
      // No Nagle from the first byte: ws turns it off only once the upgrade is done, and the
      // TLS and HTTP flights before are small writes that must not wait for an ACK.
      s.setNoDelay(true);
      const onConnect = () => {
        tcpUp = true;
      };
      const onSecure = () => {
        const problem = s.isSessionReused()
          ? undefined
          : workerCertificateProblem(
              s.getPeerX509Certificate(),
              sessionCert,
              sessionId,
              ctx.clock.now(),
            );
        if (problem === undefined) {
          trusted = true;
          keepTicket();
          resolve(s);
        } else
          reject(
            new WorkerError('untrusted', `the worker at ${address} is not trusted: ${problem}`, {
              address,
            }),
          );
      };
      const onError = (error: NodeJS.ErrnoException) => {
        // A refused resumption must not stick: the next try makes a full handshake.
        tickets?.delete(address);
        reject(tcpUp ? unauthorized(error) : unreachable(error.code ?? error.message, error));
      };
      const onClose = () => {
        reject(tcpUp ? unauthorized() : unreachable('the connection closed'));
      };
      s.on('connect', onConnect);
      s.on('secureConnect', onSecure);
      s.on('error', onError);
      s.on('close', onClose);
      return () => {
        s.off('connect', onConnect);
        s.off('secureConnect', onSecure);
        s.off('error', onError);
        s.off('close', onClose);
      };
    },
  );
}

/** The WebSocket upgrade over an established TLS socket. */
export function upgrade(
  socket: tls.TLSSocket,
  address: string,
  ctx: ConnectContext,
): Promise<WebSocket> {
  const ws = new WebSocket(`ws://${address}${PROXY_PATH}`, PROXY_SUBPROTOCOL, {
    createConnection: () => socket,
    perMessageDeflate: false,
    followRedirects: false,
    maxPayload: MAX_RECEIVED_MESSAGE_BYTES,
  });
  // A listener for the whole life of the socket, so that no late error goes unhandled.
  ws.on('error', (error) => {
    ctx.log.debug({ worker: address, err: error.message }, 'Worker WebSocket error.');
  });
  return step<WebSocket>(
    ctx,
    () =>
      new WorkerError('timeout', `the worker at ${address} did not answer the WebSocket upgrade`, {
        address,
      }),
    () => {
      ws.terminate();
      socket.destroy();
    },
    (resolve, reject) => {
      const onOpen = () => {
        if (ws.protocol === PROXY_SUBPROTOCOL) resolve(ws);
        else reject(protocolError(`it negotiated the subprotocol "${ws.protocol}"`));
      };
      const protocolError = (what: string, cause?: unknown) =>
        new WorkerError(
          'protocol',
          `the worker at ${address} refused the proxy protocol: ${what}`,
          {
            address,
            cause,
          },
        );
      const onResponse = (_req: unknown, res: IncomingMessage) => {
        res.resume();
        reject(protocolError(`it answered the upgrade with HTTP ${res.statusCode ?? 0}`));
      };
      const onError = (error: Error) => {
        reject(
          /subprotocol/i.test(error.message)
            ? protocolError(error.message, error)
            : new WorkerError(
                'unauthorized',
                `session credentials were not accepted, or session is unauthorized (worker ${address} dropped the connection: ${error.message})`,
                { address, cause: error },
              ),
        );
      };
      ws.on('open', onOpen);
      ws.on('unexpected-response', onResponse);
      ws.on('error', onError);
      return () => {
        ws.off('open', onOpen);
        ws.off('unexpected-response', onResponse);
        ws.off('error', onError);
      };
    },
  );
}
