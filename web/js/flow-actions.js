/**
 * Flow actions shared by the list and the flow page: enable/disable (a PUT
 * of the full definition with `If-Match`) and delete with confirmation.
 */
import { api, definitionOf } from './api.js';
import { confirmDialog } from './dom.js';

/**
 * Flips `enabled`. Rejects with the ApiError (409 when the flow changed meanwhile).
 * @param {any} flow
 * @param {boolean} enabled
 * @returns {Promise<any>} the updated flow
 */
export function setEnabled(flow, enabled) {
  return api.flows.update(flow.id, { ...definitionOf(flow), enabled }, flow.version);
}

/**
 * Asks, then deletes. Resolves true when deleted, false when the user cancelled.
 * @param {any} flow
 */
export async function confirmAndDelete(flow) {
  const ok = await confirmDialog({
    title: `Delete “${flow.name}”?`,
    body: 'The flow and its secrets are destroyed: its key is shredded, so the secrets can never be read again. This cannot be undone.',
    confirm: 'Delete flow',
    danger: true,
  });
  if (!ok) return false;
  await api.flows.remove(flow.id);
  return true;
}
