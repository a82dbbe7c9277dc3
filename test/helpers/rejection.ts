/** The error a promise rejects with, checked to be of `type` (a resolved promise is a failure). */
export async function rejection<T extends Error>(
  promise: Promise<unknown>,
  type: abstract new (...args: never[]) => T,
): Promise<T> {
  const err: unknown = await promise.then(
    () => new Error('expected the promise to reject'),
    (e: unknown) => e,
  );
  if (!(err instanceof type)) throw err;
  return err;
}
