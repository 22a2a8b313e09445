// Where the package's own files are, from a module's URL. The same module runs from the TypeScript sources
// (<root>/<dir>/<file>.ts, under tsx) and from the compiled build (<root>/dist/<dir>/<file>.js, what an installed
// package runs), so "two folders up" differs between them. Pure URL arithmetic: no Node built-ins.

/** Whether `moduleUrl` (a module's import.meta.url) is a compiled .js file of dist/ rather than a .ts source. */
export function isCompiledModule(moduleUrl: string): boolean {
  return !new URL(moduleUrl).pathname.endsWith(".ts");
}

/** The extension of the module files next to `moduleUrl`: ".ts" in the sources, ".js" in the build. */
export function moduleExtension(moduleUrl: string): ".ts" | ".js" {
  return isCompiledModule(moduleUrl) ? ".js" : ".ts";
}

/**
 * The package root (ending in "/"), from the import.meta.url of a module `depth` folders below the root in the
 * sources (runtime/deploy.ts: 1, circuits/compiler/build.ts: 2).
 */
export function packageRootUrl(moduleUrl: string, depth: number): URL {
  return new URL("./" + "../".repeat(depth + (isCompiledModule(moduleUrl) ? 1 : 0)), moduleUrl);
}
