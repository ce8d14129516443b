/**
 * The verifiers an environment trusts, built from the config's already-loaded trust material:
 * one KeyVerifier per key file, one CertificateVerifier over all trust anchors, one
 * SigstoreVerifier per identity. A bundle is trusted when one of them verifies it.
 */
import { KeyVerifier } from '../signing/key-method.ts';
import { CertificateVerifier } from '../signing/certificate-verifier.ts';
import { SigstoreVerifier } from '../signing/sigstore/verifier.ts';
import { defaultTrustRoot } from '../signing/sigstore/trust-root.ts';
import { keyHint } from '../signing/keys.ts';
import type { BundleMethod } from '../signing/bundle.ts';
import type { Verifier } from '../signing/verifier.ts';
import type { EnvironmentSettings } from '../config/environments.ts';
import type { TrustMaterial } from '../config/load.ts';

export interface TrustedVerifier {
  method: BundleMethod;
  /** Which config entry this is, e.g. `admission.trust.keys[0] (key 3f2a…)`. */
  label: string;
  verifier: Verifier;
}

export function trustedVerifiers(settings: EnvironmentSettings, material: TrustMaterial, now?: Date): TrustedVerifier[] {
  const scope = `${settings.source.trust}.trust`;
  const out: TrustedVerifier[] = [];
  settings.trust.keys.forEach((path, i) => {
    const key = material.keys.get(path);
    if (!key) return; // load.ts refuses configs whose key files did not load
    out.push({ method: 'key', label: `${scope}.keys[${i}] (key ${keyHint(key).slice(0, 16)}…)`, verifier: new KeyVerifier(key) });
  });
  const pems = settings.trust.certificates.map((p) => material.certificates.get(p)).filter((p): p is string => p !== undefined);
  if (pems.length > 0) {
    out.push({ method: 'certificate', label: `${scope}.certificates (${pems.length} anchor file${pems.length > 1 ? 's' : ''})`, verifier: new CertificateVerifier(pems, now ? { now } : {}) });
  }
  settings.trust.sigstore.forEach((s, i) => {
    const trustRoot = s.trust_root ? material.trustRoots.get(s.trust_root) : defaultTrustRoot();
    if (!trustRoot) return;
    out.push({
      method: 'sigstore',
      label: `${scope}.sigstore[${i}] (${s.identity} from ${s.issuer})`,
      verifier: new SigstoreVerifier({ identity: s.identity, issuer: s.issuer, trustRoot, ...(now ? { now } : {}) }),
    });
  });
  return out;
}
