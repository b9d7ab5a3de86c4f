declare module 'vitest' {
  interface ProvidedContext {
    /** Port of the fake outside API started by `fake-api.global.ts`. */
    fakeApiPort: number;
    /** Base64 of a 1200×800 JPEG and a 640×480 PNG, made with sharp by `images.global.ts`. */
    testImages: { jpeg: string; png: string };
  }
}
export {};
