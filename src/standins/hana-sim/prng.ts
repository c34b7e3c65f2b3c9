/**
 * A small seeded pseudo-random source for the simulator (mulberry32: 32-bit state, good enough
 * spread for jitter and ids, and the same sequence for the same seed on every platform).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = foldSeed(seed) || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [min, max). */
  between(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
}

/**
 * Folds any finite number (also negative or fractional) into 32 bits of state. Small seeds keep
 * the fold they always had (|seed| x 2654435761 while that product is exact in a double, so every
 * scenario file replays as before); larger ones are folded from their two 32-bit words with
 * integer multiplications. The plain product used for all seeds before lost its low bits above
 * 2^53: sim:fuzz seeds near 7 x 10^8 (x 7919) all fell on multiples of 2^21, so runs of thousands
 * of seeds played at most 2,048 different schedules.
 */
export function foldSeed(seed: number): number {
  const a = Math.abs(seed);
  const product = a * 2654435761;
  if (product < 2 ** 53) return Math.floor(product) >>> 0;
  const whole = Math.floor(a);
  const hi = Math.floor(whole / 2 ** 32) >>> 0;
  const lo = whole >>> 0;
  // For one high word a bijection of the low word; the high word and the fraction select the mask.
  const mask = Math.imul((hi ^ 0x9e3779b9) >>> 0, 0x85ebca6b) ^ Math.floor((a - whole) * 2 ** 32);
  return (Math.imul(lo, 2654435761) ^ mask) >>> 0;
}
