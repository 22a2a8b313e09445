// The provider's stake for what is queued: once per step, free stake is topped up from the token balance to
// cover every queued job's bond (at least `stakeTarget` when it tops up), within the tokens held and `stakeCap`
// (a bound on free stake and the bonds locked in live claims together), so a burst of jobs is staked for at once
// instead of one target's worth per step. What the step then spends of
// it is counted in a StakeBudget, so a job whose bond is not covered waits for stake instead of being sent to
// fail in simulation.
import { readClaims, stakeTokens, tokenBalance, type Chainable } from "../runtime/chain.ts";
import type { FundsWatch } from "../sdk/node/health.ts";

export interface StakePlan {
  /** The largest bond one claim of a served model needs (what /healthz reports as covered or not). */
  oneBond: bigint;
  /** The bonds of every queued job. */
  queued: bigint;
  /** Free stake to top up to when topping up (config stakeTarget). */
  target: bigint;
  /** The most to hold staked, free and locked together (config stakeCap; 0: no cap but the tokens held). */
  cap: bigint;
  /** The bonds locked in this provider's live claims. */
  locked: bigint;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * When and how far to top up free stake: below `need` (one bond, or the queue's bonds when more), up to `topUpTo`
 * (the larger of `need` and the target), both within what the cap leaves beside the locked bonds. With nothing
 * queued this is the old rule (top up below one bond), so a steady stream of claims does not cost a stake
 * transaction each.
 */
export function stakeLevels(p: StakePlan): { need: bigint; topUpTo: bigint } {
  const room = p.cap > p.locked ? p.cap - p.locked : 0n;
  const capped = (x: bigint): bigint => (p.cap > 0n ? min(x, room) : x);
  const need = capped(max(p.oneBond, p.queued));
  return { need, topUpTo: capped(max(need, p.target)) };
}

/** Free stake the current step may still lock: read once, lowered by each bond it sends. */
export interface StakeBudget {
  free: bigint;
}

/**
 * Tops up free stake for the queue (stakeLevels), staking as much of it as the token balance allows, and reports
 * to `funds` whether one bond is covered. Returns the step's budget: the free stake after the top-up.
 * Idempotent: it reads free stake and balance from the chain each time, so a kill -9 between approve and stake,
 * or after the stake, only makes the next step stake less.
 */
export async function stakeForQueue(c: Chainable & { funds: FundsWatch }, p: StakePlan): Promise<StakeBudget> {
  const account = c.account.address;
  const { need, topUpTo } = stakeLevels(p);
  const free = await readClaims(c, "freeStake", [account]);
  if (free >= need) {
    c.funds.report(c.logger, { need: p.oneBond, free, account });
    return { free };
  }
  const balance = await tokenBalance(c);
  const amount = min(topUpTo - free, balance);
  if (amount > 0n) {
    await stakeTokens(c, amount);
    c.logger.info({ staked: amount, free: free + amount, queuedBonds: p.queued, need, topUpTo }, "staked");
  }
  if (free + amount < need && p.queued > free + amount) {
    c.logger.debug({ free: free + amount, queuedBonds: p.queued, balance: balance - amount, cap: p.cap, locked: p.locked }, "queued jobs wait for stake");
  }
  c.funds.report(c.logger, { need: p.oneBond, free: free + amount, balance: balance - amount, account });
  return { free: free + amount };
}
