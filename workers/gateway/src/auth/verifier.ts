import {
  createRemoteJWKSet,
  customFetch,
  type FlattenedJWSInput,
  type JWSHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "jose";
import * as z from "zod";
import { type Identity, RoleSchema } from "#shared/identity";
import { createTokenCache } from "./token-cache";

/**
 * Access-token verification, pinned the way SPEC.md section 3 asks: ES256 only; issuer, audience
 * and `typ: at+jwt` pinned; `exp`, `iat`, `sub` and `jti` required; 30 s clock skew; keys only
 * from our JWKS (a token's own `jwk`, `jku`, `x5u` or `x5c` is refused, never followed).
 * A verified token is remembered per isolate until its `exp` (`token-cache.ts`).
 */
export interface VerifierOptions {
  issuer: string;
  audience: string;
  /** Fetches the JWKS document; the gateway passes the users service binding. */
  fetchJwks: (url: string, init: RequestInit) => Promise<Response>;
  /** The longest an access token may live (its `exp` - `iat`), in seconds. */
  maxTokenAgeSeconds?: number;
  /** How many verified tokens to remember (least recently used forgotten first). */
  cacheSize?: number;
}

export type VerifyResult = { ok: true; identity: Identity } | { ok: false; reason: string };

const ClaimsSchema = z.object({ sub: z.string().regex(/^usr_[0-9a-z]{26}$/), role: RoleSchema });
const FORBIDDEN_HEADER_PARAMS = ["jwk", "jku", "x5u", "x5c"] as const;
const CLOCK_SKEW_SECONDS = 30;
const DEFAULT_CACHE_SIZE = 10_000;

export type TokenVerifier = (token: string) => Promise<VerifyResult>;

export function createVerifier(options: VerifierOptions): TokenVerifier {
  if (!options.issuer || !options.audience) throw new Error("createVerifier: issuer and audience are required");
  const verified = createTokenCache<Identity>(options.cacheSize ?? DEFAULT_CACHE_SIZE);
  // Every JWKS fetch starts a new key-set generation; tokens verified under an older one are
  // checked again (so a key removed by a rotation stops working as soon as jose drops it).
  let keySetGeneration = 0;
  // Cached per isolate by jose: refetched at most every 30 s when a token names an unknown `kid`.
  const jwks = createRemoteJWKSet(new URL("https://shop-users.internal/.well-known/jwks.json"), {
    [customFetch]: (url: string, init: RequestInit) => {
      keySetGeneration++;
      return options.fetchJwks(url, init);
    },
    cooldownDuration: 30_000,
    cacheMaxAge: 10 * 60_000,
    timeoutDuration: 2_000,
  });
  const getKey = (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    for (const param of FORBIDDEN_HEADER_PARAMS) {
      if (param in header) throw new Error(`token header carries "${param}"`);
    }
    if (header.alg !== "ES256") throw new Error("algorithm not allowed");
    return jwks(header, token);
  };
  const maxAge = options.maxTokenAgeSeconds ?? 900;

  return async function verify(token: string): Promise<VerifyResult> {
    const generation = keySetGeneration;
    // A stale key set (older than jose's cacheMaxAge) is never trusted from the cache: jose refetches it.
    const cached = jwks.fresh ? verified.get(token, Date.now(), generation) : undefined;
    if (cached) return { ok: true, identity: cached };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: ["ES256"],
        issuer: options.issuer,
        audience: options.audience,
        typ: "at+jwt",
        requiredClaims: ["exp", "iat", "sub", "jti"],
        clockTolerance: CLOCK_SKEW_SECONDS,
        maxTokenAge: maxAge,
      }));
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error) };
    }
    const now = Math.floor(Date.now() / 1000);
    if ((payload.iat ?? 0) > now + CLOCK_SKEW_SECONDS) return { ok: false, reason: "token issued in the future" };
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > maxAge) return { ok: false, reason: "token lifetime too long" };
    const claims = ClaimsSchema.safeParse(payload);
    if (!claims.success) return { ok: false, reason: "token claims are not valid" };
    // Frozen: the same object is handed to every request that presents this token.
    const identity: Identity = Object.freeze({ userId: claims.data.sub, role: claims.data.role });
    // Remembered until its `exp` (not exp + skew), under the key set that verified it.
    verified.set(token, identity, (payload.exp as number) * 1000, generation);
    return { ok: true, identity };
  };
}

/** Splits an Authorization header: a Bearer token, another scheme, or nothing. */
export function bearerToken(
  header: string | undefined,
): { kind: "none" } | { kind: "other" } | { kind: "bearer"; token: string } {
  if (header === undefined || header.trim() === "") return { kind: "none" };
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  if (match?.[1]) return { kind: "bearer", token: match[1] };
  return /^Bearer\b/i.test(header) ? { kind: "bearer", token: "" } : { kind: "other" };
}
