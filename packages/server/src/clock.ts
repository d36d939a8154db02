/** The source of "now"; injected so that tests can move time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock that stands still until told to move; for tests of expiry, backoff, ordering and ended events. */
export function createManualClock(start = new Date()) {
  let now = start.getTime();
  return {
    clock: (() => new Date(now)) as Clock,
    advance(ms: number) {
      now += ms;
    },
    set(date: Date) {
      now = date.getTime();
    },
  };
}

/**
 * A clock that runs with real time, moved ahead by as much as it is told; for tests where several
 * servers must agree on "now" while an event passes its end.
 */
export function createOffsetClock() {
  let offsetMs = 0;
  return {
    clock: (() => new Date(Date.now() + offsetMs)) as Clock,
    advance(ms: number) {
      offsetMs += ms;
    },
  };
}
