import { describe, expect, it } from "vitest";
import { bearerToken } from "../../workers/gateway/src/auth/verifier";

describe("bearerToken", () => {
  it.each([undefined, "", "   "])("finds no credentials in the Authorization header %j", (header) => {
    expect(bearerToken(header)).toEqual({ kind: "none" });
  });

  it.each(["Basic abc", "Basic dXNlcjpwYXNz", "Digest username=x", "BearerX a.b.c", "Token a.b.c"])(
    'reads "%s" as another scheme',
    (header) => {
      expect(bearerToken(header)).toEqual({ kind: "other" });
    },
  );

  it.each([
    ["Bearer x.y.z", "x.y.z"],
    ["bearer x.y.z", "x.y.z"],
    ["BEARER x.y.z", "x.y.z"],
    ["Bearer   x.y.z", "x.y.z"],
    ["Bearer x.y.z  ", "x.y.z"],
    ["Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_~+/==", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln-_~+/=="],
  ])('reads "%s" as the Bearer token %s (the scheme is case-insensitive)', (header, token) => {
    expect(bearerToken(header)).toEqual({ kind: "bearer", token });
  });

  it.each(["Bearer", "Bearer ", "Bearer x.y z", "Bearer a b", "Bearer x=y.z", "Bearer\tx.y.z", "Bearer x,y"])(
    'reads "%s" as a Bearer attempt with an empty token, so it is refused rather than ignored',
    (header) => {
      expect(bearerToken(header)).toEqual({ kind: "bearer", token: "" });
    },
  );
});
