/** An in-memory stand-in for the daemon's AgentControl, for control API tests. */
import type {
  AgentControl,
  AgentDetails,
  AgentRunState,
  AgentSessionItem,
  AgentStatus,
} from '../../src/control/agent-api.js';

export interface HeldToken {
  readonly boundaryAddr: string;
  readonly token: string;
}

export class FakeAgent implements AgentControl {
  state: AgentRunState = 'running';
  readonly tokens = new Map<number, HeldToken>();
  readonly sessionsByUid = new Map<number, AgentSessionItem[]>();
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  readonly calls: string[] = [];
  /** Checks a token before it is stored (e.g. against the stand-in controller); may reject. */
  verify: ((boundaryAddr: string, token: string) => Promise<void>) | undefined;
  /** Thrown by status() when set, to exercise the server's 500 path. */
  failStatus: Error | undefined;

  status(uid: number): AgentStatus {
    if (this.failStatus !== undefined) throw this.failStatus;
    const held = this.tokens.get(uid);
    return {
      boundary_addr: held?.boundaryAddr ?? '',
      auth_token_id: held === undefined ? '' : held.token.split('_').slice(0, 2).join('_'),
      auth_token_expiry: held === undefined ? '' : '2026-11-28T09:00:00Z',
      version: '0.1.0',
      status: this.state,
      errors: this.errors,
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

  /** The options of the last addToken call. */
  lastAddOptions: { allowPlainHttp?: boolean } | undefined;

  async addToken(
    uid: number,
    boundaryAddr: string,
    token: string,
    options?: { allowPlainHttp?: boolean },
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
