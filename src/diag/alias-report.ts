/**
 * The caller's side of `client-agent diag ALIAS`: the daemon's checklist, with the OS resolver
 * step added after the alias step. That step runs here, in the caller's process, because the
 * caller's programs resolve names through this process's view of the OS resolver.
 */
import type { AliasDiagnosis } from '../control/index.js';
import { PROBE_NAME } from '../dns/index.js';
import { ALIAS_STEP_TITLES } from './alias-checks.js';
import { parseServer, type DnsProbe } from './dns-probe.js';
import { HIJACKED_FIX, NOT_REGISTERED_FIX, probeVerdict, sameIp } from './machine-checks.js';
import {
  failed,
  isGood,
  passed,
  skipped,
  toStep,
  warned,
  type DiagStep,
  type StepOutcome,
} from './report.js';

const RESOLVER = { id: 'resolver', title: ALIAS_STEP_TITLES.resolver } as const;
const NEEDS = ['agent', 'alias'];

const FLUSH =
  'Flush the OS DNS cache (Linux: "resolvectl flush-caches", or restart nscd/dnsmasq if you run them; macOS: "sudo dscacheutil -flushcache; sudo killall -HUP mDNSResponder"), then try again.';

/** The daemon's steps with the resolver step in its place (after `alias`). */
export async function withResolverStep(
  diagnosis: AliasDiagnosis,
  dns: DnsProbe,
): Promise<DiagStep[]> {
  const steps = [...diagnosis.steps];
  const blocker = NEEDS.map((id) => steps.find((s) => s.id === id)).find(
    (s) => s !== undefined && !isGood(s),
  );
  const resolver =
    blocker === undefined
      ? toStep(RESOLVER, await resolverOutcome(diagnosis, dns))
      : skipped(RESOLVER, blocker);
  const at = steps.findIndex((s) => s.id === 'alias');
  steps.splice(at < 0 ? steps.length : at + 1, 0, resolver);
  return steps;
}

async function resolverOutcome(diagnosis: AliasDiagnosis, dns: DnsProbe): Promise<StepOutcome> {
  const { alias } = diagnosis;
  const proxy = diagnosis.proxy_addresses;
  if (proxy === undefined) return failed(`the agent gave no proxy address for ${alias}`, FLUSH);
  const expected = [proxy.v4, ...(proxy.v6 === undefined ? [] : [proxy.v6])];
  const isOurs = (addresses: readonly string[]) =>
    addresses.some((a) => expected.some((e) => sameIp(a, e)));
  const details = { proxy_addresses: expected };
  if (diagnosis.profile === 'dev') {
    const server = parseServer(diagnosis.dns_addresses[0] ?? '');
    if (server === undefined) return failed('the demo reported no DNS address', FLUSH);
    const answer = await dns.ask(server, alias);
    const seen = `the demo leaves the system resolver alone; asked its DNS server ${diagnosis.dns_addresses[0] ?? ''} directly: ${alias} → ${answer.kind === 'answer' ? answer.addresses.join(', ') || 'no address' : answer.kind === 'nxdomain' ? 'NXDOMAIN' : answer.code}`;
    if (answer.kind === 'answer' && isOurs(answer.addresses)) return passed(seen, details);
    return notAnswered(diagnosis, seen, details);
  }
  const found = await dns.lookup(alias);
  const text =
    found.kind === 'answer'
      ? found.addresses.join(', ')
      : found.kind === 'not_found'
        ? 'not found'
        : found.code;
  if (found.kind === 'answer' && isOurs(found.addresses)) {
    return passed(`${alias} → ${text} (the agent's proxy address)`, details);
  }
  const own = diagnosis.dns_addresses.flatMap((a) => parseServer(a)?.address ?? []);
  const probe = probeVerdict(await dns.lookup(PROBE_NAME), own);
  const seen = `${alias} → ${text}, not the proxy address ${expected.join(', ')}; probe ${probe.seen}`;
  if (probe.verdict === 'HIJACKED') return failed(seen, HIJACKED_FIX, details);
  if (probe.verdict === 'NOT REGISTERED') return failed(seen, NOT_REGISTERED_FIX, details);
  if (found.kind === 'answer' && found.addresses.length > 0) {
    return failed(`${seen}: an answer from before, kept in a cache`, FLUSH, details);
  }
  return notAnswered(diagnosis, seen, details);
}

/** The agent did not answer the alias itself: because authorizing fails, or a cache. */
function notAnswered(
  diagnosis: AliasDiagnosis,
  seen: string,
  details: { proxy_addresses: string[] },
): StepOutcome {
  const authorize = diagnosis.steps.find((s) => s.id === 'authorize');
  if (authorize !== undefined && !isGood(authorize)) {
    return warned(
      `${seen}: the agent answers an alias only when it can authorize a session or read its target, and "${authorize.title}" fails (below)`,
      'Fix authorize-session first.',
      details,
    );
  }
  return failed(
    `${seen}: the agent did not answer it (see "client-agent status" for recent errors)`,
    FLUSH,
    details,
  );
}
