/**
 * Seeded pseudo-random numbers for the synthetic dataset.
 *
 * Why not `Math.random()`: the synthetic La Haute Borne file must be byte-for-byte reproducible from a seed
 * (`make dataset` twice gives the same sha256), and independent parts of the simulation (the farm's weather,
 * each turbine, the missing-value plan, the row order) draw from their own named streams, so that selecting
 * fewer turbines or changing how one part draws numbers does not reshuffle everything else.
 *
 * Generator: xoshiro128** (Blackman & Vigna), 32-bit state words so it runs on `Math.imul` without BigInt,
 * seeded through splitmix32 as its authors recommend (never an all-zero state).
 */

/** FNV-1a hash of a string to an unsigned 32-bit integer: turns stream names into seed material. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** One step of splitmix32: returns [output, next state]. Used to expand a 32-bit seed into 128 bits. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z ^= z >>> 16;
  return [z >>> 0, next];
}

const TWO_POW_32 = 4294967296;

/** A seeded xoshiro128** generator with the distributions the simulation needs. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  /** Box-Muller makes normals in pairs: the second one waits here. */
  private spare = Number.NaN;

  /**
   * @param seed any integer (the dataset seed)
   * @param stream names of the stream, e.g. `("turbine", "R80711")`: different names give independent sequences
   */
  constructor(seed: number, ...stream: readonly (string | number)[]) {
    let state = hashString(`${Math.trunc(seed)}/${stream.join("/")}`) ^ Math.trunc(seed);
    const words: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [out, next] = splitmix32(state);
      words.push(out);
      state = next;
    }
    this.s0 = words[0] ?? 1;
    this.s1 = words[1] ?? 2;
    this.s2 = words[2] ?? 3;
    this.s3 = words[3] ?? 4;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next unsigned 32-bit integer (xoshiro128**). */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in the open interval (0, 1): never 0, so `Math.log(rng.uniform())` is always finite. */
  uniform(): number {
    return (this.nextUint32() + 0.5) / TWO_POW_32;
  }

  /** Uniform in [lo, hi). */
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** Standard normal draw (Box-Muller, polar-free form; the pair's second value is kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const z = this.spare;
      this.spare = Number.NaN;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()));
    const theta = 2 * Math.PI * this.uniform();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Exponential draw with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(this.uniform());
  }

  /** Log-normal draw whose median is `median` and whose log has standard deviation `sigma`. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /**
   * Weibull draw with shape k and scale c (inverse CDF). Wind speeds at a site follow a Weibull law with
   * k close to 2 (a Rayleigh law); the generator itself maps a correlated Gaussian through the same quantile
   * function (see physics.ts `weibullQuantile`) so that the marginal stays Weibull while the series has memory.
   */
  weibull(k: number, c: number): number {
    return c * (-Math.log(this.uniform())) ** (1 / k);
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const a = items[i] as T;
      items[i] = items[j] as T;
      items[j] = a;
    }
    return items;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A stationary AR(1) (Ornstein-Uhlenbeck sampled at fixed steps) with unit variance:
 * `x[t+1] = rho * x[t] + sqrt(1 - rho^2) * e[t]`, rho = exp(-1/tau). Its autocorrelation at lag L is rho^L.
 * Weather has memory (the 2014 real sample: 10-minute wind speed autocorrelation 0.95 at lag 1, 0.84 at
 * 1 hour, 0.53 at 6 hours), which independent draws would not reproduce.
 */
export class Ar1 {
  readonly rho: number;
  private readonly innovation: number;
  value: number;

  /** @param tau time constant in steps; the first value is drawn from the stationary law */
  constructor(
    private readonly rng: Rng,
    tau: number,
  ) {
    this.rho = Math.exp(-1 / tau);
    this.innovation = Math.sqrt(1 - this.rho * this.rho);
    this.value = rng.normal();
  }

  /** Advances one step and returns the new value (standard normal marginal). */
  next(): number {
    this.value = this.rho * this.value + this.innovation * this.rng.normal();
    return this.value;
  }
}
