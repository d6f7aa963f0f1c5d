/**
 * The worker loop's sleep: until a timeout, or at once when woken. A wake-up that comes while the
 * loop is busy (claiming) is kept, so the next sleep returns at once instead of missing it.
 */
export interface WakeSignal {
  wake(): void;
  sleep(ms: number): Promise<void>;
}

export function createWakeSignal(): WakeSignal {
  let wakeUp: (() => void) | null = null;
  let woken = false;
  return {
    wake() {
      woken = true;
      wakeUp?.();
    },
    sleep(ms) {
      if (woken) {
        woken = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wakeUp = null;
          woken = false;
          resolve();
        }
        wakeUp = done;
      });
    },
  };
}
