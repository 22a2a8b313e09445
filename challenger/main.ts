// Challenger process entry: tsx challenger/main.ts [--config challenger.json]; env OZK_CHALLENGER_* overrides the file.
import "../sdk/node/quiet-sqlite.ts";
import { FatalError } from "../sdk/errors.ts";
import { daemonArgs } from "../sdk/node/config.ts";
import { loadChallengerConfig } from "./config.ts";

// Loaded after quiet-sqlite.ts has run (a static import would load node:sqlite before it).
const { startChallenger } = await import("./index.ts");
try {
  const { file } = daemonArgs("challenger", process.argv.slice(2), "OZK_CHALLENGER_CONFIG", "daemons.md#configuration");
  const running = await startChallenger(loadChallengerConfig({ file }));
  await running.daemon.done.finally(() => running.server.close().then(() => running.ctx.store.close()));
  process.exit(0); // snarkjs worker threads would keep the process alive
} catch (err) {
  console.error(`challenger: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(err instanceof FatalError ? 2 : 1);
}
