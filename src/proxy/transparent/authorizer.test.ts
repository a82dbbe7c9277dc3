import { describe, expect, it } from 'vitest';
import { ControllerError, type Target } from '../../boundary/index.js';
import { ControllerAuthorizer } from './authorizer.js';

const TOKEN = {
  uid: 1000,
  controllerAddress: 'https://boundary.test',
  token: 'at_1_secret',
  tokenId: 'at_1',
  userId: 'u_1',
  expiration: undefined,
};
const TARGET: Target = { id: 'ttcp_1', attributes: { default_port: 22 } };

/** The controller's answers to a target read and a target listing; what was called, in order. */
function authorizerWith(read: () => Promise<Target>, find: () => Promise<Target | undefined>) {
  const calls: string[] = [];
  const never = () => Promise.reject(new Error('not expected'));
  const authorizer = new ControllerAuthorizer({
    tokenFor: (uid) => (uid === TOKEN.uid ? TOKEN : undefined),
    clientFor: () => ({
      authorizeSession: never,
      readSession: never,
      cancelSession: never,
      readTarget: () => (calls.push('read'), read()),
      findTarget: () => (calls.push('list'), find()),
    }),
  });
  return { authorizer, calls };
}

const refused = () =>
  new ControllerError('controller.api', '403 PermissionDenied: Forbidden.', { status: 403 });
const down = () =>
  new ControllerError('controller.unreachable', 'no answer from the controller', { status: 0 });

describe('ControllerAuthorizer.readTarget: the target without a session', () => {
  it('reads the target where the user may', async () => {
    const t = authorizerWith(
      () => Promise.resolve(TARGET),
      () => Promise.resolve(undefined),
    );
    expect(await t.authorizer.readTarget(1000, 'ttcp_1', AbortSignal.timeout(1000))).toBe(TARGET);
    expect(t.calls).toEqual(['read']);
  });

  it('finds it in the target listing when the read is refused', async () => {
    const t = authorizerWith(
      () => Promise.reject(refused()),
      () => Promise.resolve(TARGET),
    );
    expect(await t.authorizer.readTarget(1000, 'ttcp_1', AbortSignal.timeout(1000))).toBe(TARGET);
    expect(t.calls).toEqual(['read', 'list']);
  });

  it('reports the read refusal when the listing does not have it or is refused too', async () => {
    for (const find of [() => Promise.resolve(undefined), () => Promise.reject(refused())]) {
      const t = authorizerWith(() => Promise.reject(refused()), find);
      await expect(
        t.authorizer.readTarget(1000, 'ttcp_1', AbortSignal.timeout(1000)),
      ).rejects.toMatchObject({ status: 403, message: '403 PermissionDenied: Forbidden.' });
    }
  });

  it('does not list when the controller failed to answer the read', async () => {
    const t = authorizerWith(
      () => Promise.reject(down()),
      () => Promise.resolve(TARGET),
    );
    await expect(
      t.authorizer.readTarget(1000, 'ttcp_1', AbortSignal.timeout(1000)),
    ).rejects.toMatchObject({ code: 'controller.unreachable' });
    expect(t.calls).toEqual(['read']);
  });
});
