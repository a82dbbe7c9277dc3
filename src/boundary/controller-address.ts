/**
 * A controller address in the one form it is stored and compared in, as Boundary's Go client
 * keeps it (api/client.go `setAddr`): scheme, host and port, and the path with everything from
 * its last `v1/` on cut, slashes trimmed and a leading or trailing `v1` removed. So
 * `https://h/`, `https://h/v1` and `https://h` are one controller, and `https://h/base/v1/` is
 * `https://h/base`. The WHATWG URL parser also lowercases the host and drops a default port
 * (`https://H:443` is `https://h`), which Go keeps as typed: the same controller either way.
 */
import { AgentError } from '../lib/index.js';

export function normalizeControllerAddress(address: string): string {
  let url: URL;
  try {
    url = new URL(address.trim());
  } catch (cause) {
    throw new AgentError('boundary.address', `"${address}" is not a controller address`, {
      hint: 'Give the controller URL, like https://boundary.example.com or http://127.0.0.1:9200.',
      cause,
    });
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    throw new AgentError('boundary.address', `"${address}" is not an http or https URL`, {
      hint: 'Give the controller URL, like https://boundary.example.com.',
    });
  }
  let path = url.pathname;
  const v1 = path.lastIndexOf('v1/');
  if (v1 !== -1) path = path.slice(0, v1);
  path = trimSlashes(path);
  if (path.startsWith('v1')) path = path.slice(2);
  if (path.endsWith('v1')) path = path.slice(0, -2);
  path = trimSlashes(path);
  return `${url.protocol}//${url.host}${path === '' ? '' : `/${path}`}`;
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, '');
}
