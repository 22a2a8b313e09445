// ESLint flat config: typescript-eslint's recommended rules over the project's TypeScript.
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/**", "artifacts/**", "cache/**", "types/**", "coverage/**", "build/**",
      "app/dist/**", "models/**", "**/*.js", "**/*.cjs", "prover/native/**",
    ],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "warn",
    },
  },
);
