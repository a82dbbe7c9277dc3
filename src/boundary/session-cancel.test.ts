import { describe, expect, it } from 'vitest';
import type { Session } from './api-types.js';
import {
  cancelAtController,
  cancelAtWorkerOrController,
  type CancelWay,
} from './session-cancel.js';

const fail = (message: string) => () => Promise.reject(new Error(message));

describe('cancelAtWorkerOrController', () => {
  it('cancels at the worker and asks the controller nothing', async () => {
    const asked: string[] = [];
    const path = await cancelAtWorkerOrController({
      worker: () => {
        asked.push('worker');
        return Promise.resolve();
      },
      controller: () => {
        asked.push('controller');
        return Promise.resolve('controller');
      },
    });
    expect(path).toBe('worker');
    expect(asked).toEqual(['worker']);
  });

  it('falls back to the controller when the worker fails, telling of the failure', async () => {
    const failures: [CancelWay, string][] = [];
    const path = await cancelAtWorkerOrController({
      worker: fail('worker gone'),
      controller: () => Promise.resolve('already ended'),
      onFailure: (way, err) => failures.push([way, (err as Error).message]),
    });
    expect(path).toBe('already ended');
    expect(failures).toEqual([['worker', 'worker gone']]);
  });

  it('tries the controller first when told, and the worker after it failed', async () => {
    const asked: string[] = [];
    const path = await cancelAtWorkerOrController({
      first: 'controller',
      worker: () => {
        asked.push('worker');
        return Promise.resolve();
      },
      controller: () => {
        asked.push('controller');
        return Promise.reject(new Error('agent gone'));
      },
    });
    expect(path).toBe('worker');
    expect(asked).toEqual(['controller', 'worker']);
  });

  it('rejects with the last failure when no way works, and when none is given', async () => {
    const failures: CancelWay[] = [];
    await expect(
      cancelAtWorkerOrController({
        worker: fail('worker gone'),
        controller: fail('controller gone'),
        onFailure: (way) => failures.push(way),
      }),
    ).rejects.toThrow('controller gone');
    expect(failures).toEqual(['worker', 'controller']);
    await expect(cancelAtWorkerOrController({})).rejects.toThrow(/neither/);
  });
});

describe('cancelAtController', () => {
  const calls = (status: string, version = 3) => {
    const canceled: number[] = [];
    return {
      canceled,
      read: () => Promise.resolve<Session>({ id: 's_1', status, version }),
      cancel: (v: number) => {
        canceled.push(v);
        return Promise.resolve<Session>({ id: 's_1', status: 'canceling', version: v + 1 });
      },
    };
  };

  it('cancels with the version it read, and returns the controller’s record', async () => {
    const api = calls('active');
    const done = await cancelAtController(api, AbortSignal.timeout(1_000));
    expect(done).toEqual({
      path: 'controller',
      session: { id: 's_1', status: 'canceling', version: 4 },
    });
    expect(api.canceled).toEqual([3]);
  });

  it('leaves a session that is already over alone', async () => {
    for (const status of ['canceling', 'terminated']) {
      const api = calls(status);
      const done = await cancelAtController(api, AbortSignal.timeout(1_000));
      expect(done.path).toBe('already ended');
      expect(api.canceled).toEqual([]);
    }
  });
});
