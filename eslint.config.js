// ESLint flat config: typescript-eslint's recommended rules over the project's TypeScript, and the layers.
import tseslint from "typescript-eslint";

// Layers, lowest first. A folder imports only from the folders below it (siblings only where listed), so an
// upward import fails lint and CI. README.md ("Who may import whom") explains the graph.
//   sdk/          browser-safe base: nothing of ours, no Node built-ins
//   sdk/node/     Node kit (config, logger, store, server, ...): sdk/
//   circuits/     sdk/; inside it: ir/ (the float IR and its float engine), data/ → onnx/, train/ → compiler/ →
//                 fidelity/
//   prover/       proving library (backends, witness, setup): sdk/, sdk/node/, circuits/
//   prover/service/, runtime/   the prover daemon; the provider's and challenger's shared runtime
//   provider/, challenger/      the daemons
//   cli/, scripts/, app/        the `ozk` command, dev tools and benches, the page
// test/ may import anything; nothing else imports test/.
// no-restricted-imports does not see `await import("…")`: this rule applies the same folder patterns to it.
const dynamicImports = {
  rules: {
    "no-upward-dynamic-import": {
      meta: { type: "problem", schema: [{ type: "object", properties: { forbidden: { type: "array" }, message: { type: "string" } } }] },
      create(context) {
        const { forbidden = [], message = "layering" } = context.options[0] ?? {};
        return {
          ImportExpression(node) {
            const spec = node.source.type === "Literal" ? node.source.value : node.source.type === "TemplateLiteral" ? node.source.quasis.map((q) => q.value.cooked).join("*") : undefined;
            if (typeof spec !== "string") return;
            const segments = spec.split("/");
            const hit = forbidden.find((name) => (name === "node:*" ? spec.startsWith("node:") : segments.slice(0, -1).includes(name)));
            if (hit) context.report({ node, message: `dynamic import '${spec}': ${message}` });
          },
        };
      },
    },
  },
};

const ours = ["sdk", "circuits", "prover", "runtime", "provider", "challenger", "cli", "scripts", "app", "test"];
const folder = (name) => [`**/${name}/**`, `${name}/**`];
const deny = (names, message) => ({ group: names.flatMap(folder), message });
function layer(files, forbidden, extra = []) {
  const message = `layering: ${files.join(", ")} may not import ${forbidden.join(", ")} (README.md, "Who may import whom")`;
  return {
    files,
    plugins: { layers: dynamicImports },
    rules: {
      "no-restricted-imports": ["error", { patterns: [deny(forbidden, message), ...extra] }],
      "layers/no-upward-dynamic-import": ["error", { forbidden: extra.length ? [...forbidden, "node:*"] : forbidden, message }],
    },
  };
}
const above = (...names) => ours.filter((n) => !names.includes(n));

export default tseslint.config(
  {
    ignores: [
      "node_modules/**", "artifacts/**", "cache/**", "types/**", "coverage/**", "build/**",
      "app/dist/**", "dist/**", "models/**", "**/*.js", "**/*.cjs", "prover/native/**",
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "warn",
    },
  },
  layer(["sdk/*.ts"], above("sdk").concat("node"), [
    { group: ["node:*"], message: "layering: sdk/ is browser-safe; Node code goes in sdk/node/" },
  ]),
  layer(["sdk/node/**/*.ts"], above("sdk")),
  layer(["circuits/**/*.ts"], above("sdk", "circuits").concat("node")),
  layer(["circuits/ir/*.ts", "circuits/data/*.ts"], above("sdk", "circuits").concat("node", "onnx", "compiler", "fidelity", "train")),
  layer(["circuits/onnx/*.ts", "circuits/train/*.ts"], above("sdk", "circuits").concat("node", "compiler", "fidelity")),
  layer(["circuits/compiler/*.ts"], above("sdk", "circuits").concat("node", "fidelity", "train")),
  layer(["prover/**/*.ts"], above("sdk", "circuits", "prover").concat("service")),
  layer(["prover/service/**/*.ts"], above("sdk", "circuits", "prover")),
  layer(["runtime/**/*.ts"], above("sdk", "circuits", "prover", "runtime")),
  layer(["provider/**/*.ts"], above("sdk", "circuits", "prover", "runtime", "provider")),
  layer(["challenger/**/*.ts"], above("sdk", "circuits", "prover", "runtime", "challenger")),
  layer(["cli/**/*.ts"], ["scripts", "app", "test"]),
  layer(["scripts/**/*.ts"], ["cli", "test"]),
  layer(["app/**/*.ts", "app/**/*.tsx"], ["prover", "runtime", "provider", "challenger", "cli", "scripts", "test", "node"]),
);
