/** The body of `POST /v1/tokens`: a controller address and a Boundary auth token. */
import { isTokenShape } from '../boundary/index.js';
import { invalidArgument, type ApiRequestField } from '../lib/index.js';

export interface TokenRequest {
  readonly boundaryAddr: string;
  readonly token: string;
  /** Ours (`allow_plain_http`): the owner allows an `http://` controller that is not loopback. */
  readonly allowPlainHttp: boolean;
  /**
   * Ours (`wait_for_aliases`): answer once the aliases are listed. Boundary's CLI sends its token
   * after every command and waits for the answer, so without it the answer comes first.
   */
  readonly waitForAliases: boolean;
}

/** An http(s) URL with a host: the controller's API address. */
export function isControllerAddress(addr: string): boolean {
  try {
    const url = new URL(addr);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** Validates the parsed body; every bad field is named (400 InvalidArgument). */
export function parseTokenRequest(body: Record<string, unknown>): TokenRequest {
  const fields: ApiRequestField[] = [];
  const addr = body.boundary_addr;
  const token = body.token;
  if (typeof addr !== 'string' || addr === '') {
    fields.push({ name: 'boundary_addr', description: 'This field is required.' });
  } else if (!isControllerAddress(addr)) {
    fields.push({ name: 'boundary_addr', description: 'Must be an http or https URL.' });
  }
  if (typeof token !== 'string' || token === '') {
    fields.push({ name: 'token', description: 'This field is required.' });
  } else if (!isTokenShape(token)) {
    fields.push({ name: 'token', description: 'Must be a Boundary auth token (at_…_…).' });
  }
  const allow = body.allow_plain_http ?? false;
  if (typeof allow !== 'boolean') {
    fields.push({ name: 'allow_plain_http', description: 'Must be true or false.' });
  }
  const wait = body.wait_for_aliases ?? false;
  if (typeof wait !== 'boolean') {
    fields.push({ name: 'wait_for_aliases', description: 'Must be true or false.' });
  }
  if (
    fields.length > 0 ||
    typeof addr !== 'string' ||
    typeof token !== 'string' ||
    typeof allow !== 'boolean' ||
    typeof wait !== 'boolean'
  ) {
    throw invalidArgument('Error in provided request.', fields);
  }
  return { boundaryAddr: addr, token, allowPlainHttp: allow, waitForAliases: wait };
}
