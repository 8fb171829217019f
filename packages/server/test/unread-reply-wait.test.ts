import { describe, expect, it } from 'vitest';
import { UnreadReplyWait } from '../src/unread-reply-wait.js';

const { CEILING_US, FLOOR_US, RARE_EVERY } = UnreadReplyWait;

/** Requests served, far enough apart that every absence is a rare one. */
let served = 0;
const later = () => (served += RARE_EVERY);

const SLOT = 0;

/** A new absence of SLOT's caller beginning at `atMs`; the budget it is allowed. */
function absence(wait: UnreadReplyWait, atMs = 1000): number {
  return wait.budgetFor(SLOT, later(), atMs);
}

/** A new absence at `atMs` during which the worker parks and is woken `awayMs` later. */
function awayFor(wait: UnreadReplyWait, awayMs: number, atMs = 1000): void {
  absence(wait, atMs);
  wait.parked();
  wait.woke(atMs + awayMs);
}

/** Halves the budget until it is gone: a caller away too long each time. */
function exhaust(wait: UnreadReplyWait): void {
  while (absence(wait) > 0) {
    wait.parked();
    wait.woke(1000 + 5);
  }
}

describe('UnreadReplyWait', () => {
  it("'adaptive' starts at the ceiling: the first absence of a caller is waited for", () => {
    expect(new UnreadReplyWait('adaptive').budgetFor(SLOT, 0, 0)).toBe(CEILING_US);
  });

  it("'block' and 'spin' never spin on, and learn nothing", () => {
    expect(new UnreadReplyWait('adaptive').waits).toBe(true);
    for (const strategy of ['block', 'spin'] as const) {
      const wait = new UnreadReplyWait(strategy);
      expect(wait.waits).toBe(false);
      awayFor(wait, 0.1);
      wait.succeeded(1000.5);
      expect(absence(wait)).toBe(0);
    }
  });

  it('waits only for a caller that is away rarely: not again within RARE_EVERY of its replies', () => {
    const wait = new UnreadReplyWait('adaptive');
    expect(wait.budgetFor(SLOT, 100, 0)).toBe(CEILING_US);
    expect(wait.budgetFor(SLOT, 100 + RARE_EVERY - 1, 10)).toBe(0);
    // Each absence counts: a caller away every few replies is never waited for.
    expect(wait.budgetFor(SLOT, 100 + RARE_EVERY + 10, 20)).toBe(0);
    expect(wait.budgetFor(SLOT, 100 + 3 * RARE_EVERY, 30)).toBe(CEILING_US);
    // Counted per caller: another one, away for the first time, is waited for.
    expect(wait.budgetFor(SLOT + 1, 5, 40)).toBe(CEILING_US);
    // And the count runs on as the ring's does, past 2^32.
    expect(wait.budgetFor(SLOT + 2, 2 ** 32 - 10, 50)).toBe(CEILING_US);
    expect(wait.budgetFor(SLOT + 2, RARE_EVERY - 5, 60)).toBe(CEILING_US);
  });

  it('gives one absence its budget once: a spin cut short (a slot change) goes on with what is left', () => {
    const wait = new UnreadReplyWait('adaptive');
    expect(wait.budgetFor(SLOT, 100, 1000)).toBe(CEILING_US);
    // No reply written since: the same absence, 0.5 ms into it.
    expect(wait.budgetFor(SLOT, 100, 1000.5)).toBeCloseTo(CEILING_US - 500, 6);
    expect(wait.budgetFor(SLOT, 100, 1000 + (CEILING_US + 1) / 1000)).toBe(0);
  });

  it('a caller away longer than the ceiling halves the budget, down to zero below the floor', () => {
    const wait = new UnreadReplyWait('adaptive');
    awayFor(wait, 5);
    expect(absence(wait)).toBe(CEILING_US / 2);
    let halvings = 1;
    for (let budget = CEILING_US / 2; budget / 2 >= FLOOR_US; budget /= 2) halvings++;
    for (let i = 1; i < halvings; i++) awayFor(wait, 5);
    expect(absence(wait)).toBeGreaterThanOrEqual(FLOOR_US);
    awayFor(wait, 5);
    expect(absence(wait)).toBe(0);
  });

  it('a park woken within the ceiling raises the budget to cover the absence, counted from its start', () => {
    const wait = new UnreadReplyWait('adaptive');
    exhaust(wait);
    awayFor(wait, 0.2);
    expect(absence(wait)).toBeCloseTo(250, 6);
    awayFor(wait, 0.8);
    expect(absence(wait)).toBeCloseTo(1000, 6);
    // Never past the ceiling.
    awayFor(wait, 1.9);
    expect(absence(wait)).toBe(CEILING_US);
  });

  it('a spin on that found work keeps the budget at least twice the absence so far', () => {
    const wait = new UnreadReplyWait('adaptive');
    exhaust(wait);
    absence(wait, 1000);
    wait.succeeded(1000.3);
    expect(absence(wait)).toBeCloseTo(600, 6);
    absence(wait, 1000);
    wait.succeeded(1000.1);
    expect(absence(wait)).toBeCloseTo(600, 6);
  });

  it('learns only from a park made during an absence', () => {
    const wait = new UnreadReplyWait('adaptive');
    awayFor(wait, 5);
    // Woken again without such a park (an ordinary one): nothing changes.
    wait.woke(9000);
    expect(absence(wait)).toBe(CEILING_US / 2);
  });
});
