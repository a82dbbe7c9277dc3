/**
 * Requests to the control API from another OS user, for real: as root, a child process running
 * as uid 65534 (nobody) sends them; the server reads its uid from /proc/net/tcp.
 */
import { execFile } from 'node:child_process';

export const NOBODY = 65534;

/** Runs in the child: each request in turn, printing [status, body] pairs as JSON. */
const CHILD = `
const http = require('node:http');
const port = Number(process.argv[1]);
const steps = JSON.parse(process.argv[2]);
function one([method, path, body]) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent: false,
      headers: { 'Content-Type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve([res.statusCode, JSON.parse(text)]));
    });
    req.on('error', reject);
    req.end(body);
  });
}
(async () => {
  const out = [];
  for (const step of steps) out.push(await one(step));
  process.stdout.write(JSON.stringify(out));
})().catch((err) => { console.error(err.message); process.exit(1); });
`;

export function asNobody(
  port: number,
  steps: readonly (readonly string[])[],
): Promise<[number, unknown][]> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', CHILD, String(port), JSON.stringify(steps)],
      { uid: NOBODY, gid: NOBODY, cwd: '/', timeout: 10_000, env: {} },
      (err, stdout, stderr) => {
        if (err !== null) reject(new Error(`${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as [number, unknown][]);
      },
    );
  });
}
