/**
 * mulberry32: a small seeded PRNG. Benches and accuracy tests draw the same data on every run with it, and
 * the random cut forest (anomaly/rcf.ts) builds the same trees from the same points, so a retried scoring of a
 * window gives the same score.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
