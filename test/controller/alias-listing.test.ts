/** list-resolvable-aliases paging and refresh semantics, through the real client. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControllerError } from '../../src/boundary/index.js';
import { ALICE, BOB, DB, login, startStandIn, WEB, type StandIn } from '../helpers/standin.js';

let s: StandIn;
let token: string;
beforeEach(async () => {
  s = await startStandIn();
  token = await login(s, ALICE);
});
afterEach(async () => {
  await s.close();
});

function addMany(n: number, destination = DB): void {
  for (let i = 0; i < n; i++)
    s.directory.addAlias({ value: `host-${i}.bulk.corp`, destinationId: destination });
}

describe('list-resolvable-aliases', () => {
  it('pages a full listing newest first with delta pages then complete, thin items only', async () => {
    addMany(2_500);
    const pages: Record<string, unknown>[] = [];
    let listToken: string | undefined;
    do {
      const q = new URLSearchParams({
        page_size: '1000',
        ...(listToken === undefined ? {} : { list_token: listToken }),
      });
      const res = await fetch(
        `${s.controller.address}/v1/users/${ALICE.id}:list-resolvable-aliases?${q.toString()}`,
        {
          headers: { authorization: `Bearer ${token}` },
        },
      );
      const body = (await res.json()) as Record<string, unknown>;
      pages.push(body);
      listToken = body.list_token as string;
    } while (pages.at(-1)?.response_type === 'delta');
    expect(pages.map((p) => (p.items as unknown[]).length)).toEqual([1000, 1000, 502]);
    expect(pages.map((p) => p.response_type)).toEqual(['delta', 'delta', 'complete']);
    expect(pages[0]).toMatchObject({
      sort_by: 'created_time',
      sort_dir: 'desc',
      est_item_count: 2502,
    });
    expect(pages[0]).not.toHaveProperty('removed_ids');
    const first = (pages[0]?.items as Record<string, unknown>[])[0];
    expect(Object.keys(first ?? {}).sort()).toEqual([
      'created_time',
      'destination_id',
      'id',
      'type',
      'updated_time',
      'value',
    ]);
    expect(first).toMatchObject({ value: 'host-2499.bulk.corp', type: 'target' });
  });

  it('the client walks every page and returns the last token', async () => {
    addMany(2_500);
    const listing = await s.client.listResolvableAliases(token, ALICE.id, { pageSize: 1000 });
    expect(listing.items).toHaveLength(2_502);
    expect(new Set(listing.items.map((i) => i.id)).size).toBe(2_502);
    expect(listing).toMatchObject({ refresh: false, pages: 3, removedIds: [] });
    expect(listing.listToken).toBeTypeOf('string');
  });

  it('a refresh returns only what changed, newest updated first, and removed ids', async () => {
    const first = await s.client.listResolvableAliases(token, ALICE.id);
    const added = s.directory.addAlias({ value: 'new.corp', destinationId: WEB });
    s.directory.updateAlias('alt_web0000001', { value: 'www.corp' });
    s.directory.removeAlias('alt_db00000001');
    const refresh = await s.client.listResolvableAliases(token, ALICE.id, {
      listToken: first.listToken,
    });
    expect(refresh.refresh).toBe(true);
    expect(refresh.items.map((i) => i.value)).toEqual(['www.corp', 'new.corp']);
    expect(refresh.removedIds).toEqual(['alt_db00000001']);
    const quiet = await s.client.listResolvableAliases(token, ALICE.id, {
      listToken: refresh.listToken,
    });
    expect(quiet).toMatchObject({ items: [], removedIds: [], refresh: true });
    expect(added.id).toMatch(/^alt_/);
  });

  it('an alias whose destination is cleared is removed on refresh', async () => {
    const first = await s.client.listResolvableAliases(token, ALICE.id);
    s.directory.updateAlias('alt_db00000001', { destinationId: null });
    const refresh = await s.client.listResolvableAliases(token, ALICE.id, {
      listToken: first.listToken,
    });
    expect(refresh.removedIds).toEqual(['alt_db00000001']);
    expect(refresh.items).toEqual([]);
  });

  it('a refresh with many changes is paged too, removed ids on its first page only', async () => {
    const first = await s.client.listResolvableAliases(token, ALICE.id);
    addMany(25);
    s.directory.removeAlias('alt_web0000001');
    const refresh = await s.client.listResolvableAliases(token, ALICE.id, {
      listToken: first.listToken,
      pageSize: 10,
    });
    expect(refresh).toMatchObject({ pages: 3, refresh: true, removedIds: ['alt_web0000001'] });
    expect(refresh.items).toHaveLength(25);
  });

  it.each([
    ['garbage', () => 'not-a-token', 'list token was invalid'],
    ['a token issued before a grant change', () => 'revoke', 'grants have changed'],
    ['a token older than 30 days', () => 'age', 'list token was expired'],
  ])('refuses %s with 400 "invalid list token"', async (_what, make, message) => {
    const first = await s.client.listResolvableAliases(token, ALICE.id);
    let listToken = make();
    if (listToken === 'revoke') {
      s.directory.revoke(ALICE.id, DB);
      listToken = first.listToken ?? '';
    } else if (listToken === 'age') {
      s.clock.advance(31 * 24 * 3600 * 1000);
      const record = s.directory.tokenById(token.split('_').slice(0, 2).join('_'));
      if (record !== undefined) record.expirationTime = s.clock.now() + 1e9;
      listToken = first.listToken ?? '';
    }
    const err: unknown = await s.client
      .listResolvableAliases(token, ALICE.id, { listToken })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControllerError);
    expect(err).toMatchObject({ status: 400, kind: 'invalid list token' });
    expect((err as Error).message).toContain(message);
  });

  it('short-circuits for a user without any target grant: complete, no token, no items', async () => {
    s.directory.revoke(BOB.id, WEB);
    const bob = await login(s, BOB);
    const res = await fetch(`${s.controller.address}/v1/users/${BOB.id}:list-resolvable-aliases`, {
      headers: { authorization: `Bearer ${bob}` },
    });
    expect(await res.json()).toEqual({
      response_type: 'complete',
      sort_by: 'created_time',
      sort_dir: 'desc',
    });
  });

  it("refuses to list another user's aliases, and a user without the grant (403)", async () => {
    const err = await s.client.listResolvableAliases(token, BOB.id).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 403, kind: 'PermissionDenied' });
    const alice = s.directory.users.get(ALICE.id);
    if (alice !== undefined) alice.canListAliases = false;
    expect(
      await s.client.listResolvableAliases(token, ALICE.id).catch((e: unknown) => e),
    ).toMatchObject({ status: 403 });
  });
});
