/**
 * Checks every request before it reaches a route: only local command-line clients may use the
 * API. A browser page must not (DNS rebinding, cross-site requests), so the `Host` must name
 * loopback with our port, and requests a browser marks as cross-origin are refused.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError, forbidden, invalidArgument } from '../lib/index.js';

export const MAX_BODY_BYTES = 64 * 1024;

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** Throws a 403 unless the request looks like it came from a local non-browser client. */
export function checkOrigin(req: IncomingMessage, port: number): void {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!LOOPBACK_NAMES.some((name) => host === `${name}:${port}`)) {
    throw forbidden('The Host header must be localhost, 127.0.0.1 or [::1] with the agent port.');
  }
  if (req.headers.origin !== undefined) {
    throw forbidden('Requests from web pages are not accepted.');
  }
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') {
    throw forbidden('Requests from web pages are not accepted.');
  }
}

/** Reads the whole body, refusing more than MAX_BODY_BYTES (413). */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; a declared content type other than JSON is a 415. */
export function parseJsonObject(req: IncomingMessage, body: Buffer): Record<string, unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    throw new ApiError(415, 'InvalidArgument', 'The request body must be JSON (application/json).');
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalidArgument('The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArgument('The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

function tooLarge(): ApiError {
  return new ApiError(
    413,
    'InvalidArgument',
    `The request body is larger than ${MAX_BODY_BYTES} bytes.`,
  );
}
