import { describe, expect, it } from "vitest";
import { childTrace, formatTraceparent, parseTraceparent } from "#shared/trace";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN_ID = "00f067aa0ba902b7";
const VALID = `00-${TRACE_ID}-${SPAN_ID}-01`;

describe("parseTraceparent", () => {
  it("reads the W3C example header into trace id, span id and flags", () => {
    expect(parseTraceparent(VALID)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" });
  });

  it("keeps the flags as sent (not sampled: 00)", () => {
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`)?.flags).toBe("00");
  });

  it("ignores surrounding whitespace", () => {
    expect(parseTraceparent(`  ${VALID} `)).toEqual({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" });
  });

  it.each([
    { why: "no header", header: undefined },
    { why: "a null header", header: null },
    { why: "an empty header", header: "" },
    { why: "an all-zero trace id", header: `00-${"0".repeat(32)}-${SPAN_ID}-01` },
    { why: "an all-zero span id", header: `00-${TRACE_ID}-${"0".repeat(16)}-01` },
    { why: "uppercase hex", header: VALID.toUpperCase() },
    { why: "version 01", header: `01-${TRACE_ID}-${SPAN_ID}-01` },
    { why: "version ff", header: `ff-${TRACE_ID}-${SPAN_ID}-01` },
    { why: "a short trace id", header: `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01` },
    { why: "a long span id", header: `00-${TRACE_ID}-${SPAN_ID}0-01` },
    { why: "a non-hex character", header: `00-${TRACE_ID.slice(0, -1)}g-${SPAN_ID}-01` },
    { why: "a missing flags field", header: `00-${TRACE_ID}-${SPAN_ID}` },
    { why: "a trailing field", header: `${VALID}-00` },
    { why: "garbage", header: "not a traceparent" },
  ])("refuses $why", ({ header }) => {
    expect(parseTraceparent(header)).toBeUndefined();
  });
});

describe("childTrace", () => {
  it("keeps the caller's trace id and flags and makes a new 16-hex-digit span id", () => {
    const parent = { traceId: TRACE_ID, spanId: SPAN_ID, flags: "00" };
    const child = childTrace(parent);
    expect(child.traceId).toBe(TRACE_ID);
    expect(child.flags).toBe("00");
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(child.spanId).not.toBe(SPAN_ID);
    expect(childTrace(parent).spanId).not.toBe(child.spanId);
  });

  it("starts a new sampled trace when there is no caller trace", () => {
    const trace = childTrace(undefined);
    expect(trace.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(trace.flags).toBe("01");
    expect(childTrace(undefined).traceId).not.toBe(trace.traceId);
  });

  it("makes traces that are themselves valid traceparent values", () => {
    const trace = childTrace(undefined);
    expect(parseTraceparent(formatTraceparent(trace))).toEqual(trace);
  });
});

describe("formatTraceparent", () => {
  it("writes version 00 and the three fields joined by dashes", () => {
    expect(formatTraceparent({ traceId: TRACE_ID, spanId: SPAN_ID, flags: "01" })).toBe(VALID);
  });

  it("round-trips with parseTraceparent", () => {
    const parsed = parseTraceparent(VALID);
    expect(parsed).toBeDefined();
    expect(formatTraceparent(parsed as NonNullable<typeof parsed>)).toBe(VALID);
  });
});
