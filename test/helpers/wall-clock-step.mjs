// Test-only preload (NODE_OPTIONS=--import=file://.../wall-clock-step.mjs): steps
// this process's wall clock, as NTP or an operator would, without touching the
// machine's clock. While the file named by STDCHK_TEST_WALL_CLOCK_STEP_FILE
// exists, Date.now() is off by the number of milliseconds it holds (e.g.
// -3600000: an hour back). The monotonic clock (process.hrtime) is untouched.
import { readFileSync } from 'node:fs';

const file = globalThis.process.env.STDCHK_TEST_WALL_CLOCK_STEP_FILE;
if (file) {
  const realNow = Date.now;
  let offset = 0;
  const read = () => {
    try {
      offset = Number(readFileSync(file, 'utf8').trim()) || 0;
    } catch {
      offset = 0;
    }
  };
  read();
  globalThis.setInterval(read, 100).unref();
  Date.now = () => realNow() + offset;
}
