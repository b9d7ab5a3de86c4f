/**
 * Where a flow version sends its secrets. An `http_request` block sends the
 * secrets its params reference to the host of its URL: a literal host, or a
 * templated one (a placeholder anywhere in the scheme or authority) known
 * only once rendered. Two rules stand on this (contract, "Who may redirect a
 * secret"): a caller without `secrets:write` may not save a version that
 * sends a secret somewhere new or templated, and at run time a secret
 * without `allowedHosts` goes only to the literal hosts of the version.
 */
import type { Block } from './definition';
import { allBlocks, chainOf } from './graph';
import { forEachString, placeholders, type Segment } from './templates';

const SCHEME_AND_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/** The authority (`user@host:port`) of a URL template as written; undefined when its scheme is not literal. */
export function writtenAuthority(urlTemplate: string): string | undefined {
  return SCHEME_AND_AUTHORITY.exec(urlTemplate)?.[1];
}

/**
 * The host (with any port) that a URL template names literally; null when a
 * placeholder could change it. A placeholder in the userinfo counts: a
 * rendered `@` or `/` there moves the host.
 */
export function literalHost(urlTemplate: string): string | null {
  const authority = writtenAuthority(urlTemplate);
  if (authority === undefined || authority.includes('{{')) return null;
  try {
    return new URL(urlTemplate).host;
  } catch {
    return null;
  }
}

export interface SecretDestination {
  blockId: string;
  secret: string;
  /** The literal host, or null when the host is templated. */
  host: string | null;
  /** Where the block references the secret, as a path in the flow body. */
  path: Segment[];
}

/** Every (block, secret, host) by which the version sends a secret out, for_each chains included. */
export function secretDestinations(blocks: readonly Block[], path: Segment[] = ['blocks']): SecretDestination[] {
  return blocks.flatMap((block, i) => {
    const nested = chainOf(block);
    if (nested) return secretDestinations(nested, [...path, i, 'params', 'blocks']);
    if (block.type !== 'http_request') return [];
    const host = literalHost((block.params as { url: string }).url);
    const out: SecretDestination[] = [];
    forEachString(block.params, [...path, i, 'params'], (text, at) => {
      for (const ref of placeholders(text)) {
        if ('segments' in ref && ref.root === 'SECRETS') out.push({ blockId: block.id, secret: String(ref.segments[1]), host, path: at });
      }
    });
    return out;
  });
}

/**
 * The destinations of `next` that only a caller with `secrets:write` may
 * introduce: every templated one, and every literal one whose (secret, host)
 * `previous` did not already have.
 */
export function newSecretDestinations(previous: readonly Block[], next: readonly Block[]): SecretDestination[] {
  const key = (d: SecretDestination) => `${d.secret} ${d.host}`;
  const known = new Set(
    secretDestinations(previous)
      .filter((d) => d.host !== null)
      .map(key),
  );
  return secretDestinations(next).filter((d) => d.host === null || !known.has(key(d)));
}

const literalHostsCache = new WeakMap<readonly Block[], ReadonlySet<string>>();

/** The hosts the version's `http_request` blocks name literally (cached per pinned definition). */
export function literalHosts(blocks: readonly Block[]): ReadonlySet<string> {
  let hosts = literalHostsCache.get(blocks);
  if (!hosts) {
    hosts = new Set(
      allBlocks(blocks).flatMap(({ block }) => {
        const host = block.type === 'http_request' ? literalHost((block.params as { url: string }).url) : null;
        return host === null ? [] : [host];
      }),
    );
    literalHostsCache.set(blocks, hosts);
  }
  return hosts;
}
