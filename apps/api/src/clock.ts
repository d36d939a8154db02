/** The source of "now"; injected so that tests can move time. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
