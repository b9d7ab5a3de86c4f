/**
 * The seed example (the README's "Email on upload" flow) and blank
 * starting points for the editor.
 */

export const DEFAULT_SEED_URL = 'https://api.postmarkapp.com/email';

/**
 * The seed flow: log the new upload, then email through a Postmark-like API
 * with the flow secret `postmark_api_key` and the variable `notify_to`.
 * @param {string} [url] where the http_request block POSTs
 */
export function seedFlow(url = DEFAULT_SEED_URL) {
  return {
    name: 'Email on upload',
    description: 'Logs each new JPEG under images/ and emails a notification through Postmark.',
    enabled: true,
    trigger: { type: 'r2_upload', prefix: 'images/', suffix: '.jpg' },
    blocks: [
      {
        id: 'note',
        type: 'log',
        name: 'Note the upload',
        params: { message: 'New upload {{trigger.key}} ({{trigger.size}} bytes)' },
      },
      {
        id: 'email',
        type: 'http_request',
        name: 'Email the team',
        params: {
          method: 'POST',
          url,
          headers: { 'X-Postmark-Server-Token': '{{SECRETS.postmark_api_key}}', Accept: 'application/json' },
          body: {
            From: 'media@example.com',
            To: '{{VARIABLES.notify_to}}',
            Subject: 'New image: {{trigger.key}}',
            TextBody: '{{trigger.key}} was uploaded ({{trigger.size}} bytes).',
          },
        },
      },
    ],
  };
}

/** What the seed flow needs before it can run. */
export const SEED_NEEDS = {
  secrets: ['postmark_api_key'],
  variables: ['notify_to'],
  sampleInput: { key: 'images/cat.jpg', size: 48213 },
};

/** A new, empty flow. */
export function blankFlow() {
  return {
    name: 'Untitled flow',
    enabled: true,
    trigger: { type: 'manual' },
    blocks: [{ id: 'hello', type: 'log', params: { message: 'Hello from {{flow.name}}' } }],
  };
}
