/**
 * `client-agent diag` without an alias: the checks a support engineer runs on a machine where
 * names do not resolve. Each reads the machine through the platform (the OS's own commands) and
 * asks DNS for real; none changes anything.
 */
import { formatUpstream } from '../config/index.js';
import { PROBE_NAME } from '../dns/index.js';
import {
  prefixConflict,
  type Platform,
  type PortSocket,
  addressMatches,
  describeOwners,
} from '../platform/index.js';
import { formatServer, type DnsProbe, type LookupResult } from './dns-probe.js';
import type { MachineFacts } from './machine-facts.js';
import {
  failed,
  notChecked,
  passed,
  runSteps,
  warned,
  type DiagStep,
  type StepOutcome,
  type StepSpec,
} from './report.js';

export interface MachineCheckContext {
  readonly facts: MachineFacts;
  readonly platform: Pick<Platform, 'name' | 'addresses' | 'resolver' | 'ports'>;
  readonly dns: DnsProbe;
}

export const START_AGENT =
  'Start it: "sudo systemctl start client-agent" (or "sudo client-agent daemon" in the foreground).';
const DEMO_RESOLVER =
  'The demo (client-agent dev) answers only on its own address; ask it directly (dig @127.0.0.1 -p PORT NAME) or run "sudo client-agent dev --system".';

export const MACHINE_STEPS: readonly StepSpec<MachineCheckContext>[] = [
  { id: 'agent', title: 'Agent running', check: agentRunning },
  { id: 'dns-addresses', title: 'DNS addresses on the interface', check: dnsAddresses },
  { id: 'resolver', title: 'System resolver points at the agent', check: systemResolver },
  {
    id: 'probe-direct',
    title: `The agent answers ${PROBE_NAME}`,
    needs: ['dns-addresses'],
    check: probeDirect,
  },
  {
    id: 'probe-os',
    title: 'The OS resolver asks the agent',
    needs: ['probe-direct'],
    check: probeThroughOs,
  },
  { id: 'port-53', title: 'Who holds the DNS port', check: portHolders },
  { id: 'prefixes', title: 'Address prefixes free', check: prefixes },
  { id: 'upstreams', title: 'Upstream resolvers answer', check: upstreams },
];

export function runMachineChecks(context: MachineCheckContext): Promise<DiagStep[]> {
  return runSteps(MACHINE_STEPS, context);
}

function agentRunning({ facts }: MachineCheckContext): StepOutcome {
  if (facts.notRunning !== undefined) {
    return failed(facts.notRunning.message, facts.notRunning.hint ?? START_AGENT);
  }
  const profile = facts.profile === 'dev' ? 'the demo, client-agent dev' : 'system daemon';
  const count = facts.aliasCount ?? 0;
  const about = `${profile}, pid ${facts.pid ?? '?'}, ${count} ${count === 1 ? 'alias' : 'aliases'}${
    facts.lastRefresh === undefined ? '' : `, last refresh at ${facts.lastRefresh}`
  }`;
  if (facts.status === 'paused') {
    const why =
      facts.pausedReason === 'user' || facts.pausedReason === undefined
        ? 'paused by a user'
        : `paused: ${facts.pausedReason}`;
    return failed(
      `${why} (${about})`,
      'Run "client-agent resume" when aliases should resolve again.',
      {
        status: 'paused',
      },
    );
  }
  return passed(`running (${about})`, { status: 'running', profile: facts.profile });
}

async function dnsAddresses({ facts, platform }: MachineCheckContext): Promise<StepOutcome> {
  if (facts.notRunning !== undefined) return notChecked('not checked: the agent is not running');
  const present = await platform.addresses.list();
  const where = facts.dnsAddresses.map((ip) => ({
    ip,
    on: present.find((a) => sameIp(a.address, ip))?.interface,
  }));
  const missing = where.filter((w) => w.on === undefined).map((w) => w.ip);
  const seen = where.map((w) => `${w.ip} on ${w.on ?? 'no interface'}`).join(', ');
  if (missing.length > 0) {
    return failed(
      seen,
      `The agent put ${missing.join(' and ')} on ${facts.interface ?? 'its interface'} and something removed ${missing.length > 1 ? 'them' : 'it'}; the agent puts its addresses back within seconds, so if this stays, check its log for why it cannot ("could not check the agent addresses"), or restart it.`,
    );
  }
  return passed(seen);
}

async function systemResolver({ facts, platform }: MachineCheckContext): Promise<StepOutcome> {
  const [mode, current] = await Promise.all([
    platform.resolver.mode(),
    platform.resolver.current(),
  ]);
  const ours = current.filter((s) => facts.dnsAddresses.some((a) => sameIp(a, s)));
  const where = `${mode}: nameservers ${current.length === 0 ? '(none)' : current.join(', ')}`;
  const details = { mode, nameservers: current };
  if (facts.notRunning !== undefined) {
    return ours.length > 0
      ? failed(
          `${where}: the system resolver still points at the agent, which is not running, so no name resolves`,
          'Give the previous resolvers back: "sudo client-agent daemon --cleanup" (or start the agent again).',
          details,
        )
      : passed(`${where} (the agent is not running, and the resolver does not use it)`, details);
  }
  if (facts.profile === 'dev') {
    return warned(
      `${where}: the demo does not take the system resolver over`,
      DEMO_RESOLVER,
      details,
    );
  }
  if (ours.length === 0) {
    return failed(
      `${where}: the agent's ${facts.dnsAddresses.join(', ')} is not among them`,
      facts.status === 'paused'
        ? 'The agent gives the resolver back while paused: "client-agent resume".'
        : 'Another program took the resolver back (a VPN client, NetworkManager, DHCP); restart the agent and see "client-agent status" for warnings.',
      details,
    );
  }
  if (mode === 'resolv-conf' && !facts.dnsAddresses.some((a) => sameIp(a, current[0] ?? ''))) {
    return warned(
      `${where}: the agent's address is not the first nameserver, so another server is asked first`,
      'Restart the agent so that it writes /etc/resolv.conf again; tell the program that rewrites it to leave it alone (NetworkManager: dns=none).',
      details,
    );
  }
  return passed(where, details);
}

async function probeDirect({ facts, dns }: MachineCheckContext): Promise<StepOutcome> {
  const results = await Promise.all(
    facts.dnsAddresses.map(async (address) => {
      const server = { address, port: facts.dnsPort };
      const result = await dns.ask(server, PROBE_NAME, address.includes(':') ? 'AAAA' : 'A');
      const ok = result.kind === 'answer' && result.addresses.some((a) => sameIp(a, address));
      const text =
        result.kind === 'answer'
          ? `${formatServer(server)} → ${result.addresses.join(', ') || 'no address'}`
          : `${formatServer(server)} → ${result.kind === 'nxdomain' ? 'NXDOMAIN' : result.code}`;
      return { ok, text };
    }),
  );
  const seen = results.map((r) => r.text).join('; ');
  if (results.every((r) => r.ok)) return passed(seen);
  return failed(
    seen,
    'The agent\'s DNS server does not answer on its address: see "client-agent status" and the log; a firewall must let DNS (UDP and TCP port 53) through on that address (macOS 15.1–15.2 drops such replies: update macOS).',
  );
}

export type ProbeVerdict = 'OK' | 'HIJACKED' | 'NOT REGISTERED';

/** What the OS resolver's answer for the probe name says about it. */
export function probeVerdict(
  result: LookupResult,
  dnsAddresses: readonly string[],
): { verdict: ProbeVerdict; seen: string } {
  if (
    result.kind === 'answer' &&
    result.addresses.some((a) => dnsAddresses.some((d) => sameIp(a, d)))
  ) {
    return { verdict: 'OK', seen: `OK: ${PROBE_NAME} → ${result.addresses.join(', ')}` };
  }
  if (result.kind === 'answer' && result.addresses.length > 0) {
    return {
      verdict: 'HIJACKED',
      seen: `HIJACKED: ${PROBE_NAME} → ${result.addresses.join(', ')}, not the agent's ${dnsAddresses.join(', ')}: something answers before the agent`,
    };
  }
  const how = result.kind === 'error' ? result.code : 'not found';
  return {
    verdict: 'NOT REGISTERED',
    seen: `NOT REGISTERED: ${PROBE_NAME} → ${how}: the OS resolver does not ask the agent`,
  };
}

export const HIJACKED_FIX =
  'Look for the name in /etc/hosts, for a VPN or another local resolver answering first, and flush the OS cache (Linux: "resolvectl flush-caches"; macOS: "sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder").';
export const NOT_REGISTERED_FIX =
  'The system resolver does not use the agent: see the "System resolver" check; restart the agent so that it takes the resolver over again, and flush the OS DNS cache.';

async function probeThroughOs({ facts, dns }: MachineCheckContext): Promise<StepOutcome> {
  const { verdict, seen } = probeVerdict(await dns.lookup(PROBE_NAME), facts.dnsAddresses);
  const details = { verdict };
  if (verdict === 'OK') return passed(seen, details);
  if (facts.profile === 'dev')
    return warned(
      `${seen} (expected: the demo leaves the system resolver alone)`,
      DEMO_RESOLVER,
      details,
    );
  if (facts.status === 'paused')
    return failed(seen, 'The agent is paused: "client-agent resume".', details);
  return failed(seen, verdict === 'HIJACKED' ? HIJACKED_FIX : NOT_REGISTERED_FIX, details);
}

async function portHolders({ facts, platform }: MachineCheckContext): Promise<StepOutcome> {
  const port = facts.dnsPort;
  const sockets = [
    ...(await platform.ports.sockets('udp', port)),
    ...(await platform.ports.sockets('tcp', port)),
  ];
  const running = facts.notRunning === undefined;
  const isOurs = (s: PortSocket): boolean =>
    s.owners.some((o) => o.pid === facts.pid) ||
    (running && s.owners.length === 0 && facts.dnsAddresses.some((a) => sameIp(a, s.local)));
  const mine = sockets.filter(isOurs);
  const others = sockets.filter((s) => !isOurs(s));
  const blocking = others.filter((s) => facts.dnsAddresses.some((a) => addressMatches(s.local, a)));
  const text = (list: readonly PortSocket[]) =>
    [
      ...new Set(
        list.map((s) => `${describeOwners(s.owners) ?? 'a process of another user'} on ${s.local}`),
      ),
    ].join(', ');
  const parts = [
    ...(mine.length > 0
      ? [`the agent on ${[...new Set(mine.map((s) => s.local))].join(', ')}`]
      : []),
    ...(others.length > 0 ? [text(others)] : []),
  ];
  const seen = `port ${port}: ${parts.length === 0 ? 'nobody holds it' : parts.join('; ')}`;
  const details = {
    port,
    holders: others.map((s) => `${describeOwners(s.owners) ?? '?'}@${s.local}`),
  };
  if (blocking.length === 0) return passed(seen, details);
  const fix = `Stop ${text(blocking)}, or make it listen only on 127.0.0.1 (dnsmasq: bind-interfaces and listen-address=127.0.0.1); systemd-resolved's stub on 127.0.0.53 does not conflict. Run diag as root to see every holder's name.`;
  return running
    ? warned(
        `${seen}: another program also binds the agent's address or every address`,
        fix,
        details,
      )
    : failed(
        `${seen}: the agent cannot bind ${facts.dnsAddresses.join(', ')} port ${port}`,
        fix,
        details,
      );
}

async function prefixes({ facts, platform }: MachineCheckContext): Promise<StepOutcome> {
  const list = [facts.v4Prefix, ...(facts.v6Prefix === null ? [] : [facts.v6Prefix])];
  if (facts.profile === 'dev') {
    return passed(`${list.map((p) => p.cidr).join(', ')} (the demo uses loopback addresses)`);
  }
  const problems: { seen: string; fix: string | undefined }[] = [];
  for (const prefix of list) {
    const conflicts = await platform.addresses.prefixConflicts(prefix, facts.ownAddresses);
    if (conflicts.length > 0) {
      const error = prefixConflict(prefix, conflicts, prefix.network.includes(':'));
      problems.push({ seen: error.message, fix: error.hint });
    }
  }
  if (problems.length === 0) {
    return passed(`${list.map((p) => p.cidr).join(', ')}: nothing else on this machine uses them`);
  }
  return failed(problems.map((p) => p.seen).join('; '), problems.map((p) => p.fix).join(' '));
}

async function upstreams({ facts, dns }: MachineCheckContext): Promise<StepOutcome> {
  if (facts.upstreams.length === 0) {
    return failed(
      'no upstream resolvers: every name that is not an alias gets SERVFAIL',
      'Set override_upstream_dns_servers in the configuration file, or fix the resolvers the machine had before the agent.',
    );
  }
  const results = await Promise.all(
    facts.upstreams.map(async (u) => {
      const r = await dns.ask(u, PROBE_NAME);
      // Any DNS answer shows the server is reachable: a corporate resolver may well refuse a
      // name outside its zones (REFUSED) and still serve every name that matters.
      if (r.kind === 'no_answer')
        return { ok: false, text: `${formatUpstream(u)} fails (${r.code})` };
      const how = r.kind === 'error' ? ` (${r.code} for ${PROBE_NAME})` : '';
      return { ok: true, text: `${formatUpstream(u)} answers${how}` };
    }),
  );
  const seen = results.map((r) => r.text).join(', ');
  const details = { upstreams: facts.upstreams.map(formatUpstream) };
  if (results.every((r) => r.ok)) return passed(seen, details);
  const fix =
    'Names that are not aliases go to these servers: check the network path to them (VPN, firewall), or set override_upstream_dns_servers.';
  return results.some((r) => r.ok) ? warned(seen, fix, details) : failed(seen, fix, details);
}

/** Equal addresses, whatever their spelling (IPv6 zeros, case). */
export function sameIp(a: string, b: string): boolean {
  return addressMatches(a, b) && a !== '' && b !== '' && !['*', '0.0.0.0', '::'].includes(a);
}
