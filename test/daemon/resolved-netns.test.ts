/**
 * The agent against the real systemd-resolved (test/helpers/resolved-netns.ts), root only: in a
 * namespace standing in for a laptop whose primary link `ca0` has the network's resolver
 * (dnsmasq on 192.0.2.53, "corp.test") and whose resolv.conf is resolved's stub.
 * `client-agent dev --system` puts its DNS on the agent's link only, never on ca0. Split mode:
 * aliases reach the agent, every other name goes to the network's resolver without touching the
 * agent (its upstream counts the queries it forwards: none). Full mode: every name goes through
 * the agent, which forwards to ca0's resolver, never to resolved's stub. A NetworkManager-style
 * rewrite of ca0 leaves the agent in place; stop and kill -9 + `daemon --cleanup` leave resolved
 * as it was.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ExecFileRunner,
  prefixedRunner,
  parseResolvectlLists,
  ResolvedBackend,
} from '../../src/platform/index.js';
import { writeDaemonConfig } from '../helpers/netns.js';
import {
  resolvedSkipReason,
  startResolvedNamespace,
  type ResolvedNamespace,
} from '../helpers/resolved-netns.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'dist/cli/bin.js');
/** The agent's own link: the tun it holds open (resolved gives it a DNS scope: it has carrier). */
const AGENT_LINK = 'client-agent';
/** A link with carrier for the backend alone (a veth pair), where no agent runs. */
const VETH_LINK = 'cab0';
const CORP_RESOLVER = '192.0.2.53';
const ALIAS = 'echo.boundary.dev';

const reason = resolvedSkipReason();
if (reason !== undefined) console.log(`skipping the systemd-resolved test: ${reason}`);
// CI runs as root with the packages fetched (.ci/run): there, a missing package is a failure.
const skip = reason !== undefined && !(process.env.CI === 'true' && process.getuid?.() === 0);

describe.skipIf(skip)('the agent with the real systemd-resolved', () => {
  let rs: ResolvedNamespace;
  let stopNamespace: (() => void) | undefined;
  let dir = '';
  let corpLog = '';
  let before = '';

  /** What resolved has per link: servers, routing domains, default route. */
  const resolvedView = () =>
    ['dns', 'domain', 'default-route'].map((what) => rs.resolvectl(what)).join('');
  /** A lookup through the system resolver (resolv.conf: resolved's stub). */
  const dig = (name: string) => rs.try('dig', '+time=3', '+tries=1', name).stdout;
  const digShort = (name: string) =>
    rs.try('dig', '+short', '+time=3', '+tries=1', name).stdout.trim();
  const corpQueries = (name: string) =>
    corpLog.split('\n').filter((l) => l.includes(`query[A] ${name} `)).length;
  /** The NetworkManager of a laptop: reconnecting ca0 sets its resolver and domain again. */
  const networkManagerRewrite = () => {
    rs.resolvectl('revert', 'ca0');
    rs.resolvectl('dns', 'ca0', CORP_RESOLVER);
    rs.resolvectl('domain', 'ca0', 'corp.test');
  };
  const waitFor = async (what: string, ok: () => boolean, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  /** `client-agent dev --system` on the agent's link, until it is ready. */
  const startAgent = async (stateDir: string, extra: string[]) => {
    const child = rs.spawn(process.execPath, [
      BIN,
      'dev',
      '--system',
      '--state-dir',
      stateDir,
      '--controller-port',
      '0',
      '--worker-port',
      '0',
      ...extra,
    ]);
    agents.push({ child, stateDir });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    await waitFor(
      'client-agent dev --system to start',
      () => {
        if (child.exitCode !== null) throw new Error(`dev --system exited: ${stderr}`);
        return stderr.includes('Stop with Ctrl-C.');
      },
      20_000,
    );
    return child;
  };
  const stop = async (child: ChildProcess, signal: NodeJS.Signals) => {
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill(signal);
    return exit;
  };
  const agentLink = () => rs.resolvectl('status', AGENT_LINK);
  /** The agent link's settings alone (not which server resolved used last). */
  const agentLinkSettings = () =>
    ['dns', 'domain', 'default-route'].map((what) => rs.resolvectl(what, AGENT_LINK)).join('');
  /** `daemon --cleanup` for a dev --system run's state directory. */
  const cleanup = (stateDir: string) => {
    // Its platform state sits beside the state file, as dev --system's does.
    const config = writeDaemonConfig(stateDir);
    rs.run(process.execPath, BIN, 'daemon', '--config', config, '--cleanup');
  };
  const agents: { child: ChildProcess; stateDir: string }[] = [];

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ca-resolved-'));
    rs = await startResolvedNamespace('ca-rs');
    stopNamespace = () => {
      rs.stop();
    };
    // The network's resolver, reached over ca0 (its address on ca0's peer end).
    rs.run('ip', 'addr', 'add', `${CORP_RESOLVER}/32`, 'dev', 'ca1');
    const corp = rs.spawn('dnsmasq', [
      '--keep-in-foreground',
      `--listen-address=${CORP_RESOLVER}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--address=/corp.test/192.0.2.99',
      '--log-queries',
      '--log-facility=-',
    ]);
    corp.stderr?.on('data', (c: Buffer) => (corpLog += c.toString()));
    networkManagerRewrite();
    rs.run('ip', 'link', 'add', VETH_LINK, 'type', 'veth', 'peer', 'name', 'cab1');
    rs.run('ip', 'link', 'set', 'cab1', 'up');
    rs.run('ip', 'link', 'set', VETH_LINK, 'up');
    await waitFor('the network resolver', () => digShort('www.corp.test') === '192.0.2.99');
    before = resolvedView();
  }, 60_000);

  afterEach(async () => {
    // A test that failed half-way leaves its agent running: the next one starts clean.
    for (const { child, stateDir } of agents.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        await stop(child, 'SIGKILL');
        cleanup(stateDir);
      }
    }
  });

  afterAll(() => {
    stopNamespace?.();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('split: aliases answered by the agent on its own link, other names never reach it; ca0 rewritten, the agent stays; stop gives resolved back', async () => {
    // The agent's upstream: counts every query the agent forwards.
    const upstream = rs.spawn(process.execPath, [
      '-e',
      "const s = require('dgram').createSocket('udp4'); s.on('message', () => console.log('query')); s.bind(5399, '127.0.0.1', () => console.log('bound'));",
    ]);
    let upstreamOut = '';
    upstream.stdout?.on('data', (c: Buffer) => (upstreamOut += c.toString()));
    await waitFor('the counting upstream', () => upstreamOut.includes('bound'));
    const forwarded = () => upstreamOut.split('\n').filter((l) => l === 'query').length;

    const child = await startAgent(path.join(dir, 'split'), ['--upstream', '127.0.0.1:5399']);
    await waitFor('the alias routing domain', () => agentLink().includes(`~${ALIAS}`));
    const link = agentLink();
    expect(link).toMatch(/DNS Servers: 100\.64\.0\.1 fd62:6f75:6e64::53/);
    expect(link).toContain('-DefaultRoute');
    expect(rs.resolvectl('dns', 'ca0')).not.toContain('100.64.');
    expect(rs.resolvectl('domain', 'ca0')).not.toContain('~');
    // diag's probe name is routed too: it can tell the OS resolver asks the agent.
    expect(link).toContain('~probe.client-agent.test');

    const address = digShort(ALIAS);
    expect(address).toMatch(/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d+\.\d+$/);
    expect(rs.run('getent', 'ahosts', ALIAS)).toContain(address);
    const echoed = rs.run(
      process.execPath,
      '-e',
      `const s = require('net').connect(7777, '${ALIAS}', () => s.write('through resolved')); s.on('data', (d) => { process.stdout.write(d); s.destroy(); });`,
    );
    expect(echoed).toBe('through resolved');

    // Other names: the network's resolver answers them, the agent never sees one.
    for (const name of ['www.corp.test', 'mail.corp.test', 'elsewhere.example']) dig(name);
    expect(digShort('printer.corp.test')).toBe('192.0.2.99');
    await waitFor('the corp resolver log', () => corpQueries('elsewhere.example') > 0);
    expect(corpQueries('mail.corp.test')).toBe(1);
    expect(forwarded()).toBe(0);

    // NetworkManager reconnects ca0: the agent's link keeps its settings, aliases still resolve.
    const settings = agentLinkSettings();
    networkManagerRewrite();
    expect(agentLinkSettings()).toBe(settings);
    rs.resolvectl('flush-caches');
    expect(digShort(ALIAS)).toBe(address);
    expect(forwarded()).toBe(0);

    // (diag asks the upstream itself: after the count.)
    expect(rs.try(process.execPath, BIN, 'diag').stdout).toMatch(
      /The OS resolver asks the agent: OK/,
    );

    expect(await stop(child, 'SIGINT')).toBe(0);
    expect(resolvedView()).toBe(before);
    expect(rs.run('ip', '-o', 'addr', 'show')).not.toContain('100.64.');
    expect(rs.run('ip', '-o', 'link', 'show')).not.toContain(AGENT_LINK);
    upstream.kill('SIGKILL');
  }, 90_000);

  it("full: every name through the agent, forwarded to ca0's resolver (not the stub); kill -9 and --cleanup give resolved back", async () => {
    const stateDir = path.join(dir, 'full');
    const child = await startAgent(stateDir, ['--dns-mode', 'full']);
    const link = agentLink();
    expect(link).toContain('DNS Domain: ~.');
    expect(link).toContain('+DefaultRoute');
    // Forwarding goes to ca0's resolver, read from resolved: not its stub, not the agent.
    const diag = rs.try(process.execPath, BIN, 'diag').stdout;
    expect(diag).toMatch(/Upstream resolvers answer: 192\.0\.2\.53:53 answers/);
    expect(diag).toMatch(/System resolver points at the agent: systemd-resolved/);
    expect(digShort(ALIAS)).toMatch(/^100\./);
    const asked = corpQueries('full.corp.test');
    expect(digShort('full.corp.test')).toBe('192.0.2.99');
    await waitFor('the query at the corp resolver', () => corpQueries('full.corp.test') > asked);

    await stop(child, 'SIGKILL');
    // The kernel deleted the agent's tun with its holder, and resolved forgot the link with it.
    await waitFor('the link gone', () => !rs.run('ip', '-o', 'link', 'show').includes(AGENT_LINK));
    cleanup(stateDir);
    expect(resolvedView()).toBe(before);
    expect(rs.run('ip', '-o', 'addr', 'show')).not.toContain('100.64.');
    expect(fs.existsSync(path.join(stateDir, 'platform-state.json'))).toBe(false);
    expect(digShort('after.corp.test')).toBe('192.0.2.99');
  }, 90_000);

  it("10,000 aliases: routed by their parent domains within resolved's 256 per link, in one quick call", async () => {
    const backend = new ResolvedBackend({
      runner: prefixedRunner(new ExecFileRunner(), rs.prefix),
    });
    // The agent's DNS server, standing in: answers every name under prod.example.
    rs.run('ip', 'addr', 'add', '100.64.0.1/32', 'dev', VETH_LINK);
    let agentLog = '';
    const agent = rs.spawn('dnsmasq', [
      '--keep-in-foreground',
      '--listen-address=100.64.0.1',
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--address=/prod.example/100.64.0.9',
      '--log-queries',
      '--log-facility=-',
    ]);
    agent.stderr?.on('data', (c: Buffer) => (agentLog += c.toString()));
    const config = { interface: VETH_LINK, servers: ['100.64.0.1'], dnsMode: 'split' as const };
    const original = await backend.snapshot(config);
    await backend.write(config, original);
    const names = Array.from({ length: 10_000 }, (_, i) => `db${i}.team${i % 300}.prod.example`);
    const started = Date.now();
    await backend.reroute({ ...config, domains: names });
    const took = Date.now() - started;
    expect(parseResolvectlLists(rs.resolvectl('domain', VETH_LINK))).toEqual([['~prod.example']]);
    expect(took).toBeLessThan(2_000);
    expect(digShort('db9999.team99.prod.example')).toBe('100.64.0.9');
    // The parent domain catches the non-aliases under it too: the agent forwards those.
    expect(digShort('other.prod.example')).toBe('100.64.0.9');
    expect(digShort('www.corp.test')).toBe('192.0.2.99');
    await waitFor('the stand-in agent log', () => agentLog.includes('query[A] other.prod.example'));
    expect(agentLog).not.toContain('corp.test');
    await backend.restore(original);
    agent.kill('SIGKILL');
    rs.run('ip', 'addr', 'del', '100.64.0.1/32', 'dev', VETH_LINK);
    expect(resolvedView()).toBe(before);
  }, 60_000);
});
