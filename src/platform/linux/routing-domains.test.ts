import { describe, expect, it } from 'vitest';
import { MAX_LINK_DOMAINS, routingDomains } from './routing-domains.js';

describe('routingDomains', () => {
  it('routes each alias by its own name while they fit, sorted, lower case, names under another left out', () => {
    expect(
      routingDomains(['DB.Prod.Corp.', 'web.corp', 'corp2', 'x.web.corp', 'web.corp']),
    ).toEqual({
      domains: ['corp2', 'db.prod.corp', 'web.corp'],
      collapsed: false,
    });
    expect(routingDomains([])).toEqual({ domains: [], collapsed: false });
  });

  it('routes 10,000 aliases by their parent domains, within the limit', () => {
    const names = Array.from({ length: 10_000 }, (_, i) =>
      i % 2 === 0 ? `host${i}.dev.example` : `db${i}.team${i % 300}.prod.corp.example`,
    );
    const { domains, collapsed } = routingDomains(names);
    expect(collapsed).toBe(true);
    expect(domains.length).toBeLessThanOrEqual(MAX_LINK_DOMAINS);
    // Every alias is under one of the domains.
    for (const n of names) expect(domains.some((d) => n.endsWith(`.${d}`))).toBe(true);
    // The deepest names give way first: the 300 team domains, then their parents with the hosts.
    expect(domains).toEqual(['corp.example', 'dev.example']);
  });

  it('routes every name when even the top-level domains do not fit', () => {
    const names = Array.from({ length: 5 }, (_, i) => `a.tld${i}`);
    expect(routingDomains(names, 4)).toEqual({ domains: ['.'], collapsed: true });
    expect(routingDomains(names, 5).domains).toHaveLength(5);
  });
});
