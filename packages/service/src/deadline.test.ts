import { describe, expect, it } from 'vitest';
import { Deadline } from './deadline.js';

const late = (): Error => new Error('too late');
const hang = (): Promise<never> => new Promise<never>(() => {});
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Timers holding the event loop open (an unref'd timer is not counted). */
const refTimers = (): number => process.getActiveResourcesInfo().filter((type) => type === 'Timeout').length;

describe('Deadline', () => {
  it('settles as the work does when it settles in time', async () => {
    const deadline = new Deadline(1000, late);
    await expect(deadline.within(Promise.resolve(7))).resolves.toBe(7);
    await expect(deadline.within(Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
  });

  it('fails each piece of work that has not settled by its own deadline', async () => {
    const deadline = new Deadline(60, late);
    const started = performance.now();
    const first = deadline.within(hang());
    await sleep(30);
    const second = deadline.within(hang());
    const settledAt = (promise: Promise<unknown>) =>
      promise.then(
        () => Number.NaN,
        (error: Error) => (error.message === 'too late' ? performance.now() - started : Number.NaN),
      );
    const [firstAt, secondAt] = await Promise.all([settledAt(first), settledAt(second)]);
    // Node runs timers on the event loop's cached millisecond clock: one can fire a little before
    // performance.now() says its time has come (58.9 ms was seen on a loaded machine).
    expect(firstAt).toBeGreaterThanOrEqual(57);
    // The second one waits out its own 60 ms, not the first one's deadline.
    expect(secondAt).toBeGreaterThanOrEqual(87);
  });

  it('still times out work that is pending after earlier work settled in time', async () => {
    const deadline = new Deadline(40, late);
    await deadline.within(Promise.resolve());
    await sleep(10);
    const started = performance.now();
    await expect(deadline.within(hang())).rejects.toThrow('too late');
    expect(performance.now() - started).toBeGreaterThanOrEqual(37);
  });

  it('ignores work that settles after its deadline', async () => {
    const deadline = new Deadline(20, late);
    const failsLater = new Promise<void>((_, reject) => setTimeout(() => reject(new Error('late failure')), 40));
    await expect(deadline.within(failsLater)).rejects.toThrow('too late');
    // The work's own late rejection is handled: no unhandled rejection fails this test.
    await sleep(40);
  });

  it('holds the process open while work is pending, and not once none is', async () => {
    const deadline = new Deadline(5_000, late);
    const before = refTimers();
    let release: () => void = () => {};
    const work = deadline.within(new Promise<void>((resolve) => (release = resolve)));
    expect(refTimers()).toBe(before + 1);
    const more = deadline.within(Promise.resolve());
    expect(refTimers()).toBe(before + 1);
    await more;
    expect(refTimers()).toBe(before + 1);
    release();
    await work;
    expect(refTimers()).toBe(before);
    // Armed again, it holds the process open again.
    let releaseAgain: () => void = () => {};
    const again = deadline.within(new Promise<void>((resolve) => (releaseAgain = resolve)));
    expect(refTimers()).toBe(before + 1);
    releaseAgain();
    await again;
    expect(refTimers()).toBe(before);
  });
});
