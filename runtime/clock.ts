/** The injectable clock: real time in workers, virtual time in the simulator. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
};
