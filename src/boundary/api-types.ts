/**
 * JSON shapes of the Boundary controller API (Boundary's `internal/proto/controller/api/resources/`
 * protos, marshalled by `internal/daemon/controller/handlers/marshaler.go`). Zero and empty fields
 * are omitted on the wire, so almost everything is optional; int64 values arrive as strings.
 */

/** `{kind, op?, message, details?}`; the HTTP status carries the code. */
export interface ApiErrorBody {
  readonly kind?: string;
  readonly op?: string;
  readonly message?: string;
  readonly details?: {
    readonly request_fields?: readonly { readonly name?: string; readonly description?: string }[];
    readonly wrapped_errors?: readonly { readonly op?: string; readonly message?: string }[];
  };
}

export interface AuthToken {
  readonly id: string;
  readonly scope_id?: string;
  /** Only in the authenticate response. */
  readonly token?: string;
  readonly user_id: string;
  readonly auth_method_id?: string;
  readonly account_id?: string;
  readonly created_time?: string;
  readonly updated_time?: string;
  readonly approximate_last_used_time?: string;
  readonly expiration_time?: string;
  readonly authorized_actions?: readonly string[];
}

export interface AuthenticateResponse {
  readonly command?: string;
  readonly attributes?: AuthToken;
}

export interface ResolvableAlias {
  readonly id: string;
  readonly created_time?: string;
  readonly updated_time?: string;
  readonly value?: string;
  readonly destination_id?: string;
  readonly type?: string;
}

export interface ListResolvableAliasesResponse {
  readonly items?: readonly ResolvableAlias[];
  /** `delta`: more pages follow; `complete`: the last page. Absent on very old controllers. */
  readonly response_type?: string;
  readonly list_token?: string;
  readonly sort_by?: string;
  readonly sort_dir?: string;
  readonly removed_ids?: readonly string[];
  readonly est_item_count?: number;
}

export interface ScopeInfoJson {
  readonly id?: string;
  readonly type?: string;
  readonly name?: string;
  readonly description?: string;
  readonly parent_scope_id?: string;
}

export interface SessionCredentialJson {
  readonly credential_source?: {
    readonly id?: string;
    readonly name?: string;
    readonly description?: string;
    readonly credential_store_id?: string;
    readonly type?: string;
    readonly credential_type?: string;
  };
  readonly secret?: { readonly raw?: string; readonly decoded?: unknown };
  readonly credential?: unknown;
}

export interface SessionAuthorization {
  readonly session_id: string;
  readonly target_id?: string;
  readonly scope?: ScopeInfoJson;
  readonly created_time?: string;
  readonly user_id?: string;
  readonly host_set_id?: string;
  readonly host_id?: string;
  readonly type?: string;
  readonly authorization_token: string;
  readonly connection_limit?: number;
  readonly endpoint?: string;
  readonly endpoint_port?: number;
  readonly expiration?: string;
  readonly credentials?: readonly SessionCredentialJson[];
  readonly session_recording_id?: string;
}

/**
 * A target as `GET /v1/targets/{id}` answers it (api/targets/target.gen.go `Target`), the fields
 * the agent reads. `attributes` of tcp and ssh targets (api/targets/tcp_target_attributes.gen.go,
 * ssh_target_attributes.gen.go) carry the ports, each omitted when 0.
 */
export interface Target {
  readonly id: string;
  readonly type?: string;
  readonly attributes?: {
    readonly default_port?: number;
    readonly default_client_port?: number;
  };
}

/** `GET /v1/targets` (services/v1/target_service.proto `ListTargetsResponse`), paginated. */
export interface ListTargetsResponse {
  readonly items?: readonly Target[];
  /** `delta`: more pages follow; `complete`: the last page. */
  readonly response_type?: string;
  readonly list_token?: string;
}

export interface SessionStateJson {
  readonly status?: string;
  readonly start_time?: string;
  readonly end_time?: string;
}

export interface SessionConnectionJson {
  readonly client_tcp_address?: string;
  readonly client_tcp_port?: number;
  readonly endpoint_tcp_address?: string;
  readonly endpoint_tcp_port?: number;
  readonly bytes_up?: string;
  readonly bytes_down?: string;
  readonly closed_reason?: string;
}

export interface Session {
  readonly id: string;
  readonly target_id?: string;
  readonly scope?: ScopeInfoJson;
  readonly created_time?: string;
  readonly updated_time?: string;
  readonly version?: number;
  readonly type?: string;
  readonly expiration_time?: string;
  readonly auth_token_id?: string;
  readonly user_id?: string;
  readonly host_set_id?: string;
  readonly host_id?: string;
  readonly scope_id?: string;
  readonly endpoint?: string;
  readonly states?: readonly SessionStateJson[];
  readonly status?: string;
  readonly certificate?: string;
  readonly termination_reason?: string;
  readonly authorized_actions?: readonly string[];
  readonly connections?: readonly SessionConnectionJson[];
}

export interface ListSessionsResponse {
  readonly items?: readonly Session[];
  readonly response_type?: string;
  readonly list_token?: string;
}
