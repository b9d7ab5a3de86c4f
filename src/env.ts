import type { SettingName } from './config';

/**
 * The Worker's `env`: the bindings and vars that wrangler.toml declares
 * (`Cloudflare.Env`, generated into worker-configuration.d.ts by
 * `npm run types`, which `npm test` checks is current), plus the settings
 * wrangler.toml cannot declare: secrets and optional vars, all strings,
 * read only through `settings(env)` (src/config.ts).
 */
export interface Env extends Cloudflare.Env, Partial<Record<Exclude<SettingName, keyof Cloudflare.Env>, string>> {}
