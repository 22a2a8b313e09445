#!/usr/bin/env -S npx tsx
// The `ozk` command line: each file in cli/ registers one command group (model, onchain, prove, ...).
import "../sdk/node/quiet-sqlite.ts";
import { Command } from "commander";
import { ConfigError } from "../sdk/errors.ts";
import type { CommandModule } from "./group.ts";
import { enterUserDir } from "./paths.ts";

// `npm run ozk -- …` runs in the package root; the user's relative paths (arguments, and those inside a daemon's
// config file: packages, store, deployment) mean the folder they stood in, which npm records in INIT_CWD. Files of
// the package itself (artifacts, shipped models) are found from the package root, never from the working folder.
enterUserDir();

// The command files load after quiet-sqlite.ts has run: Node loads a static import's node:sqlite before any module
// body runs, so only a dynamic import comes late enough for the notice to be dropped.
const COMMANDS: CommandModule[] = await Promise.all([
  import("./ceremony.ts"),
  import("./dev.ts"),
  import("./model.ts"),
  import("./model-fidelity.ts"),
  import("./onchain.ts"),
  import("./prove.ts"),
  import("./settle.ts"),
]);

async function main(): Promise<void> {
  const program = new Command("ozk")
    .description("Optimistic zkML: compile models to circuits, post claims, challenge and prove disputes")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const mod of COMMANDS) mod.register(program);
  await program.parseAsync(process.argv);
}

// A command whose event loop runs dry while it still waits (a worker that never answers) would end with exit code
// 0 and half its work undone: say so and exit 1 instead. (beforeExit comes only when the loop is empty, never
// on process.exit, which the daemons and `ozk dev` call when they stop.)
let finished = false;
process.on("beforeExit", () => {
  if (finished) return;
  finished = true;
  console.error("ozk: the command stopped before it finished: something it waited on can no longer answer (OZK_DEBUG=1 for details)");
  process.exitCode = 1;
});

main().then(() => (finished = true), (err: unknown) => {
  finished = true;
  // Users get one clear line; OZK_DEBUG=1 shows the stack.
  const message = err instanceof Error ? err.message : String(err);
  console.error(`ozk: ${message}`);
  if (process.env.OZK_DEBUG && err instanceof Error) console.error(err.stack);
  // A config error (its field named) is exit code 2, as for the daemons: a supervisor does not restart on it.
  process.exit(err instanceof ConfigError ? 2 : 1);
});
