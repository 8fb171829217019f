import { describe, expect, it } from 'vitest';
import { UnreadReplyWait } from '../src/unread-reply-wait.js';

const { CEILING_US, FLOOR_US, RARE_EVERY } = UnreadReplyWait;

/** Requests served, far enough apart that every absence is a rare one. */
let served = 0;
const later = () => (served += RARE_EVERY);

/** Halves the budget until it is gone: a caller away too long each time. */
function exhaust(wait: UnreadReplyWait): void {
  while (wait.budgetFor(later()) > 0) awayFor(wait, 0, 5);
}

/** Parks at `atMs` after spinning on for `spentUs`, and is woken `awayMs` later. */
function awayFor(wait: UnreadReplyWait, spentUs: number, awayMs: number, atMs = 1000): void {
  wait.parked(atMs, spentUs);
  wait.woke(atMs + awayMs);
}

describe('UnreadReplyWait', () => {
  it("'adaptive' starts at the ceiling: the first absence of a caller is waited for", () => {
    expect(new UnreadReplyWait('adaptive').budgetFor(0)).toBe(CEILING_US);
  });

  it("'block' and 'spin' never spin on, and learn nothing", () => {
    for (const strategy of ['block', 'spin'] as const) {
      const wait = new UnreadReplyWait(strategy);
      awayFor(wait, 0, 0.1);
      wait.succeeded(500);
      expect(wait.budgetFor(0)).toBe(0);
    }
  });

  it('waits only for a caller that is away rarely: not again within RARE_EVERY requests', () => {
    const wait = new UnreadReplyWait('adaptive');
    expect(wait.budgetFor(100)).toBe(CEILING_US);
    expect(wait.budgetFor(100 + RARE_EVERY - 1)).toBe(0);
    // Each absence counts: a caller away every few requests is never waited for.
    expect(wait.budgetFor(100 + RARE_EVERY + 10)).toBe(0);
    expect(wait.budgetFor(100 + 3 * RARE_EVERY)).toBe(CEILING_US);
  });

  it('a caller away longer than the ceiling halves the budget, down to zero below the floor', () => {
    const wait = new UnreadReplyWait('adaptive');
    awayFor(wait, CEILING_US, 5);
    expect(wait.budgetFor(later())).toBe(CEILING_US / 2);
    let halvings = 1;
    for (let budget = CEILING_US / 2; budget / 2 >= FLOOR_US; budget /= 2) halvings++;
    for (let i = 1; i < halvings; i++) awayFor(wait, 0, 5);
    expect(wait.budgetFor(later())).toBeGreaterThanOrEqual(FLOOR_US);
    awayFor(wait, 0, 5);
    expect(wait.budgetFor(later())).toBe(0);
  });

  it('a park woken within the ceiling raises the budget to cover the absence, the spin before it included', () => {
    const wait = new UnreadReplyWait('adaptive');
    exhaust(wait);
    // Spun on for nothing (no budget), then woken 0.2 ms after parking: 1.25 x 200 µs.
    awayFor(wait, 0, 0.2);
    expect(wait.budgetFor(later())).toBeCloseTo(250, 6);
    // 300 µs of spinning plus 0.5 ms asleep: the caller was away 800 µs.
    awayFor(wait, 300, 0.5);
    expect(wait.budgetFor(later())).toBeCloseTo(1000, 6);
    // Never past the ceiling.
    awayFor(wait, 0, 1.9);
    expect(wait.budgetFor(later())).toBe(CEILING_US);
  });

  it('a spin on that found work keeps the budget at least twice its wait', () => {
    const wait = new UnreadReplyWait('adaptive');
    exhaust(wait);
    wait.succeeded(300);
    expect(wait.budgetFor(later())).toBe(600);
    wait.succeeded(100);
    expect(wait.budgetFor(later())).toBe(600);
  });

  it('learns only from a park made while a reply lay unread', () => {
    const wait = new UnreadReplyWait('adaptive');
    awayFor(wait, 0, 5);
    // Woken again without such a park (an ordinary one): nothing changes.
    wait.woke(9000);
    expect(wait.budgetFor(later())).toBe(CEILING_US / 2);
  });
});
