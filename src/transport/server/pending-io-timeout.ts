/**
 * A timeout that judges only after the I/O already waiting has been read. Node runs due
 * timers before it polls sockets, so on a busy server a plain timer that falls due in the
 * same loop turn as the bytes it waits for would fire first and cut a client whose bytes
 * had in fact arrived. `judge` must check again whether the wait is still on.
 */
export function timeoutAfterPendingIo(ms: number, judge: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(judge), ms);
}
