declare module 'vitest' {
  interface ProvidedContext {
    /** Port of the fake outside API started by `fake-api.global.ts`. */
    fakeApiPort: number;
  }
}
export {};
