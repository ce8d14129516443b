/**
 * DSSE pre-authentication encoding (PAE), and the buggy form model_signing v0.2.0 signed.
 * https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md
 */
import { IN_TOTO_PAYLOAD_TYPE } from './bundle.ts';

/** PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payload: Uint8Array, payloadType: string = IN_TOTO_PAYLOAD_TYPE): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  const head = Buffer.from(`DSSEv1 ${type.length} ${payloadType} ${payload.length} `, 'utf8');
  return Buffer.concat([head, payload]);
}

/**
 * model_signing v0.2.0 formatted the payload bytes into a Python f-string, so what it signed is
 * `DSSEV1 <len> <type> <len> b'<python repr of the bytes>'` (note also the capital V).
 * Accepted when verifying old bundles; never produced.
 */
export function paeCompatV02(payload: Uint8Array, payloadType: string = IN_TOTO_PAYLOAD_TYPE): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.from(`DSSEV1 ${type.length} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`, 'utf8');
}

/** Python's repr() of a bytes object, byte for byte. */
export function pythonBytesRepr(bytes: Uint8Array): string {
  // Python picks double quotes only when the data has a single quote and no double quote.
  const hasSingle = bytes.includes(0x27);
  const hasDouble = bytes.includes(0x22);
  const quote = hasSingle && !hasDouble ? '"' : "'";
  let out = 'b' + quote;
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b === 0x09) out += '\\t';
    else if (b === 0x0a) out += '\\n';
    else if (b === 0x0d) out += '\\r';
    else if (b === quote.charCodeAt(0)) out += '\\' + quote;
    else if (b < 0x20 || b >= 0x7f) out += '\\x' + b.toString(16).padStart(2, '0');
    else out += String.fromCharCode(b);
  }
  return out + quote;
}
