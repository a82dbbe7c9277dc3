/**
 * One proxied connection at the stand-in worker, as Boundary's worker handles it
 * (`internal/daemon/worker/handler.go`): read the ClientHandshake, apply the tofu and
 * connection-limit rules, answer with the HandshakeResult, dial the target, relay bytes both
 * ways while counting them, and record how the connection ended.
 */
import net from 'node:net';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import {
  rawChunks,
  WebSocketStream,
  CLOSE,
  CLOSE_REASON,
  decodeClientHandshake,
  encodeHandshakeResult,
  HandshakeCommand,
  TOFU_TOKEN_LENGTH,
  type ClientHandshake,
} from '../boundary/index.js';
import type { Clock } from '../lib/index.js';
import type { ConnectionRecord, SessionRecord, SessionStore } from './sessions.js';

export interface ProxyConnectionContext {
  readonly store: SessionStore;
  readonly clock: Clock;
  readonly log: Logger;
  /** How long dialing the target may take. */
  readonly dialTimeoutMs: number;
  /** Keeps a target socket until it closes, so that the worker can close it on shutdown. */
  readonly trackTarget: (socket: net.Socket) => void;
}

export interface ProxyClient {
  readonly address: string;
  readonly port: number;
}

/** Serves one WebSocket of `session` from its first message on. */
export function serveProxyConnection(
  ws: WebSocket,
  session: SessionRecord,
  client: ProxyClient,
  ctx: ProxyConnectionContext,
): void {
  const log = ctx.log.child({ session: session.id, client: `${client.address}:${client.port}` });
  const refuse = (code: number, reason: string) => {
    log.info({ code, reason }, 'Refused a proxy handshake.');
    ws.close(code, reason);
  };
  // The client must speak before the session expires.
  const deadline = ctx.clock.setTimeout(() => {
    refuse(CLOSE.policyViolation, CLOSE_REASON.invalidHandshake);
  }, session.expirationTime - ctx.clock.now());
  ws.once('close', () => {
    deadline.cancel();
  });
  ws.once('message', (data, isBinary) => {
    deadline.cancel();
    let hello: ClientHandshake;
    try {
      if (!isBinary) throw new Error('not binary');
      hello = decodeClientHandshake(Buffer.concat(rawChunks(data)));
    } catch {
      refuse(CLOSE.policyViolation, CLOSE_REASON.invalidHandshake);
      return;
    }
    if (hello.tofuToken.length !== TOFU_TOKEN_LENGTH) {
      refuse(CLOSE.unsupportedData, CLOSE_REASON.invalidTofu);
      return;
    }
    if (hello.command === HandshakeCommand.sessionCancel) {
      // Closed first, so that the session's end does not close this one with another reason.
      ws.close(CLOSE.normal, CLOSE_REASON.sessionCanceled);
      ctx.store.cancel(session.id);
      log.info('Session canceled by its client.');
      return;
    }
    const activation = ctx.store.activate(session.id, hello.tofuToken);
    // A matching token on a session that is no longer active falls through to authorization,
    // which refuses it, as Boundary's controller does (`AuthorizeConnection` in
    // internal/session/repository_connection.go).
    const matching = session.tofuToken === hello.tofuToken;
    if (activation === 'tofu_mismatch' && !matching) {
      refuse(CLOSE.policyViolation, CLOSE_REASON.tofuNotAllowed);
      return;
    }
    if (activation === 'not_pending') {
      refuse(CLOSE.internalError, CLOSE_REASON.refusingActivation);
      return;
    }
    if (activation === 'activated') log.info('Session activated.');
    const authorized = ctx.store.authorizeConnection(session.id, client);
    if (!authorized.ok) {
      refuse(CLOSE.internalError, CLOSE_REASON.unableToAuthorize);
      return;
    }
    // Wrapped now, before the result goes out, so that no early byte from the client is lost.
    const stream = new WebSocketStream(ws);
    ws.send(
      encodeHandshakeResult({
        expiration: new Date(session.expirationTime),
        connectionLimit: session.connectionLimit,
        connectionsLeft: authorized.connectionsLeft,
      }),
      { binary: true },
    );
    relay(
      stream,
      session,
      authorized.connection,
      log.child({ connection: authorized.connection.id }),
      ctx,
    );
  });
}

function relay(
  stream: WebSocketStream,
  session: SessionRecord,
  record: ConnectionRecord,
  log: Logger,
  ctx: ProxyConnectionContext,
): void {
  const endpoint = `${session.endpointHost}:${session.endpointPort}`;
  const target = net.connect({
    host: session.endpointHost,
    port: session.endpointPort,
    noDelay: true,
  });
  ctx.trackTarget(target);
  let connected = false;
  let failure: Error | undefined;
  let targetClosed = false;
  let streamClosed = false;
  const finishWhenBothClosed = () => {
    if (!targetClosed || !streamClosed) return;
    ctx.store.closeConnection(session.id, record, closedReason(session, failure));
    log.info(
      {
        endpoint,
        bytesUp: record.bytesUp,
        bytesDown: record.bytesDown,
        reason: record.closedReason,
      },
      'Proxied connection closed.',
    );
  };
  const dialDeadline = ctx.clock.setTimeout(() => {
    if (!connected) target.destroy(new Error(`no answer within ${ctx.dialTimeoutMs} ms`));
  }, ctx.dialTimeoutMs);
  target.once('close', () => {
    dialDeadline.cancel();
  });
  target.once('connect', () => {
    connected = true;
    dialDeadline.cancel();
    log.info({ endpoint }, 'Proxying a connection.');
    stream.on('data', (chunk: Buffer) => (record.bytesUp += chunk.length));
    target.on('data', (chunk: Buffer) => (record.bytesDown += chunk.length));
    stream.pipe(target);
    target.pipe(stream);
  });
  target.on('error', (error) => {
    failure ??= error;
    if (!connected) {
      log.info({ endpoint, err: error.message }, 'Cannot reach the target.');
      stream.webSocket.close(CLOSE.proxySetup, CLOSE_REASON.unableToProxy);
    }
    stream.destroy();
  });
  target.on('close', () => {
    targetClosed = true;
    // Ending (not destroying) sends what is still queued, then closes the WebSocket with 1000.
    if (!stream.destroyed) stream.resume().end();
    finishWhenBothClosed();
  });
  stream.on('error', (error) => {
    failure ??= error;
    target.destroy();
  });
  stream.on('close', () => {
    streamClosed = true;
    target.destroySoon();
    finishWhenBothClosed();
  });
}

function closedReason(session: SessionRecord, failure: Error | undefined): string {
  if (session.status === 'canceling' || session.status === 'terminated') {
    return session.terminationReason === 'timed out' ? 'timed out' : 'canceled';
  }
  return failure === undefined ? 'closed by end-user' : 'network error';
}
