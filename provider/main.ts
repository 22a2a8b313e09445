// Provider process entry: tsx provider/main.ts [--config provider.json]; env OZK_PROVIDER_* overrides the file.
import "../sdk/node/quiet-sqlite.ts";
import { FatalError } from "../sdk/errors.ts";
import { daemonArgs } from "../sdk/node/config.ts";
import { loadProviderConfig } from "./config.ts";

// Loaded after quiet-sqlite.ts has run (a static import would load node:sqlite before it).
const { startProvider } = await import("./index.ts");
try {
  const { file } = daemonArgs("provider", process.argv.slice(2), "OZK_PROVIDER_CONFIG", "daemons.md#configuration");
  const running = await startProvider(loadProviderConfig({ file }));
  await running.daemon.done.finally(() => running.server.close().then(() => running.ctx.store.close()));
  process.exit(0); // snarkjs worker threads would keep the process alive
} catch (err) {
  console.error(`provider: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof FatalError ? 2 : 1);
}
