/**
 * The routing domains that send the aliases to the agent's link in split mode. systemd-resolved
 * takes at most 256 domains per link (more: "Argument list too long", and the link loses the
 * ones it had), so a larger alias set is routed by the aliases' parent domains: the deepest
 * names give way to their parents until the list fits. Names under such a parent that are not
 * aliases then reach the agent too, which forwards them.
 */

/** resolved's LINK_SEARCH_DOMAINS_MAX. */
export const MAX_LINK_DOMAINS = 256;

export interface RoutingDomains {
  /** Without the `~`; `.` alone routes every name (more top-level domains than fit). */
  readonly domains: readonly string[];
  /** Whether some domains are parents of aliases rather than the aliases themselves. */
  readonly collapsed: boolean;
}

export function routingDomains(names: Iterable<string>, max = MAX_LINK_DOMAINS): RoutingDomains {
  let set = covering(
    [...names].map((n) => n.toLowerCase().replace(/\.$/, '')).filter((n) => n !== ''),
  );
  let collapsed = false;
  while (set.length > max) {
    const depth = Math.max(...set.map(labels));
    if (depth <= 1) return { domains: ['.'], collapsed: true };
    set = covering(set.map((n) => (labels(n) === depth ? n.slice(n.indexOf('.') + 1) : n)));
    collapsed = true;
  }
  return { domains: set, collapsed };
}

/** The names, sorted and unique, less those under another one (`~corp` already routes `a.corp`). */
function covering(names: readonly string[]): string[] {
  const all = new Set(names);
  return [...all]
    .filter((n) => {
      for (let i = n.indexOf('.'); i !== -1; i = n.indexOf('.', i + 1)) {
        if (all.has(n.slice(i + 1))) return false;
      }
      return true;
    })
    .sort();
}

function labels(name: string): number {
  return name.split('.').length;
}
