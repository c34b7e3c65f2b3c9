/**
 * A small seeded pseudo-random source for the simulator (mulberry32: 32-bit state, good enough
 * spread for jitter and ids, and the same sequence for the same seed on every platform).
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    // Fold any finite number (also negative or fractional) into 32 bits.
    this.state = Math.floor(Math.abs(seed) * 2654435761) >>> 0 || 0x9e3779b9;
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
