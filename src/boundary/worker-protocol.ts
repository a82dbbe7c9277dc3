/**
 * The worker proxy protocol's constants and its two protobuf messages (package
 * `worker.proxy.v1`, Boundary's `internal/proto/worker/proxy/v1/proxy.proto`): the client's
 * `ClientHandshake` and the worker's
 * `HandshakeResult`, one message per binary WebSocket message.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { readTimestamp } from './authz-token.js';
import { WorkerError } from './worker-errors.js';

/** The WebSocket subprotocol both sides must agree on. */
export const PROXY_SUBPROTOCOL = 'boundary-tcp-proxy-v1';
/** The HTTP path of the upgrade request. */
export const PROXY_PATH = '/v1/proxy';
/** The ALPN protocol the worker selects; the client also offers the session id. */
export const PROXY_ALPN = 'http/1.1';
/** Default port of a worker's proxy listener. */
export const DEFAULT_WORKER_PORT = 9202;
/** Length of a tofu (trust on first use) token. */
export const TOFU_TOKEN_LENGTH = 20;
/** Go's proxy writes at most this many bytes per data message; so do we. */
export const MAX_DATA_MESSAGE_BYTES = 32 * 1024;
/**
 * The largest WebSocket message either side accepts (beyond it ws closes with 1009): far above
 * the data messages peers send, small enough to bound the memory one connection can take.
 */
export const MAX_RECEIVED_MESSAGE_BYTES = 1024 * 1024;

/** Close codes and reasons the worker uses (`internal/daemon/worker/handler.go`). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  internalError: 1011,
  /** Boundary's own code: the worker could not reach the target. */
  proxySetup: 3000,
} as const;

export const CLOSE_REASON = {
  invalidHandshake: 'invalid handshake received',
  invalidTofu: 'invalid tofu token',
  tofuNotAllowed: 'tofu token not allowed',
  refusingActivation: 'refusing to activate session',
  unableToAuthorize: 'unable to authorize connection',
  unableToProxy: 'unable to setup proxying',
  sessionCanceled: 'session canceled',
  unsupportedProtocol: 'unsupported-protocol',
} as const;

/** `worker.proxy.v1.HANDSHAKECOMMAND`. Unknown numbers are kept, as proto3 enums are open. */
export const HandshakeCommand = { unspecified: 0, sessionCancel: 1 } as const;
export type HandshakeCommand = number;

export interface ClientHandshake {
  readonly tofuToken: string;
  /** 0 (unspecified) connects; 1 cancels the session. */
  readonly command: HandshakeCommand;
}

export interface HandshakeResult {
  readonly expiration: Date | undefined;
  /** -1: unlimited. */
  readonly connectionLimit: number;
  /** Connections left after this one; -1: unlimited. */
  readonly connectionsLeft: number;
}

const CLIENT_HANDSHAKE = { tofuToken: 10, command: 20 } as const;
const HANDSHAKE_RESULT = { expiration: 10, connectionLimit: 20, connectionsLeft: 30 } as const;
const TIMESTAMP = { seconds: 1, nanos: 2 } as const;

export function encodeClientHandshake(message: ClientHandshake): Uint8Array {
  const w = new BinaryWriter();
  if (message.tofuToken !== '') {
    w.tag(CLIENT_HANDSHAKE.tofuToken, WireType.LengthDelimited).string(message.tofuToken);
  }
  if (message.command !== 0)
    w.tag(CLIENT_HANDSHAKE.command, WireType.Varint).int32(message.command);
  return w.finish();
}

export function decodeClientHandshake(bytes: Uint8Array): ClientHandshake {
  return decode('ClientHandshake', bytes, (r) => {
    let tofuToken = '';
    let command = 0;
    eachField(r, (no, wt) => {
      if (no === CLIENT_HANDSHAKE.tofuToken) {
        expectWire(wt, WireType.LengthDelimited, no);
        tofuToken = r.string();
      } else if (no === CLIENT_HANDSHAKE.command) {
        expectWire(wt, WireType.Varint, no);
        command = r.int32();
      } else {
        return false;
      }
      return true;
    });
    return { tofuToken, command };
  });
}

export function encodeHandshakeResult(message: HandshakeResult): Uint8Array {
  const w = new BinaryWriter();
  if (message.expiration !== undefined) {
    const ms = message.expiration.getTime();
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms - seconds * 1000) * 1_000_000;
    w.tag(HANDSHAKE_RESULT.expiration, WireType.LengthDelimited).fork();
    if (seconds !== 0) w.tag(TIMESTAMP.seconds, WireType.Varint).int64(seconds);
    if (nanos !== 0) w.tag(TIMESTAMP.nanos, WireType.Varint).int32(nanos);
    w.join();
  }
  if (message.connectionLimit !== 0) {
    w.tag(HANDSHAKE_RESULT.connectionLimit, WireType.Varint).int32(message.connectionLimit);
  }
  if (message.connectionsLeft !== 0) {
    w.tag(HANDSHAKE_RESULT.connectionsLeft, WireType.Varint).int32(message.connectionsLeft);
  }
  return w.finish();
}

export function decodeHandshakeResult(bytes: Uint8Array): HandshakeResult {
  return decode('HandshakeResult', bytes, (r) => {
    let expiration: Date | undefined;
    let connectionLimit = 0;
    let connectionsLeft = 0;
    eachField(r, (no, wt) => {
      if (no === HANDSHAKE_RESULT.expiration) {
        expectWire(wt, WireType.LengthDelimited, no);
        expiration = readTimestamp(new BinaryReader(r.bytes()));
      } else if (no === HANDSHAKE_RESULT.connectionLimit) {
        expectWire(wt, WireType.Varint, no);
        connectionLimit = r.int32();
      } else if (no === HANDSHAKE_RESULT.connectionsLeft) {
        expectWire(wt, WireType.Varint, no);
        connectionsLeft = r.int32();
      } else {
        return false;
      }
      return true;
    });
    return { expiration, connectionLimit, connectionsLeft };
  });
}

function decode<T>(name: string, bytes: Uint8Array, read: (r: BinaryReader) => T): T {
  try {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    return read(new BinaryReader(bytes, (b) => utf8.decode(b)));
  } catch (cause) {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw new WorkerError(
      'protocol',
      `the worker protocol message is not a valid ${name}${detail}`,
      {
        cause,
      },
    );
  }
}

/** Calls `field` for every field; fields it does not take (returns false) are skipped. */
function eachField(r: BinaryReader, field: (no: number, wt: WireType) => boolean): void {
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === 0) throw new Error('field number 0');
    if (!field(no, wt)) r.skip(wt, no);
  }
}

function expectWire(actual: WireType, expected: WireType, field: number): void {
  if (actual !== expected) {
    throw new Error(`field ${field} has wire type ${actual}, expected ${expected}`);
  }
}
