#!/usr/bin/env -S npx tsx
// The `ozk` command line: each file in cli/ registers one command group (model, onchain, prove, ...).
import { Command } from "commander";
import { ConfigError } from "../sdk/errors.ts";
import type { CommandModule } from "./group.ts";
import * as ceremony from "./ceremony.ts";
import * as dev from "./dev.ts";
import * as onchain from "./onchain.ts";
import * as model from "./model.ts";
import * as modelFidelity from "./model-fidelity.ts";
import * as prove from "./prove.ts";

const COMMANDS: CommandModule[] = [ceremony, dev, model, modelFidelity, onchain, prove];

async function main(): Promise<void> {
  const program = new Command("ozk")
    .description("Optimistic zkML: compile models to circuits, post claims, challenge and prove disputes")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const mod of COMMANDS) mod.register(program);
  await program.parseAsync(process.argv);
}

main().catch((err: unknown) => {
  // Users get one clear line; OZK_DEBUG=1 shows the stack.
  const message = err instanceof Error ? err.message : String(err);
  console.error(`ozk: ${message}`);
  if (process.env.OZK_DEBUG && err instanceof Error) console.error(err.stack);
  // A config error (its field named) is exit code 2, as for the daemons: a supervisor does not restart on it.
  process.exit(err instanceof ConfigError ? 2 : 1);
});
