/** Values the test configs hand to tests through Vitest's provide/inject. */
export interface TestKeys {
  /** The current private signing key (JWK JSON), as JWT_SIGNING_KEY. */
  signingKey: string;
  /** A retired key's private JWK JSON: tests sign with it to prove rotation keeps tokens valid. */
  previousSigningKey: string;
  /** Its public half, as JWT_PREVIOUS_PUBLIC_KEYS. */
  previousPublicKeys: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    keys: TestKeys;
  }
}
