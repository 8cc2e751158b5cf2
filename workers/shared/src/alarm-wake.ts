/**
 * Hot paths that make sure an object's alarm is set (the outbox relay, the orders sweep) ask the
 * object at most once per alarm period per isolate: the object answers when its alarm fires, and
 * until shortly before then asking again would change nothing. Work committed before that time is
 * seen by the alarm's run, which re-arms itself while work remains.
 */
const MARGIN_MS = 1000;

export type EnsureScheduled = () => Promise<number>;

/** A per-isolate memory of alarm times, by key; `wake` asks the object only when it must. */
export function alarmWaker(now: () => number = Date.now): (key: string, ensure: EnsureScheduled) => Promise<void> {
  const alarmAt = new Map<string, number>();
  return async (key, ensure) => {
    const known = alarmAt.get(key);
    if (known !== undefined && now() < known - MARGIN_MS) return;
    alarmAt.set(key, await ensure());
  };
}
