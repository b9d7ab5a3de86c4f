import type { D1Migration } from 'cloudflare:test';
import type { TEST_BINDINGS } from './bindings';

type TestSettings = { [name in keyof typeof TEST_BINDINGS]?: string };

declare global {
  namespace Cloudflare {
    // The `env` of `cloudflare:test`: the Worker's bindings, the test settings and the migrations.
    interface Env extends TestSettings {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
