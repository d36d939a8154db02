/** The source of "now"; injected so that tests can move time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock that stands still until told to move; for tests of expiry and ordering. */
export function createManualClock(start = new Date()) {
  let now = start.getTime();
  return {
    clock: (() => new Date(now)) as Clock,
    advance(ms: number) {
      now += ms;
    },
  };
}
