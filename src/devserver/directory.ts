/**
 * The stand-in controller's data: users, their grants and tokens, targets and aliases. Tests
 * change it at run time (add or remove an alias, clear a destination, revoke a grant, expire a
 * token). Every change takes the next value of a logical sequence, so alias refreshes see exactly
 * what changed since a list token was issued, however fast changes come.
 */
import { randomBytes } from 'node:crypto';
import bs58 from 'bs58';
import type { Clock } from '../lib/index.js';
import { base62, newId } from './ids.js';

export interface DevUser {
  readonly id: string;
  readonly loginName: string;
  password: string;
  readonly accountId: string;
  /** The `list-resolvable-aliases` grant on the user itself. */
  canListAliases: boolean;
  /** May create and delete aliases (`POST /v1/aliases`, `DELETE /v1/aliases/{id}`). */
  canManageAliases: boolean;
  /** The `list` action on targets (`GET /v1/targets`): lists the targets it has any grant on. */
  canListTargets: boolean;
  /** target id → actions (`authorize-session`, `read`, …); any action makes the target visible. */
  readonly grants: Map<string, Set<string>>;
  /** Bumped on every grant change: list tokens issued before are then invalid. */
  grantsVersion: number;
}

export interface DevTarget {
  readonly id: string;
  readonly name: string;
  readonly type: 'tcp';
  readonly scopeId: string;
  address: string;
  port: number;
  defaultClientPort: number;
  /** -1: unlimited. */
  connectionLimit: number;
  sessionMaxSeconds: number;
  credentials: { readonly username: string; readonly password: string } | undefined;
  /** A built-in service the devserver runs for this target (`echo`), at its address and port. */
  readonly demo?: 'echo' | undefined;
}

export interface DevAlias {
  readonly id: string;
  value: string;
  destinationId: string | undefined;
  hostId: string | undefined;
  readonly createdTime: number;
  updatedTime: number;
  readonly createdSeq: number;
  updatedSeq: number;
}

export interface DevToken {
  readonly id: string;
  readonly token: string;
  readonly userId: string;
  readonly createdTime: number;
  expirationTime: number;
  lastUsedTime: number;
}

export const PROJECT_SCOPE = {
  id: 'p_1234567890',
  type: 'project',
  name: 'demo',
  parentScopeId: 'o_1234567890',
} as const;

export class Directory {
  readonly clock: Clock;
  readonly authMethodId: string;
  tokenTtlMs: number;
  readonly users = new Map<string, DevUser>();
  readonly targets = new Map<string, DevTarget>();
  readonly aliases = new Map<string, DevAlias>();
  /** Deleted alias ids with the sequence value of their deletion. */
  readonly deletions: { readonly id: string; readonly seq: number }[] = [];
  readonly #tokens = new Map<string, DevToken>();
  readonly #aliasByValue = new Map<string, DevAlias>();
  #seq = 0;

  constructor(options: { clock: Clock; authMethodId: string; tokenTtlMs: number }) {
    this.clock = options.clock;
    this.authMethodId = options.authMethodId;
    this.tokenTtlMs = options.tokenTtlMs;
  }

  get seq(): number {
    return this.#seq;
  }

  addUser(init: {
    id?: string;
    loginName: string;
    password: string;
    canListAliases?: boolean;
    canManageAliases?: boolean;
    canListTargets?: boolean;
  }): DevUser {
    const user: DevUser = {
      id: init.id ?? newId('u'),
      loginName: init.loginName,
      password: init.password,
      accountId: newId('acctpw'),
      canListAliases: init.canListAliases ?? true,
      canManageAliases: init.canManageAliases ?? false,
      canListTargets: init.canListTargets ?? false,
      grants: new Map(),
      grantsVersion: 0,
    };
    this.users.set(user.id, user);
    return user;
  }

  userByLogin(loginName: string): DevUser | undefined {
    return [...this.users.values()].find((u) => u.loginName === loginName);
  }

  addTarget(init: Omit<DevTarget, 'id' | 'type' | 'scopeId'> & { id?: string }): DevTarget {
    const target: DevTarget = {
      ...init,
      id: init.id ?? newId('ttcp'),
      type: 'tcp',
      scopeId: PROJECT_SCOPE.id,
    };
    this.targets.set(target.id, target);
    return target;
  }

  /**
   * Deleting a target clears the destination of its aliases, as Boundary does (`on delete set
   * null`, internal/db/schema/migrations/oss/postgres/85/04_alias_target.up.sql).
   */
  removeTarget(id: string): void {
    this.targets.delete(id);
    for (const alias of this.aliases.values()) {
      if (alias.destinationId === id) this.updateAlias(alias.id, { destinationId: null });
    }
    for (const user of this.users.values()) {
      if (user.grants.delete(id)) user.grantsVersion++;
    }
  }

  grant(
    userId: string,
    targetId: string,
    actions: readonly string[] = ['authorize-session'],
  ): void {
    const user = this.#user(userId);
    user.grants.set(targetId, new Set([...(user.grants.get(targetId) ?? []), ...actions]));
    user.grantsVersion++;
  }

  revoke(userId: string, targetId: string): void {
    const user = this.#user(userId);
    if (user.grants.delete(targetId)) user.grantsVersion++;
  }

  addAlias(init: {
    id?: string;
    value: string;
    destinationId?: string | undefined;
    hostId?: string | undefined;
  }): DevAlias {
    const seq = ++this.#seq;
    const now = this.clock.now();
    const alias: DevAlias = {
      id: init.id ?? newId('alt'),
      value: init.value.toLowerCase(),
      destinationId: init.destinationId,
      hostId: init.hostId,
      createdTime: now,
      updatedTime: now,
      createdSeq: seq,
      updatedSeq: seq,
    };
    this.aliases.set(alias.id, alias);
    this.#aliasByValue.set(alias.value, alias);
    return alias;
  }

  updateAlias(id: string, change: { value?: string; destinationId?: string | null }): DevAlias {
    const alias = this.aliases.get(id);
    if (alias === undefined) throw new Error(`no alias ${id}`);
    if (change.value !== undefined) {
      this.#aliasByValue.delete(alias.value);
      alias.value = change.value.toLowerCase();
      this.#aliasByValue.set(alias.value, alias);
    }
    if (change.destinationId !== undefined) alias.destinationId = change.destinationId ?? undefined;
    alias.updatedSeq = ++this.#seq;
    alias.updatedTime = this.clock.now();
    return alias;
  }

  removeAlias(id: string): void {
    const alias = this.aliases.get(id);
    if (alias === undefined) return;
    this.aliases.delete(id);
    this.#aliasByValue.delete(alias.value);
    this.deletions.push({ id, seq: ++this.#seq });
  }

  aliasByValue(value: string): DevAlias | undefined {
    return this.#aliasByValue.get(value.toLowerCase());
  }

  /** Whether the user can see the alias: it has a destination the user holds a grant on. */
  visibleTo(user: DevUser, alias: DevAlias): boolean {
    return (
      alias.destinationId !== undefined &&
      this.targets.has(alias.destinationId) &&
      user.grants.has(alias.destinationId)
    );
  }

  issueToken(userId: string): DevToken {
    const now = this.clock.now();
    const id = `at_${base62(10)}`;
    const token: DevToken = {
      id,
      token: `${id}_s1${bs58.encode(randomBytes(48))}`,
      userId,
      createdTime: now,
      expirationTime: now + this.tokenTtlMs,
      lastUsedTime: now,
    };
    this.#tokens.set(token.token, token);
    return token;
  }

  /** The live token for a bearer value, or undefined (unknown, malformed or expired: anonymous). */
  resolveToken(bearer: string): DevToken | undefined {
    const token = this.#tokens.get(bearer);
    if (token === undefined || token.expirationTime <= this.clock.now()) return undefined;
    token.lastUsedTime = this.clock.now();
    return token;
  }

  tokenById(id: string): DevToken | undefined {
    return [...this.#tokens.values()].find((t) => t.id === id);
  }

  /** Makes a token expire now (tests: "the token expired"). */
  expireToken(id: string): void {
    const token = this.tokenById(id);
    if (token !== undefined) token.expirationTime = this.clock.now();
  }

  #user(id: string): DevUser {
    const user = this.users.get(id);
    if (user === undefined) throw new Error(`no user ${id}`);
    return user;
  }
}
