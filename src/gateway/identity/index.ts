/**
 * The gateway's Authenticator: routes the request's credential by its shape. `prm_...` goes to
 * the API keys (when enabled), a three-segment compact JWT to the configured issuers, anything
 * else is refused. With `dev` and no credential at all, a fixed dev principal is returned; a
 * credential that is given is always checked.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayIdentityConfig } from '../../config/gateway-identity.ts';
import type { Store } from '../../store/store.ts';
import type { Authenticator, Principal } from '../types.ts';
import { ApiKeyAuthenticator, type ApiKeyAuthOptions } from './apikey-authenticator.ts';
import { KEY_PREFIX } from './apikeys.ts';
import { JwtAuthenticator, looksLikeJwt, type JwtOptions } from './jwt.ts';
import { authInvalid, authMissing, credentialFrom, makePrincipal } from './principal.ts';

export { ApiKeyAuthenticator, type ApiKeyAuthOptions } from './apikey-authenticator.ts';
export { JwtAuthenticator, looksLikeJwt, type JwtOptions } from './jwt.ts';
export { createApiKey, listApiKeys, revokeApiKey, parseApiKey, type ApiKeyInfo, type ApiKeySpec, type CreatedApiKey } from './apikeys.ts';
export { credentialFrom, makePrincipal, type AttrValue, type PrincipalFields } from './principal.ts';

/** The principal of unauthenticated requests in dev mode. */
export const DEV_PRINCIPAL: Principal = makePrincipal({ id: 'dev', kind: 'dev', credential: 'dev', org: null, groups: [], verified: false, attestations: [], attributes: {} });

export interface GatewayAuthenticator extends Authenticator {
  /** Reloads API keys from the store and JWKS files that changed. */
  refresh(): Promise<void>;
}

export interface CreateAuthenticatorOptions {
  store: Store;
  config: GatewayIdentityConfig;
  /** Requests without any credential act as DEV_PRINCIPAL (never for production). */
  dev?: boolean;
  apiKeys?: ApiKeyAuthOptions;
  jwt?: JwtOptions;
}

class IdentityRouter implements GatewayAuthenticator {
  readonly #keys: ApiKeyAuthenticator | undefined;
  readonly #jwt: JwtAuthenticator | undefined;
  readonly #dev: boolean;

  constructor(keys: ApiKeyAuthenticator | undefined, jwt: JwtAuthenticator | undefined, dev: boolean) {
    this.#keys = keys;
    this.#jwt = jwt;
    this.#dev = dev;
  }

  async authenticate(headers: IncomingHttpHeaders): Promise<Principal> {
    const credential = credentialFrom(headers);
    if (credential === undefined) {
      if (this.#dev) return DEV_PRINCIPAL;
      throw authMissing();
    }
    if (credential.startsWith(KEY_PREFIX)) {
      if (!this.#keys) throw authInvalid('API keys are not accepted here (gateway.identity.api_keys is false)');
      return this.#keys.verify(credential);
    }
    if (looksLikeJwt(credential)) {
      if (!this.#jwt) throw authInvalid('bearer JWTs are not accepted here (no gateway.identity.jwt issuer is configured)');
      return this.#jwt.verify(credential);
    }
    throw authInvalid('the credential is neither a Perimeter API key (prm_...) nor a signed JWT');
  }

  async refresh(): Promise<void> {
    await Promise.all([this.#keys?.refresh(), this.#jwt?.refresh()]);
  }
}

/** Loads the API keys (when enabled) and the JWT issuers' JWKS files; a bad file is PERIM_E_CONFIG. */
export async function createAuthenticator(o: CreateAuthenticatorOptions): Promise<GatewayAuthenticator> {
  const keys = o.config.api_keys ? await ApiKeyAuthenticator.open(o.store, o.apiKeys) : undefined;
  const jwt = o.config.jwt.length > 0 ? await JwtAuthenticator.open(o.config.jwt, o.jwt) : undefined;
  return new IdentityRouter(keys, jwt, o.dev === true);
}
