/** `gateway.identity`: API keys (in the store) and OIDC JWT issuers. Owned by src/gateway/identity. */
import { z } from 'zod';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const jwtIssuer = z
  .strictObject({
    /** The `iss` claim, exactly. */
    issuer: z.string().min(1),
    /** Accepted `aud` values (at least one must match). */
    audiences: z.array(z.string().min(1)).min(1),
    /** Where the JWKS comes from: a URL (fetched and cached; https, or http on loopback only) or a file. Exactly one. */
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
        /** Further principal attributes: attribute name -> claim name (e.g. { email: email, tenant: tid }). */
        attributes: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'must be an identifier'), z.string().min(1)).default({}),
      })
      .prefault({}),
  })
  .superRefine((j, ctx) => {
    if ((j.jwks_url === undefined) === (j.jwks_file === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of jwks_url and jwks_file', path: ['jwks_url'] });
    }
    const u = j.jwks_url === undefined ? undefined : URL.parse(j.jwks_url);
    if (u) {
      if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) {
        ctx.addIssue({ code: 'custom', message: 'must be an https:// URL (http:// only on localhost)', path: ['jwks_url'] });
      }
    }
  });

export const gatewayIdentitySchema = z
  .strictObject({
    /** Accept API keys made with `perimeter keys create`. */
    api_keys: z.boolean().default(true),
    jwt: z
      .array(jwtIssuer)
      .default([])
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((j, i) => {
          if (seen.has(j.issuer)) ctx.addIssue({ code: 'custom', message: `issuer ${j.issuer} is listed twice`, path: [i, 'issuer'] });
          seen.add(j.issuer);
        });
      }),
  })
  .prefault({});

export type GatewayIdentityConfig = z.output<typeof gatewayIdentitySchema>;
export type JwtIssuerConfig = z.output<typeof jwtIssuer>;
