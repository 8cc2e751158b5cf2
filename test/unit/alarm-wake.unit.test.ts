import { describe, expect, it } from "vitest";
import { alarmWaker } from "#shared/alarm-wake";

/** The per-isolate memory of an object's alarm time (outbox relay, orders sweep), on a fake clock. */

describe("alarmWaker", () => {
  it("asks the object once, then not again until shortly before the alarm it named", async () => {
    let now = 0;
    const wake = alarmWaker(() => now);
    let asked = 0;
    const ensure = async () => {
      asked += 1;
      return now + 10_000;
    };
    await wake("relay", ensure);
    now = 5_000;
    await wake("relay", ensure);
    now = 8_999;
    await wake("relay", ensure);
    expect(asked).toBe(1);
    // Within a second of the alarm the object is asked again: its run may be about to find nothing.
    now = 9_000;
    await wake("relay", ensure);
    expect(asked).toBe(2);
  });

  it("keeps each key apart", async () => {
    const wake = alarmWaker(() => 0);
    const asked: string[] = [];
    const ensure = (key: string) => async () => {
      asked.push(key);
      return 10_000;
    };
    await wake("a", ensure("a"));
    await wake("b", ensure("b"));
    await wake("a", ensure("a"));
    expect(asked).toEqual(["a", "b"]);
  });

  it("a failed ask is not remembered: the next call asks again", async () => {
    const wake = alarmWaker(() => 0);
    let asked = 0;
    await expect(
      wake("relay", async () => {
        asked += 1;
        throw new Error("unreachable");
      }),
    ).rejects.toThrow("unreachable");
    await wake("relay", async () => {
      asked += 1;
      return 10_000;
    });
    expect(asked).toBe(2);
  });
});
