/** The stand-in's records as Boundary's JSON: snake_case, empty fields omitted, int64 as strings. */
import type { DevAlias, DevToken } from './directory.js';
import { PROJECT_SCOPE } from './directory.js';
import type { SessionRecord } from './sessions.js';

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Drops undefined, empty strings and empty arrays, as the controller's marshaler does
 * (`EmitUnpopulated: false`, internal/daemon/controller/handlers/marshaler.go).
 */
export function compact(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) continue;
    out[k] = v;
  }
  return out;
}

export function scopeJson(): Record<string, unknown> {
  return {
    id: PROJECT_SCOPE.id,
    type: PROJECT_SCOPE.type,
    name: PROJECT_SCOPE.name,
    parent_scope_id: PROJECT_SCOPE.parentScopeId,
  };
}

export function authTokenJson(
  t: DevToken,
  authMethodId: string,
  accountId: string,
  withToken: boolean,
): Record<string, unknown> {
  return compact({
    id: t.id,
    scope_id: 'global',
    token: withToken ? t.token : undefined,
    user_id: t.userId,
    auth_method_id: authMethodId,
    account_id: accountId,
    created_time: iso(t.createdTime),
    updated_time: iso(t.createdTime),
    approximate_last_used_time: iso(t.lastUsedTime),
    expiration_time: iso(t.expirationTime),
    authorized_actions: ['read:self', 'delete:self'],
  });
}

export function sessionJson(s: SessionRecord): Record<string, unknown> {
  return compact({
    id: s.id,
    target_id: s.targetId,
    scope: scopeJson(),
    created_time: iso(s.createdTime),
    updated_time: iso(s.updatedTime),
    version: s.version,
    type: s.type,
    expiration_time: iso(s.expirationTime),
    auth_token_id: s.authTokenId,
    user_id: s.userId,
    host_set_id: s.hostSetId,
    host_id: s.hostId,
    scope_id: s.scopeId,
    endpoint: s.endpoint,
    states: s.states.map((st) =>
      compact({
        status: st.status,
        start_time: iso(st.startTime),
        end_time: st.endTime === undefined ? undefined : iso(st.endTime),
      }),
    ),
    status: s.status,
    certificate: Buffer.from(s.certificate).toString('base64'),
    termination_reason: s.terminationReason,
    authorized_actions: ['read:self', 'cancel:self'],
    connections: s.connections.map((c) =>
      compact({
        client_tcp_address: c.clientTcpAddress,
        client_tcp_port: c.clientTcpPort,
        endpoint_tcp_address: c.endpointTcpAddress,
        endpoint_tcp_port: c.endpointTcpPort,
        bytes_up: String(c.bytesUp),
        bytes_down: String(c.bytesDown),
        closed_reason: c.closedReason,
      }),
    ),
  });
}

/**
 * An alias as `list-resolvable-aliases` lists it: only the thin fields (Boundary's
 * `internal/daemon/controller/handlers/users/user_service.go`).
 */
export function aliasJson(alias: DevAlias): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: alias.id,
    created_time: new Date(alias.createdTime).toISOString(),
    updated_time: new Date(alias.updatedTime).toISOString(),
    value: alias.value,
    type: 'target',
  };
  if (alias.destinationId !== undefined) json.destination_id = alias.destinationId;
  return json;
}
