/**
 * The effective admission settings of one environment: the base `admission` settings with the
 * environment's overrides applied key by key (a list given for an environment replaces the base
 * list, so an environment can narrow or widen trust).
 */
import type { ConfigData, ScanLevel, SigstoreIdentity } from './schema.ts';
import type { LoadedConfig } from './load.ts';

export interface EnvironmentSettings {
  env: string;
  /** True when `admission.environments.<env>` exists; false when only the base applies. */
  declared: boolean;
  /** Where each setting came from, for reasons: `admission` or `admission.environments.<env>`. */
  source: { trust: string; require: string; licenses: string };
  trust: { keys: readonly string[]; certificates: readonly string[]; sigstore: readonly SigstoreIdentity[] };
  require: { signature: boolean; scan: ScanLevel };
  licenses: { allow: readonly string[] };
  unannotatedPods: 'allow' | 'deny';
  revoked: readonly string[];
}

export function environmentSettings(config: LoadedConfig | ConfigData, env: string): EnvironmentSettings {
  const a = ('data' in config ? config.data : config).admission;
  const o = Object.hasOwn(a.environments, env) ? a.environments[env] : undefined;
  const scoped = `admission.environments.${env}`;
  const from = (overridden: boolean): string => (overridden ? scoped : 'admission');
  return {
    env,
    declared: o !== undefined,
    source: {
      trust: from(o?.trust !== undefined && Object.keys(o.trust).length > 0),
      require: from(o?.require !== undefined && Object.keys(o.require).length > 0),
      licenses: from(o?.licenses?.allow !== undefined),
    },
    trust: {
      keys: o?.trust?.keys ?? a.trust.keys,
      certificates: o?.trust?.certificates ?? a.trust.certificates,
      sigstore: o?.trust?.sigstore ?? a.trust.sigstore,
    },
    require: { signature: o?.require?.signature ?? a.require.signature, scan: o?.require?.scan ?? a.require.scan },
    licenses: { allow: o?.licenses?.allow ?? a.licenses.allow },
    unannotatedPods: o?.unannotated_pods ?? a.unannotated_pods,
    revoked: a.revoked,
  };
}

/** The environment a Kubernetes namespace maps to. */
export function environmentOfNamespace(config: LoadedConfig, namespace: string | undefined): string {
  const a = config.data.admission;
  return namespace !== undefined && Object.hasOwn(a.namespaces, namespace) ? a.namespaces[namespace]! : a.default_env;
}

/** Trust material counts, base and per environment (for `perimeter doctor`). */
export function trustCounts(config: LoadedConfig): Record<string, { keys: number; certificates: number; sigstore: number }> {
  const envs = ['(base)', ...Object.keys(config.data.admission.environments)];
  return Object.fromEntries(
    envs.map((e) => {
      const t = e === '(base)' ? config.data.admission.trust : environmentSettings(config, e).trust;
      return [e, { keys: t.keys.length, certificates: t.certificates.length, sigstore: t.sigstore.length }];
    }),
  );
}
