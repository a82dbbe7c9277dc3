import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '../../test/helpers/cli-io.js';
import { normalizeArgv } from './argv.js';
import { run } from './main.js';

const EXAMPLE = path.resolve(import.meta.dirname, '../../config/client-agent.example.hcl');

let dir: string;
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'client-agent-cli-'));
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const io = captureIo({ env, cwd: dir });
  const code = await run(args, io);
  return { code, out: io.out(), err: io.err() };
}

describe('config validate', () => {
  it('prints the effective configuration of a valid file as HCL, with where each value came from', async () => {
    await fs.writeFile(path.join(dir, 'ok.hcl'), 'log_level = "DEBUG"\n');
    const { code, out, err } = await cli(['config', 'validate', '--config', 'ok.hcl']);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`# ${path.join(dir, 'ok.hcl')} is valid.`);
    expect(out).toMatch(/^log_level += "debug" {2}# from the file$/m);
    expect(out).toMatch(/^alias_refresh_interval += "1m0s" {2}# default$/m);
    expect(out).toMatch(/^v4_prefix += "100\.64\.0\.0\/10" {2}# default$/m);
  });

  it('validates the shipped example', async () => {
    const { code, out } = await cli(['config', 'validate', '--config', EXAMPLE]);
    expect(code).toBe(0);
    expect(out).toContain('is valid');
  });

  it('shows a value taken from the environment', async () => {
    const { code, out } = await cli(['config', 'validate', '--config', EXAMPLE], {
      BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '9444',
    });
    expect(code).toBe(0);
    expect(out).toMatch(/^listen_port += 9444 {2}# from the environment$/m);
  });

  it.each([['--json'], ['--format', 'json'], ['-format=json'], ['-format', 'json']])(
    'prints JSON with %s',
    async (...flags) => {
      const { code, out } = await cli(['config', 'validate', '--config', EXAMPLE, ...flags]);
      expect(code).toBe(0);
      const parsed = JSON.parse(out) as { valid: boolean; config: Record<string, unknown> };
      expect(parsed.valid).toBe(true);
      expect(parsed.config).toMatchObject({
        alias_refresh_interval: '1m0s',
        override_upstream_dns_servers: [],
        interface_to_use: null,
        listen_port: 9300,
      });
    },
  );

  it('names file, line and column of a syntax error and exits 1', async () => {
    await fs.writeFile(
      path.join(dir, 'broken.hcl'),
      'log_level = "info"\nlog_to_stdout = true false\n',
    );
    const { code, out, err } = await cli(['config', 'validate', '--config', 'broken.hcl']);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(
      new RegExp(`^error: ${path.join(dir, 'broken.hcl')}:2:22: Missing newline after argument`),
    );
    expect(err).toContain('hint: ');
    expect(err).not.toMatch(/\n\s+at /);
  });

  it('lists every semantic problem with the key, the value and what is allowed', async () => {
    await fs.writeFile(
      path.join(dir, 'bad.hcl'),
      'v4_prefix = "100.64.0.0/20"\nlog_levl = "info"\n',
    );
    const { code, err } = await cli(['config', 'validate', '--config', 'bad.hcl']);
    expect(code).toBe(1);
    const file = path.join(dir, 'bad.hcl');
    expect(err).toContain('error: the configuration has 2 problems:');
    expect(err).toContain(
      `${file}:1:1: v4_prefix = "100.64.0.0/20": prefix length must be between /8 and /16`,
    );
    expect(err).toContain(`${file}:2:1: unknown key "log_levl"; did you mean "log_level"?`);
  });

  it('reports problems as JSON too', async () => {
    await fs.writeFile(path.join(dir, 'bad2.hcl'), 'listen_port = 0\n');
    const { code, out } = await cli(['config', 'validate', '--config', 'bad2.hcl', '--json']);
    expect(code).toBe(1);
    expect(JSON.parse(out)).toMatchObject({
      valid: false,
      code: 'config.invalid',
      errors: [{ key: 'listen_port', line: 1, column: 1 }],
    });
  });

  it('fails when the named file does not exist', async () => {
    const { code, err } = await cli(['config', 'validate', '--config', 'nope.hcl']);
    expect(code).toBe(1);
    expect(err).toContain(`error: config file ${path.join(dir, 'nope.hcl')} does not exist`);
  });
});

describe('command line', () => {
  it('prints the version', async () => {
    const { code, out } = await cli(['--version']);
    expect(code).toBe(0);
    expect(out.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('prints help listing every command, exit 0', async () => {
    const { code, out } = await cli(['--help']);
    expect(code).toBe(0);
    for (const name of [
      'daemon',
      'status',
      'pause',
      'resume',
      'sessions',
      'connect',
      'login',
      'add-token',
      'install',
      'uninstall',
      'dev',
      'diag',
      'config',
    ]) {
      expect(out).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    }
  });

  it('exits 2 with a suggestion for an unknown command', async () => {
    const { code, err } = await cli(['stauts']);
    expect(code).toBe(2);
    expect(err).toContain("unknown command 'stauts'");
    expect(err).toContain('Did you mean status?');
  });

  it('exits 2 for an unknown subcommand and for an unknown option', async () => {
    expect((await cli(['config', 'valdate'])).code).toBe(2);
    const unknownOption = await cli(['config', 'validate', '--confg', 'x']);
    expect(unknownOption.code).toBe(2);
    expect(unknownOption.err).toContain('--config');
  });

  it('exits 2 with usage when no command is given', async () => {
    const { code, err } = await cli([]);
    expect(code).toBe(2);
    expect(err).toContain('Usage: client-agent');
  });

  it('diag ALIAS without a running agent: the agent step fails with how to start it, the rest is skipped, exit 1', async () => {
    // Port 9 (discard): nothing listens there.
    const env = { BOUNDARY_CLIENT_AGENT_LISTENING_PORT: '9' };
    const { code, out } = await cli(['diag', 'db.corp'], env);
    expect(code).toBe(1);
    expect(out).toMatch(
      /^✗ Agent running and not paused: the client agent is not running on port 9/m,
    );
    expect(out).toMatch(/^ {4}fix: Start it with "sudo client-agent daemon"/m);
    expect(out).toMatch(
      /^- Worker accepts the session: not checked: needs "Agent running and not paused"$/m,
    );
    const json = await cli(['diag', 'db.corp', '--json'], env);
    const report = JSON.parse(json.out) as { ok: boolean; steps: { id: string; status: string }[] };
    expect(report.ok).toBe(false);
    expect(report.steps.map((s) => `${s.id}:${s.status}`)).toEqual([
      'agent:fail',
      'token:skip',
      'controller:skip',
      'alias:skip',
      'resolver:skip',
      'authorize:skip',
      'worker:skip',
      'target:skip',
      'session:skip',
    ]);
  });

  it('diag refuses an alias that is not a DNS name and a bad -format (exit 2)', async () => {
    const bad = await cli(['diag', 'db_corp']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('"db_corp" is not an alias name');
    expect((await cli(['diag', 'db.corp', '-format=xml'])).code).toBe(2);
  });
});

describe('normalizeArgv', () => {
  it('turns Boundary-style one-dash long flags into two-dash ones, up to --', () => {
    expect(
      normalizeArgv(['connect', '-target-id', 'ttcp_1', '-format=json', '-h', '--', '-exec']),
    ).toEqual(['connect', '--target-id', 'ttcp_1', '--format=json', '-h', '--', '-exec']);
  });
});
