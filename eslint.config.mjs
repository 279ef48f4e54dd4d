// ESLint, flat config: @eslint/js and typescript-eslint recommended. Not type-aware: `tsc --noEmit` already
// type-checks (strict, noUnusedLocals/Parameters), and type-aware rules would double the run on 2 cores.
// `npm run lint` (part of `npm test`, after typecheck). Formatting is Prettier's job (.prettierrc), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/', '**/cdk.out/', 'dist/', 'coverage/', 'local/page/**/*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // tsc reports unused locals and parameters already; ESLint's copy follows tsc's `_` convention.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // The repository's tools (not shipped): shipped code (lib, lambda, client) keeps both rules.
    files: ['test/**', 'harness/**', 'bench/**', 'local/**', 'scripts/**'],
    rules: {
      // They read synthesized CloudFormation templates and raw SDK answers as untyped JSON.
      '@typescript-eslint/no-explicit-any': 'off',
      // A lazy `require()` keeps a heavy module (aws-cdk-lib, esbuild, a bundle) out of a path that does not need it (the lazy-deps convention).
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
);
