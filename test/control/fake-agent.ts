/** An in-memory stand-in for the daemon's AgentControl, for control API tests. */
import type { SessionAuthorization } from '../../src/boundary/index.js';
import type {
  AgentControl,
  AgentDetails,
  AgentRunState,
  AgentSessionItem,
  AgentSessionRecord,
  AgentStatus,
  AliasDiagnosis,
} from '../../src/control/index.js';
import { ApiError, systemClock } from '../../src/lib/index.js';
import { RecentErrors } from '../../src/dns/index.js';

export interface HeldToken {
  readonly boundaryAddr: string;
  readonly token: string;
}

export class FakeAgent implements AgentControl {
  state: AgentRunState = 'running';
  readonly tokens = new Map<number, HeldToken>();
  readonly sessionsByUid = new Map<number, AgentSessionItem[]>();
  /** Sessions by id, each readable and cancelable by its owner only. */
  readonly records = new Map<string, { uid: number; record: AgentSessionRecord }>();
  readonly errors: string[] = [];
  /** Recorded errors, shown after `errors` to each caller as the daemon shows them. */
  recent = new RecentErrors({ clock: systemClock });
  readonly warnings: string[] = [];
  readonly calls: string[] = [];
  /** Checks a token before it is stored (e.g. against the stand-in controller); may reject. */
  verify: ((boundaryAddr: string, token: string) => Promise<void>) | undefined;
  /** Thrown by status() when set, to exercise the server's 500 path. */
  failStatus: Error | undefined;

  status(uid: number, privileged: boolean): AgentStatus {
    if (this.failStatus !== undefined) throw this.failStatus;
    const held = this.tokens.get(uid);
    return {
      boundary_addr: held?.boundaryAddr ?? '',
      auth_token_id: held === undefined ? '' : held.token.split('_').slice(0, 2).join('_'),
      auth_token_expiry: held === undefined ? null : '2026-11-28T09:00:00Z',
      version: '0.1.0',
      status: this.state,
      errors: [...this.errors, ...this.recent.forStatus({ uid, privileged })],
      warnings: this.warnings,
    };
  }

  details(_uid: number): AgentDetails {
    return {
      status: this.state,
      ...(this.state === 'paused' ? { paused_reason: 'user' } : {}),
      alias_count: 2,
      last_refresh: { time: '2026-11-21T09:00:00Z', kind: 'full' },
      dns_addresses: ['127.0.0.53:53'],
      upstreams: ['192.0.2.53:53'],
      listeners: [{ address: '100.64.0.1', port: 5432, alias: 'db.corp' }],
      users_with_tokens: this.tokens.size,
      profile: 'system',
      pid: 4242,
      interface: 'eth0',
      dns_port: 53,
      v4_prefix: '100.64.0.0/10',
    };
  }

  hasToken(uid: number): boolean {
    return this.tokens.has(uid);
  }

  pause(uid: number): Promise<void> {
    this.calls.push(`pause:${uid}`);
    this.state = 'paused';
    return Promise.resolve();
  }

  resume(uid: number): Promise<void> {
    this.calls.push(`resume:${uid}`);
    this.state = 'running';
    return Promise.resolve();
  }

  sessions(uid: number): readonly AgentSessionItem[] {
    return this.sessionsByUid.get(uid) ?? [];
  }

  authorizeSession(uid: number, target: string): Promise<SessionAuthorization> {
    this.calls.push(`authorize:${uid}:${target}`);
    if (!this.tokens.has(uid))
      return Promise.reject(new ApiError(400, 'FailedPrecondition', 'no token'));
    return Promise.resolve({ session_id: 's_fake000001', authorization_token: 'fake' });
  }

  readSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const held = this.records.get(sessionId);
    if (held?.uid !== uid) return Promise.reject(new ApiError(404, 'NotFound', 'not yours'));
    return Promise.resolve(held.record);
  }

  async cancelSession(uid: number, sessionId: string): Promise<AgentSessionRecord> {
    const record = await this.readSession(uid, sessionId);
    const canceled = { ...record, status: 'canceling', canceled: 'worker' as const };
    this.records.set(sessionId, { uid, record: canceled });
    return canceled;
  }

  diagnoseAlias(uid: number, alias: string): Promise<AliasDiagnosis> {
    this.calls.push(`diag:${uid}:${alias}`);
    return Promise.resolve({
      alias,
      steps: [
        { id: 'agent', title: 'Agent running and not paused', status: 'pass', seen: 'running' },
      ],
      dns_addresses: ['127.0.0.53:53'],
      profile: 'system',
    });
  }

  /** The options of the last addToken call. */
  lastAddOptions: { allowPlainHttp?: boolean; waitForAliases?: boolean } | undefined;

  async addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options?: { allowPlainHttp?: boolean; waitForAliases?: boolean },
  ): Promise<void> {
    this.lastAddOptions = options;
    if (this.verify !== undefined) await this.verify(boundaryAddr, token);
    this.tokens.set(uid, { boundaryAddr, token });
  }
}

export const TOKEN = 'at_1234567890_s1FakeTokenBody';

export function dbSession(id = 's_db00000001'): AgentSessionItem {
  const secret = { username: 'app', password: 's3cr3t' };
  return {
    alias: 'db.corp',
    session_authorization: {
      session_id: id,
      created_time: '2026-11-21T09:00:00Z',
      credentials: [
        {
          credential_source: {
            id: 'credup_1234567890',
            type: 'static',
            credential_type: 'username_password',
          },
          secret: { raw: Buffer.from(JSON.stringify(secret)).toString('base64'), decoded: secret },
          credential: secret,
        },
      ],
    },
    connections: 1,
    bytes_up: 2048,
    bytes_down: 100,
    expiration: '2026-11-21T10:00:00Z',
  };
}
