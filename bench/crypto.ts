/**
 * Secrets figures (issue: flow secrets): seal/open one secret, unwrap a flow
 * key, build maskers, mask 1 MB; with a SHA-256 of the same 1 MB as the
 * machine's baseline, so the ratios compare across machines.
 * Runs the same src/crypto modules as the Worker, on Node's WebCrypto.
 */
import { toBase64 } from '../src/crypto/encoding';
import { loadMasterKeys, newWrappedFlowKey, openSecret, sealSecret, unwrapFlowKey } from '../src/crypto/envelope';
import { createMasker } from '../src/crypto/redact';
import { ms, timeMedian } from './stats';

export interface CryptoFigure {
  name: string;
  medianMs: number;
  /** Relative to SHA-256 over 1 MB on this machine. */
  ratioToBaseline: number;
}

function secretsMap(count: number): Map<string, string> {
  return new Map(Array.from({ length: count }, (_, i) => [`secret_${i}`, `sk-${i}-${crypto.randomUUID()}`]));
}

function textWithSecrets(bytes: number, secrets: Map<string, string>): string {
  const words = ['image', 'upload', 'resize', 'thumbnail', 'webhook', 'postmark', 'delivered', 'bucket'];
  const values = [...secrets.values()];
  let text = '';
  let i = 0;
  while (text.length < bytes) {
    text += `${words[i % words.length]} ${i} `;
    if (i % 5000 === 0) text += `${values[(i / 5000) % values.length]} `;
    i++;
  }
  return text.slice(0, bytes);
}

export async function runCryptoBench(): Promise<{ baselineMs: number; figures: CryptoFigure[] }> {
  const oneMb = textWithSecrets(1024 * 1024, secretsMap(10));
  const oneMbBytes = new TextEncoder().encode(oneMb);
  const baselineMs = await timeMedian(() => crypto.subtle.digest('SHA-256', oneMbBytes), 50);

  const keys = await loadMasterKeys({ MASTER_KEY: toBase64(crypto.getRandomValues(new Uint8Array(32))) });
  const wrapped = await newWrappedFlowKey(keys, 'acme', 'flw_bench');
  const flowKey = await unwrapFlowKey(keys, wrapped, 'acme', 'flw_bench');
  const sealed = await sealSecret(flowKey, 'pm-server-token-0123456789', 'acme', 'flw_bench', 'postmark_api_key');

  const ten = secretsMap(10);
  const hundred = secretsMap(100);
  const tenMasker = createMasker(ten);
  const tenText = textWithSecrets(1024 * 1024, ten);

  const measured: Array<[string, number]> = [
    ['seal one secret', await timeMedian(() => sealSecret(flowKey, 'pm-server-token-0123456789', 'acme', 'flw_bench', 'k'), 500)],
    ['open one secret', await timeMedian(() => openSecret(flowKey, sealed, 'acme', 'flw_bench', 'postmark_api_key'), 500)],
    ['unwrap a flow key', await timeMedian(() => unwrapFlowKey(keys, wrapped, 'acme', 'flw_bench'), 500)],
    ['build a masker, 10 secrets', await timeMedian(() => createMasker(ten), 200)],
    ['build a masker, 100 secrets', await timeMedian(() => createMasker(hundred), 50)],
    ['mask 1 MB, 10 secrets', await timeMedian(() => tenMasker.mask(tenText), 30)],
  ];
  return {
    baselineMs,
    figures: measured.map(([name, medianMs]) => ({ name, medianMs, ratioToBaseline: medianMs / baselineMs })),
  };
}

export function printCryptoBench(result: Awaited<ReturnType<typeof runCryptoBench>>): void {
  console.log(`\nSecrets (baseline: SHA-256 of 1 MB = ${ms(result.baselineMs)})`);
  console.table(result.figures.map((f) => ({ figure: f.name, median: ms(f.medianMs), 'x baseline': f.ratioToBaseline.toFixed(3) })));
}
