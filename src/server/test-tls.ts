/** Test support only: a self-signed TLS certificate for 127.0.0.1 made by the openssl CLI, and an HTTPS JSON client that trusts it. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { tempDir } from '../../test/helpers.ts';

export interface TestTls {
  cert: string;
  key: string;
  certPath: string;
  keyPath: string;
}

export function makeTestTls(): TestTls {
  const dir = tempDir('perimeter-tls-');
  const certPath = join(dir, 'tls.crt');
  const keyPath = join(dir, 'tls.key');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=perimeter-test',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

export interface JsonReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/** One HTTPS request trusting `ca` only (the server's name is checked as a real client would). */
export function httpsJson(url: string, ca: string, o: { method?: string; body?: string | Buffer; contentType?: string } = {}): Promise<JsonReply> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: o.method ?? (o.body !== undefined ? 'POST' : 'GET'), ca, headers: o.body !== undefined ? { 'content-type': o.contentType ?? 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = text;
        }
        resolvePromise({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/** An admission.k8s.io/v1 AdmissionReview for creating a Pod, as the API server sends it. */
export function podReview(o: { namespace: string; annotations?: Record<string, string>; containers?: string[]; uid?: string; name?: string }): Record<string, unknown> {
  const containers = (o.containers ?? ['vllm']).map((name) => ({ name, image: 'vllm/vllm-openai:v0.6.3', args: ['--model', '/models/m'] }));
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: o.uid ?? '705ab4f5-6393-11e8-b7cc-42010a800002',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name: o.name ?? 'llm-0',
      namespace: o.namespace,
      operation: 'CREATE',
      userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', groups: ['system:serviceaccounts'] },
      object: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: o.name ?? 'llm-0', namespace: o.namespace, ...(o.annotations ? { annotations: o.annotations } : {}) },
        spec: { containers },
      },
      oldObject: null,
      dryRun: false,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}
