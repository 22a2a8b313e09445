// Prover-specific errors: a proof that fails verification (a backend bug: fatal for the job), and a missing or
// incomplete model package.
import { FatalError } from "../sdk/errors.ts";

/** A backend returned a proof that does not verify against the verification key. */
export class ProofError extends FatalError {
  override name = "ProofError";
}

/** A model package directory lacks what proving needs (the package module's error, one class for every layer). */
export { PackageError } from "../circuits/compiler/package.ts";
