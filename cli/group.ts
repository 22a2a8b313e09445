// Shared by the command files: each registers its subcommands under a group (model, onchain, prove, ...).
import type { Command } from "commander";

export interface CommandModule {
  register(program: Command): void;
}

/** The command group `name` (e.g. "model"), created on first use so several command files can add to it. */
export function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** The description of the `model` group, which several command files add to. */
export const MODEL_GROUP = "Model packages: build, inspect, witness, fidelity, verify-setup; register and show on chain";
