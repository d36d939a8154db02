import { killLeftoverProcesses } from './processes.ts';

/**
 * The runner's own set-up for `npm test`: it names the run, so that every server a test process
 * starts is recorded under it, and at the end kills any that a killed or timed-out worker left
 * behind.
 */
export default function setup(): () => void {
  const runId = String(process.pid);
  process.env.TUVENS_TEST_RUN_ID = runId;
  return () => {
    const killed = killLeftoverProcesses(runId);
    if (killed.length > 0)
      console.warn(`Stopped ${killed.length} test server(s) left running: pids ${killed.join(', ')}`);
  };
}
