// Minimal typing of the ffjavascript entry point the native prover tests use as their arithmetic oracle.
declare module "ffjavascript" {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  export function buildBn128(singleThread?: boolean): Promise<any>;
}
