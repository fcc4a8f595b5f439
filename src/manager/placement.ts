/** A benefactor as placement sees it: live, with the free space it can still take. */
export interface Candidate {
  num: number;
  host: string;
  freeBytes: number;
}

export interface PlacementOptions {
  /** Hosts already holding the data: others are preferred (replicas on distinct machines). */
  avoidHosts?: Iterable<string>;
  /** Uniform [0, 1) source; injectable for tests. */
  random?: () => number;
}

/**
 * Picks up to `count` distinct benefactors that each have room for `bytes`,
 * at random weighted by free space (big donors take more, every donor takes
 * some), preferring hosts not chosen yet. Returns fewer when fewer qualify.
 */
export function chooseTargets(
  candidates: readonly Candidate[],
  count: number,
  bytes: number,
  opts: PlacementOptions = {},
): Candidate[] {
  const random = opts.random ?? Math.random;
  const pool = candidates.filter((c) => c.freeBytes > 0 && c.freeBytes >= bytes);
  const usedHosts = new Set(opts.avoidHosts ?? []);
  const chosen: Candidate[] = [];
  while (chosen.length < count && pool.length > 0) {
    const fresh = pool.filter((c) => !usedHosts.has(c.host));
    const from = fresh.length > 0 ? fresh : pool;
    const pick = weightedPick(from, random);
    chosen.push(pick);
    usedHosts.add(pick.host);
    pool.splice(pool.indexOf(pick), 1);
  }
  return chosen;
}

function weightedPick(from: readonly Candidate[], random: () => number): Candidate {
  let total = 0;
  for (const c of from) total += c.freeBytes;
  let x = random() * total;
  for (const c of from) {
    x -= c.freeBytes;
    if (x < 0) return c;
  }
  return from[from.length - 1] as Candidate;
}
