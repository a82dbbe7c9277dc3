/**
 * Session authorization tokens: base58 (Bitcoin alphabet) of the protobuf message
 * `controller.api.resources.targets.v1.SessionAuthorizationData`. Field numbers are those of
 * Boundary's `internal/proto/controller/api/resources/targets/v1/target.proto`. The worker
 * addresses, the session certificate and
 * its private key exist only in here, never in the JSON of authorize-session.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import bs58 from 'bs58';
import { AuthorizationTokenError } from './errors.js';

export interface ScopeInfo {
  readonly id: string;
  readonly type: string;
  readonly name: string;
  readonly description: string;
  readonly parentScopeId: string;
}

export interface WorkerInfo {
  /** `host:port` of a worker's proxy listener. */
  readonly address: string;
}

export interface SessionAuthorizationData {
  readonly sessionId: string;
  readonly targetId: string;
  readonly scope: ScopeInfo | undefined;
  readonly createdTime: Date | undefined;
  readonly type: string;
  /** -1: unlimited. */
  readonly connectionLimit: number;
  readonly endpointPort: number;
  readonly expiration: Date | undefined;
  /** DER X.509: self-signed Ed25519, DNS SAN = session id. */
  readonly certificate: Uint8Array;
  /** Go's ed25519.PrivateKey: 32-byte seed followed by the 32-byte public key. */
  readonly privateKey: Uint8Array;
  readonly hostId: string;
  readonly endpoint: string;
  /** First entry preferred. */
  readonly workerInfo: readonly WorkerInfo[];
  /** 0 when the target has none. */
  readonly defaultClientPort: number;
}

const F = {
  sessionId: 10,
  targetId: 20,
  scope: 30,
  createdTime: 40,
  type: 80,
  connectionLimit: 90,
  endpointPort: 102,
  expiration: 105,
  certificate: 120,
  privateKey: 130,
  hostId: 140,
  endpoint: 141,
  workerInfo: 150,
  defaultClientPort: 160,
} as const;

const SCOPE = { id: 1, type: 2, name: 3, description: 4, parentScopeId: 5 } as const;
const TIMESTAMP = { seconds: 1, nanos: 2 } as const;
const WORKER_ADDRESS = 10;

/** Protobuf bytes → base58 text, as the controller sends it. */
export function encodeAuthorizationToken(data: SessionAuthorizationData): string {
  const w = new BinaryWriter();
  const str = (no: number, v: string) => {
    if (v !== '') w.tag(no, WireType.LengthDelimited).string(v);
  };
  const bytes = (no: number, v: Uint8Array) => {
    if (v.length > 0) w.tag(no, WireType.LengthDelimited).bytes(v);
  };
  const time = (no: number, v: Date | undefined) => {
    if (v === undefined) return;
    const ms = v.getTime();
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms - seconds * 1000) * 1_000_000;
    w.tag(no, WireType.LengthDelimited).fork();
    if (seconds !== 0) w.tag(TIMESTAMP.seconds, WireType.Varint).int64(seconds);
    if (nanos !== 0) w.tag(TIMESTAMP.nanos, WireType.Varint).int32(nanos);
    w.join();
  };
  str(F.sessionId, data.sessionId);
  str(F.targetId, data.targetId);
  if (data.scope !== undefined) {
    w.tag(F.scope, WireType.LengthDelimited).fork();
    str(SCOPE.id, data.scope.id);
    str(SCOPE.type, data.scope.type);
    str(SCOPE.name, data.scope.name);
    str(SCOPE.description, data.scope.description);
    str(SCOPE.parentScopeId, data.scope.parentScopeId);
    w.join();
  }
  time(F.createdTime, data.createdTime);
  str(F.type, data.type);
  if (data.connectionLimit !== 0)
    w.tag(F.connectionLimit, WireType.Varint).int32(data.connectionLimit);
  if (data.endpointPort !== 0) w.tag(F.endpointPort, WireType.Varint).uint32(data.endpointPort);
  time(F.expiration, data.expiration);
  bytes(F.certificate, data.certificate);
  bytes(F.privateKey, data.privateKey);
  str(F.hostId, data.hostId);
  str(F.endpoint, data.endpoint);
  for (const worker of data.workerInfo) {
    w.tag(F.workerInfo, WireType.LengthDelimited).fork();
    str(WORKER_ADDRESS, worker.address);
    w.join();
  }
  if (data.defaultClientPort !== 0) {
    w.tag(F.defaultClientPort, WireType.Varint).uint32(data.defaultClientPort);
  }
  return bs58.encode(w.finish());
}

/**
 * base58 text → the decoded message, checked for what a session needs (an id, a certificate, a
 * 64-byte key, a worker, an expiration). Throws AuthorizationTokenError for anything else.
 */
export function decodeAuthorizationToken(token: string): SessionAuthorizationData {
  let raw: Uint8Array;
  try {
    raw = bs58.decode(token.trim());
  } catch (cause) {
    throw new AuthorizationTokenError('it is not base58 text', { cause });
  }
  let data: SessionAuthorizationData;
  try {
    data = readSessionAuthorizationData(new BinaryReader(raw));
  } catch (cause) {
    if (cause instanceof AuthorizationTokenError) throw cause;
    throw new AuthorizationTokenError('it is truncated or not a session authorization', { cause });
  }
  if (data.sessionId === '') throw new AuthorizationTokenError('it has no session id');
  if (data.certificate.length === 0)
    throw new AuthorizationTokenError('it has no session certificate');
  if (data.privateKey.length !== 64) {
    throw new AuthorizationTokenError(
      `its private key is ${data.privateKey.length} bytes, not the 64 of an Ed25519 key`,
    );
  }
  if (data.workerInfo.length === 0) throw new AuthorizationTokenError('it names no worker');
  if (data.expiration === undefined) throw new AuthorizationTokenError('it has no expiration');
  return data;
}

function expectWire(actual: WireType, expected: WireType, field: number): void {
  if (actual !== expected) {
    throw new AuthorizationTokenError(
      `field ${field} has wire type ${actual}, expected ${expected}`,
    );
  }
}

function readSessionAuthorizationData(r: BinaryReader): SessionAuthorizationData {
  const m = {
    sessionId: '',
    targetId: '',
    scope: undefined as ScopeInfo | undefined,
    createdTime: undefined as Date | undefined,
    type: '',
    connectionLimit: 0,
    endpointPort: 0,
    expiration: undefined as Date | undefined,
    certificate: new Uint8Array(0) as Uint8Array,
    privateKey: new Uint8Array(0) as Uint8Array,
    hostId: '',
    endpoint: '',
    workerInfo: [] as WorkerInfo[],
    defaultClientPort: 0,
  };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const len = WireType.LengthDelimited;
    switch (no) {
      case F.sessionId:
        expectWire(wt, len, no);
        m.sessionId = r.string();
        break;
      case F.targetId:
        expectWire(wt, len, no);
        m.targetId = r.string();
        break;
      case F.scope:
        expectWire(wt, len, no);
        m.scope = readScope(new BinaryReader(r.bytes()));
        break;
      case F.createdTime:
        expectWire(wt, len, no);
        m.createdTime = readTimestamp(new BinaryReader(r.bytes()));
        break;
      case F.type:
        expectWire(wt, len, no);
        m.type = r.string();
        break;
      case F.connectionLimit:
        expectWire(wt, WireType.Varint, no);
        m.connectionLimit = r.int32();
        break;
      case F.endpointPort:
        expectWire(wt, WireType.Varint, no);
        m.endpointPort = r.uint32();
        break;
      case F.expiration:
        expectWire(wt, len, no);
        m.expiration = readTimestamp(new BinaryReader(r.bytes()));
        break;
      case F.certificate:
        expectWire(wt, len, no);
        m.certificate = r.bytes();
        break;
      case F.privateKey:
        expectWire(wt, len, no);
        m.privateKey = r.bytes();
        break;
      case F.hostId:
        expectWire(wt, len, no);
        m.hostId = r.string();
        break;
      case F.endpoint:
        expectWire(wt, len, no);
        m.endpoint = r.string();
        break;
      case F.workerInfo:
        expectWire(wt, len, no);
        m.workerInfo.push(readWorker(new BinaryReader(r.bytes())));
        break;
      case F.defaultClientPort:
        expectWire(wt, WireType.Varint, no);
        m.defaultClientPort = r.uint32();
        break;
      default:
        r.skip(wt, no);
    }
  }
  return m;
}

function readScope(r: BinaryReader): ScopeInfo {
  const s = { id: '', type: '', name: '', description: '', parentScopeId: '' };
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    const key = (Object.keys(SCOPE) as (keyof typeof SCOPE)[]).find((k) => SCOPE[k] === no);
    if (key === undefined) {
      r.skip(wt, no);
      continue;
    }
    expectWire(wt, WireType.LengthDelimited, no);
    s[key] = r.string();
  }
  return s;
}

/** A google.protobuf.Timestamp {seconds = 1, nanos = 2} → Date (millisecond precision). */
export function readTimestamp(r: BinaryReader): Date {
  let seconds = 0;
  let nanos = 0;
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === TIMESTAMP.seconds) {
      expectWire(wt, WireType.Varint, no);
      seconds = Number(r.int64());
    } else if (no === TIMESTAMP.nanos) {
      expectWire(wt, WireType.Varint, no);
      nanos = r.int32();
    } else {
      r.skip(wt, no);
    }
  }
  return new Date(seconds * 1000 + Math.floor(nanos / 1_000_000));
}

function readWorker(r: BinaryReader): WorkerInfo {
  let address = '';
  while (r.pos < r.len) {
    const [no, wt] = r.tag();
    if (no === WORKER_ADDRESS) {
      expectWire(wt, WireType.LengthDelimited, no);
      address = r.string();
    } else {
      r.skip(wt, no);
    }
  }
  return { address };
}
