/**
 * An error answer of an HTTP API that speaks the Boundary controller's error JSON: the control
 * API and the stand-in controller both send it. The body is `{kind, op?, message, details?}`
 * (Boundary's `internal/proto/controller/api/v1/error.proto`, decoded by its CLI with
 * `api/error.gen.go`) and the HTTP status carries the meaning.
 */

/**
 * The `kind` of an answer: a gRPC code name, as Boundary's handlers send
 * (`internal/daemon/controller/handlers/errors.go`, `codes.Code.String()`), or the message of a
 * domain error that Boundary passes on as its kind (`invalid list token`).
 */
export type ApiErrorKind =
  | 'Unknown'
  | 'InvalidArgument'
  | 'DeadlineExceeded'
  | 'NotFound'
  | 'PermissionDenied'
  | 'FailedPrecondition'
  | 'Unimplemented'
  | 'Internal'
  | 'Unavailable'
  | 'Unauthenticated'
  | 'invalid list token';

/** A request field that was wrong, and why. */
export interface ApiRequestField {
  readonly name: string;
  readonly description: string;
}

/**
 * The JSON an ApiError is sent as. A client reads the same JSON defensively, every field
 * optional: `ApiErrorBody` in src/boundary/api-types.ts.
 */
export interface ApiErrorJson {
  readonly kind: string;
  readonly op?: string;
  readonly message: string;
  readonly details?: { readonly request_fields: readonly ApiRequestField[] };
}

export interface ApiErrorOptions {
  /** Boundary's operation name (`listtoken.Validate`), sent as `op`. */
  readonly op?: string;
  readonly requestFields?: readonly ApiRequestField[];
}

/** An answer other than 2xx that a server sends on purpose. */
export class ApiError extends Error {
  readonly status: number;
  /** An ApiErrorKind, or the kind a controller sent when its answer is passed on (relay). */
  readonly kind: string;
  readonly op: string | undefined;
  readonly requestFields: readonly ApiRequestField[];

  constructor(status: number, kind: ApiErrorKind, message: string, options: ApiErrorOptions = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.kind = kind;
    this.op = options.op;
    this.requestFields = options.requestFields ?? [];
  }

  /** A controller's error answer passed on: its kind is whatever that controller sent. */
  static relay(status: number, kind: string, message: string): ApiError {
    return new ApiError(status, kind as ApiErrorKind, message);
  }

  get body(): ApiErrorJson {
    return {
      kind: this.kind,
      ...(this.op === undefined ? {} : { op: this.op }),
      message: this.message,
      ...(this.requestFields.length === 0
        ? {}
        : { details: { request_fields: this.requestFields } }),
    };
  }
}

export const forbidden = (message = 'Forbidden.'): ApiError =>
  new ApiError(403, 'PermissionDenied', message);

export const notFound = (message: string): ApiError => new ApiError(404, 'NotFound', message);

/** 400: the request is wrong; `fields` names each bad field. */
export const invalidArgument = (
  message: string,
  fields: readonly ApiRequestField[] = [],
): ApiError => new ApiError(400, 'InvalidArgument', message, { requestFields: fields });

/** What the caller of a failed request is told when the cause is ours (details go to the log). */
export const internalError = (): ApiError => new ApiError(500, 'Internal', 'Internal error.');
