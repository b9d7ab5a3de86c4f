/** A `.wasm` import: wrangler (and the test pool) hand it over compiled. */
declare module '*.wasm' {
  const module: WebAssembly.Module;
  export default module;
}
