/** Seeded randomness for fuzz tests, so that a failing run can be repeated from its printed seed. */
import v8 from 'node:v8';
import vm from 'node:vm';

/** xorshift32: `rand(n)` is an integer in [0, n). */
export function prng(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

/** The seed from `variable` when set, else a fresh one; printed either way. */
export function fuzzSeed(variable: string, what: string): number {
  const seed = Number(process.env[variable] ?? Date.now() % 2 ** 31);
  console.log(`${what} seed ${seed} (repeat with ${variable}=${seed})`);
  return seed;
}

/** `length` random bytes. */
export function randomBuffer(rand: (n: number) => number, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = rand(256);
  return out;
}

/** The V8 garbage collector, for memory checks (exposed at run time). */
export function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}
