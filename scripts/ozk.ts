#!/usr/bin/env -S npx tsx
// The `ozk` command line: each file in scripts/cli/ registers one command group (model, chain, prove, ...).
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Command } from "commander";
import { ConfigError } from "../sdk/errors.ts";

export interface CommandModule {
  register(program: Command): void;
}

/** The command group `name` (e.g. "model"), created on first use so several cli files can add to it. */
export function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

const cliDir = join(dirname(fileURLToPath(import.meta.url)), "cli");

async function main(): Promise<void> {
  const program = new Command("ozk")
    .description("Optimistic zkML: compile models to circuits, post claims, challenge and prove disputes")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: true });
  for (const file of readdirSync(cliDir).filter((f) => f.endsWith(".ts")).sort()) {
    const mod = (await import(pathToFileURL(join(cliDir, file)).href)) as Partial<CommandModule>;
    if (typeof mod.register !== "function") throw new Error(`scripts/cli/${file} must export register(program)`);
    mod.register(program);
  }
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
