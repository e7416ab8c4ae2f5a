// ESLint flat config: typescript-eslint's recommended rules (type-aware) plus a few project
// rules that catch real defects. Formatting is Prettier's job (eslint-config-prettier last).
import { defineConfig } from "eslint/config";
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import prettier from "eslint-config-prettier";
import globals from "globals";

const TS = ["src/**/*.ts", "nodes/**/*.ts", "test/**/*.ts", "bench/**/*.ts"];

export default defineConfig(
  {
    // Build output, installed/vendored files and the editor side (HTML, resources/) are not linted.
    ignores: ["dist/", "node_modules/", "pico-lang/", "resources/", "examples/", "test-artifacts/", ".node-red-dev/"],
  },
  {
    linterOptions: { reportUnusedDisableDirectives: "error" },
  },

  // TypeScript: src/, nodes/, test/, bench/
  {
    files: TS,
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
      globals: globals.node,
    },
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true, // `const { a, b, ...rest } = o` drops a and b on purpose
        },
      ],
      // A forgotten promise is an unhandled rejection, which kills Node-RED; `void p` marks a deliberate one.
      "@typescript-eslint/no-floating-promises": ["error", { ignoreVoid: true }],
      // Passing on a caught error as it is (unknown/any) is fine; rejecting with a string is not.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingAny: true, allowThrowingUnknown: true }],
      eqeqeq: ["error", "always", { null: "ignore" }],
    },
  },

  // The core logs through events, never to the console of the user's Node-RED.
  {
    files: ["src/**/*.ts"],
    rules: { "no-console": "error" },
  },

  // Tests and benchmarks read untyped data on purpose (JSON from peers, Node-RED's test helper,
  // captured packets): the `any` rules there are ~470 reports of noise and found no defect.
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // Stubs of async interfaces (synthesize, send, close) need no await.
      "@typescript-eslint/require-await": "off",
    },
  },

  // Issue 12: nodes/ enters the core only through its public entry (src/index.ts).
  {
    files: ["nodes/**/*.ts"],
    rules: {
      // `const node = this` is how Node-RED's own docs write a node's constructor.
      "@typescript-eslint/no-this-alias": "off",
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+src/(?!index(\\.js)?$)",
              message: "nodes/ may import the core only through its public entry (../../src).",
            },
          ],
        },
      ],
    },
  },

  // Node scripts (CommonJS)
  {
    files: ["scripts/**/*.js"],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: "commonjs", globals: globals.node },
  },

  prettier,
);
