/**
 * Decoding JSON as Boundary's Go CLI does (encoding/json into its structs), for the
 * compatibility suite: a field decodes or the whole command fails, as in Go.
 *
 * - `time.Time` (and `*time.Time`): `UnmarshalJSON` takes only a quoted RFC 3339 string; `null`
 *   is a no-op (a nil pointer / the zero time) and an absent field is left alone; `""` or any
 *   other string is an error ("cannot parse").
 * - `string`: a JSON string, or null (no-op); a number or object is an UnmarshalTypeError.
 * - `[]string`: an array of strings, or null.
 * - unknown fields are ignored.
 */

export class GoDecodeError extends Error {}

type Kind = 'string' | 'time' | 'strings' | 'any';
type GoField = Kind | GoStruct | readonly [GoStruct];
export interface GoStruct {
  readonly [field: string]: GoField;
}

/** RFC 3339 as Go's time.Parse(time.RFC3339, …) accepts it (fractional seconds allowed). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function field(name: string, kind: GoField, value: unknown): void {
  if (value === null || value === undefined) return;
  if (kind === 'any') return;
  if (kind === 'string') {
    if (typeof value !== 'string') throw new GoDecodeError(`${name}: cannot unmarshal into string`);
  } else if (kind === 'time') {
    if (typeof value !== 'string' || !RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
      throw new GoDecodeError(`${name}: parsing time ${JSON.stringify(value)}: cannot parse`);
    }
  } else if (kind === 'strings') {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' && v !== null)) {
      throw new GoDecodeError(`${name}: cannot unmarshal into []string`);
    }
  } else if (Array.isArray(kind)) {
    if (!Array.isArray(value)) throw new GoDecodeError(`${name}: cannot unmarshal into a slice`);
    const items: unknown[] = value;
    for (const [i, item] of items.entries())
      decodeGo((kind as readonly [GoStruct])[0], item, `${name}[${i}]`);
  } else {
    decodeGo(kind as GoStruct, value, name);
  }
}

/** Throws a GoDecodeError where Go's decoder would fail. */
export function decodeGo(struct: GoStruct, value: unknown, path = ''): void {
  if (value === null) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new GoDecodeError(`${path || 'value'}: cannot unmarshal into a struct`);
  }
  const object = value as Record<string, unknown>;
  for (const [name, kind] of Object.entries(struct)) {
    field(path === '' ? name : `${path}.${name}`, kind, object[name]);
  }
}

/**
 * `GetStatusResponse` in internal/cmd/commands/clientagentcmd/status.go: BoundaryAddr,
 * AuthTokenId, Version, Status string; AuthTokenExpiry *time.Time; Errors, Warnings []string.
 */
export const GO_STATUS: GoStruct = {
  boundary_addr: 'string',
  auth_token_id: 'string',
  auth_token_expiry: 'time',
  version: 'string',
  status: 'string',
  errors: 'strings',
  warnings: 'strings',
};

/**
 * `ListSessionsResponse` in internal/cmd/commands/clientagentcmd/sessions.go: Items []*Session,
 * Session{Alias string; SessionAuthorization{SessionId string; CreatedTime time.Time;
 * Credentials []*targets.SessionCredential}}.
 */
export const GO_SESSIONS: GoStruct = {
  items: [
    {
      alias: 'string',
      session_authorization: {
        session_id: 'string',
        created_time: 'time',
        credentials: 'any',
      },
    },
  ],
};
