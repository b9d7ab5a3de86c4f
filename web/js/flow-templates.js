/**
 * The starters "New flow" offers: each a real flow definition that saves
 * and runs as it is (after the secrets and variables it names are set and
 * its outside URLs point somewhere real), laid out for the canvas.
 */

export const DEFAULT_EMAIL_URL = 'https://api.postmarkapp.com/email';

/**
 * @typedef {{
 *   key: string,
 *   title: string,
 *   summary: string,
 *   needs: { secrets: string[], variables: string[] },
 *   testInput: Record<string, unknown>,
 *   note?: string,
 *   definition: Record<string, any>,
 * }} Starter
 */

/** @param {number} x @param {number} y */
const at = (x, y) => ({ x, y });

/**
 * The seed example: log each new JPEG under images/ and email through Postmark.
 * @param {string} [url] where the email goes
 */
export function seedFlow(url = DEFAULT_EMAIL_URL) {
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
        ui: at(0, 0),
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
        ui: at(340, 0),
      },
    ],
  };
}

/**
 * Every starter, given the block types this server has (`GET /v1/blocks`):
 * the thumbnail starter uses `image_transform` where it exists, and a plain
 * copy (saying so) where it does not yet.
 * @param {Set<string>} types
 * @returns {Starter[]}
 */
export function starters(types) {
  const resize = types.has('image_transform');
  const info = types.has('image_info');
  return [
    {
      key: 'email-on-upload',
      title: 'Email on upload',
      summary: 'Logs each new JPEG under images/ and emails the team through Postmark, with the API key kept as a flow secret.',
      needs: { secrets: ['postmark_api_key'], variables: ['notify_to'] },
      testInput: { key: 'images/cat.jpg', size: 48213 },
      definition: seedFlow(),
    },
    {
      key: 'webp-thumbnail',
      title: 'WebP thumbnail on upload',
      summary: resize
        ? 'Reads each new image under photos/, writes a 320-pixel WebP thumbnail under thumbs/ and logs its size.'
        : 'Copies each new image under photos/ to thumbs/ and logs it. This server has no image_transform block yet, so the starter copies instead of resizing.',
      needs: { secrets: [], variables: [] },
      testInput: { key: 'photos/sample.png', size: 1024 },
      note: resize ? undefined : 'image_transform is not in this server’s block list yet: replace the copy with it once it is.',
      definition: {
        name: 'WebP thumbnail on upload',
        description: resize
          ? 'A 320-pixel WebP of every new image under photos/.'
          : 'Copies every new image under photos/ to thumbs/ (no image_transform on this server yet).',
        enabled: true,
        trigger: { type: 'r2_upload', prefix: 'photos/' },
        blocks: [
          ...(info
            ? [{ id: 'inspect', type: 'image_info', name: 'Read the image', params: { key: '{{trigger.key}}' }, ui: at(0, 0) }]
            : [
                {
                  id: 'inspect',
                  type: 'r2_object',
                  name: 'Read the object',
                  params: { action: 'head', key: '{{trigger.key}}' },
                  ui: at(0, 0),
                },
              ]),
          resize
            ? {
                id: 'thumb',
                type: 'image_transform',
                name: 'Make the thumbnail',
                params: {
                  key: '{{trigger.key}}',
                  destinationKey: 'thumbs/{{trigger.key}}.webp',
                  width: 320,
                  format: 'image/webp',
                  quality: 80,
                },
                ui: at(340, 0),
              }
            : {
                id: 'thumb',
                type: 'r2_object',
                name: 'Copy to thumbs/',
                params: { action: 'copy', key: '{{trigger.key}}', destinationKey: 'thumbs/{{trigger.key}}' },
                ui: at(340, 0),
              },
          {
            id: 'done',
            type: 'log',
            name: 'Log the result',
            params: {
              message: resize
                ? 'Thumbnail {{steps.thumb.key}}: {{steps.thumb.width}}×{{steps.thumb.height}}, {{steps.thumb.size}} bytes'
                : 'Copied to {{steps.thumb.key}}',
            },
            ui: at(680, 0),
          },
        ],
      },
    },
    {
      key: 'webhook-branch-notify',
      title: 'Webhook that branches and notifies',
      summary: 'Receives a JSON webhook; when its status is "failed" it posts an alert to a chat webhook, otherwise it logs the event.',
      needs: { secrets: [], variables: [] },
      testInput: { body: { status: 'failed', job: 'resize-42' }, headers: {}, query: {} },
      definition: {
        name: 'Webhook that branches and notifies',
        description: 'Alerts a chat webhook when an incoming event reports a failure.',
        enabled: true,
        trigger: { type: 'webhook' },
        blocks: [
          {
            id: 'check',
            type: 'condition',
            name: 'Did it fail?',
            params: { left: '{{trigger.body.status}}', op: 'eq', right: 'failed' },
            then: 'notify',
            else: 'fine',
            ui: at(0, 0),
          },
          {
            id: 'notify',
            type: 'http_request',
            name: 'Post to chat',
            params: {
              method: 'POST',
              url: 'https://hooks.example.com/chat',
              headers: { 'Content-Type': 'application/json' },
              body: { text: 'Job {{trigger.body.job}} failed' },
            },
            next: null,
            ui: at(340, -40),
          },
          {
            id: 'fine',
            type: 'log',
            name: 'Log it',
            params: { message: 'Job {{trigger.body.job}}: {{trigger.body.status}}' },
            ui: at(340, 120),
          },
        ],
      },
    },
    {
      key: 'nightly-cleanup',
      title: 'Nightly folder cleanup',
      summary: 'Every night at 03:00 UTC, deletes each listed object under tmp/ with Apply on Each, logging every removal.',
      needs: { secrets: [], variables: [] },
      testInput: {},
      note: 'There is no block that lists a folder: the keys to delete are set in “Keys to delete” (or fetched with Send HTTP Request).',
      definition: {
        name: 'Nightly folder cleanup',
        description: 'Deletes the listed objects under tmp/ every night.',
        enabled: true,
        trigger: { type: 'schedule', cron: '0 3 * * *' },
        blocks: [
          {
            id: 'list',
            type: 'set',
            name: 'Keys to delete',
            params: { values: { keys: ['tmp/old-1.jpg', 'tmp/old-2.jpg'] } },
            ui: at(0, 0),
          },
          {
            id: 'each',
            type: 'for_each',
            name: 'Apply on each key',
            params: {
              items: '{{steps.list.keys}}',
              concurrency: 2,
              blocks: [
                { id: 'remove', type: 'r2_object', name: 'Delete it', params: { action: 'delete', key: '{{item}}' }, ui: at(0, 0) },
                { id: 'removed', type: 'log', name: 'Log it', params: { message: 'Deleted {{item}} ({{index}})' }, ui: at(330, 0) },
              ],
            },
            ui: at(340, 0),
          },
          {
            id: 'summary',
            type: 'log',
            name: 'Summary',
            params: { message: 'Cleanup done: {{steps.each.count}} objects' },
            ui: at(1220, 0),
          },
        ],
      },
    },
    {
      key: 'error-alert',
      title: 'Call an API, alert on error',
      summary: 'Calls an outside API; if it fails (after one retry) the run takes the error path and posts an alert naming the failure.',
      needs: { secrets: [], variables: [] },
      testInput: {},
      definition: {
        name: 'Call an API, alert on error',
        description: 'An error path: a failing request is handled by an alert instead of failing the run.',
        enabled: true,
        trigger: { type: 'manual' },
        blocks: [
          {
            id: 'call',
            type: 'http_request',
            name: 'Call the API',
            params: { method: 'GET', url: 'https://api.example.com/health', retries: 1, timeoutMs: 5000 },
            onError: 'alert',
            ui: at(0, 0),
          },
          {
            id: 'ok',
            type: 'log',
            name: 'All good',
            params: { message: 'The API answered {{steps.call.status}}' },
            next: null,
            ui: at(340, 0),
          },
          {
            id: 'alert',
            type: 'http_request',
            name: 'Post an alert',
            params: {
              method: 'POST',
              url: 'https://hooks.example.com/alerts',
              body: { text: 'Flow {{flow.name}}: {{error.blockId}} failed: {{error.message}}' },
            },
            ui: at(340, 170),
          },
        ],
      },
    },
  ];
}

/** A new flow with nothing but its trigger. */
export function blankFlow() {
  return { name: 'Untitled flow', enabled: true, trigger: { type: 'manual' }, blocks: [] };
}
