// `ozk ceremony init | contribute | verify | finalize`: a multi-party Groth16 phase 2 for a model package (the
// work is done in prover/setup/ceremony.ts).
import type { Command } from "commander";
import { group } from "./group.ts";
import { readManifest } from "../circuits/compiler/package.ts";
import { ceremonyContribute, ceremonyFinalize, ceremonyInit, ceremonyVerify } from "../prover/setup/ceremony.ts";
import { userPath, userPathIf } from "./paths.ts";
import { verifierCopyDir } from "./model-setup.ts";

const HELP = `
A ceremony replaces the single contributor of \`ozk model build\` by several: the key is sound if at least one of
them kept their secret from everyone (and then forgot it). Steps (docs/setup.md has the details):

  ozk model build <pkg> --skip-setup            the circuit (or a full build: its key is replaced at the end)
  ozk ceremony init <pkg> --ptau <file>         <pkg>/ceremony/0000.zkey from circuit.r1cs and the powers of tau
  ozk ceremony contribute <pkg> --name <who>    once per contributor, each on their own machine: send them
                                                <pkg>/ceremony/ceremony.json and the latest NNNN.zkey; they run
                                                this, publish the hash it prints and send back NNNN+1.zkey
  ozk ceremony verify <pkg> --ptau <file>       anyone: checks every link of the chain, lists names and hashes
  ozk ceremony finalize <pkg> --ptau <file>     optional beacon, then circuit.zkey, vkey.json, Verifier.sol,
                                                the manifest's setup record (and contracts/verifiers/<Name>.sol
                                                for a package under the repository's models/)`;

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of process.stdin) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

const integer = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got ${v}`);
  return n;
};

export function register(program: Command): void {
  const ceremony = group(program, "ceremony", "Multi-party Groth16 phase 2 for a model package (docs/setup.md)").addHelpText("after", HELP);

  ceremony
    .command("init <package>")
    .description("Start a ceremony: <package>/ceremony/0000.zkey from circuit.r1cs and the powers of tau")
    .option("--ptau <file>", "powers of tau (default: the file $OZK_PTAU names)")
    .option("--unsafe-dev", "the powers of tau is an insecure development file: the result is recorded as unsafe-dev")
    .option("--force", "discard an existing ceremony in the package")
    .action(async (pkg: string, o: { ptau?: string; unsafeDev?: boolean; force?: boolean }) => {
      const file = await ceremonyInit(userPath(pkg), { ...o, ptau: userPathIf(o.ptau) });
      console.log(`initial key ${file}; next: ozk ceremony contribute ${pkg} --name <who>`);
    });

  ceremony
    .command("contribute <package>")
    .description("Add a secret contribution to the latest key of the chain; prints the hash to publish")
    .requiredOption("--name <name>", "who contributes (stored in the key, at most 64 bytes)")
    .option("--entropy-from-stdin", "mix the bytes read from stdin into the secret (the operating system's CSPRNG is always used too)")
    .action(async (pkg: string, o: { name: string; entropyFromStdin?: boolean }) => {
      let entropy: Uint8Array | undefined;
      if (o.entropyFromStdin) {
        const extra = await readStdin();
        if (extra.length === 0) throw new Error("--entropy-from-stdin: stdin was empty");
        const { createHash, randomBytes } = await import("node:crypto");
        entropy = createHash("sha512").update(randomBytes(64)).update(extra).digest();
      }
      const { file, hash } = await ceremonyContribute(userPath(pkg), { name: o.name, entropy });
      console.log(`wrote ${file}\ncontribution hash (publish it): ${hash}`);
    });

  ceremony
    .command("verify <package>")
    .description("Check the whole chain against circuit.r1cs and the powers of tau; list every contribution")
    .option("--ptau <file>", "the ceremony's powers of tau (default: the file $OZK_PTAU names)")
    .action(async (pkg: string, o: { ptau?: string }) => {
      if (!(await ceremonyVerify(userPath(pkg), { ...o, ptau: userPathIf(o.ptau) }))) throw new Error(`ceremony of ${pkg}: verification FAILED`);
      console.log("ceremony: verified");
    });

  ceremony
    .command("finalize <package>")
    .description("Optional public beacon, then the package's circuit.zkey, vkey.json, Verifier.sol and manifest")
    .option("--ptau <file>", "the ceremony's powers of tau (default: the file $OZK_PTAU names)")
    .option("--beacon <hex>", "public randomness fixed in advance (e.g. a future block hash)")
    .option("--iterations <n>", "log2 of the beacon's sha256 iterations (10..63)", "10")
    .action(async (pkg: string, o: { ptau?: string; beacon?: string; iterations: string }) => {
      // (a package of your own gets no copy of its verifier in the repository's contracts/verifiers, as with the build)
      await ceremonyFinalize(userPath(pkg), { ptau: userPathIf(o.ptau), beacon: o.beacon, iterations: integer(o.iterations), contractsDir: verifierCopyDir(userPath(pkg)) });
      const m = readManifest(userPath(pkg));
      console.log(`${m.name}: setup ${m.setup?.kind}, ${m.setup?.contributions.length} contributions, verifier code hash ${m.verifierCodeHash}`);
    });
}
