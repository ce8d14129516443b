/** `gateway.identity`: API keys (in the store) and OIDC JWT issuers. Owned by src/gateway/identity. */
import { z } from 'zod';

const jwtIssuer = z.strictObject({
  /** The `iss` claim, exactly. */
  issuer: z.string().min(1),
  /** Accepted `aud` values (at least one must match). */
  audiences: z.array(z.string().min(1)).min(1),
  /** Where the JWKS comes from: a URL (fetched and cached) or a file. Exactly one. */
  jwks_url: z.string().url().optional(),
  jwks_file: z.string().min(1).optional(),
  /** Accepted signature algorithms; "none" and HMAC are never accepted. */
  algorithms: z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])).min(1).default(['RS256', 'ES256']),
  /** Seconds of clock skew tolerated for exp/nbf/iat. */
  clock_tolerance_s: z.number().int().min(0).max(300).default(30),
  /** Which claims carry the principal's attributes. */
  claims: z
    .strictObject({
      org: z.string().default('org'),
      groups: z.string().default('groups'),
      verified: z.string().default('email_verified'),
      attestations: z.string().default('attestations'),
    })
    .prefault({}),
});

export const gatewayIdentitySchema = z
  .strictObject({
    /** Accept API keys made with `perimeter keys create`. */
    api_keys: z.boolean().default(true),
    jwt: z.array(jwtIssuer).default([]),
  })
  .prefault({});

export type GatewayIdentityConfig = z.output<typeof gatewayIdentitySchema>;
export type JwtIssuerConfig = z.output<typeof jwtIssuer>;
